"""Taking an exam through HTTP: start, save, resume, submit, time-out, isolation, no key."""

import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from exams import engine
from exams.models import Attempt, AttemptState
from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams.conftest import SECRETS
from tests.helpers import text, zh


def start(client, sitting) -> Attempt:
    """Start an attempt through the page and return it."""
    resp = client.submit(f"/exam/sittings/{sitting.id}/start")
    assert resp.status_code == 302, text(resp)[-1500:]
    attempt_id = int(re.search(r"/attempts/(\d+)", resp.location).group(1))
    return db.session.get(Attempt, attempt_id)


def letters(item, answer):
    """Return an answer as the exam page posts it: option keys become the letters shown."""
    if item.option_order is None or answer is None:
        return answer
    if isinstance(answer, list):
        return [letters(item, a) for a in answer]
    return "ABCDEFGHIJ"[item.option_order.index(answer)]


def answers_for(attempt: Attempt) -> dict:
    """Return a full set of right answers keyed by item id (short answer in prose)."""
    right = {
        "single_choice": "2",
        "multiple_choice": ["1", "2"],
        "true_false": False,
        "fill_blank": ["４８"],
        "short_answer": "首问负责：谁接待谁负责。",
    }
    return {str(i.id): letters(i, right[i.version.qtype]) for i in attempt.items}


def save(client, attempt, seq, answers=None, flags=None):
    """Post a save."""
    token = client.csrf_token()
    return client.post(
        f"/exam/attempts/{attempt.id}/save",
        json={"seq": seq, "answers": answers or {}, "flags": flags or {}},
        headers={"X-CSRFToken": token},
    )


def test_start_freezes_questions_versions_and_deadline(agent_client, sitting):
    attempt = start(agent_client, sitting)
    assert [i.version.qtype for i in attempt.items] == [
        "single_choice",
        "multiple_choice",
        "true_false",
        "fill_blank",
        "short_answer",
    ]
    assert all(i.version.frozen for i in attempt.items)
    limit = (attempt.deadline_at - attempt.started_at).total_seconds()
    assert limit == 30 * 60
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}"))
    assert "一、" in page and "挂失信用卡首先应" in page and 'data-seconds-left="' in page


def test_save_resume_flag_and_submit_once(agent_client, sitting):
    attempt = start(agent_client, sitting)
    answers = answers_for(attempt)
    first = next(iter(answers))
    resp = save(agent_client, attempt, 1, answers, {first: True})
    assert resp.status_code == 200 and resp.get_json()["ok"] is True
    # Reloading (or another computer) shows every saved answer and the flag.
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}"))
    shown = letters(attempt.items[0], "2")
    assert re.search(rf'value="{shown}"\s+checked', page)
    assert "首问负责：谁接待谁负责。" in page and 'class="nav-item answered flagged"' in page
    resp = agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    assert resp.status_code == 302 and resp.location.endswith("/result")
    db.session.refresh(attempt)
    finished_at = attempt.finished_at
    assert attempt.state == AttemptState.FINISHED and attempt.finish_reason == "submitted"
    # Objective items are graded (fill-in matched full-width ４８); the essay waits.
    assert attempt.score is None and attempt.needs_grading
    scores = {i.version.qtype: i.score for i in attempt.items}
    assert scores["single_choice"] == 2 and scores["fill_blank"] == 2
    # A second submit (double click, other tab, retry) changes nothing.
    agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    db.session.refresh(attempt)
    assert attempt.finished_at == finished_at
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "attempt.finish")
        )
        == 1
    )
    # Saves after submitting are refused.
    resp = save(agent_client, attempt, 5, answers)
    assert resp.status_code == 409 and resp.get_json()["reason"] == "finished"


def test_stale_and_replayed_saves_are_refused_without_harm(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = str(attempt.items[0].id)
    assert save(agent_client, attempt, 1, {item: letters(attempt.items[0], "2")}).status_code == 200
    resp = save(agent_client, attempt, 1, {item: letters(attempt.items[0], "1")})  # replayed
    assert resp.status_code == 409 and resp.get_json()["reason"] == "stale"
    assert (
        zh(
            "A newer save came from another window or device. Reload this page to see the "
            "latest answers."
        )
        in resp.get_json()["message"]
    )
    db.session.refresh(attempt)
    assert attempt.items[0].response == "2" and attempt.seq == 1


@pytest.mark.parametrize(
    "body",
    [
        {"seq": "x"},
        {"answers": {}},
        {"seq": 1, "answers": []},
        {"seq": 1, "answers": {"999999": "1"}},
        {"seq": 1, "answers": {"FIRST": "9"}},
        {"seq": 1, "answers": {"FIRST": ["1"]}},
        # An option key (what the page posted before letters) or a letter not shown.
        {"seq": 1, "answers": {"FIRST": "2"}},
        {"seq": 1, "answers": {"FIRST": "D"}},
        {"seq": 1, "answers": {"FIRST": "a"}},
    ],
)
def test_malformed_saves_are_refused_and_change_nothing(agent_client, sitting, body):
    attempt = start(agent_client, sitting)
    first = str(attempt.items[0].id)
    if "answers" in body and isinstance(body["answers"], dict) and "FIRST" in body["answers"]:
        body = {**body, "answers": {first: body["answers"]["FIRST"]}}
    resp = agent_client.post(
        f"/exam/attempts/{attempt.id}/save",
        json=body,
        headers={"X-CSRFToken": agent_client.csrf_token()},
    )
    assert resp.status_code == 400 and resp.get_json()["ok"] is False
    db.session.refresh(attempt)
    assert attempt.seq == 0 and attempt.items[0].response is None


def test_save_without_csrf_is_refused(agent_client, sitting):
    attempt = start(agent_client, sitting)
    resp = agent_client.post(f"/exam/attempts/{attempt.id}/save", json={"seq": 1})
    assert resp.status_code == 400


def test_saves_after_the_deadline_are_refused_and_the_attempt_finalised(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = str(attempt.items[0].id)
    assert save(agent_client, attempt, 1, {item: letters(attempt.items[0], "2")}).status_code == 200
    attempt.deadline_at = utcnow() - timedelta(seconds=10)  # within the grace: accepted
    db.session.commit()
    assert save(agent_client, attempt, 2, {item: letters(attempt.items[0], "2")}).status_code == 200
    attempt.deadline_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    resp = save(agent_client, attempt, 3, {item: letters(attempt.items[0], "1")})
    assert resp.status_code == 409 and resp.get_json()["reason"] == "time_over"
    db.session.refresh(attempt)
    assert attempt.state == AttemptState.FINISHED and attempt.finish_reason == "timeout"
    assert attempt.items[0].response == "2"


def test_overdue_attempts_finalise_on_access_and_by_command(
    app, agent_client, sitting, runner, other_agent, login
):
    attempt = start(agent_client, sitting)
    save(agent_client, attempt, 1, {str(attempt.items[0].id): letters(attempt.items[0], "2")})
    attempt.deadline_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    resp = agent_client.get(f"/exam/attempts/{attempt.id}")
    assert resp.status_code == 302 and resp.location.endswith("/result")
    db.session.refresh(attempt)
    assert attempt.finish_reason == "timeout" and attempt.items[0].score == 2
    # The command finalises the others, and running it again does nothing more.
    other = app.test_client()
    login(other, "a2")
    second = start(other, sitting)
    second.deadline_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert "Finalised 1" in runner.invoke(args=["close-overdue"]).output
    assert "Finalised 0" in runner.invoke(args=["close-overdue"]).output
    db.session.refresh(second)
    assert second.state == AttemptState.FINISHED


def test_another_candidates_attempt_is_404(app, agent_client, sitting, login):
    attempt = start(agent_client, sitting)
    other = app.test_client()
    login(other, "a2")
    assert other.get(f"/exam/attempts/{attempt.id}").status_code == 404
    assert other.get(f"/exam/attempts/{attempt.id}/result").status_code == 404
    assert save(other, attempt, 1, {}).status_code == 404
    assert other.submit(f"/exam/attempts/{attempt.id}/submit").status_code == 404
    db.session.refresh(attempt)
    assert attempt.state == AttemptState.IN_PROGRESS


def test_non_candidates_cannot_start(client, make_user, login, sitting):
    from lms.accounts.models import Role

    make_user(Role.AGENT, username="outsider")
    login(client, "outsider")
    assert client.submit(f"/exam/sittings/{sitting.id}/start").status_code == 404
    assert "十一月月度考试" not in text(client.get("/exam/"))


def test_attempts_allowed_and_window_are_enforced(agent_client, sitting):
    attempt = start(agent_client, sitting)
    agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    resp = agent_client.submit(f"/exam/sittings/{sitting.id}/start", follow_redirects=True)
    assert zh("You have used all your attempts.") in text(resp)
    sitting.opens_at = utcnow() + timedelta(days=1)
    sitting.closes_at = utcnow() + timedelta(days=2)
    sitting.attempts_allowed = 5
    db.session.commit()
    resp = agent_client.submit(f"/exam/sittings/{sitting.id}/start", follow_redirects=True)
    assert zh("This exam has not opened yet.") in text(resp)


def test_no_key_reaches_the_candidate_before_review(agent_client, sitting, paper):
    """Scan every candidate-facing response of an attempt for the key and explanations."""
    from exams.models import ReviewPolicy

    paper.review_policy = ReviewPolicy.AFTER_CLOSE
    db.session.commit()
    bodies = [text(agent_client.get("/exam/")), text(agent_client.get("/"))]
    attempt = start(agent_client, sitting)
    bodies.append(text(agent_client.get(f"/exam/attempts/{attempt.id}")))
    bodies.append(save(agent_client, attempt, 1, answers_for(attempt)).get_data(as_text=True))
    bodies.append(save(agent_client, attempt, 1, {}).get_data(as_text=True))
    bodies.append(
        text(agent_client.submit(f"/exam/attempts/{attempt.id}/submit", follow_redirects=True))
    )
    bodies.append(text(agent_client.get(f"/exam/attempts/{attempt.id}/result")))
    bodies.append(text(agent_client.get("/exam/")))
    for body in bodies:
        for secret in SECRETS:
            assert secret not in body
        assert '"correct"' not in body and "gradedright" not in body
        assert zh("Answer key") not in body
    # Once the sitting closes, the review shows the key and explanations.
    sitting.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}/result"))
    assert SECRETS[0] in page and zh("Answer key") in page


def test_score_only_policy_never_shows_the_key(agent_client, sitting, paper):
    from exams.models import ReviewPolicy

    paper.review_policy = ReviewPolicy.SCORE_ONLY
    sitting.closes_at = utcnow() + timedelta(minutes=1)
    db.session.commit()
    attempt = start(agent_client, sitting)
    agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    sitting.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}/result"))
    assert all(s not in page for s in SECRETS)


def test_ten_concurrent_submits_finalise_once(app, agent_client, sitting):
    attempt = start(agent_client, sitting)
    save(agent_client, attempt, 1, answers_for(attempt))
    token = agent_client.csrf_token()
    cookie = agent_client.get_cookie("lms_session").value
    url = f"/exam/attempts/{attempt.id}/submit"
    barrier = threading.Barrier(10)
    statuses = []

    def submit():
        c = app.test_client()
        c.set_cookie("lms_session", cookie)
        barrier.wait()
        statuses.append(c.post(url, data={"csrf_token": token}).status_code)

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [302] * 10
    db.session.expire_all()
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "attempt.finish")
        )
        == 1
    )
    assert db.session.get(Attempt, attempt.id).state == AttemptState.FINISHED


def test_two_starts_at_once_make_one_attempt(app, agent_client, sitting):
    token = agent_client.csrf_token()
    cookie = agent_client.get_cookie("lms_session").value
    url = f"/exam/sittings/{sitting.id}/start"
    barrier = threading.Barrier(4)

    def go():
        c = app.test_client()
        c.set_cookie("lms_session", cookie)
        barrier.wait()
        resp = c.post(url, data={"csrf_token": token})
        results.append((resp.status_code, resp.location))

    results = []
    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Attempt.id))) == 1, results
    assert len({loc for _, loc in results}) == 1  # every request lands on the same attempt


def test_extra_time_override_extends_the_deadline(agent_client, sitting, agent):
    from exams.models import Candidate

    cand = db.session.scalar(select(Candidate).where(Candidate.user_id == agent.id))
    cand.extra_minutes = 15
    db.session.commit()
    attempt = start(agent_client, sitting)
    assert (attempt.deadline_at - attempt.started_at).total_seconds() == 45 * 60


def test_engine_finalise_is_idempotent(app, sitting, agent):
    attempt = engine.start(sitting, agent)
    db.session.commit()
    assert engine.finalise(attempt, "submitted") is True
    assert engine.finalise(attempt, "submitted") is False
    db.session.commit()


def test_extra_time_given_during_the_exam_moves_its_deadline(
    agent_client, sitting, agent, make_user, app, login
):
    from exams.models import Candidate
    from lms.accounts.models import Role

    attempt = start(agent_client, sitting)
    before = attempt.deadline_at
    make_user(Role.TRAINER, username="t1")
    trainer = app.test_client()
    login(trainer, "t1")
    cand = db.session.scalar(select(Candidate).where(Candidate.user_id == agent.id))
    resp = trainer.submit(
        f"/exams/sittings/{sitting.id}/candidates/{cand.id}", {"extra_minutes": "20"}
    )
    assert resp.status_code == 302
    db.session.refresh(attempt)
    assert attempt.deadline_at - before == timedelta(minutes=20)
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}"))
    left = int(re.search(r'data-ms-left="(\d+)"', page).group(1))
    assert left > 49 * 60 * 1000  # 30 minutes + 20 extra, less the moments elapsed


def test_submit_whose_last_answers_are_stale_does_not_grade_other_answers(agent_client, sitting):
    import json

    attempt = start(agent_client, sitting)
    tf = next(i for i in attempt.items if i.version.qtype == "true_false")
    assert save(agent_client, attempt, 5, {str(tf.id): False}).status_code == 200  # tab B
    # Tab A, which never saw B's save, submits what it shows with an older number.
    final = json.dumps({"seq": 3, "answers": {str(tf.id): True}, "flags": {}})
    resp = agent_client.submit(f"/exam/attempts/{attempt.id}/submit", {"final": final})
    assert resp.status_code == 302 and resp.location.endswith(f"/exam/attempts/{attempt.id}")
    db.session.refresh(attempt)
    db.session.refresh(tf)
    assert attempt.state == AttemptState.IN_PROGRESS and tf.response is False
    # The time-up submit is not held back: it finishes with the newest saved answers.
    final = json.dumps({"seq": 4, "answers": {str(tf.id): True}, "flags": {}})
    resp = agent_client.submit(f"/exam/attempts/{attempt.id}/submit", {"final": final, "auto": "1"})
    db.session.refresh(attempt)
    assert attempt.state == AttemptState.FINISHED
