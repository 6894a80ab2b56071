"""Demo exams: papers, an open monthly sitting, and a past sitting with finished attempts."""

import random
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from exams import engine
from exams.models import (
    Candidate,
    DrawRule,
    MultipleChoiceRule,
    Paper,
    PaperSection,
    ReviewPolicy,
    Sitting,
    SittingKind,
)
from lms.accounts.models import User
from lms.extensions import db
from lms.people.models import Agent, AgentStatus
from lms.timeutil import utcnow
from question_bank import qtypes
from question_bank.models import Category
from question_bank.qtypes.blanks import full_mark_answer
from question_bank.qtypes.choice import LETTERS

#: (type, points each, how many, category path) per section of the monthly paper.
MONTHLY = [
    ("single_choice", 1, 20, None),
    ("multiple_choice", 2, 5, None),
    ("true_false", 1, 10, None),
    ("fill_blank", 2, 5, None),
    ("short_answer", 10, 1, None),
]


def _paper(title: str, sections, minutes: int, pass_mark: int, review) -> Paper:
    top = db.session.scalars(select(Category).where(Category.parent_id.is_(None))).all()
    paper = Paper(
        title=title,
        time_limit_minutes=minutes,
        pass_mark=Decimal(pass_mark),
        shuffle_questions=True,
        shuffle_options=True,
        review_policy=review,
        multiple_choice_rule=MultipleChoiceRule.PARTIAL_HALF,
        instructions="请独立作答，系统每15秒自动保存一次答案。",
    )
    for position, (qtype, points, count, _path) in enumerate(sections, start=1):
        section = PaperSection(position=position, qtype=qtype, points_per_question=Decimal(points))
        # Spread the draw over the top categories so every topic is examined.
        remaining = count
        for i, cat in enumerate(top):
            share = remaining // (len(top) - i)
            if share:
                section.rules.append(
                    DrawRule(category_id=cat.id, count=share, include_subcategories=True)
                )
                remaining -= share
        paper.sections.append(section)
    db.session.add(paper)
    db.session.flush()
    return paper


def _fits(paper: Paper) -> bool:
    """Tell whether the bank holds enough questions for every draw rule."""
    try:
        engine.draw_questions(paper, random.Random(1))  # noqa: S311 (not security)
    except Exception:  # any shortfall: the demo then skips the paper
        return False
    return True


def seed_exams() -> str:
    """Add the demo papers and sittings when there are none; return a summary line."""
    if db.session.scalar(select(func.count(Paper.id))):
        return "exams: kept as they are"
    paper = _paper("月度业务知识考试（示例）", MONTHLY, 60, 36, ReviewPolicy.AFTER_CLOSE)
    if not _fits(paper):
        db.session.delete(paper)
        return "exams: the question bank is too small for the demo paper"
    now = utcnow()
    agents = db.session.scalars(
        select(User)
        .join(Agent, Agent.user_id == User.id)
        .where(
            Agent.status.in_([AgentStatus.ON_LINE, AgentStatus.RETRAINING]),
            User.is_active.is_(True),
        )
        .order_by(User.username)
    ).all()
    current = Sitting(
        title=f"{now:%Y年%m月}业务知识月考",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=now - timedelta(hours=2),
        closes_at=now + timedelta(days=7),
        cycle=f"{now:%Y-%m}",
    )
    current.candidates = [Candidate(user_id=u.id) for u in agents]
    past_start = now - timedelta(days=30)
    past = Sitting(
        title=f"{past_start:%Y年%m月}业务知识月考",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=past_start,
        closes_at=past_start + timedelta(days=7),
        cycle=f"{past_start:%Y-%m}",
    )
    past.candidates = [Candidate(user_id=u.id) for u in agents]
    db.session.add_all([current, past])
    db.session.flush()
    finished = _past_attempts(past, agents, past_start)
    engine.settle_closed()  # last month's results are final; whoever did not sit is absent
    return (
        f"exams: 1 paper, an open monthly sitting for {len(agents)} agents, "
        f"{finished} finished attempts last month"
    )


def _past_attempts(sitting: Sitting, agents, start) -> int:
    """Let the agents take last month's sitting, with answers of varying quality."""
    rnd = random.Random(95533)  # noqa: S311 (repeatable demo data)
    grader = db.session.scalar(select(User).where(User.username == "trainer1"))
    done = 0
    for n, user in enumerate(agents):
        skill = 0.45 + 0.5 * ((n * 37) % 100) / 100  # each agent answers this share right
        began = start + timedelta(hours=1 + n)
        attempt = engine.start(sitting, user, now=began, rnd=rnd)
        answers = {
            str(i.id): _as_posted(i, _answer(i.version, rnd.random() < skill, rnd))
            for i in attempt.items
        }
        engine.save(attempt, 1, answers, {}, now=began + timedelta(minutes=20))
        engine.finalise(attempt, "submitted", began + timedelta(minutes=35 + n % 20))
        for item in attempt.items:
            if item.grade_state == "needsgrading" and grader is not None:
                engine.record_manual_grade(
                    item, round(item.points * Decimal(skill)), "要点基本完整。", grader
                )
        done += 1
    return done


def _as_posted(item, answer):
    """Return an answer as the exam page posts it: options by the letter shown, not by key."""
    order = item.option_order
    if order is None:
        return answer
    if isinstance(answer, list):
        return [LETTERS[order.index(k)] for k in answer]
    return LETTERS[order.index(answer)]


def _answer(version, right: bool, rnd: random.Random):
    """Return a right or a plausible wrong answer to a question version."""
    body = version.body
    if version.qtype == "single_choice":
        keys = [o["key"] for o in body["options"]]
        return (
            body["correct"][0]
            if right
            else rnd.choice([k for k in keys if k not in body["correct"]])
        )
    if version.qtype == "multiple_choice":
        return body["correct"] if right else body["correct"][:1]
    if version.qtype == "true_false":
        return body["correct"] if right else not body["correct"]
    if version.qtype == "fill_blank":
        return [full_mark_answer(b) if right else "不清楚" for b in body["blanks"]]
    assert qtypes.get(version.qtype).manual
    return "首先核实客户身份，按规定流程办理，并做好记录与回访。"
