"""Regression tests of the exam core's integrity defects, through HTTP on a real database.

Each test reproduces one reported defect (the number in its section heading is the issue's):
frozen settings and locked papers (4), the last answers posted with a submit (5), time-outs
(6), the review policy and images (7), hand grading (8), bad saves (9) and the regrade dry
run (19). Answers are posted for true/false, fill-in and short-answer items; the one choice
answer goes through :func:`choice`, the only place that knows how the page posts options.
"""

import io
import json
import re
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal

import pytest
from flask import g
from flask_babel import force_locale, gettext
from markupsafe import escape
from PIL import Image as PILImage
from sqlalchemy import event, func, select

from exams.models import (
    Attempt,
    AttemptItem,
    Candidate,
    MultipleChoiceRule,
    Paper,
    PaperSection,
    ReviewPolicy,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from lms.accounts.models import Role
from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank import images
from question_bank.services import QuestionInput, create_question, update_question
from tests.exams.conftest import SECRETS
from tests.exams.test_attempts import start
from tests.helpers import count, text

IN_USE = (
    "Candidates have already taken this paper, so its questions, points and rules can no "
    "longer change. Make a copy and edit the copy."
)
TIMED_OUT = "Time is up: your answers were submitted automatically."
SUBMITTED = "Your answers were submitted."

#: Right and wrong answers as the exam page posts them, by question type (bank fixture).
RIGHT = {"true_false": False, "fill_blank": ["48"], "short_answer": "首问负责：谁接待谁负责。"}
WRONG = {"true_false": True, "fill_blank": ["24"], "short_answer": "不知道"}


# --- helpers and fixtures -------------------------------------------------------------------


def said(msgid: str, **kwargs) -> str:
    """Return ``msgid`` as the zh_CN interface says it (its translation, else the msgid)."""
    g.test_helper = True  # Flask-Babel ignores an empty g
    with force_locale("zh_CN"):
        return str(gettext(msgid, **kwargs))


def shown(msgid: str, **kwargs) -> str:
    """Return ``msgid`` as a zh_CN page shows it, HTML-escaped."""
    return str(escape(said(msgid, **kwargs)))


def flashed_error(page: str, msgid: str) -> bool:
    """Tell whether the page shows ``msgid`` as an error message (not just somewhere)."""
    return f'class="flash flash-error" role="alert">{shown(msgid)}' in page


def item_of(attempt: Attempt, qtype: str) -> AttemptItem:
    """Return the attempt's (first) item of ``qtype``."""
    return next(i for i in attempt.items if i.version.qtype == qtype)


def choice(item: AttemptItem, *keys: str):
    """Return what the exam page posts to choose options ``keys`` (bank option keys) of ``item``.

    The one place that knows the form: the letters shown, in the candidate's order.
    """
    shown = ["ABCDEFGHIJ"[item.option_order.index(k)] for k in keys]
    return shown if item.version.qtype == "multiple_choice" else shown[0]


def answers(attempt: Attempt, **by_type) -> dict:
    """Return {item id: answer} for the attempt's items of the given types."""
    return {
        str(i.id): by_type[i.version.qtype] for i in attempt.items if i.version.qtype in by_type
    }


def save_body(client, attempt: Attempt, body: bytes | str):
    """Post a raw save body (as the exam page's fetch does)."""
    return client.post(
        f"/exam/attempts/{attempt.id}/save",
        data=body,
        content_type="application/json",
        headers={"X-CSRFToken": client.csrf_token()},
    )


def save(client, attempt: Attempt, seq: int, answers_: dict, flags: dict | None = None):
    """Post a well-formed save."""
    return save_body(
        client, attempt, json.dumps({"seq": seq, "answers": answers_, "flags": flags or {}})
    )


def submit(client, attempt: Attempt, **form):
    """Post the submit form (``final``, ``auto``) of an attempt."""
    return client.submit(f"/exam/attempts/{attempt.id}/submit", form)


def finish(client, sitting, **by_type) -> Attempt:
    """Start, save ``by_type`` answers and submit; return the finished attempt."""
    attempt = start(client, sitting)
    assert save(client, attempt, 1, answers(attempt, **by_type)).status_code == 200
    assert submit(client, attempt).status_code == 302
    db.session.refresh(attempt)
    assert attempt.state == "finished"
    return attempt


def audit_count(action: str) -> int:
    """Return how many audit events of ``action`` exist."""
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


@contextmanager
def statements():
    """Collect the SQL statements run on the app's engine inside the block."""
    seen: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)


def writes(seen: list[str]) -> list[str]:
    """Return the writing statements, leaving out the sign-in session's periodic touch."""
    return [
        s
        for s in seen
        if s.lstrip().split(None, 1)[0].upper() in ("INSERT", "UPDATE", "DELETE")
        and "user_sessions" not in s
    ]


def png(rgb: tuple[int, int, int]) -> bytes:
    """Return a valid 1×1 PNG of one colour (each colour is a different stored image)."""
    buf = io.BytesIO()
    PILImage.new("RGB", (1, 1), rgb).save(buf, "PNG")
    return buf.getvalue()


def candidate(sitting: Sitting, user) -> Candidate:
    """Return the user's candidate row in the sitting."""
    return db.session.scalar(
        select(Candidate).where(Candidate.sitting_id == sitting.id, Candidate.user_id == user.id)
    )


@pytest.fixture
def trainer(make_user):
    """Return a trainer (not signed in)."""
    return make_user(Role.TRAINER, username="trainer1", full_name="培训师甲")


@pytest.fixture
def trainer_client(app, trainer, login):
    """Return a client signed in as the trainer."""
    c = app.test_client()
    login(c, "trainer1")
    return c


@pytest.fixture
def other_client(app, other_agent, login):
    """Return a client signed in as the second agent (李四)."""
    c = app.test_client()
    login(c, "a2")
    return c


@pytest.fixture
def objective_paper(bank):
    """Return a paper of objective items only: true/false 1, fill-in 2, multiple choice 2.

    Pass mark 3, so true/false and fill-in right (3 points) pass and the result is final at
    the submit.
    """
    paper = Paper(title="客观题小测", time_limit_minutes=30, pass_mark=Decimal(3))
    for n, (qtype, points) in enumerate(
        [("true_false", 1), ("fill_blank", 2), ("multiple_choice", 2)], start=1
    ):
        section = PaperSection(position=n, qtype=qtype, points_per_question=Decimal(points))
        section.items.append(SectionQuestion(question_id=bank[qtype].id, position=1))
        paper.sections.append(section)
    db.session.add(paper)
    db.session.commit()
    return paper


@pytest.fixture
def objective_sitting(objective_paper, agent, other_agent):
    """Return an open monthly sitting of the objective paper with both agents."""
    now = utcnow()
    sitting = Sitting(
        title="十二月客观题小测",
        kind=SittingKind.MONTHLY,
        paper=objective_paper,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=3),
    )
    sitting.candidates = [Candidate(user_id=agent.id), Candidate(user_id=other_agent.id)]
    db.session.add(sitting)
    db.session.commit()
    return sitting


# --- 4. what decides a result is frozen; a paper in use is locked --------------------------


def test_attempt_verdict_follows_the_pass_mark_frozen_at_start(agent_client, objective_sitting):
    attempt = start(agent_client, objective_sitting)
    saved = answers(attempt, **RIGHT)  # true/false and fill-in: 3 points, the pass mark
    assert save(agent_client, attempt, 1, saved).status_code == 200
    objective_sitting.paper.pass_mark = Decimal(4)  # an edit of the paper while it is sat
    db.session.commit()
    submit(agent_client, attempt)
    db.session.refresh(attempt)
    assert attempt.score == 3 and attempt.passed is True


def test_attempt_multiple_choice_rule_is_frozen_at_start(agent_client, objective_sitting):
    attempt = start(agent_client, objective_sitting)
    mc = item_of(attempt, "multiple_choice")
    # One of the two right options: half the points under the partial rule, none otherwise.
    assert save(agent_client, attempt, 1, {str(mc.id): choice(mc, "1")}).status_code == 200
    objective_sitting.paper.multiple_choice_rule = MultipleChoiceRule.PARTIAL_HALF
    db.session.commit()
    submit(agent_client, attempt)
    db.session.refresh(attempt)
    assert item_of(attempt, "multiple_choice").score == 0 and attempt.score == 0


def test_attempt_review_policy_is_frozen_at_start(agent_client, sitting, paper):
    paper.review_policy = ReviewPolicy.SCORE_ONLY
    db.session.commit()
    attempt = start(agent_client, sitting)
    paper.review_policy = ReviewPolicy.AFTER_SUBMIT  # would show the key at once
    db.session.commit()
    resp = agent_client.submit(f"/exam/attempts/{attempt.id}/submit", follow_redirects=True)
    page = text(resp)
    assert all(s not in page for s in SECRETS)
    sitting.closes_at = utcnow() - timedelta(minutes=5)  # even after the close: score only
    db.session.commit()
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}/result"))
    assert all(s not in page for s in SECRETS)


def paper_form(paper: Paper, **changes) -> dict:
    """Return the settings form of ``paper`` as it stands, with ``changes``."""
    form = {
        "title": paper.title,
        "time_limit_minutes": str(paper.time_limit_minutes),
        "pass_mark": f"{paper.pass_mark:g}",
        "review_policy": paper.review_policy.value,
        "multiple_choice_rule": paper.multiple_choice_rule.value,
        "instructions": paper.instructions,
    }
    return {**form, **changes}


@pytest.mark.parametrize(
    "change",
    [
        {"pass_mark": "9"},
        {"time_limit_minutes": "90"},
        {"review_policy": "after_submit"},
        {"multiple_choice_rule": "partial_half"},
        {"shuffle_options": "1"},
    ],
)
def test_paper_in_use_refuses_settings_that_decide_results(
    trainer_client, agent_client, sitting, paper, change
):
    start(agent_client, sitting)
    before = (paper.pass_mark, paper.time_limit_minutes, paper.review_policy)
    before += (paper.multiple_choice_rule, paper.shuffle_options)
    resp = trainer_client.submit(f"/exams/papers/{paper.id}", paper_form(paper, **change))
    assert resp.status_code == 422
    assert flashed_error(text(resp), IN_USE)
    db.session.expire_all()
    after = (paper.pass_mark, paper.time_limit_minutes, paper.review_policy)
    after += (paper.multiple_choice_rule, paper.shuffle_options)
    assert after == before and audit_count("paper.update") == 0
    # The title and instructions may still change.
    resp = trainer_client.submit(f"/exams/papers/{paper.id}", paper_form(paper, title="新标题"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert paper.title == "新标题" and paper.pass_mark == before[0]


@pytest.mark.parametrize(
    "action", ["add_section", "add_questions", "remove_section", "remove_question"]
)
def test_paper_in_use_refuses_changes_to_its_questions(
    trainer_client, agent_client, objective_sitting, objective_paper, bank, action
):
    start(agent_client, objective_sitting)
    tf = objective_paper.sections[0]
    if action == "add_section":
        url, form = (
            f"/exams/papers/{objective_paper.id}/sections",
            {"qtype": "single_choice", "points": "2"},
        )
    elif action == "add_questions":
        bank_cat = bank["true_false"].category_id
        extra = create_question(
            QuestionInput(
                "true_false", bank_cat, "可以向客户透露他人账户信息。", {"correct": False}
            ),
            None,
            "published",
        )
        db.session.commit()
        url, form = f"/exams/sections/{tf.id}/questions", {"question_ids": str(extra.id)}
    elif action == "remove_section":
        url, form = f"/exams/sections/{tf.id}/delete", {}
    else:
        url, form = f"/exams/section-questions/{tf.items[0].id}/delete", {}
    shape = lambda: [  # noqa: E731
        (s.qtype, s.points_per_question, [i.question_id for i in s.items])
        for s in db.session.scalars(
            select(PaperSection).where(PaperSection.paper_id == objective_paper.id)
        )
    ]
    before = shape()
    resp = trainer_client.submit(url, form)
    assert resp.status_code == 302
    assert flashed_error(text(trainer_client.get(resp.location)), IN_USE)
    db.session.expire_all()
    assert shape() == before and count(PaperSection) == 3 and count(SectionQuestion) == 3


def test_paper_copy_is_editable_with_the_same_sections(
    trainer_client, agent_client, sitting, paper
):
    start(agent_client, sitting)
    resp = trainer_client.submit(f"/exams/papers/{paper.id}/copy")
    assert resp.status_code == 302
    copy = db.session.get(Paper, int(re.search(r"/exams/papers/(\d+)$", resp.location).group(1)))
    assert copy.id != paper.id

    def shape(p):
        return [
            (s.position, s.qtype, s.points_per_question, [i.question_id for i in s.items])
            for s in p.sections
        ]

    assert shape(copy) == shape(paper) and copy.pass_mark == paper.pass_mark
    resp = trainer_client.submit(f"/exams/papers/{copy.id}", paper_form(copy, pass_mark="9"))
    assert resp.status_code == 302
    db.session.expire_all()
    assert copy.pass_mark == 9 and paper.pass_mark == 6


# --- 5. the answers posted with the submit are kept -----------------------------------------


def test_auto_submit_in_the_grace_saves_the_final_answers_and_times_out(
    agent_client, objective_sitting
):
    attempt = start(agent_client, objective_sitting)
    final = {"seq": 1, "answers": answers(attempt, **RIGHT), "flags": {}}
    deadline = utcnow() - timedelta(seconds=3)  # the countdown reached zero just now
    attempt.deadline_at = deadline
    db.session.commit()
    resp = submit(agent_client, attempt, final=json.dumps(final), auto="1")
    assert resp.status_code == 302 and resp.location.endswith("/result")
    db.session.refresh(attempt)
    assert item_of(attempt, "true_false").response is False
    assert item_of(attempt, "fill_blank").response == ["48"]
    assert item_of(attempt, "true_false").score == 1 and item_of(attempt, "fill_blank").score == 2
    assert attempt.score == 3 and attempt.passed is True
    assert attempt.finish_reason == "timeout" and attempt.finished_at == attempt.deadline_at
    page = text(agent_client.get(resp.location))
    assert shown(TIMED_OUT) in page
    assert shown(SUBMITTED) not in page and "您已成功交卷" not in page


# --- 6. an attempt past its deadline timed out at its deadline ------------------------------


@pytest.mark.parametrize("late", [timedelta(seconds=5), timedelta(minutes=21)])
def test_submit_after_the_deadline_times_out_at_the_deadline(agent_client, objective_sitting, late):
    attempt = start(agent_client, objective_sitting)
    assert save(agent_client, attempt, 1, answers(attempt, **RIGHT)).status_code == 200
    attempt.started_at = utcnow() - late - timedelta(minutes=30)
    attempt.deadline_at = attempt.started_at + timedelta(minutes=30)
    db.session.commit()
    resp = submit(agent_client, attempt)
    db.session.refresh(attempt)
    assert attempt.finish_reason == "timeout"
    assert attempt.finished_at == attempt.deadline_at
    assert attempt.finished_at - attempt.started_at == timedelta(minutes=30)
    assert attempt.score == 3  # graded with what was saved
    page = text(agent_client.get(resp.location))
    assert shown("%(m)d min %(s)d s", m=30, s=0) in page


def test_close_overdue_finishes_at_the_deadline(agent_client, objective_sitting, runner):
    attempt = start(agent_client, objective_sitting)
    assert save(agent_client, attempt, 1, answers(attempt, **RIGHT)).status_code == 200
    attempt.started_at = utcnow() - timedelta(minutes=51)
    attempt.deadline_at = attempt.started_at + timedelta(minutes=30)
    db.session.commit()
    assert "Finalised 1" in runner.invoke(args=["close-overdue"]).output
    db.session.expire_all()
    attempt = db.session.get(Attempt, attempt.id)
    assert attempt.state == "finished" and attempt.finish_reason == "timeout"
    assert attempt.finished_at == attempt.deadline_at and attempt.score == 3


@pytest.mark.parametrize("late", [timedelta(seconds=5), timedelta(minutes=5)])
def test_my_exams_offers_no_continue_past_the_deadline(agent_client, objective_sitting, late):
    attempt = start(agent_client, objective_sitting)
    page = text(agent_client.get("/exam/"))
    assert shown("Continue the exam") in page  # before the deadline it is offered
    attempt.deadline_at = utcnow() - late
    db.session.commit()
    page = text(agent_client.get("/exam/"))
    assert shown("Continue the exam") not in page
    finished = page[page.index('id="exams-finished"') :]
    assert objective_sitting.title in finished and shown("time ran out") in finished
    assert shown("in progress") not in page


# --- 7. the key and explanations: review policy and images ---------------------------------


def test_after_close_waits_for_the_sitting_not_the_personal_window(
    agent_client, sitting, agent, other_agent
):
    now = utcnow()
    mine = candidate(sitting, agent)
    mine.opens_at, mine.closes_at = now - timedelta(hours=1), now + timedelta(minutes=10)
    db.session.commit()
    attempt = start(agent_client, sitting)
    assert save(agent_client, attempt, 1, answers(attempt, **RIGHT)).status_code == 200
    submit(agent_client, attempt)
    mine.closes_at = utcnow() - timedelta(minutes=2)  # my window closed; the sitting is open
    db.session.commit()
    url = f"/exam/attempts/{attempt.id}/result"
    page = text(agent_client.get(url))
    assert all(s not in page for s in SECRETS) and shown("Answer key") not in page
    # The sitting closed, but 李四's own window runs later: still nothing.
    theirs = candidate(sitting, other_agent)
    theirs.opens_at, theirs.closes_at = now - timedelta(hours=1), now + timedelta(hours=5)
    sitting.closes_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    page = text(agent_client.get(url))
    assert all(s not in page for s in SECRETS)
    # Once every window has closed the review shows the key.
    theirs.closes_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    page = text(agent_client.get(url))
    assert SECRETS[0] in page and shown("Answer key") in page


def test_after_submit_waits_for_the_last_attempt(agent_client, sitting, paper):
    paper.review_policy = ReviewPolicy.AFTER_SUBMIT
    sitting.attempts_allowed = 2
    db.session.commit()
    first = finish(agent_client, sitting, **WRONG)
    page = text(agent_client.get(f"/exam/attempts/{first.id}/result"))
    assert all(s not in page for s in SECRETS) and shown("Answer key") not in page
    second = start(agent_client, sitting)
    assert [i.question_id for i in second.items] == [i.question_id for i in first.items]
    page = text(agent_client.get(f"/exam/attempts/{second.id}"))
    assert all(s not in page for s in SECRETS)
    submit(agent_client, second)
    page = text(agent_client.get(f"/exam/attempts/{second.id}/result"))
    assert SECRETS[0] in page and shown("Answer key") in page


@pytest.fixture
def pictured(bank, paper):
    """Add a single-choice question with an image in an option and one in its explanation.

    Return (option image id, explanation image id).
    """
    in_option = images.store(png((255, 0, 0)))
    in_explanation = images.store(png((0, 0, 255)))
    q = create_question(
        QuestionInput(
            "single_choice",
            bank["single_choice"].category_id,
            "下图哪张是借记卡？",
            {
                "options": [
                    {"key": "1", "html": f'<p>甲 <img src="{images.url(in_option)}"></p>'},
                    {"key": "2", "html": "<p>乙</p>"},
                ],
                "correct": ["1"],
            },
            explanation=f'<p>看这张 <img src="{images.url(in_explanation)}"></p>',
        ),
        None,
        "published",
    )
    section = paper.sections[0]
    section.items.append(SectionQuestion(question_id=q.id, position=2))
    db.session.commit()
    return in_option.id, in_explanation.id


def test_images_follow_what_the_attempt_may_show(agent_client, other_client, sitting, pictured):
    option_img, explanation_img = pictured

    def status(client, image_id):
        return client.get(f"/qb/images/{image_id}").status_code

    assert (status(agent_client, option_img), status(agent_client, explanation_img)) == (404, 404)
    attempt = start(agent_client, sitting)
    # During the exam: the option's image shows; the explanation's is not guessable.
    assert status(agent_client, option_img) == 200
    assert status(agent_client, explanation_img) == 404
    submit(agent_client, attempt)  # after_close: no review while the sitting is open
    assert (status(agent_client, option_img), status(agent_client, explanation_img)) == (200, 404)
    assert (status(other_client, option_img), status(other_client, explanation_img)) == (404, 404)
    sitting.closes_at = utcnow() - timedelta(minutes=2)
    db.session.commit()
    assert status(agent_client, explanation_img) == 200
    assert (status(other_client, option_img), status(other_client, explanation_img)) == (404, 404)


# --- 8. hand grading only for hand-graded items ---------------------------------------------


@pytest.mark.parametrize("qtype", ["true_false", "fill_blank"])
def test_grading_route_refuses_auto_graded_items(
    trainer_client, agent_client, sitting, bank, qtype
):
    attempt = finish(agent_client, sitting, **RIGHT)
    item = item_of(attempt, qtype)
    score = item.score
    assert score > 0
    url = f"/exams/grading/{sitting.id}/{bank[qtype].id}"
    resp = trainer_client.submit(url, {f"score_{item.id}": "0"})
    assert 400 <= resp.status_code < 500
    db.session.expire_all()
    assert item.score == score and item.graded_at is None and audit_count("attempt.grade") == 0
    # The short answer is still graded by hand.
    essay = item_of(attempt, "short_answer")
    resp = trainer_client.submit(
        f"/exams/grading/{sitting.id}/{bank['short_answer'].id}", {f"score_{essay.id}": "4"}
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert essay.score == 4 and attempt.score == 7 and audit_count("attempt.grade") == 1


# --- 9. bad saves get a 400 and change nothing ----------------------------------------------

SEQ_MESSAGE = ("The save's sequence number must be a whole number from 1 to %(max)d.", 2**31 - 1)
UNREADABLE = "The save could not be read."
UNSTORABLE = "An answer contains a character that cannot be stored; remove it."


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"seq": 2147483648, "answers": {}}', SEQ_MESSAGE),  # 2**31: PostgreSQL's integer
        ('{"seq": 9223372036854775808, "answers": {}}', SEQ_MESSAGE),  # 2**63: SQLite's
        ('{"seq": -1, "answers": {}}', SEQ_MESSAGE),
        ('{"seq": 0, "answers": {}}', SEQ_MESSAGE),
        ('{"seq": true, "answers": {}}', SEQ_MESSAGE),
        ('{"seq": 1.5, "answers": {}}', SEQ_MESSAGE),
        ('{"seq": "1", "answers": {}}', SEQ_MESSAGE),
        ("[" * 100_000, UNREADABLE),
        ('{"seq": 1, "answers": {"FILL": [[[[["x"]]]]]}}', UNREADABLE),
        (
            '{"seq": 1, "answers": {}, "flags": {"TF": "yes"}}',
            "A question's flag must be true or false.",
        ),
        (
            '{"seq": 1, "answers": {}, "flags": {"TF": 1}}',
            "A question's flag must be true or false.",
        ),
        ('{"seq": 1, "answers": {"ESSAY": "' + "长" * 400_000 + '"}}', UNREADABLE),
        # A lone surrogate cannot be written as UTF-8: stored, it broke every page showing it.
        ('{"seq": 1, "answers": {"ESSAY": "bad\\ud800x"}}', UNSTORABLE),
        ('{"seq": 1, "answers": {"FILL": ["\\udfff"]}}', UNSTORABLE),
        ('{"seq": 1, "answers": {"FILL": ["\\u0000z"]}}', UNSTORABLE),
    ],
    ids=[
        "seq-2**31",
        "seq-2**63",
        "seq-negative",
        "seq-zero",
        "seq-true",
        "seq-float",
        "seq-string",
        "deeply-nested",
        "nested-answer",
        "flag-string",
        "flag-number",
        "oversize",
        "surrogate-essay",
        "surrogate-blank",
        "nul-blank",
    ],
)
def test_bad_save_is_400_and_changes_nothing(agent_client, sitting, body, message):
    attempt = start(agent_client, sitting)
    tf, fill, essay = (item_of(attempt, t) for t in ("true_false", "fill_blank", "short_answer"))
    body = (
        body.replace("FILL", str(fill.id)).replace("TF", str(tf.id)).replace("ESSAY", str(essay.id))
    )
    resp = save_body(agent_client, attempt, body.encode())
    assert resp.status_code == 400
    data = resp.get_json()
    msgid, *args = message if isinstance(message, tuple) else (message,)
    expected = said(msgid, max=args[0]) if args else said(msgid)
    assert data["ok"] is False and data["message"] == expected
    db.session.expire_all()
    assert attempt.seq == 0 and attempt.last_saved_at is None
    assert all(i.response is None and not i.flagged for i in attempt.items)
    # The attempt still takes a good save afterwards.
    resp = save(agent_client, attempt, 1, answers(attempt, **RIGHT), {str(tf.id): True})
    assert resp.status_code == 200, text(resp)
    db.session.expire_all()
    assert attempt.seq == 1 and tf.response is False and tf.flagged is True


# --- 19. the regrade dry run writes nothing -------------------------------------------------


def test_regrade_dry_run_writes_nothing_and_post_applies(
    trainer_client, trainer, agent_client, other_client, objective_sitting, bank
):
    right = finish(agent_client, objective_sitting, **RIGHT)  # true/false False: 1 point
    wrong = finish(other_client, objective_sitting, **WRONG)
    assert (right.score, wrong.score) == (3, 0)
    q = bank["true_false"]
    update_question(
        q,
        QuestionInput("true_false", q.category_id, "可以索要客户密码。", {"correct": True}),
        q.revision,
        trainer,
    )
    db.session.commit()
    url = f"/exams/sittings/{objective_sitting.id}/regrade"
    with statements() as seen:
        resp = trainer_client.get(url)
    assert resp.status_code == 200
    assert writes(seen) == []
    table = text(resp)[text(resp).index('id="regrade-changes"') :]
    assert "张三" in table and "李四" in table
    db.session.expire_all()
    assert (right.score, wrong.score) == (3, 0) and audit_count("sitting.regrade") == 0
    resp = trainer_client.submit(url)
    assert resp.status_code == 302
    db.session.expire_all()
    assert item_of(right, "true_false").score == 0 and item_of(wrong, "true_false").score == 1
    assert (right.score, wrong.score) == (2, 1) and right.passed is False
    assert audit_count("sitting.regrade") == 1


def test_review_after_a_regrade_shows_the_key_that_graded(
    trainer_client, trainer, agent_client, objective_sitting, bank
):
    attempt = finish(agent_client, objective_sitting, **RIGHT)  # true/false False
    q = bank["true_false"]
    update_question(
        q,
        QuestionInput(
            "true_false",
            q.category_id,
            "可以索要客户密码。",
            {"correct": True},
            explanation="新解析",
        ),
        q.revision,
        trainer,
    )
    db.session.commit()
    assert (
        trainer_client.submit(f"/exams/sittings/{objective_sitting.id}/regrade").status_code == 302
    )
    objective_sitting.closes_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}/result"))
    review = page[page.index('id="review"') :]
    first = review[: review.index("review-item", review.index("review-item") + 1)]
    # Scored 0 against the corrected key, so the review must show that key (True) and
    # its explanation, not the old key the answer matched.
    assert f'<span class="key-text">{shown("True")}</span>' in first
    assert "新解析" in first and SECRETS[2] not in first


def test_regrade_after_removing_an_option_and_fixing_the_stem_changes_nothing(
    trainer_client, agent_client, other_client, sitting, bank
):
    """Defect 3: the authoring form used to renumber options, so the dry run flipped right
    and wrong answers although the correct option (核实身份) never changed."""
    from tests.question_bank.test_authoring import edit_form, form

    q = bank["single_choice"]  # 直接办理 / 核实身份 (right) / 转接主管
    right, wrong = start(agent_client, sitting), start(other_client, sitting)
    for client, attempt, key in ((agent_client, right, "2"), (other_client, wrong, "3")):
        item = item_of(attempt, "single_choice")
        assert save(client, attempt, 1, {str(item.id): choice(item, key)}).status_code == 200
        assert submit(client, attempt).status_code == 302
    before = {a.id: item_of(a, "single_choice").score for a in (right, wrong)}
    assert before == {right.id: 2, wrong.id: 0}
    # Remove option A (a wrong one), save; then fix the stem, save again.
    data = {**form("single_choice", q.category), **edit_form(trainer_client, q.id)}
    data["option_1"] = ""
    assert trainer_client.submit(f"/qb/{q.id}/edit", data).status_code == 302
    data = {**form("single_choice", q.category), **edit_form(trainer_client, q.id)}
    data["stem"] = "客户来电挂失信用卡，首先应："
    assert trainer_client.submit(f"/qb/{q.id}/edit", data).status_code == 302
    db.session.refresh(q)
    assert [o["html"] for o in q.current.body["options"]] == ["核实身份", "转接主管"]
    dry_run = text(trainer_client.get(f"/exams/sittings/{sitting.id}/regrade"))
    assert 'id="regrade-changes"' not in dry_run  # no score would change
    assert trainer_client.submit(f"/exams/sittings/{sitting.id}/regrade").status_code == 302
    db.session.expire_all()
    after = {a.id: item_of(a, "single_choice").score for a in (right, wrong)}
    assert after == before
