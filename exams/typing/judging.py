"""Judging a finished typing attempt: its result from the text and the server's clock, and
whether it looks typed by a person (else it is held for a trainer's review)."""

from decimal import Decimal

from sqlalchemy import and_, or_, select

from exams.typing import plausibility, scoring
from exams.typing.models import TypingAttempt, TypingReview
from lms.extensions import db


def rules_of(attempt: TypingAttempt) -> scoring.TypingRules:
    """Return the scoring rules frozen on the attempt."""
    return scoring.TypingRules(
        duration_minutes=None if attempt.whole_passage else attempt.duration_minutes,
        pass_speed=Decimal(attempt.pass_speed),
        min_accuracy=Decimal(attempt.min_accuracy) / 100,
        error_penalty=attempt.error_penalty,
        speed_ceiling=Decimal(attempt.speed_ceiling),
    )


def seconds_used(attempt: TypingAttempt) -> float:
    """Return the seconds from the server's start to the end (0 if never delivered)."""
    if attempt.started_at is None or attempt.finished_at is None:
        return 0.0
    return max(0.0, (attempt.finished_at - attempt.started_at).total_seconds())


#: The page's counters that only grow while a page lives (a reload starts them again).
CUMULATIVE = ("keys", "compositions", "deletions", "pastes", "idle_ms")


def totals(evidences: list[dict]) -> list[dict]:
    """Return the counters of each snapshot summed over the pages that sent them.

    A counter that goes down means a new page (a reload, another device) started counting
    from zero: what the earlier pages counted is carried over, so a reload halfway through
    does not look like 300 characters typed with 10 keys.
    """
    base = dict.fromkeys(CUMULATIVE, 0)
    last = dict.fromkeys(CUMULATIVE, 0)
    longest = 0
    out = []
    for ev in evidences:
        ev = ev or {}
        row = dict(ev)
        for key in CUMULATIVE:
            value = ev.get(key, last[key]) or 0
            if value < last[key]:
                base[key] += last[key]
            last[key] = value
            row[key] = base[key] + value
        longest = max(longest, ev.get("longest_commit", 0) or 0)
        row["longest_commit"] = longest
        out.append(row)
    return out


def snaps_of(attempt: TypingAttempt) -> list[plausibility.Snap]:
    """Return the attempt's snapshots as the plausibility rules read them."""
    counted = totals([s.evidence for s in attempt.snapshots])
    return [
        plausibility.Snap(
            seconds=(s.received_at - attempt.started_at).total_seconds(),
            client_ms=s.client_ms,
            length=s.length,
            added=len(s.added),
            compositions=int(ev.get("compositions", 0)),
        )
        for s, ev in zip(attempt.snapshots, counted, strict=True)
    ]


def evidence_of(attempt: TypingAttempt) -> plausibility.Evidence:
    """Return the page's counters over the whole attempt (every page that sent snapshots)
    as plausibility.Evidence; unknown keys are kept aside."""
    counted = totals([s.evidence for s in attempt.snapshots])
    ev = dict(counted[-1] if counted else attempt.evidence or {})
    fields = plausibility.Evidence.__dataclass_fields__
    known = {f: ev.pop(f) for f in list(ev) if f in fields and f != "extra"}
    return plausibility.Evidence(**known, extra=ev)


def overlapping(attempt: TypingAttempt) -> bool:
    """Tell whether another typing attempt of the same person ran at the same time."""
    start, end = attempt.started_at, attempt.finished_at
    if start is None:
        return False
    other = db.session.scalar(
        select(TypingAttempt.id).where(
            TypingAttempt.user_id == attempt.user_id,
            TypingAttempt.id != attempt.id,
            TypingAttempt.started_at.is_not(None),
            TypingAttempt.started_at < end,
            or_(
                TypingAttempt.finished_at.is_(None),
                and_(TypingAttempt.finished_at > start),
            ),
        )
    )
    return other is not None


def judge(attempt: TypingAttempt) -> None:
    """Compute and store the result; hold it for review when it looks impossible."""
    # Read first (snapshots, other attempts), then set: the result is written in one UPDATE.
    snaps, evidence, overlap = snaps_of(attempt), evidence_of(attempt), overlapping(attempt)
    result = scoring.score(attempt.target, attempt.text, seconds_used(attempt), rules_of(attempt))
    attempt.correct, attempt.wrong = result.correct, result.wrong
    attempt.missing, attempt.extra = result.missing, result.extra
    attempt.minutes, attempt.speed, attempt.net_speed = (
        result.minutes,
        result.speed,
        result.net_speed,
    )
    attempt.accuracy = result.accuracy * 100
    attempt.scored = result.scored
    why = plausibility.reasons(
        snaps,
        evidence,
        attempt.text,
        float(result.speed),
        float(attempt.speed_ceiling),
        overlap,
    )
    if not result.scored:
        attempt.passed = False  # under a minute: not scored, so not passed
        why = []
    elif why:
        attempt.passed = None
    else:
        attempt.passed = bool(result.passed)
    attempt.review = TypingReview.HELD if why and not attempt.practice else TypingReview.NONE
    attempt.review_reasons = why or None
