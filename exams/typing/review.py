"""What a trainer reads to review a held typing result: reasons, evidence and timeline."""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from exams.typing import plausibility
from exams.typing.judging import snaps_of
from exams.typing.models import TypingAttempt, TypingReview

#: Where a typing result stands with its review, in words (the audit log's values).
REVIEW_LABELS = {
    TypingReview.NONE: _l("Scored automatically"),
    TypingReview.HELD: _l("Held for review"),
    TypingReview.CONFIRMED: _l("Score confirmed by a trainer"),
    TypingReview.VOIDED: _l("Voided by a trainer"),
}

#: Each hold reason in words (exams.typing.plausibility.REASONS).
REASON_LABELS = {
    plausibility.OVER_CEILING: _l("Faster than the speed ceiling"),
    plausibility.BURST: _l("Text arrived in a burst without any input-method composition"),
    plausibility.NO_COMPOSITION: _l("Chinese typed without any input-method composition"),
    plausibility.FEW_KEYS: _l("Too few key presses for the characters typed"),
    plausibility.SNAPSHOTS_MISSING: _l("Progress snapshots are missing while the text grew"),
    plausibility.CLOCK: _l("The page's clock disagrees with the server's"),
    plausibility.OVERLAP: _l("Another typing attempt of the same person ran at the same time"),
}

#: The page's input counters, in the order a trainer reads them.
EVIDENCE_LABELS = {
    "keys": _l("Key presses"),
    "compositions": _l("Input-method compositions"),
    "longest_commit": _l("Longest single commit (characters)"),
    "deletions": _l("Deletions"),
    "pastes": _l("Blocked paste, drop or undo attempts"),
    "idle_ms": _l("Idle time (ms)"),
    "key_gap_mean_ms": _l("Mean time between keys (ms)"),
    "key_gap_sd_ms": _l("Spread of the time between keys (ms)"),
}


def evidence_rows(evidence: dict | None) -> list[tuple[str, object]]:
    """Return (label, value) for the known counters, then any other key as sent."""
    evidence = dict(evidence or {})
    rows = [(str(label), evidence.pop(key, "—")) for key, label in EVIDENCE_LABELS.items()]
    rows += [(str(key), value) for key, value in sorted(evidence.items())]
    return rows


@dataclass(frozen=True)
class Point:
    """One snapshot on the timeline."""

    seconds: float  #: the server's seconds since the start
    length: int  #: characters of the text then
    added: int  #: characters new since the previous snapshot
    compositions: int  #: the page's composition count then


def timeline(attempt: TypingAttempt) -> list[Point]:
    """Return the snapshots as (seconds since the start, characters) points."""
    if attempt.started_at is None:
        return []
    return [
        Point(round(s.seconds, 1), s.length, s.added, s.compositions) for s in snaps_of(attempt)
    ]
