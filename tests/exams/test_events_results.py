"""Results and events as the rest of the product sees them (issues 17 and 18).

The counted result of a candidate (highest or last attempt), the one-query list of repeated
failures, and the engine's announcements: attempt finished, result final, result changed.
"""

from contextlib import ExitStack, contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from exams import events, results
from exams.models import (
    Candidate,
    Outcome,
    ResultRule,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank.services import QuestionInput, create_question, update_question
from tests.exams import test_integrity as integrity
from tests.exams.test_attempts import start
from tests.exams.test_integrity import (
    RIGHT,
    WRONG,
    answers,
    candidate,
    finish,
    item_of,
    save,
    statements,
    submit,
)

# Fixtures shared with the integrity tests.
objective_paper = integrity.objective_paper
objective_sitting = integrity.objective_sitting
other_client = integrity.other_client
trainer = integrity.trainer
trainer_client = integrity.trainer_client


@pytest.fixture
def heard():
    """Return a recorder: ``with heard(*signals) as calls`` gives {name: [(attempt id, kwargs)]}.

    The candidate argument is recorded as its user id.
    """

    @contextmanager
    def listen(*signals):
        calls = {s.name: [] for s in signals}
        with ExitStack() as stack:
            for s in signals:

                def receiver(sender, _name=s.name, **kwargs):
                    # Plain values: the request's objects are gone once it has committed.
                    if "candidate" in kwargs:
                        kwargs["candidate"] = kwargs["candidate"].user_id
                    calls[_name].append((sender.id, kwargs))

                stack.enter_context(s.connected_to(receiver))
            yield calls

    return listen


ALL = (events.attempt_finished, events.result_final, events.result_changed)


# --- which attempt counts -------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule, counted, outcome, score",
    [
        (ResultRule.HIGHEST, 0, Outcome.PASSED, Decimal(3)),
        (ResultRule.LAST, 1, Outcome.FAILED, Decimal(0)),
    ],
)
def test_result_rule_picks_the_counted_attempt(
    agent_client, objective_sitting, agent, rule, counted, outcome, score
):
    objective_sitting.attempts_allowed = 2
    objective_sitting.result_rule = rule
    db.session.commit()
    attempts = [
        finish(agent_client, objective_sitting, **RIGHT),
        finish(agent_client, objective_sitting, **WRONG),
    ]
    assert [a.score for a in attempts] == [3, 0]
    db.session.expire_all()
    row = candidate(objective_sitting, agent)
    assert row.outcome == outcome and row.result_score == score
    assert row.result_attempt_id == attempts[counted].id
    mine = next(r for r in results.sitting_results(objective_sitting) if r.user.id == agent.id)
    assert mine.counted.id == attempts[counted].id and mine.passed is (outcome == Outcome.PASSED)


def test_failed_in_cycles_is_one_query_and_exact(paper, make_user):
    """Outcomes are set on the candidate rows directly: this tests the query, not grading."""
    users = {
        name: make_user(username=name) for name in ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8")
    }
    now = utcnow()

    def sitting(cycle, kind=SittingKind.MONTHLY, **outcomes):
        s = Sitting(
            title=f"{kind.value} {cycle}",
            kind=kind,
            cycle=cycle,
            paper=paper,
            opens_at=now - timedelta(days=2),
            closes_at=now - timedelta(days=1),
        )
        s.candidates = [
            Candidate(
                user_id=users[name].id,
                outcome=Outcome(value.removesuffix("?")),
                # "failed?" is provisional: the candidate may still take another attempt.
                result_final_at=None if value in ("pending", "failed?") else now,
            )
            for name, value in outcomes.items()
        ]
        db.session.add(s)

    sitting("2026-11", u1="failed", u2="failed", u4="failed", u5="failed", u6="failed")
    sitting("2026-11", u5="failed")  # a second November sitting: still one cycle
    sitting("2026-12", u1="failed", u2="passed", u3="failed", u6="pending")
    sitting("2026-12", SittingKind.RETRAINING, u4="failed", u5="failed")  # another kind
    sitting("2026-10", u2="failed", u3="failed")
    # u7 failed November for good, December only provisionally; u8 passed a make-up in
    # November after failing it.
    sitting("2026-11", u7="failed", u8="failed")
    sitting("2026-11", u8="passed")
    sitting("2026-12", u7="failed?", u8="failed")
    db.session.commit()
    with statements() as seen:
        found = results.failed_in_cycles(SittingKind.MONTHLY, ["2026-11", "2026-12"])
    assert found == [users["u1"].id]
    assert len(seen) == 1
    assert results.failed_in_cycles(SittingKind.MONTHLY, ["2026-10", "2026-11"]) == [users["u2"].id]


# --- events ---------------------------------------------------------------------------------


def test_objective_submit_announces_finished_and_final_once(
    agent_client, objective_sitting, agent, heard
):
    attempt = start(agent_client, objective_sitting)
    assert save(agent_client, attempt, 1, answers(attempt, **RIGHT)).status_code == 200
    with heard(*ALL) as calls:
        submit(agent_client, attempt)
        submit(agent_client, attempt)  # a second submit announces nothing
    finished, final = calls["attempt-finished"], calls["result-final"]
    assert len(finished) == 1 and finished[0][0] == attempt.id
    assert finished[0][1]["reason"] == "submitted"
    assert len(final) == 1 and final[0][0] == attempt.id
    kwargs = final[0][1]
    assert kwargs["candidate"] == agent.id
    assert kwargs["outcome"] == Outcome.PASSED and kwargs["score"] == 3
    assert calls["result-changed"] == []


@pytest.fixture
def two_essays(bank, paper):
    """Add a second short answer to the paper's short-answer section; return its question."""
    q = create_question(
        QuestionInput(
            "short_answer",
            bank["short_answer"].category_id,
            "简述客户投诉的处理流程。",
            {"reference": "<p>受理、核实、处理、回访</p>", "rubric": "<p>四步</p>"},
        ),
        None,
        "published",
    )
    section = next(s for s in paper.sections if s.qtype == "short_answer")
    section.items.append(SectionQuestion(question_id=q.id, position=2))
    db.session.commit()
    return q


def test_result_final_waits_for_the_last_manual_grade(
    agent_client, trainer_client, sitting, bank, agent, two_essays, heard
):
    attempt = start(agent_client, sitting)
    assert save(agent_client, attempt, 1, answers(attempt, **RIGHT)).status_code == 200
    with heard(*ALL) as calls:
        submit(agent_client, attempt)
    assert len(calls["attempt-finished"]) == 1 and calls["result-final"] == []
    db.session.refresh(attempt)
    first, second = (i for i in attempt.items if i.version.qtype == "short_answer")
    with heard(*ALL) as calls:
        resp = trainer_client.submit(
            f"/exams/grading/{sitting.id}/{first.question_id}", {f"score_{first.id}": "4"}
        )
        assert resp.status_code == 302
    assert calls["result-final"] == [] and calls["result-changed"] == []
    with heard(*ALL) as calls:
        resp = trainer_client.submit(
            f"/exams/grading/{sitting.id}/{second.question_id}", {f"score_{second.id}": "5"}
        )
        assert resp.status_code == 302
    # true/false 1 + fill-in 2 + essays 4 + 5 = 12 of 17; pass mark 6.
    assert len(calls["result-final"]) == 1 and calls["result-changed"] == []
    sender, kwargs = calls["result-final"][0]
    assert sender == attempt.id and kwargs["candidate"] == agent.id
    assert kwargs["outcome"] == Outcome.PASSED and kwargs["score"] == 12
    assert calls["attempt-finished"] == []


def test_manual_regrade_of_a_graded_answer_announces_the_change(
    agent_client, trainer_client, sitting, bank, agent, heard
):
    attempt = finish(agent_client, sitting, **RIGHT)
    essay = item_of(attempt, "short_answer")
    url = f"/exams/grading/{sitting.id}/{bank['short_answer'].id}"
    with heard(*ALL) as calls:
        trainer_client.submit(url, {f"score_{essay.id}": "4"})  # 1 + 2 + 4 = 7: passed
    assert len(calls["result-final"]) == 1 and calls["result-changed"] == []
    with heard(*ALL) as calls:
        trainer_client.submit(url, {f"score_{essay.id}": "1"})  # 4: failed
    assert calls["result-final"] == [] and len(calls["result-changed"]) == 1
    sender, kwargs = calls["result-changed"][0]
    assert sender == attempt.id and kwargs["candidate"] == agent.id
    assert kwargs["cause"] == "manual_grade"
    assert kwargs["before"] == (Outcome.PASSED, Decimal(7))
    assert kwargs["after"] == (Outcome.FAILED, Decimal(4))
    with heard(*ALL) as calls:
        trainer_client.submit(url, {f"score_{essay.id}": "1"})  # the same again: no change
    assert calls == {"attempt-finished": [], "result-final": [], "result-changed": []}


def test_regrade_that_changes_a_score_announces_the_change(
    agent_client, other_client, trainer_client, trainer, objective_sitting, bank, agent, heard
):
    right = finish(agent_client, objective_sitting, **RIGHT)  # 3: passed
    finish(other_client, objective_sitting, true_false=True)  # 0: failed; 1 with the new key
    q = bank["true_false"]
    update_question(
        q,
        QuestionInput("true_false", q.category_id, "可以索要客户密码。", {"correct": True}),
        q.revision,
        trainer,
    )
    db.session.commit()
    url = f"/exams/sittings/{objective_sitting.id}/regrade"
    with heard(*ALL) as calls:
        assert trainer_client.get(url).status_code == 200  # the dry run announces nothing
    assert calls == {"attempt-finished": [], "result-final": [], "result-changed": []}
    with heard(*ALL) as calls:
        assert trainer_client.submit(url).status_code == 302
    changed = calls["result-changed"]
    assert calls["result-final"] == [] and calls["attempt-finished"] == []
    by_user = {kwargs["candidate"]: (sender, kwargs) for sender, kwargs in changed}
    assert len(changed) == 2 and len(by_user) == 2
    sender, kwargs = by_user[agent.id]
    assert sender == right.id and kwargs["cause"] == "regrade"
    assert kwargs["before"] == (Outcome.PASSED, Decimal(3))
    assert kwargs["after"] == (Outcome.FAILED, Decimal(2))
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(Candidate.outcome).where(
                Candidate.sitting_id == objective_sitting.id, Candidate.user_id == agent.id
            )
        )
        == Outcome.FAILED
    )
