"""The typing component's result of a sitting, kept on the candidate row.

exams.results.refresh calls :func:`refresh_typing` beside the paper's part and combines
them: the sitting is passed only when every component is.
"""

from datetime import datetime

from sqlalchemy import select

from exams import rules
from exams.models import Candidate, Outcome, ResultRule
from exams.typing.models import TypingAttempt, TypingReview, TypingState
from lms.extensions import db


def counted(attempts: list[TypingAttempt], rule: ResultRule) -> tuple[TypingAttempt | None, bool]:
    """Return (the attempt that counts, whether it waits for a trainer's review).

    Voided attempts never count. Under "highest" the best counts (a pass before a fail,
    then the higher net speed), so one held for review may be the best: the result waits.
    Under "last" the latest finished one counts.
    """
    done = [
        a for a in attempts if a.state == TypingState.FINISHED and a.review != TypingReview.VOIDED
    ]
    if not done:
        return None, False
    if rule == ResultRule.LAST:
        last = done[-1]
        return last, last.review == TypingReview.HELD
    held = any(a.review == TypingReview.HELD for a in done)
    judged = [a for a in done if a.review != TypingReview.HELD]
    if not judged:
        return done[-1], True
    best = max(judged, key=lambda a: (bool(a.passed), a.net_speed or 0, -a.number))
    return best, held and not best.passed


def refresh_typing(candidate: Candidate, now: datetime, closed: bool):
    """Set the typing columns of ``candidate`` from its counted attempt; return its part."""
    from exams.results import FINAL, attempts_left
    from exams.rules import Part

    attempts = list(
        db.session.scalars(
            select(TypingAttempt)
            .where(
                TypingAttempt.sitting_id == candidate.sitting_id,
                TypingAttempt.user_id == candidate.user_id,
            )
            .order_by(TypingAttempt.number)
        )
    )
    attempt, pending = counted(attempts, candidate.sitting.result_rule)
    if attempt is None:
        absent = closed or candidate.typing_outcome == Outcome.ABSENT
        outcome = Outcome.ABSENT if absent else Outcome.NONE
    elif pending:
        outcome = Outcome.PENDING
    else:
        outcome = Outcome.PASSED if attempt.passed else Outcome.FAILED
    candidate.typing_outcome = outcome
    candidate.typing_attempt_id = attempt.id if attempt and not pending else None
    judged = attempt is not None and not pending
    candidate.typing_speed = attempt.net_speed if judged else None
    candidate.typing_accuracy = attempt.accuracy if judged else None
    open_ = any(a.state == TypingState.IN_PROGRESS for a in attempts)
    used = len([a for a in attempts if a.review != TypingReview.VOIDED])
    final = outcome in FINAL and not open_ and not attempts_left(candidate, used, now)
    return Part(outcome, final or outcome == Outcome.ABSENT)


def typing_status_of(candidate: Candidate, attempts: list, now: datetime):
    """Return the standing of a candidate whose sitting is a typing test only."""
    from exams.results import CandidateStatus, window

    current = next((a for a in attempts if a.state == "in_progress"), None)
    if current is not None and (current.deadline_at is None or now < current.deadline_at):
        left = rules.seconds_left(now, current.deadline_at) if current.deadline_at else None
        return CandidateStatus.IN_PROGRESS, None, left
    if current is not None:
        return CandidateStatus.TIMED_OUT, None, None
    if not attempts:
        closes = window(candidate.sitting, candidate)[1]
        status = CandidateStatus.ABSENT if now >= closes else CandidateStatus.NOT_STARTED
        return status, None, None
    return CandidateStatus.FINISHED, None, None
