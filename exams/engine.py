"""The attempt engine: the one module that starts, saves, finalises and grades attempts.

Concurrency: a save and a finalisation are each one conditional UPDATE (``WHERE seq < new``,
``WHERE state = 'in_progress'``), so on SQLite (which ignores SELECT … FOR UPDATE) and on
PostgreSQL alike, replayed saves are refused and a submit finalises exactly once however
many requests race.

Two tabs or two devices on one attempt: every save carries the sequence number the page
was given plus one per save; the first tab to save wins, and the other's next save is
refused as stale, so that page tells the candidate to reload (and reloading shows every
saved answer). Nothing is lost and no tab silently overwrites the other.
"""

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from exams import rules
from exams.models import (
    Attempt,
    AttemptItem,
    AttemptState,
    Candidate,
    MultipleChoiceRule,
    Sitting,
)
from lms import audit
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.timeutil import utcnow
from lms.web import parse_id
from question_bank import categories, qtypes
from question_bank.models import Question, QuestionStatus, Tag, question_tags

START_MESSAGES = {
    "open_attempt": _l("You already have an attempt in progress."),
    "not_open": _l("This exam has not opened yet."),
    "closed": _l("This exam has closed."),
    "no_attempts_left": _l("You have used all your attempts."),
}


class StartRefused(ValidationFailed):
    """Raise when a candidate may not start an attempt; ``reason`` is the rule's code."""

    def __init__(self, reason: str):
        super().__init__(str(START_MESSAGES[reason]))
        self.reason = reason


def window(sitting: Sitting, candidate: Candidate | None) -> tuple[datetime, datetime]:
    """Return the candidate's window: their override, else the sitting's."""
    opens = (candidate.opens_at if candidate and candidate.opens_at else None) or sitting.opens_at
    closes = (
        candidate.closes_at if candidate and candidate.closes_at else None
    ) or sitting.closes_at
    return opens, closes


def candidate_of(sitting: Sitting, user) -> Candidate | None:
    """Return the user's candidate row in the sitting, or None when not a candidate."""
    return db.session.scalar(
        select(Candidate).where(Candidate.sitting_id == sitting.id, Candidate.user_id == user.id)
    )


def _eligible(section, rule, exclude: set[int]) -> list[int]:
    stmt = select(Question.id).where(
        Question.status == QuestionStatus.PUBLISHED, Question.qtype == section.qtype
    )
    ids = (
        categories.descendant_ids(rule.category_id)
        if rule.include_subcategories
        else [rule.category_id]
    )
    stmt = stmt.where(Question.category_id.in_(ids))
    if rule.difficulty:
        stmt = stmt.where(Question.difficulty == rule.difficulty)
    if rule.tag:
        stmt = stmt.where(
            Question.id.in_(
                select(question_tags.c.question_id).join(Tag).where(Tag.name == rule.tag)
            )
        )
    return [i for i in db.session.scalars(stmt.order_by(Question.id)) if i not in exclude]


def draw_questions(paper, rnd: random.Random) -> list[tuple[int, list[int]]]:
    """Return, per section, the question ids a new attempt gets (fixed ones, then drawn)."""
    chosen: set[int] = set()
    out = []
    for section in paper.sections:
        ids = [item.question_id for item in section.items]
        chosen.update(ids)
        for rule in section.rules:
            pool = _eligible(section, rule, chosen)
            if len(pool) < rule.count:
                raise ValidationFailed(
                    _(
                        "The paper asks for %(n)d questions from %(cat)s but only %(m)d are "
                        "published there. Ask a trainer to fix the paper.",
                        n=rule.count,
                        cat=categories.path_label(rule.category),
                        m=len(pool),
                    )
                )
            picked = rnd.sample(pool, rule.count)
            chosen.update(picked)
            ids.extend(picked)
        if paper.shuffle_questions:
            rnd.shuffle(ids)
        out.append((section.position, ids))
    return out


def start(
    sitting: Sitting, user, now: datetime | None = None, rnd: random.Random | None = None
) -> Attempt:
    """Start an attempt: freeze its questions, their versions and the option order."""
    now = now or utcnow()
    rnd = rnd or random.SystemRandom()
    candidate = candidate_of(sitting, user)
    if candidate is None:
        raise ValidationFailed(_("You are not a candidate of this exam."))
    finalise_overdue_of(user, now)
    attempts = list(
        db.session.scalars(
            select(Attempt).where(Attempt.sitting_id == sitting.id, Attempt.user_id == user.id)
        )
    )
    opens, closes = window(sitting, candidate)
    check = rules.can_start(
        now,
        opens,
        closes,
        len(attempts),
        sitting.attempts_allowed,
        any(a.state == AttemptState.IN_PROGRESS for a in attempts),
    )
    if not check.allowed:
        raise StartRefused(check.reason)
    paper = sitting.paper
    drawn = draw_questions(paper, rnd)
    questions = {
        q.id: q
        for q in db.session.scalars(
            select(Question).where(Question.id.in_([i for _, ids in drawn for i in ids]))
        )
    }
    attempt = Attempt(
        sitting=sitting,
        user_id=user.id,
        number=len(attempts) + 1,
        started_at=now,
        deadline_at=rules.deadline(now, paper.time_limit_minutes, candidate.extra_minutes, closes),
        max_score=paper.total_points,
    )
    position = 0
    sections = {s.position: s for s in paper.sections}
    for section_pos, ids in drawn:
        for qid in ids:
            position += 1
            version = questions[qid].current
            version.frozen = True  # used in an exam: never edited in place again
            order = qtypes.get(version.qtype).option_order(version.body, paper.shuffle_options, rnd)
            attempt.items.append(
                AttemptItem(
                    position=position,
                    section=section_pos,
                    question_id=qid,
                    version_id=version.id,
                    points=sections[section_pos].points_per_question,
                    option_order=order,
                )
            )
    db.session.add(attempt)
    # Two starts at once (a double click): the unique (sitting, user, number) lets only one
    # insert succeed; the caller rolls back the other and shows the winner's attempt.
    db.session.flush()
    return attempt


@dataclass
class SaveResult:
    """What came of a save."""

    accepted: bool
    reason: str = ""


def save(
    attempt: Attempt, seq: int, answers: dict, flags: dict, now: datetime | None = None
) -> SaveResult:
    """Store answers and flags if the save is in time and newer than the last one."""
    now = now or utcnow()
    if attempt.state == AttemptState.IN_PROGRESS and rules.is_overdue(now, attempt.deadline_at):
        finalise(attempt, "timeout", now)
        return SaveResult(False, "time_over")
    check = rules.check_save(
        now, attempt.deadline_at, attempt.state == AttemptState.FINISHED, attempt.seq, seq
    )
    if not check.accepted:
        return SaveResult(False, check.reason)
    # Only the items this save touches are loaded: the page sends what changed.
    wanted = {parse_id(k) for k in [*(answers or {}), *(flags or {})]}
    if None in wanted:
        raise ValidationFailed(_("The answer is for a question that is not in this exam."))
    items = (
        {
            str(i.id): i
            for i in db.session.scalars(
                select(AttemptItem)
                .where(AttemptItem.attempt_id == attempt.id, AttemptItem.id.in_(wanted))
                .options(joinedload(AttemptItem.version))
            )
        }
        if wanted
        else {}
    )
    parsed = {}
    for key, raw in (answers or {}).items():
        item = items.get(str(key))
        if item is None:
            raise ValidationFailed(_("The answer is for a question that is not in this exam."))
        try:
            parsed[key] = qtypes.get(item.version.qtype).read_response(
                item.version.body, raw, item.option_order
            )
        except (ValueError, TypeError) as exc:
            raise ValidationFailed(_("An answer has the wrong form.")) from exc
    # One conditional UPDATE decides: a replayed or stale save changes nothing.
    won = db.session.execute(
        update(Attempt)
        .where(
            Attempt.id == attempt.id, Attempt.state == AttemptState.IN_PROGRESS, Attempt.seq < seq
        )
        .values(seq=seq, last_saved_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        return SaveResult(False, "stale")
    for key, value in parsed.items():
        item = items[str(key)]
        item.response = value
        answered = qtypes.get(item.version.qtype).is_answered(value)
        item.grade_state = "complete" if answered else "todo"
    for key, flagged in (flags or {}).items():
        if str(key) in items:
            items[str(key)].flagged = bool(flagged)
    db.session.flush()
    # The UPDATE above set these; record them without another query.
    set_committed_value(attempt, "seq", seq)
    set_committed_value(attempt, "last_saved_at", now)
    return SaveResult(True)


def finalise(attempt: Attempt, reason: str, now: datetime | None = None) -> bool:
    """Finish the attempt with its saved answers and grade it; True only for the caller that
    finished it (a double click, a second tab or a retry gets False and changes nothing)."""
    now = now or utcnow()
    won = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == AttemptState.IN_PROGRESS)
        .values(state=AttemptState.FINISHED, finished_at=now, finish_reason=reason)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    if won != 1:
        return False
    grade(attempt)
    audit.record(
        "attempt.finish",
        attempt,
        summary=f"{attempt.sitting.title} #{attempt.number}",
        after={"reason": reason, "score": _num(attempt.score)},
        actor=attempt.user,
    )
    return True


def _num(value: Decimal | None):
    return None if value is None else str(value)


def grade(attempt: Attempt, keys: dict[int, dict] | None = None) -> None:
    """Grade every objective item; recompute the totals. ``keys`` overrides bodies (regrade)."""
    partial = attempt.sitting.paper.multiple_choice_rule == MultipleChoiceRule.PARTIAL_HALF
    for item in attempt.items:
        qtype = qtypes.get(item.version.qtype)
        if qtype.manual:
            if item.graded_at is None:
                item.score, item.grade_state = None, "needsgrading"
            continue
        body = (keys or {}).get(item.question_id, item.version.body)
        fraction = qtype.grade(body, item.response, partial=partial)
        item.score, item.grade_state = rules.item_score(fraction, item.points)
    update_totals(attempt)


def update_totals(attempt: Attempt) -> None:
    """Recompute the attempt's score, pass or fail and section scores from its items."""
    result = rules.totals(
        [(i.section, i.score, i.points) for i in attempt.items], attempt.sitting.paper.pass_mark
    )
    attempt.score, attempt.max_score = result.score, result.max_score
    attempt.section_scores, attempt.passed = result.section_scores, result.passed
    attempt.needs_grading = result.score is None
    db.session.flush()


def finalise_if_overdue(attempt: Attempt, now: datetime | None = None) -> bool:
    """Finalise an open attempt past its deadline (lazily, on any access)."""
    now = now or utcnow()
    if attempt.state == AttemptState.IN_PROGRESS and rules.is_overdue(now, attempt.deadline_at):
        return finalise(attempt, "timeout", now)
    return False


def finalise_overdue_of(user, now: datetime | None = None) -> int:
    """Finalise the user's overdue attempts; return how many."""
    now = now or utcnow()
    open_ = db.session.scalars(
        select(Attempt).where(
            Attempt.user_id == user.id,
            Attempt.state == AttemptState.IN_PROGRESS,
            Attempt.deadline_at < now - rules.GRACE,
        )
    )
    return sum(finalise(a, "timeout", now) for a in list(open_))


def close_overdue(now: datetime | None = None) -> int:
    """Finalise every attempt past its deadline (cron-safe: each commits on its own)."""
    now = now or utcnow()
    ids = list(
        db.session.scalars(
            select(Attempt.id).where(
                Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline_at < now - rules.GRACE
            )
        )
    )
    done = 0
    for attempt_id in ids:
        attempt = db.session.get(Attempt, attempt_id)
        if finalise(attempt, "timeout", now):
            done += 1
        db.session.commit()
    return done


def record_manual_grade(item: AttemptItem, score, comment: str, grader) -> None:
    """Store a trainer's score and comment for a short answer; update the attempt."""
    try:
        value = Decimal(str(score).strip())
        if not value.is_finite():
            raise ArithmeticError
        value = rules.round_points(value)
    except ArithmeticError as exc:
        raise ValidationFailed(_("Enter the score as a number.")) from exc
    if not Decimal(0) <= value <= item.points:
        raise ValidationFailed(
            _("The score must be between 0 and %(max)s.", max=f"{item.points:g}")
        )
    before = {"score": _num(item.score)}
    item.score = value
    item.grader_comment = (comment or "").strip()[:2000]
    item.grader_id = grader.id
    item.graded_at = utcnow()
    item.grade_state = (
        "gradedright" if value == item.points else "gradedwrong" if value == 0 else "gradedpartial"
    )
    update_totals(item.attempt)
    audit.record(
        "attempt.grade",
        item.attempt,
        summary=f"item {item.position}",
        before=before,
        after={"score": _num(value)},
        actor=grader,
    )


def regrade(sitting: Sitting, apply: bool, actor=None) -> list[dict]:
    """Regrade finished attempts with each question's current answer key.

    With ``apply`` False it is a dry run: it lists every change and changes nothing.
    """
    attempts = list(
        db.session.scalars(
            select(Attempt).where(
                Attempt.sitting_id == sitting.id, Attempt.state == AttemptState.FINISHED
            )
        )
    )
    qids = {i.question_id for a in attempts for i in a.items}
    keys = {
        q.id: q.current.body
        for q in db.session.scalars(select(Question).where(Question.id.in_(qids)))
    }
    changes = []
    with db.session.no_autoflush:
        for attempt in attempts:
            before_items = {i.id: i.score for i in attempt.items}
            before_score = attempt.score
            grade(attempt, keys)
            for i in attempt.items:
                if i.score != before_items[i.id]:
                    changes.append(
                        {
                            "attempt": attempt.id,
                            "user": attempt.user.full_name,
                            "position": i.position,
                            "before": _num(before_items[i.id]),
                            "after": _num(i.score),
                            "total_before": _num(before_score),
                            "total_after": _num(attempt.score),
                        }
                    )
    if not apply:
        db.session.rollback()
        return changes
    audit.record(
        "sitting.regrade",
        sitting,
        summary=sitting.title,
        after={"changes": len(changes)},
        actor=actor,
    )
    return changes
