"""Building papers and sittings. Flush, never commit."""

import random
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import exists, select

from exams.models import (
    Attempt,
    Candidate,
    DrawRule,
    MultipleChoiceRule,
    Paper,
    PaperSection,
    ResultRule,
    ReviewPolicy,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from exams.typing.models import TypingTest
from lms import audit
from lms.accounts.models import User
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.people.models import Agent, AgentStatus
from lms.timeutil import utcnow
from lms.web import parse_id
from question_bank import qtypes
from question_bank.models import Category, Question, QuestionStatus


def _decimal(value, field: str, message: str, low=Decimal(0), high=Decimal(10000)) -> Decimal:
    try:
        number = Decimal(str(value).strip())
        if not number.is_finite():  # NaN and Infinity compare by raising
            raise InvalidOperation
        if not low <= number <= high or number != number.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        raise ValidationFailed(message, field=field) from None
    return number


def _iso(moment) -> str | None:
    """Return a moment as ISO text for the audit log (None stays None)."""
    return moment.isoformat() if moment else None


def _int(value, field: str, message: str, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ValidationFailed(message, field=field) from None
    if not low <= number <= high:
        raise ValidationFailed(message, field=field)
    return number


def paper_in_use(paper: Paper) -> bool:
    """Tell whether any attempt was started on the paper (its results depend on it)."""
    if paper.id is None:
        return False
    return bool(
        db.session.scalar(
            select(exists().where(Attempt.sitting_id == Sitting.id, Sitting.paper_id == paper.id))
        )
    )


def ensure_editable(paper: Paper) -> None:
    """Refuse changes that would alter results once candidates have started on the paper."""
    if paper_in_use(paper):
        raise ValidationFailed(
            _(
                "Candidates have already taken this paper, so its questions, points and "
                "rules can no longer change. Make a copy and edit the copy."
            )
        )


#: Settings that decide results or what candidates get; locked once the paper is in use.
RESULT_SETTINGS = (
    "time_limit_minutes",
    "pass_mark",
    "review_policy",
    "multiple_choice_rule",
    "shuffle_questions",
    "shuffle_options",
)


def save_paper(paper: Paper | None, form, actor) -> Paper:
    """Create or change a paper's settings from form values.

    Once the paper is in use only its title and instructions may change.
    """
    title = (form.get("title") or "").strip()
    if not title:
        raise ValidationFailed(_("Enter a title."), field="title")
    if len(title) > 200:
        raise ValidationFailed(_("The title may be at most 200 characters."), field="title")
    limit = _int(
        form.get("time_limit_minutes", ""),
        "time_limit_minutes",
        _("The time limit is a whole number of minutes from 1 to 600."),
        1,
        600,
    )
    pass_mark = _decimal(
        form.get("pass_mark", ""),
        "pass_mark",
        _("The pass mark is a number from 0 to 10,000 with at most two decimals."),
    )
    try:
        review = ReviewPolicy(form.get("review_policy", ""))
        mc_rule = MultipleChoiceRule(form.get("multiple_choice_rule", ""))
    except ValueError:
        raise ValidationFailed(
            _("Choose one of the offered options."), field="review_policy"
        ) from None
    if paper is None:
        paper = Paper(created_by_id=getattr(actor, "id", None))
        db.session.add(paper)
    before = paper_snapshot(paper) if paper.id else None
    paper.title, paper.time_limit_minutes, paper.pass_mark = title, limit, pass_mark
    paper.instructions = (form.get("instructions") or "").strip()[:5000]
    paper.review_policy, paper.multiple_choice_rule = review, mc_rule
    paper.shuffle_questions = bool(form.get("shuffle_questions"))
    paper.shuffle_options = bool(form.get("shuffle_options"))
    paper.updated_at = utcnow()
    if (
        before
        and any(paper_snapshot(paper).get(k) != before.get(k) for k in RESULT_SETTINGS)
        and paper_in_use(paper)
    ):
        ensure_editable(paper)
    db.session.flush()
    audit.record(
        "paper.update" if before else "paper.create",
        paper,
        summary=title,
        before=before,
        after=paper_snapshot(paper),
        actor=actor,
    )
    return paper


def paper_snapshot(paper: Paper) -> dict:
    """Return the audited settings of a paper."""
    return {
        "title": paper.title,
        "time_limit_minutes": paper.time_limit_minutes,
        "pass_mark": str(paper.pass_mark) if paper.pass_mark is not None else None,
        "review_policy": paper.review_policy.value if paper.review_policy else None,
        "multiple_choice_rule": paper.multiple_choice_rule.value
        if paper.multiple_choice_rule
        else None,
        "shuffle_questions": bool(paper.shuffle_questions),
        "shuffle_options": bool(paper.shuffle_options),
    }


def copy_paper(paper: Paper, actor) -> Paper:
    """Return an editable copy of a paper: settings, sections, fixed questions, draw rules."""
    copy = Paper(
        title=_("%(title)s (copy)", title=paper.title)[:200],
        instructions=paper.instructions,
        time_limit_minutes=paper.time_limit_minutes,
        pass_mark=paper.pass_mark,
        shuffle_questions=paper.shuffle_questions,
        shuffle_options=paper.shuffle_options,
        review_policy=paper.review_policy,
        multiple_choice_rule=paper.multiple_choice_rule,
        created_by_id=getattr(actor, "id", None),
    )
    for section in paper.sections:
        new = PaperSection(
            position=section.position,
            qtype=section.qtype,
            points_per_question=section.points_per_question,
        )
        new.items = [
            SectionQuestion(question_id=i.question_id, position=i.position) for i in section.items
        ]
        new.rules = [
            DrawRule(
                category_id=r.category_id,
                include_subcategories=r.include_subcategories,
                difficulty=r.difficulty,
                tag=r.tag,
                count=r.count,
            )
            for r in section.rules
        ]
        copy.sections.append(new)
    db.session.add(copy)
    db.session.flush()
    audit.record(
        "paper.create",
        copy,
        summary=copy.title,
        after={**paper_snapshot(copy), "copied_from": paper.id},
        actor=actor,
    )
    return copy


def add_section(paper: Paper, qtype: str, points) -> PaperSection:
    """Add a section of one question type."""
    ensure_editable(paper)
    if qtype not in qtypes.REGISTRY:
        raise ValidationFailed(_("Choose a question type."), field="qtype")
    if any(s.qtype == qtype for s in paper.sections):
        raise ValidationFailed(_("The paper already has a section of this type."), field="qtype")
    value = _decimal(
        points,
        "points",
        _("Points per question must be a number above 0 with at most two decimals."),
        Decimal("0.01"),
        Decimal(1000),
    )
    section = PaperSection(
        qtype=qtype,
        points_per_question=value,
        position=max((s.position for s in paper.sections), default=0) + 1,
    )
    paper.sections.append(section)
    db.session.flush()
    return section


def add_questions(section: PaperSection, ids_text: str) -> int:
    """Add published questions of the section's type by their numbers (e.g. 12, 15, 40)."""
    ensure_editable(section.paper)
    ids = []
    for part in re.split(r"[,，、\s]+", ids_text or ""):
        if part:
            if parse_id(part) is None:
                raise ValidationFailed(
                    _("%(v)s is not a question number.", v=part), field="question_ids"
                )
            ids.append(parse_id(part))
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationFailed(_("Enter question numbers, e.g. 12, 15, 40."), field="question_ids")
    found = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))}
    problems = []
    present = {i.question_id for i in section.items}
    for qid in ids:
        q = found.get(qid)
        if q is None:
            problems.append(_("There is no question %(id)d.", id=qid))
        elif q.qtype != section.qtype:
            problems.append(_("Question %(id)d is not of this section's type.", id=qid))
        elif q.status != QuestionStatus.PUBLISHED:
            problems.append(_("Question %(id)d is not published.", id=qid))
        elif qid in present:
            problems.append(_("Question %(id)d is already in this section.", id=qid))
    if problems:
        raise ValidationFailed(problems, field="question_ids")
    position = max((i.position for i in section.items), default=0)
    for qid in dict.fromkeys(ids):
        position += 1
        section.items.append(SectionQuestion(question_id=qid, position=position))
    db.session.flush()
    return len(ids)


def add_rule(section: PaperSection, form) -> DrawRule:
    """Add a random-draw rule, checking that enough questions exist now."""
    from exams.engine import eligible

    ensure_editable(section.paper)
    category = None
    category_id = parse_id(form.get("category_id"))
    if category_id:
        category = db.session.get(Category, category_id)
    if category is None:
        raise ValidationFailed(_("Choose a category."), field="category_id")
    count = _int(
        form.get("count", ""),
        "count",
        _("The number of questions is a whole number from 1 to 200."),
        1,
        200,
    )
    difficulty = form.get("difficulty") or None
    if difficulty is not None:
        difficulty = _int(
            difficulty,
            "difficulty",
            _("Difficulty is a whole number from 1 (easy) to 5 (hard)."),
            1,
            5,
        )
    rule = DrawRule(
        category_id=category.id,
        category=category,
        count=count,
        include_subcategories=bool(form.get("include_subcategories")),
        difficulty=difficulty,
        tag=(form.get("tag") or "").strip()[:50] or None,
    )
    available = len(eligible(section, rule, {i.question_id for i in section.items}))
    if available < count:
        raise ValidationFailed(
            _(
                "Only %(m)d published questions match this rule; it asks for %(n)d.",
                m=available,
                n=count,
            ),
            field="count",
        )
    section.rules.append(rule)
    db.session.flush()
    # Rules share pools: check that the whole paper can still be drawn for a candidate.
    from exams.engine import draw_questions

    try:
        draw_questions(section.paper, random.Random(0))  # noqa: S311 (not security)
    except ValidationFailed:
        raise ValidationFailed(
            _(
                "Together with the section's other rules this asks for more questions than "
                "are published there."
            ),
            field="count",
        ) from None
    return rule


def resolve_candidates(form) -> list[User]:
    """Return the active agents chosen by team, by status and by username (all combined)."""
    team_ids = [t for t in map(parse_id, form.getlist("teams")) if t]
    statuses = [s for s in form.getlist("statuses") if s in AgentStatus._value2member_map_]
    names = [
        n.strip().lower()
        for n in (form.get("usernames") or "").replace("，", ",").replace("\n", ",").split(",")
        if n.strip()
    ]
    users: dict[int, User] = {}
    base = select(User).join(Agent, Agent.user_id == User.id).where(User.is_active.is_(True))
    if team_ids:
        for u in db.session.scalars(base.where(Agent.team_id.in_(team_ids))):
            users[u.id] = u
    if statuses:
        for u in db.session.scalars(base.where(Agent.status.in_(statuses))):
            users[u.id] = u
    if names:
        found = {
            u.username: u
            for u in db.session.scalars(
                select(User).where(User.username.in_(names), User.is_active.is_(True))
            )
        }
        missing = [n for n in names if n not in found]
        if missing:
            raise ValidationFailed(
                _("No active user is named %(names)s.", names="、".join(missing)), field="usernames"
            )
        users.update({u.id: u for u in found.values()})
    return list(users.values())


#: A cycle is a month: 2026-01 … 2099-12.
CYCLE = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])")


def centre_month(when: datetime) -> str:
    """Return the month of ``when`` in the centre's time zone, e.g. 2026-12."""
    from zoneinfo import ZoneInfo

    from flask import current_app

    return when.astimezone(ZoneInfo(current_app.config["LMS_TIMEZONE"])).strftime("%Y-%m")


def _components(form) -> tuple[Paper | None, TypingTest | None]:
    """Return the sitting's business paper and typing test (at least one of them)."""
    paper_id, test_id = parse_id(form.get("paper_id")), parse_id(form.get("typing_test_id"))
    paper = db.session.get(Paper, paper_id) if paper_id else None
    typing_test = db.session.get(TypingTest, test_id) if test_id else None
    if form.get("paper_id") and paper is None:
        raise ValidationFailed(_("Choose a paper."), field="paper_id")
    if form.get("typing_test_id") and typing_test is None:
        raise ValidationFailed(_("Choose a typing test."), field="typing_test_id")
    if paper is None and typing_test is None:
        raise ValidationFailed(
            _("Choose a paper, a typing test, or both: a sitting needs at least one."),
            field="paper_id",
        )
    if paper is not None and (not paper.sections or paper.total_points <= 0):
        raise ValidationFailed(_("The paper has no questions yet."), field="paper_id")
    return paper, typing_test


def create_sitting(form, actor, opens_at: datetime | None, closes_at: datetime | None) -> Sitting:
    """Create a sitting with its candidates."""
    title = (form.get("title") or "").strip()
    if not title:
        raise ValidationFailed(_("Enter a title."), field="title")
    try:
        kind = SittingKind(form.get("kind", ""))
    except ValueError:
        raise ValidationFailed(_("Choose the kind of exam."), field="kind") from None
    paper, typing_test = _components(form)
    if opens_at is None or closes_at is None:
        raise ValidationFailed(
            _("Enter when the exam opens and closes, e.g. 2026-12-01 09:00."), field="opens_at"
        )
    if closes_at <= opens_at:
        raise ValidationFailed(_("The exam must close after it opens."), field="closes_at")
    attempts = _int(
        form.get("attempts_allowed", "1"),
        "attempts_allowed",
        _("Attempts allowed is a whole number from 1 to 10."),
        1,
        10,
    )
    try:
        result_rule = ResultRule(form.get("result_rule") or ResultRule.HIGHEST.value)
    except ValueError:
        raise ValidationFailed(_("Choose which attempt counts."), field="result_rule") from None
    cycle = (form.get("cycle") or "").strip() or None
    if cycle is None and kind == SittingKind.MONTHLY:
        cycle = centre_month(opens_at)
    if cycle is not None and not CYCLE.fullmatch(cycle):
        raise ValidationFailed(_("The cycle is a month written as 2026-12."), field="cycle")
    users = resolve_candidates(form)
    if not users:
        raise ValidationFailed(
            _("Choose at least one candidate (a team, a status or names)."), field="teams"
        )
    sitting = Sitting(
        title=title[:200],
        kind=kind,
        paper=paper,
        typing_test=typing_test,
        opens_at=opens_at,
        closes_at=closes_at,
        attempts_allowed=attempts,
        result_rule=result_rule,
        cycle=cycle,
        created_by_id=getattr(actor, "id", None),
    )
    sitting.candidates = [Candidate(user_id=u.id) for u in users]
    db.session.add(sitting)
    db.session.flush()
    audit.record(
        "sitting.create",
        sitting,
        summary=title,
        after={
            "paper": paper.title if paper else None,
            "typing_test": typing_test.title if typing_test else None,
            "candidates": len(users),
        },
        actor=actor,
    )
    return sitting


def set_typing_test(sitting: Sitting, test_id, actor, now: datetime | None = None) -> bool:
    """Attach, switch or remove (blank ``test_id``) the sitting's typing test, and recompute
    every candidate's result at once; return False when nothing changes.

    Refused once the sitting has closed (its results are settled), once a candidate has
    started its typing test (their attempts were drawn and scored under it), and when it
    would leave the sitting without a component.
    """
    from exams.engine import refresh_sitting
    from exams.results import last_close
    from exams.typing.models import TypingAttempt

    test = None
    if (test_id or "").strip():
        parsed = parse_id(test_id)
        test = db.session.get(TypingTest, parsed) if parsed else None
        if test is None:
            raise ValidationFailed(_("Choose a typing test."), field="typing_test_id")
    if (test.id if test else None) == sitting.typing_test_id:
        return False
    now = now or utcnow()
    if now >= last_close(sitting):
        raise ValidationFailed(
            _("This sitting has closed, so its typing test can no longer change."),
            field="typing_test_id",
        )
    if test is None and sitting.paper_id is None:
        raise ValidationFailed(
            _("Choose a paper, a typing test, or both: a sitting needs at least one."),
            field="typing_test_id",
        )
    # The row lock waits for a start in flight (it holds KEY SHARE on the row), so the
    # check below sees its attempt; a start that comes after waits for this switch.
    db.session.execute(select(Sitting.id).where(Sitting.id == sitting.id).with_for_update())
    if db.session.scalar(select(exists().where(TypingAttempt.sitting_id == sitting.id))):
        raise ValidationFailed(
            _(
                "Candidates have started this sitting's typing test, so it can no longer be "
                "switched or removed."
            ),
            field="typing_test_id",
        )
    before = sitting.typing_test.title if sitting.typing_test else None
    sitting.typing_test = test
    db.session.flush()
    changed = refresh_sitting(sitting, cause="components", now=now)
    audit.record(
        "sitting.update",
        sitting,
        summary=sitting.title,
        before={"typing_test": before},
        after={"typing_test": test.title if test else None, "results_changed": changed},
        actor=actor,
    )
    return True


def set_override(candidate: Candidate, extra_minutes, opens_at, closes_at, actor) -> None:
    """Give one candidate extra time or another window."""
    extra = _int(
        extra_minutes or "0",
        "extra_minutes",
        _("Extra time is a whole number of minutes from 0 to 600."),
        0,
        600,
    )
    if (opens_at is None) != (closes_at is None):
        raise ValidationFailed(
            _("Give both the opening and the closing time, or neither."), field="opens_at"
        )
    if opens_at and closes_at <= opens_at:
        raise ValidationFailed(_("The exam must close after it opens."), field="closes_at")
    before = {
        "extra_minutes": candidate.extra_minutes,
        "window": [_iso(candidate.opens_at), _iso(candidate.closes_at)],
    }
    candidate.extra_minutes, candidate.opens_at, candidate.closes_at = extra, opens_at, closes_at
    from exams.engine import extend_open_attempts

    extend_open_attempts(candidate)
    audit.record(
        "sitting.override",
        candidate.sitting,
        summary=candidate.user.username,
        before=before,
        after={"extra_minutes": extra, "window": [_iso(opens_at), _iso(closes_at)]},
        actor=actor,
    )
