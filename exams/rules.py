"""The attempt engine's rules as pure functions: plain values in, plain values out.

No Flask and no SQLAlchemy here, so every rule is tested with parametrised tables.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

#: Saves already in flight when time runs out are still accepted for this long.
GRACE = timedelta(seconds=30)


def deadline(
    started_at: datetime, time_limit_minutes: int, extra_minutes: int, closes_at: datetime
) -> datetime:
    """Return the earlier of start + time limit (+ extra) and the window's close."""
    return min(started_at + timedelta(minutes=time_limit_minutes + extra_minutes), closes_at)


def delivered_clock(
    started_at: datetime, deadline_at: datetime, delivered_at: datetime, closes_at: datetime
) -> tuple[datetime, datetime]:
    """Return (start, deadline) once the exam page is first delivered: the time between the
    start and the delivery (a page that never arrived) is given back, up to the close."""
    gap = max(delivered_at - started_at, timedelta(0))
    return started_at + gap, max(deadline_at, min(deadline_at + gap, closes_at))


def seconds_left(now: datetime, deadline_at: datetime) -> int:
    """Return the whole seconds left before the deadline (never negative)."""
    return max(0, int((deadline_at - now).total_seconds()))


def ms_left(now: datetime, deadline_at: datetime) -> int:
    """Return the milliseconds left before the deadline (never negative), for the countdown."""
    return max(0, int((deadline_at - now) / timedelta(milliseconds=1)))


@dataclass(frozen=True)
class StartCheck:
    """Whether a candidate may start an attempt now, and if not, why (a message code)."""

    allowed: bool
    reason: str = ""


def can_start(
    now: datetime,
    opens_at: datetime,
    closes_at: datetime,
    attempts_used: int,
    attempts_allowed: int,
    has_open_attempt: bool,
) -> StartCheck:
    """Apply the access rules: window, number of attempts, one open attempt at a time."""
    if has_open_attempt:
        return StartCheck(False, "open_attempt")
    if now < opens_at:
        return StartCheck(False, "not_open")
    if now >= closes_at:
        return StartCheck(False, "closed")
    if attempts_used >= attempts_allowed:
        return StartCheck(False, "no_attempts_left")
    return StartCheck(True)


@dataclass(frozen=True)
class SaveCheck:
    """Whether a save is accepted, and if not, why."""

    accepted: bool
    reason: str = ""


#: Hex characters kept of a save's digest: enough to tell one page's save from another's.
DIGEST_LENGTH = 32


def save_digest(writer: str, answers: dict, flags: dict) -> str:
    """Return a short digest of a save as sent: which page sent it, and what it held.

    Keys are sorted, so the same save digests the same however its JSON was ordered.
    """
    canonical = json.dumps(
        {"w": writer, "a": answers, "f": flags},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]


def check_save(
    now: datetime,
    deadline_at: datetime,
    finished: bool,
    last_seq: int,
    seq: int,
    last_digest: str | None = None,
    digest: str | None = None,
) -> SaveCheck:
    """Accept a save only while the attempt is open, in time, and newer than the last one.

    The last accepted save sent again (same seq, same digest: its response was lost) is
    accepted as a "retry": it is already stored, so nothing is written again.
    """
    if finished:
        return SaveCheck(False, "finished")
    if now > deadline_at + GRACE:
        return SaveCheck(False, "time_over")
    if seq == last_seq and digest and digest == last_digest:
        return SaveCheck(True, "retry")
    if seq <= last_seq:
        return SaveCheck(False, "stale")
    return SaveCheck(True)


def is_overdue(now: datetime, deadline_at: datetime) -> bool:
    """Tell whether an open attempt must be finalised with what was saved."""
    return now > deadline_at + GRACE


def round_points(value: Decimal) -> Decimal:
    """Round points to two decimals, halves up (as a teacher would)."""
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def item_score(fraction: float | None, points: Decimal) -> tuple[Decimal | None, str]:
    """Return (score, Moodle-style state) for an item graded to ``fraction`` of ``points``."""
    if fraction is None:
        return None, "needsgrading"
    score = round_points(Decimal(str(fraction)) * points)
    if fraction >= 1:
        return score, "gradedright"
    if fraction <= 0:
        return score, "gradedwrong"
    return score, "gradedpartial"


@dataclass(frozen=True)
class Totals:
    """An attempt's result."""

    score: Decimal | None  #: None while some items wait for a grader
    max_score: Decimal
    section_scores: list  #: [[section, score or None, max], ...]
    passed: bool | None


def totals(items: list[tuple[int, Decimal | None, Decimal]], pass_mark: Decimal) -> Totals:
    """Sum (section, score or None, points) per section and overall; judge pass or fail."""
    sections: dict[int, list] = {}
    for section, score, points in items:
        s = sections.setdefault(section, [Decimal(0), Decimal(0), False])
        s[1] += points
        if score is None:
            s[2] = True
        else:
            s[0] += score
    pending = any(s[2] for s in sections.values())
    max_score = sum((s[1] for s in sections.values()), Decimal(0))
    score = None if pending else sum((s[0] for s in sections.values()), Decimal(0))
    section_scores = [
        [k, None if v[2] else str(v[0]), str(v[1])] for k, v in sorted(sections.items())
    ]
    return Totals(score, max_score, section_scores, None if score is None else score >= pass_mark)


def review_allowed(
    policy: str, finished: bool, now: datetime, last_close: datetime, attempts_left: bool
) -> bool:
    """Tell whether the candidate may see answers, key and explanations now.

    ``last_close`` is the latest moment anyone may still be sitting (the sitting's close or
    any candidate's later personal window), so a key never reaches one candidate while
    another still answers the same questions; ``attempts_left`` is whether this candidate
    may still start another attempt (which would be answered from the key).
    """
    if not finished or policy == "score_only":
        return False
    everyone_done = now >= last_close + GRACE
    if policy == "after_close":
        return everyone_done
    if policy == "after_submit":
        return everyone_done or not attempts_left
    return False


#: An automatic submit from the exam page may arrive this early (its clock runs a little
#: ahead of the server's); it is still recorded as time running out.
AUTO_SUBMIT_SLACK = timedelta(seconds=5)


def finish(now: datetime, deadline_at: datetime, auto: bool) -> tuple[datetime, str]:
    """Return when and why an attempt finishes.

    After the deadline the attempt timed out and finished at the deadline, so the time
    taken never exceeds the limit, however late the finalisation runs.
    """
    if now >= deadline_at:
        return deadline_at, "timeout"
    if auto and deadline_at - now <= AUTO_SUBMIT_SLACK:
        return now, "timeout"
    return now, "submitted"


def counted_attempt(rule: str, attempts: list[tuple[int, Decimal | None]]):
    """Return (key of the attempt that counts, pending) for finished (key, score) in order.

    ``highest``: the best score, the earliest on a tie; while any attempt waits for a
    grader, the best is not known yet (pending). ``last``: the latest attempt; pending while
    it waits for a grader.
    """
    if not attempts:
        return None, False
    if rule == "last":
        key, score = attempts[-1]
        return key, score is None
    if any(score is None for _k, score in attempts):
        return None, True
    best = max(attempts, key=lambda a: a[1])[1]
    return next(k for k, score in attempts if score == best), False


CHINESE_NUMERALS = "一二三四五六七八九十"


def section_numeral(position: int) -> str:
    """Return 一, 二, 三 … for section headings (一、单项选择题…)."""
    return CHINESE_NUMERALS[position - 1] if 1 <= position <= 10 else str(position)


@dataclass
class Part:
    """One component's result, as refresh combines them: its outcome and whether it is final."""

    outcome: str  #: none, pending, passed, failed or absent (exams.models.Outcome)
    final: bool


def combine(parts: list[Part]) -> Part:
    """Return the sitting's result from its components': passed only when every one passed.

    A failed component fails the sitting (final as soon as that failure is final: nothing can
    turn it into a pass); otherwise an absent one makes it absent, one waiting for a trainer
    makes it pending, one not taken yet leaves it open.
    """
    outcomes = [p.outcome for p in parts]
    for outcome in ("failed", "absent", "pending", "none"):
        if outcome in outcomes:
            final = any(p.final for p in parts if p.outcome == outcome) and outcome in (
                "failed",
                "absent",
            )
            return Part(outcome, final or all(p.final for p in parts))
    return Part("passed", all(p.final for p in parts))
