"""Factory fixtures for exams: questions, papers, sittings and attempts built as users would.

Attempts go through the engine (start, save, finalise), so a factory-made result is one
the product itself computed; ``make_attempt(score=...)`` picks right and wrong answers to
reach the score asked for.
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from exams import engine
from exams.models import (
    Candidate,
    Paper,
    PaperSection,
    ResultRule,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank import categories
from question_bank.qtypes.blanks import full_mark_answer
from question_bank.services import QuestionInput, create_question

#: A body per type, right answer first where the type has one.
DEFAULT_BODIES = {
    "single_choice": {
        "options": [
            {"key": "1", "html": "甲"},
            {"key": "2", "html": "乙"},
            {"key": "3", "html": "丙"},
        ],
        "correct": ["2"],
    },
    "multiple_choice": {
        "options": [
            {"key": "1", "html": "甲"},
            {"key": "2", "html": "乙"},
            {"key": "3", "html": "丙"},
        ],
        "correct": ["1", "3"],
    },
    "true_false": {"correct": True},
    "fill_blank": {"blanks": [["四十八"]]},
    "short_answer": {"reference": "<p>参考答案</p>", "rubric": ""},
}
STEMS = {"fill_blank": "挂失后____小时内。"}


def right_answer(qtype: str, body: dict):
    """Return the stored-form response that earns full marks (None for hand-graded types)."""
    return {
        "single_choice": lambda: body["correct"][0],
        "multiple_choice": lambda: list(body["correct"]),
        "true_false": lambda: body["correct"],
        "fill_blank": lambda: [full_mark_answer(b) for b in body["blanks"]],
        "short_answer": lambda: None,
    }[qtype]()


def wrong_answer(qtype: str, body: dict):
    """Return a stored-form response that earns nothing."""
    if qtype in ("single_choice", "multiple_choice"):
        wrong = next(o["key"] for o in body["options"] if o["key"] not in body["correct"])
        return wrong if qtype == "single_choice" else [wrong]
    if qtype == "true_false":
        return not body["correct"]
    if qtype == "fill_blank":
        return ["错" for _ in body["blanks"]]
    return None


@pytest.fixture
def make_question(app):
    """Return a factory of published questions: make_question("true_false", stem=...)."""
    counter = iter(range(1, 100_000))

    def make(qtype="true_false", stem=None, body=None, category=None, status="published", **kw):
        cat = category or categories.ensure_path(["业务知识", "工厂"])
        n = next(counter)
        q = create_question(
            QuestionInput(
                qtype,
                cat.id,
                stem or f"{STEMS.get(qtype, '题目')}（第{n}题）",
                body or DEFAULT_BODIES[qtype],
                **kw,
            ),
            None,
            status,
        )
        db.session.commit()
        return q

    return make


@pytest.fixture
def make_paper(app, make_question):
    """Return a factory of papers: one section per question type, in the order given.

    ``questions`` is a list of Question objects (default: five true/false questions);
    ``points`` the points per question; other keywords set Paper fields.
    """

    def make(questions=None, points=1, pass_mark=None, **settings):
        questions = questions or [make_question("true_false") for _ in range(5)]
        paper = Paper(title=settings.pop("title", "工厂试卷"), **settings)
        by_type: dict[str, list] = {}
        for q in questions:
            by_type.setdefault(q.qtype, []).append(q)
        for n, (qtype, qs) in enumerate(by_type.items(), start=1):
            section = PaperSection(position=n, qtype=qtype, points_per_question=Decimal(points))
            section.items = [
                SectionQuestion(question_id=q.id, position=i) for i, q in enumerate(qs, start=1)
            ]
            paper.sections.append(section)
        paper.pass_mark = (
            Decimal(pass_mark) if pass_mark is not None else paper.total_points * Decimal("0.6")
        )
        db.session.add(paper)
        db.session.commit()
        return paper

    return make


@pytest.fixture
def make_sitting(app, make_paper):
    """Return a factory of open sittings with the given candidates (users)."""

    def make(paper=None, candidates=(), hours_open=3, **kw):
        now = utcnow()
        sitting = Sitting(
            title=kw.pop("title", "工厂考试"),
            kind=kw.pop("kind", SittingKind.MONTHLY),
            paper=paper or make_paper(),
            opens_at=kw.pop("opens_at", now - timedelta(hours=1)),
            closes_at=kw.pop("closes_at", now + timedelta(hours=hours_open)),
            result_rule=kw.pop("result_rule", ResultRule.HIGHEST),
            **kw,
        )
        sitting.candidates = [Candidate(user_id=u.id) for u in candidates]
        db.session.add(sitting)
        db.session.commit()
        return sitting

    return make


@pytest.fixture
def make_attempt(app):
    """Return a factory of attempts taken through the engine.

    ``score``: answer right just enough objective items to earn it (ValueError when the
    paper cannot give that score); None leaves every item unanswered. ``finish``: submit it.
    """

    def make(sitting, user, score=None, finish=True, now=None):
        attempt = engine.start(sitting, user, now=now)
        target = None if score is None else Decimal(str(score))
        answers, earned = {}, Decimal(0)
        for item in attempt.items:
            body = item.version.body
            right = right_answer(item.version.qtype, body)
            if target is not None and right is not None and earned + item.points <= target:
                answers[str(item.id)] = right
                earned += item.points
            elif target is not None:
                wrong = wrong_answer(item.version.qtype, body)
                if wrong is not None:
                    answers[str(item.id)] = wrong
        if target is not None and earned != target:
            raise ValueError(f"this paper cannot give exactly {target} points")
        _save_stored(attempt, answers, now)
        if finish:
            engine.finalise(attempt, "submitted", now)
        db.session.commit()
        return attempt

    return make


def _save_stored(attempt, answers: dict, now) -> None:
    """Store responses already in their stored form (option keys), as a save would."""
    for item in attempt.items:
        if str(item.id) in answers:
            item.response = answers[str(item.id)]
    db.session.flush()
