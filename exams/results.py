"""Results as the rest of the product sees them: which attempt counts, and each candidate's
result of a sitting (score, pass or fail, how it finished, graded or still waiting).

The engine calls :func:`refresh` whenever an attempt finishes or a score changes, so the
candidate row always mirrors the counted attempt; reports, the training policy and
certificates read it from there (or through :func:`sitting_results`), never recompute it.
"""

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from exams import rules
from exams.models import (
    Attempt,
    AttemptState,
    Candidate,
    DrawRule,
    FinishReason,
    Outcome,
    PaperSection,
    ReviewPolicy,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from exams.rules import Part, combine
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank import categories
from question_bank.models import Question

#: Outcomes that judge an attempt (final once no further attempt is possible).
FINAL = (Outcome.PASSED, Outcome.FAILED)


class CandidateStatus(enum.StrEnum):
    """Where a candidate stands in a sitting, for lists, filters and the monitor."""

    NOT_STARTED = "not_started"  #: no attempt yet, and the window is still open (or to come)
    IN_PROGRESS = "in_progress"
    ABSENT = "absent"  #: the window closed without an attempt
    TIMED_OUT = "timed_out"  #: the counted (or only) attempt ran out of time
    FINISHED = "finished"  #: submitted

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    CandidateStatus.NOT_STARTED: _l("Not started"),
    CandidateStatus.IN_PROGRESS: _l("In progress"),
    CandidateStatus.ABSENT: _l("Absent"),
    CandidateStatus.TIMED_OUT: _l("Finished (time ran out)"),
    CandidateStatus.FINISHED: _l("Finished"),
}


@dataclass
class CandidateResult:
    """One candidate's standing and result in a sitting."""

    candidate: Candidate
    status: CandidateStatus
    attempts: list[Attempt] = field(default_factory=list)
    counted: Attempt | None = None  #: the attempt that counts, once known
    current: Attempt | None = None  #: the attempt in progress, if any
    seconds_left: int | None = None
    #: The typing test's attempts (a sitting with a typing component), in order.
    typing_attempts: list = field(default_factory=list)

    @property
    def typing_outcome(self) -> Outcome:
        """Return the typing test's result (none when the sitting has no typing test)."""
        return self.candidate.typing_outcome

    @property
    def typing_attempt(self):
        """Return the typing attempt that counts, else the latest finished one."""
        counted = self.candidate.typing_attempt_id
        done = [a for a in self.typing_attempts if a.state == "finished"]
        return next((a for a in done if a.id == counted), done[-1] if done else None)

    @property
    def user(self):
        """Return the candidate's user."""
        return self.candidate.user

    @property
    def outcome(self) -> Outcome:
        """Return none, pending, passed or failed."""
        return self.candidate.outcome

    @property
    def score(self) -> Decimal | None:
        """Return the counted score (None until final)."""
        return self.candidate.result_score

    @property
    def passed(self) -> bool | None:
        """Return True or False once the result is final, else None."""
        return {Outcome.PASSED: True, Outcome.FAILED: False}.get(self.candidate.outcome)

    @property
    def pending(self) -> bool:
        """Tell whether the result waits for a trainer's grading."""
        return self.candidate.outcome == Outcome.PENDING

    @property
    def paper_pending(self) -> bool:
        """Tell whether the paper's score waits for a trainer's grading (a typing result held
        for review is not grading, and leaves the paper's score alone)."""
        return self.candidate.paper_outcome == Outcome.PENDING

    @property
    def finish_reason(self) -> FinishReason | None:
        """Return how the counted (or latest finished) attempt ended."""
        attempt = self.counted or next(
            (a for a in reversed(self.attempts) if a.state == AttemptState.FINISHED), None
        )
        return attempt.finish_reason if attempt else None


def window(sitting: Sitting, candidate: Candidate | None) -> tuple[datetime, datetime]:
    """Return the candidate's window: their override, else the sitting's."""
    opens = (candidate.opens_at if candidate and candidate.opens_at else None) or sitting.opens_at
    closes = (
        candidate.closes_at if candidate and candidate.closes_at else None
    ) or sitting.closes_at
    return opens, closes


def last_close(sitting: Sitting) -> datetime:
    """Return the latest moment anyone may still sit: the close or a later personal window."""
    latest = db.session.scalar(
        select(func.max(Candidate.closes_at)).where(Candidate.sitting_id == sitting.id)
    )
    return max(sitting.closes_at, latest) if latest else sitting.closes_at


def may_review(attempt: Attempt, now: datetime | None = None) -> bool:
    """Tell whether the candidate may now see the answers, key and explanations of ``attempt``.

    The policy frozen on the attempt decides; "after submitting" still waits while this
    candidate could start another attempt at the same questions.
    """
    now = now or utcnow()
    if attempt.state != AttemptState.FINISHED or attempt.review_policy == ReviewPolicy.SCORE_ONLY:
        return False
    sitting = attempt.sitting
    candidate = db.session.scalar(
        select(Candidate).where(
            Candidate.sitting_id == sitting.id, Candidate.user_id == attempt.user_id
        )
    )
    _opens, closes = window(sitting, candidate)
    used = db.session.scalar(
        select(func.count(Attempt.id)).where(
            Attempt.sitting_id == sitting.id, Attempt.user_id == attempt.user_id
        )
    )
    attempts_left = used < sitting.attempts_allowed and now < closes
    allowed = rules.review_allowed(
        attempt.review_policy.value, True, now, last_close(sitting), attempts_left
    )
    return allowed and not asked_in_open_sitting(attempt, now)


def asked_in_open_sitting(attempt: Attempt, now: datetime) -> bool:
    """Tell whether another sitting still open may ask any of the attempt's questions.

    Papers are reused (a make-up or a retraining sitting, next month's draw from the same
    categories): a key shown here would reach candidates still answering there.
    """
    qids = {i.question_id for i in attempt.items}
    latest = (
        select(Candidate.sitting_id, func.max(Candidate.closes_at).label("latest"))
        .group_by(Candidate.sitting_id)
        .subquery()
    )
    grace_end = now - rules.GRACE
    open_papers = (
        select(Sitting.paper_id)
        .outerjoin(latest, latest.c.sitting_id == Sitting.id)
        .where(
            Sitting.id != attempt.sitting_id,
            Sitting.opens_at <= now,
            or_(Sitting.closes_at > grace_end, latest.c.latest > grace_end),
        )
    )
    fixed = db.session.scalar(
        select(func.count(SectionQuestion.id))
        .join(PaperSection, PaperSection.id == SectionQuestion.section_id)
        .where(PaperSection.paper_id.in_(open_papers), SectionQuestion.question_id.in_(qids))
    )
    if fixed:
        return True
    drawn = db.session.scalars(
        select(DrawRule)
        .join(PaperSection, PaperSection.id == DrawRule.section_id)
        .where(PaperSection.paper_id.in_(open_papers))
    ).all()
    if not drawn:
        return False
    mine = set(db.session.scalars(select(Question.category_id).where(Question.id.in_(qids))))
    for rule in drawn:
        pool = (
            set(categories.descendant_ids(rule.category_id))
            if rule.include_subcategories
            else {rule.category_id}
        )
        if pool & mine:
            return True
    return False


def attempts_left(candidate: Candidate, used: int, now: datetime) -> bool:
    """Tell whether the candidate may still start an attempt (used < allowed, window open)."""
    _opens, closes = window(candidate.sitting, candidate)
    return used < candidate.sitting.attempts_allowed and now < closes


def refresh(
    candidate: Candidate, now: datetime | None = None, closed: bool = False
) -> tuple[tuple, tuple]:
    """Set the candidate's result from the attempts that count; return (before, after).

    Each side is (outcome, score, counted attempt id, final). A pass or fail is final only
    once no further attempt is possible; until then it is provisional and nobody should act
    on it. ``closed``: the sitting has closed, so a component never finished is absent.
    Only the engines call this.
    """
    from exams.typing import results as typing_results

    now = now or utcnow()
    before = state_of(candidate)
    sitting = candidate.sitting
    parts = []
    if sitting.paper_id is not None or sitting.typing_test_id is None:
        parts.append(_refresh_paper(candidate, now, closed))
    if sitting.typing_test_id is not None:
        parts.append(typing_results.refresh_typing(candidate, now, closed))
    else:  # no typing component (any more): nothing of one may linger on the row
        candidate.typing_outcome, candidate.typing_attempt_id = Outcome.NONE, None
        candidate.typing_speed = candidate.typing_accuracy = None
    result = combine(parts)
    candidate.outcome = Outcome(result.outcome)
    if not result.final:
        candidate.result_final_at = None
    elif candidate.result_final_at is None:
        candidate.result_final_at = now
    db.session.flush()
    return before, state_of(candidate)


def _refresh_paper(candidate: Candidate, now: datetime, closed: bool) -> Part:
    """Set the paper's columns of the candidate from its counted attempt; return its part."""
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.sitting_id == candidate.sitting_id, Attempt.user_id == candidate.user_id)
            .order_by(Attempt.number)
        )
    )
    finished = [a for a in attempts if a.state == AttemptState.FINISHED]
    by_id = {a.id: a for a in finished}
    key, pending = rules.counted_attempt(
        candidate.sitting.result_rule.value, [(a.id, a.score) for a in finished]
    )
    counted = by_id.get(key)
    if not finished:
        absent = closed or candidate.paper_outcome == Outcome.ABSENT
        outcome = Outcome.ABSENT if absent else Outcome.NONE
        score = None
    elif pending:
        outcome, score = Outcome.PENDING, None
    else:
        outcome = Outcome.PASSED if counted.passed else Outcome.FAILED
        score = counted.score
    candidate.paper_outcome, candidate.result_score = outcome, score
    candidate.result_attempt_id = counted.id if counted else None
    open_ = any(a.state == AttemptState.IN_PROGRESS for a in attempts)
    final = outcome in FINAL and not open_ and not attempts_left(candidate, len(attempts), now)
    return Part(outcome, final or outcome == Outcome.ABSENT)


def has_open_attempt(candidate: Candidate) -> bool:
    """Tell whether the candidate has an attempt in progress at the sitting (any component)."""
    from exams.typing.models import TypingAttempt, TypingState

    paper = select(Attempt.id).where(
        Attempt.sitting_id == candidate.sitting_id,
        Attempt.user_id == candidate.user_id,
        Attempt.state == AttemptState.IN_PROGRESS,
    )
    typing = select(TypingAttempt.id).where(
        TypingAttempt.sitting_id == candidate.sitting_id,
        TypingAttempt.user_id == candidate.user_id,
        TypingAttempt.state == TypingState.IN_PROGRESS,
    )
    return db.session.scalar(paper.union_all(typing).limit(1)) is not None


def state_of(candidate: Candidate) -> tuple:
    """Return (outcome, score, counted attempt id, final) as the candidate row holds it."""
    return (
        candidate.outcome,
        candidate.result_score,
        candidate.result_attempt_id,
        candidate.result_final_at is not None,
    )


def closed_unsettled(now: datetime | None = None) -> list[Candidate]:
    """Return candidates of closed sittings whose result is not final yet (the engine settles
    them: a provisional pass or fail becomes final, no attempt at all becomes absent)."""
    now = now or utcnow()
    latest = (
        select(Candidate.sitting_id, func.max(Candidate.closes_at).label("latest"))
        .group_by(Candidate.sitting_id)
        .subquery()
    )
    rows = db.session.scalars(
        select(Candidate)
        .join(Sitting, Sitting.id == Candidate.sitting_id)
        .join(latest, latest.c.sitting_id == Sitting.id)
        .where(
            Candidate.result_final_at.is_(None),
            Sitting.closes_at <= now - rules.GRACE,
            or_(latest.c.latest.is_(None), latest.c.latest <= now - rules.GRACE),
        )
        .order_by(Candidate.id)
    )
    return list(rows)


def status_of(
    candidate: Candidate, attempts: list[Attempt], now: datetime
) -> tuple[CandidateStatus, Attempt | None, int | None]:
    """Return the candidate's status, their attempt in progress and its seconds left.

    An attempt past its deadline counts as timed out at once, even before the engine has
    finalised it (a closed tab): nobody can answer it any more.
    """
    current = next((a for a in attempts if a.state == AttemptState.IN_PROGRESS), None)
    if current is not None and now < current.deadline_at:
        return CandidateStatus.IN_PROGRESS, current, rules.seconds_left(now, current.deadline_at)
    if current is not None:
        return CandidateStatus.TIMED_OUT, None, None
    if not attempts:
        _opens, closes = window(candidate.sitting, candidate)
        return (
            CandidateStatus.ABSENT if now >= closes else CandidateStatus.NOT_STARTED,
            None,
            None,
        )
    counted = candidate.result_attempt or attempts[-1]
    if counted.finish_reason == FinishReason.TIMEOUT:
        return CandidateStatus.TIMED_OUT, None, None
    return CandidateStatus.FINISHED, None, None


def sitting_results(sitting: Sitting, now: datetime | None = None) -> list[CandidateResult]:
    """Return every candidate of the sitting with their standing and result, by username."""
    from exams.typing.models import TypingAttempt
    from exams.typing.results import typing_status_of

    now = now or utcnow()
    attempts: dict[int, list[Attempt]] = {}
    for a in db.session.scalars(
        select(Attempt).where(Attempt.sitting_id == sitting.id).order_by(Attempt.number)
    ):
        attempts.setdefault(a.user_id, []).append(a)
    typing: dict[int, list] = {}
    if sitting.typing_test_id is not None:
        for t in db.session.scalars(
            select(TypingAttempt)
            .where(TypingAttempt.sitting_id == sitting.id)
            .order_by(TypingAttempt.number)
        ):
            typing.setdefault(t.user_id, []).append(t)
    candidates = db.session.scalars(
        select(Candidate)
        .where(Candidate.sitting_id == sitting.id)
        .options(selectinload(Candidate.user), selectinload(Candidate.result_attempt))
    ).all()
    out = []
    for c in sorted(candidates, key=lambda c: c.user.username):
        mine, typed = attempts.get(c.user_id, []), typing.get(c.user_id, [])
        if sitting.paper_id is None and sitting.typing_test_id is not None:
            status, current, left = typing_status_of(c, typed, now)
        else:
            status, current, left = status_of(c, mine, now)
        out.append(CandidateResult(c, status, mine, c.result_attempt, current, left, typed))
    return out


def failed_in_cycles(kind: SittingKind, cycles: list[str], count_absent: bool = False) -> list[int]:
    """Return the users whose final result failed in every one of ``cycles`` (one query).

    e.g. ``failed_in_cycles(SittingKind.MONTHLY, ["2026-11", "2026-12"])``: failed the
    monthly exam twice in a row. A cycle counts as failed when a final result of it failed
    and none passed (a make-up sitting passed in the same month clears it); provisional
    results (attempts still possible) and results waiting for grading never count.
    ``count_absent`` counts an absence as a failure.
    """
    cycles = list(dict.fromkeys(cycles))
    failing = [Outcome.FAILED, Outcome.ABSENT] if count_absent else [Outcome.FAILED]
    per_cycle = (
        select(
            Candidate.user_id.label("user_id"),
            Sitting.cycle.label("cycle"),
            func.sum(case((Candidate.outcome == Outcome.PASSED, 1), else_=0)).label("passes"),
            func.sum(case((Candidate.outcome.in_(failing), 1), else_=0)).label("fails"),
        )
        .join(Sitting, Sitting.id == Candidate.sitting_id)
        .where(
            Sitting.kind == kind,
            Sitting.cycle.in_(cycles),
            Candidate.result_final_at.is_not(None),
        )
        .group_by(Candidate.user_id, Sitting.cycle)
        .subquery()
    )
    stmt = (
        select(per_cycle.c.user_id)
        .where(per_cycle.c.passes == 0, per_cycle.c.fails > 0)
        .group_by(per_cycle.c.user_id)
        .having(func.count() == len(cycles))
        .order_by(per_cycle.c.user_id)
    )
    return list(db.session.scalars(stmt))
