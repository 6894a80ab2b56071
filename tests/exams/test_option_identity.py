"""What the candidate's browser sees and posts says nothing about the key; letters, points
and headings read the same wherever they are shown."""

import random
import re
from datetime import timedelta
from decimal import Decimal

import pytest

from exams import printing
from exams.models import (
    Candidate,
    Paper,
    PaperSection,
    ReviewPolicy,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank import categories, qtypes
from question_bank.services import QuestionInput, create_question
from tests.exams.test_attempts import answers_for, save, start
from tests.helpers import text

#: Option keys no page may ever show: distinctive, so any leak is found by a plain search.
KEYS = ["keyq1x", "keyq2x", "keyq3x", "keyq4x"]
#: As in the demo bank: the first two options are the key.
DEMO_LIKE = {
    "options": [{"key": k, "html": f"做法{n}"} for n, k in enumerate(KEYS, start=1)],
    "correct": KEYS[:2],
}


def exam_of(body, qtype="multiple_choice", shuffle=False, points="2"):
    """Return an open sitting of one question, with a candidate a1 (the key shown at once)."""
    cat = categories.ensure_path(["业务知识"])
    q = create_question(
        QuestionInput(qtype, cat.id, "下列做法正确的是（ ）。", body), None, "published"
    )
    paper = Paper(
        title="选项测试",
        time_limit_minutes=30,
        pass_mark=Decimal(1),
        shuffle_options=shuffle,
        review_policy=ReviewPolicy.AFTER_SUBMIT,
    )
    section = PaperSection(position=1, qtype=qtype, points_per_question=Decimal(points))
    section.items.append(SectionQuestion(question_id=q.id, position=1))
    paper.sections.append(section)
    sitting = Sitting(
        title="选项测试",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=utcnow() - timedelta(hours=1),
        closes_at=utcnow() + timedelta(hours=1),
        attempts_allowed=50,
    )
    db.session.add(sitting)
    db.session.flush()
    return sitting


@pytest.fixture
def a1(make_user):
    """Return the candidate a1."""
    return make_user(Role.AGENT, username="a1")


@pytest.fixture
def a1_client(client, a1, login):
    """Return a client signed in as a1."""
    login(client, "a1")
    return client


def enrol(sitting, user):
    """Make ``user`` a candidate of ``sitting``."""
    sitting.candidates.append(Candidate(user_id=user.id))
    db.session.commit()


@pytest.mark.parametrize("shuffle", [False, True])
def test_exam_page_shows_letters_and_no_key(a1_client, a1, shuffle):
    sitting = exam_of(DEMO_LIKE, shuffle=shuffle)
    enrol(sitting, a1)
    attempt = start(a1_client, sitting)
    item = attempt.items[0]
    page = text(a1_client.get(f"/exam/attempts/{attempt.id}"))
    assert re.findall(rf'name="q{item.id}" value="([^"]*)"', page) == ["A", "B", "C", "D"]
    for key in KEYS:
        assert key not in page
    # The letter posted is the option shown there, in this candidate's order.
    assert save(a1_client, attempt, 1, {str(item.id): ["A", "C"]}).status_code == 200
    db.session.refresh(item)
    shown = item.option_order
    assert item.response == [k for k in KEYS if k in (shown[0], shown[2])]
    page = text(a1_client.get(f"/exam/attempts/{attempt.id}"))
    checked = re.findall(rf'name="q{item.id}" value="([^"]*)"\s+checked', page)
    assert checked == ["A", "C"]


def test_posting_an_option_key_is_refused(a1_client, a1):
    sitting = exam_of(DEMO_LIKE)
    enrol(sitting, a1)
    attempt = start(a1_client, sitting)
    item = attempt.items[0]
    for answer in (["keyq1x", "keyq2x"], ["A", "keyq1x"], ["E"], "keyq1x", [["A"]]):
        resp = save(a1_client, attempt, 1, {str(item.id): answer})
        assert resp.status_code == 400 and resp.get_json()["reason"] == "bad_request"
    db.session.refresh(item)
    assert item.response is None and attempt.seq == 0


def test_ticking_the_first_letters_does_not_find_the_key(app):
    mc = qtypes.get("multiple_choice")
    mappings, scores = set(), []
    for seed in range(50):
        order = mc.option_order(DEMO_LIKE, True, random.Random(seed))
        response = mc.read_response(DEMO_LIKE, ["A", "B"], order)
        mappings.add(tuple(response))
        scores.append(mc.grade(DEMO_LIKE, response, partial=True))
    assert len(mappings) > 3
    # By chance a pair of four is right one time in six, not every time.
    assert sum(scores) / len(scores) < 0.4
    # Without shuffling, A and B are still the first two options as authored.
    order = mc.option_order(DEMO_LIKE, False, random.Random(0))
    assert order == KEYS


def test_engine_freezes_a_shuffled_order_per_attempt(a1_client, a1):
    sitting = exam_of(DEMO_LIKE, shuffle=True)
    enrol(sitting, a1)
    orders = set()
    for _ in range(8):
        attempt = start(a1_client, sitting)
        orders.add(tuple(attempt.items[0].option_order))
        a1_client.submit(f"/exam/attempts/{attempt.id}/submit")
    assert len(orders) > 1 and all(sorted(o) == KEYS for o in orders)


def test_review_letters_follow_the_order_the_candidate_saw(a1_client, a1):
    body = {
        "options": [
            {"key": "k-jia", "html": "甲"},
            {"key": "k-yi", "html": "乙"},
            {"key": "k-bing", "html": "丙"},
        ],
        "correct": ["k-bing"],
    }
    sitting = exam_of(body, qtype="single_choice", shuffle=True)
    sitting.attempts_allowed = 1  # with attempts left, "after submitting" keeps the key back
    enrol(sitting, a1)
    attempt = start(a1_client, sitting)
    item = attempt.items[0]
    item.option_order = ["k-jia", "k-bing", "k-yi"]  # shown A.甲 B.丙 C.乙
    db.session.commit()
    page = text(a1_client.get(f"/exam/attempts/{attempt.id}"))
    shown = re.findall(r'<span class="letter">(\w)\.</span> <span class="option-text">(\w)', page)
    assert shown == [("A", "甲"), ("B", "丙"), ("C", "乙")]
    assert save(a1_client, attempt, 1, {str(item.id): "B"}).status_code == 200
    a1_client.submit(f"/exam/attempts/{attempt.id}/submit")
    db.session.refresh(item)
    assert item.response == "k-bing" and item.score == 2
    result = text(a1_client.get(f"/exam/attempts/{attempt.id}/result"))
    assert '<span class="key-text">B</span>' in result
    assert '<span class="response-text">B</span>' in result


def test_points_read_as_a_teacher_writes_them(agent_client, sitting, paper):
    paper.sections[2].points_per_question = Decimal("0.5")
    paper.sections[4].points_per_question = Decimal("20")
    db.session.commit()
    attempt = start(agent_client, sitting)
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}"))
    assert "一、单项选择题（本题共1小题，每小题2分，共2分）" in page
    assert "三、判断题（本题共1小题，每小题0.5分，共0.5分）" in page
    assert "五、简答题（本题共1小题，每小题20分，共20分）" in page
    assert ".00" not in page and "E+" not in page
    save(agent_client, attempt, 1, answers_for(attempt))
    agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    result = text(agent_client.get(f"/exam/attempts/{attempt.id}/result"))
    assert "<td>2 / 2</td>" in result and "<td>0.5 / 0.5</td>" in result
    assert ".00" not in result


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_one_heading_per_type_on_exam_page_result_editor_and_paper(
    agent_client, agent, sitting, paper, make_user, login, app, locale
):
    agent.locale = locale
    trainer = make_user(Role.TRAINER, username="teacher")
    trainer.locale = locale
    db.session.commit()
    attempt = start(agent_client, sitting)
    page = text(agent_client.get(f"/exam/attempts/{attempt.id}"))
    exam_heads = re.findall(r'<h2 class="section-title">([^<]+)</h2>', page)
    assert len(exam_heads) == 5
    trainer_client = app.test_client()
    login(trainer_client, "teacher")
    editor = text(trainer_client.get(f"/exams/papers/{paper.id}"))
    editor_heads = re.findall(r"<h2>([^<]*、[^<]+)</h2>", editor)
    assert editor_heads == exam_heads
    with app.test_request_context():
        from flask_login import login_user

        login_user(db.session.get(type(trainer), trainer.id))
        printed = printing.paper_html(paper, with_key=False)
    printed_heads = re.findall(r"<h2>([^<]+)</h2>", printed)
    assert printed_heads == exam_heads
    names = {
        "zh_CN": ["单项选择题", "多项选择题", "判断题", "填空题", "简答题"],
        "en": [
            "Single-choice questions",
            "Multiple-choice questions",
            "True/false questions",
            "Fill-in-the-blank questions",
            "Short-answer questions",
        ],
    }[locale]
    for head, name in zip(exam_heads, names, strict=True):
        assert name in head
    save(agent_client, attempt, 1, answers_for(attempt))
    agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    result = text(agent_client.get(f"/exam/attempts/{attempt.id}/result"))
    assert re.findall(r"<tr><td>([^<]+)</td>", result) == exam_heads
