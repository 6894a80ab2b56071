"""The trainers' side of the typing exam: the passage library and the typing tests' rules.

Flush, never commit (the request commits once). A passage that any attempt has used is
never changed in what is typed: its text, kind and recording are what candidates were
scored against, and the unseen-pool rule counts it as seen. Changing them creates a new
passage and archives the old one; its title, use and plays may still change in place.
"""

from dataclasses import dataclass

from sqlalchemy import exists, func, select

from exams.models import Sitting
from exams.typing import audio, composition, scoring
from exams.typing.models import (
    Passage,
    PassageKind,
    PassagePurpose,
    TypingAttempt,
    TypingReview,
    TypingTest,
)
from lms import audit
from lms.extensions import db


@dataclass
class PassageInput:
    """What the passage form gives, validated."""

    title: str
    kind: PassageKind
    purpose: PassagePurpose
    text: str
    max_plays: int | None = None
    recording: bytes | None = None  #: a new recording (already sniffed as audio), or None


def passage_mix(text: str) -> composition.Mix:
    """Return a passage's length in counted characters and its character mix."""
    return composition.mix(unit.key for unit in scoring.units(text))


def passage_in_use(passage: Passage) -> bool:
    """Tell whether any attempt (exam or practice) was drawn this passage."""
    return bool(db.session.scalar(select(exists().where(TypingAttempt.passage_id == passage.id))))


def used_passage_ids() -> set[int]:
    """Return the ids of the passages any attempt used (for the library's list)."""
    return set(db.session.scalars(select(TypingAttempt.passage_id).distinct()))


def _apply(passage: Passage, data: PassageInput) -> None:
    passage.title = data.title
    passage.kind = data.kind
    passage.purpose = data.purpose
    passage.text = data.text
    if data.kind == PassageKind.LISTEN and data.max_plays is not None:
        passage.max_plays = data.max_plays
    if data.recording is not None:
        passage.audio_file, passage.audio_mime = audio.store(data.recording)


def _summary(passage: Passage) -> dict:
    return {"title": passage.title, "kind": passage.kind.value, "purpose": passage.purpose.value}


def create_passage(data: PassageInput, actor) -> Passage:
    """Add a passage to the library."""
    passage = Passage(created_by_id=getattr(actor, "id", None))
    _apply(passage, data)
    db.session.add(passage)
    db.session.flush()
    audit.record("passage.create", passage, summary=passage.title, after=_summary(passage))
    return passage


def content_changes(passage: Passage, data: PassageInput) -> bool:
    """Tell whether ``data`` changes what a candidate types or hears."""
    return data.text != passage.text or data.kind != passage.kind or data.recording is not None


def update_passage(passage: Passage, data: PassageInput, actor) -> Passage:
    """Save an edit; return the passage that now holds it (a new one for a used passage
    whose text, kind or recording changed; the old one is then archived)."""
    before = _summary(passage)
    if passage_in_use(passage) and content_changes(passage, data):
        successor = Passage(
            created_by_id=getattr(actor, "id", None),
            audio_file=passage.audio_file,
            audio_mime=passage.audio_mime,
            max_plays=passage.max_plays,
        )
        _apply(successor, data)
        db.session.add(successor)
        passage.active = False
        db.session.flush()
        audit.record(
            "passage.update",
            passage,
            summary=passage.title,
            before=before,
            after={"replaced_by": successor.id, "active": False},
        )
        audit.record(
            "passage.create", successor, summary=successor.title, after=_summary(successor)
        )
        return successor
    _apply(passage, data)
    db.session.flush()
    audit.record(
        "passage.update", passage, summary=passage.title, before=before, after=_summary(passage)
    )
    return passage


def set_active(passage: Passage, active: bool) -> None:
    """Archive a passage (never drawn again) or restore it."""
    if passage.active == active:
        return
    passage.active = active
    audit.record(
        "passage.restore" if active else "passage.archive",
        passage,
        summary=passage.title,
        after={"active": active},
    )


def typing_test_in_use(test: TypingTest) -> bool:
    """Tell whether any candidate has started a sitting with this typing test."""
    return bool(
        db.session.scalar(
            select(
                exists()
                .where(TypingAttempt.sitting_id == Sitting.id)
                .where(Sitting.typing_test_id == test.id)
            )
        )
    )


def save_test(test: TypingTest | None, title: str, kind: PassageKind, rules: dict, actor):
    """Create or change a typing test's rules; return it.

    Raise ValueError when the rules of a test already taken would change: candidates of
    one sitting sit under the same rules (their attempts froze them anyway).
    """
    if test is not None and typing_test_in_use(test):
        old = {name: getattr(test, name) for name in rules}
        if old != rules or kind != test.kind:
            raise ValueError("in use")
    creating = test is None
    if creating:
        test = TypingTest(created_by_id=getattr(actor, "id", None))
        db.session.add(test)
    before = None if creating else _rules_summary(test)
    test.title, test.kind = title, kind
    for name, value in rules.items():
        setattr(test, name, value)
    db.session.flush()
    audit.record(
        "typing_test.create" if creating else "typing_test.update",
        test,
        summary=title,
        before=before,
        after=_rules_summary(test),
    )
    return test


def _rules_summary(test: TypingTest) -> dict:
    return {
        "title": test.title,
        "kind": test.kind.value,
        "duration_minutes": test.duration_minutes,
        "whole_passage": test.whole_passage,
        "pass_speed": test.pass_speed,
        "min_accuracy": str(test.min_accuracy),
        "error_penalty": str(test.error_penalty),
        "speed_ceiling": test.speed_ceiling,
    }


def held_attempts() -> list[TypingAttempt]:
    """Return the typing attempts waiting for a trainer's review, oldest first."""
    return list(
        db.session.scalars(
            select(TypingAttempt)
            .where(TypingAttempt.review == TypingReview.HELD)
            .order_by(TypingAttempt.finished_at, TypingAttempt.id)
        )
    )


def held_count() -> int:
    """Return how many typing results wait for a review."""
    return db.session.scalar(
        select(func.count(TypingAttempt.id)).where(TypingAttempt.review == TypingReview.HELD)
    )
