"""The database side of bench.exam_load: seed a fresh exam, then check what it kept.

Both run inside an app context of their own (``app_for``), never inside the server: the
seed builds with the app's own services and models, and the check reads the rows the
server wrote and compares them with what the clients were told.
"""

import math
import os
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

#: Fixed so that every gunicorn worker signs and reads the same session cookies.
from bench.exams import SECRET_KEY

PASSWORD = "Load-pass-1"  # noqa: S105 (benchmark accounts on a throwaway database)
OPTIONS = [{"key": k, "html": f"做法{k}"} for k in "1234"]
#: The demo bank's types in the demo monthly paper's proportions: (type, count, points).
SECTIONS = [
    ("single_choice", 12, 1),
    ("multiple_choice", 5, 2),
    ("true_false", 5, 1),
    ("fill_blank", 3, 2),
    ("short_answer", 1, 10),
]


def app_for(url: str, instance: str):
    """Return an app bound to ``url`` with the server's secret and its cheap hashing."""
    from lms import create_app

    saved = os.environ.get("LMS_INSTANCE_PATH")
    os.environ["LMS_INSTANCE_PATH"] = instance  # read by create_app only
    try:
        return create_app(
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": SECRET_KEY,
                # The server's cost too (bench.exams.start_server): sign-in does not re-hash.
                "PASSWORD_HASH_TIME_COST": 1,
                "PASSWORD_HASH_MEMORY_COST": 1024,
            }
        )
    finally:
        if saved is None:
            os.environ.pop("LMS_INSTANCE_PATH")
        else:
            os.environ["LMS_INSTANCE_PATH"] = saved


def _question_input(qtype: str, n: int, category_id: int):
    """Return the n-th benchmark question of a type, as an author would enter it."""
    from question_bank.services import QuestionInput

    if qtype == "single_choice":
        body, stem = (
            {"options": OPTIONS, "correct": [OPTIONS[n % 4]["key"]]},
            "客户来电挂失时应当？",
        )
    elif qtype == "multiple_choice":
        body, stem = (
            {"options": OPTIONS, "correct": ["1", OPTIONS[1 + n % 3]["key"]]},
            "敏感信息包括？",
        )
    elif qtype == "true_false":
        body, stem = {"correct": n % 2 == 0}, "坐席可以向客户索要密码。"
    elif qtype == "fill_blank":
        body, stem = {"blanks": [["四十八"], ["三"]]}, "挂失后____小时内生效，补卡需____个工作日。"
    else:
        body = {"reference": "<p>核实身份，按流程办理，做好记录。</p>", "rubric": ""}
        stem = "简述处理客户投诉的步骤。"
    return QuestionInput(qtype, category_id, f"第{n + 1}题：{stem}", body)


def _paper(minutes: int):
    """Create a published paper of the demo bank's types (26 questions)."""
    from exams.models import Paper, PaperSection, SectionQuestion
    from question_bank import categories
    from question_bank.services import create_question

    cat = categories.ensure_path(["业务知识", "负载测试"])
    paper = Paper(title="负载测试月考", time_limit_minutes=minutes, pass_mark=Decimal(24))
    paper.shuffle_options = True
    for position, (qtype, count, points) in enumerate(SECTIONS, start=1):
        section = PaperSection(position=position, qtype=qtype, points_per_question=Decimal(points))
        for n in range(count):
            q = create_question(_question_input(qtype, n, cat.id), None, "published")
            section.items.append(SectionQuestion(question_id=q.id, position=n + 1))
        paper.sections.append(section)
    return paper


def _agents(n: int) -> list[str]:
    """Insert n agent accounts in bulk, sharing one hash; return their usernames."""
    from sqlalchemy import insert, select

    from lms.accounts import passwords
    from lms.accounts.models import Role, User, UserRole
    from lms.extensions import db
    from lms.timeutil import utcnow

    # One hash for all: N Argon2 hashes would be most of the set-up time for nothing.
    shared, now = passwords.hash_password(PASSWORD), utcnow()
    names = [f"L{i:05d}" for i in range(1, n + 1)]
    rows = [
        {
            "username": name.lower(),
            "full_name": f"考生{name}",
            "password_hash": shared,
            # Not a temporary password: nobody is sent to change it at first sign-in.
            "must_change_password": False,
            "password_changed_at": now,
            "is_active": True,
        }
        for name in names
    ]
    db.session.execute(insert(User), rows)
    keys = [r["username"] for r in rows]
    ids = db.session.scalars(select(User.id).where(User.username.in_(keys))).all()
    db.session.execute(insert(UserRole), [{"user_id": i, "role": Role.AGENT} for i in ids])
    return keys


def seed(
    url: str, instance: str, n: int, minutes_needed: float, typing: bool = False
) -> tuple[int, list[str]]:
    """Reset the database and create the paper, an open sitting and its n candidates
    (``typing``: the sitting's component is a typing test instead of the paper)."""
    from sqlalchemy import insert, select

    from bench.exams import recreate_tables, refuse_if_in_use
    from exams.models import Candidate, Sitting, SittingKind
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.timeutil import utcnow

    app = app_for(url, instance)
    with app.app_context():
        refuse_if_in_use()
        recreate_tables()
        minutes = max(60, math.ceil(minutes_needed) + 30)  # never runs out during the run
        usernames = _agents(n)
        now = utcnow()
        sitting = Sitting(
            title="负载测试考试场次",
            kind=SittingKind.MONTHLY,
            paper=_paper(minutes),
            opens_at=now - timedelta(minutes=10),
            closes_at=now + timedelta(minutes=minutes + 60),
        )
        db.session.add(sitting)
        db.session.flush()
        ids = db.session.scalars(select(User.id).where(User.username.in_(usernames))).all()
        db.session.execute(
            insert(Candidate), [{"sitting_id": sitting.id, "user_id": i} for i in ids]
        )
        db.session.commit()
        if typing:
            from bench._typing import seed_typing

            seed_typing(minutes_needed - 10)
        sitting_id = sitting.id
        db.session.remove()
        db.engine.dispose()  # the server's workers open their own connections
    return sitting_id, usernames


# --- the check ---------------------------------------------------------------------------


@dataclass
class Verdict:
    """What the database shows against what the clients were told."""

    lost_answers: int = 0
    bad_attempts: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """Acknowledged answers missing or wrong, plus attempts not finalised exactly once."""
        return self.lost_answers + self.bad_attempts


def expected_answers(sends: list[dict]) -> dict[str, tuple[object, list]]:
    """Return per item the last acknowledged answer and the answers sent after it unacknowledged.

    ``sends`` are one candidate's saves and final submit in the order sent, each with its
    ``answers`` and whether the server ``acked`` it. A later acknowledged send overwrites an
    earlier one; an unacknowledged send may or may not have been stored (a timeout after
    the commit), so its answer is accepted too, but only if sent after the last one acked.
    """
    out: dict[str, tuple[object, list]] = {}
    for send in sends:
        for item, answer in send["answers"].items():
            if send["acked"]:
                out[item] = (answer, [])
            elif item in out:
                out[item][1].append(answer)
    return out


def _attempt_problems(username: str, attempts: list, finishes: dict) -> list[str]:
    """Return why a candidate's attempts are not one attempt finalised exactly once."""
    from exams.models import AttemptState

    if len(attempts) != 1:
        return [f"{username}: {len(attempts)} attempts, not 1"]
    a = attempts[0]
    problems = []
    if a.state != AttemptState.FINISHED or a.finished_at is None:
        problems.append(f"{username}: attempt {a.id} is {a.state}, finished_at {a.finished_at}")
    if finishes.get(str(a.id), 0) != 1:
        problems.append(f"{username}: attempt {a.id} finalised {finishes.get(str(a.id), 0)} times")
    return problems


def check(
    url: str, instance: str, sitting_id: int, log: dict[str, list[dict]], typing: bool = False
) -> Verdict:
    """Compare the database with ``log`` (username -> sends in order); return the verdict."""
    if typing:
        from bench._typing import check_typing

        with app_for(url, instance).app_context():
            from lms.extensions import db

            lost, bad, details = check_typing(sitting_id, log)
            db.session.remove()
            db.engine.dispose()
        return Verdict(lost, bad, details)
    from sqlalchemy import func, select
    from sqlalchemy.orm import selectinload

    from exams.models import Attempt, AttemptItem
    from lms.accounts.models import User
    from lms.audit.models import AuditEvent
    from lms.extensions import db
    from question_bank import qtypes

    verdict = Verdict()
    app = app_for(url, instance)
    with app.app_context():
        finishes = dict(
            db.session.execute(
                select(AuditEvent.target_id, func.count())
                .where(AuditEvent.action == "attempt.finish")
                .where(AuditEvent.target_type == "ex_attempts")
                .group_by(AuditEvent.target_id)
            ).all()
        )
        by_user: dict[str, list] = {name: [] for name in log}
        rows = db.session.execute(
            select(User.username, Attempt)
            .join(Attempt, Attempt.user_id == User.id)
            .where(Attempt.sitting_id == sitting_id)
            .options(selectinload(Attempt.items).selectinload(AttemptItem.version))
        ).all()
        for username, attempt in rows:
            by_user.setdefault(username, []).append(attempt)
        for username, attempts in by_user.items():
            problems = _attempt_problems(username, attempts, finishes)
            verdict.bad_attempts += bool(problems)
            verdict.details += problems
            items = {str(i.id): i for a in attempts for i in a.items}
            for item_id, (answer, later) in expected_answers(log.get(username, [])).items():
                item = items.get(item_id)
                stored = item.response if item else "(no such item)"
                if item is not None:
                    qt, v = qtypes.get(item.version.qtype), item.version
                    wanted = [
                        qt.read_response(v.body, a, item.option_order) for a in [answer, *later]
                    ]
                    if stored in wanted:
                        continue
                verdict.lost_answers += 1
                verdict.details.append(
                    f"{username}: item {item_id} holds {stored!r}, last acknowledged {answer!r}"
                )
        db.session.remove()
        db.engine.dispose()
    return verdict
