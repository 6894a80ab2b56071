"""Demo typing data: the passage library, listen-and-type items with their recordings, the
monthly typing test, attached to the open monthly sitting. Idempotent: finds by title."""

from pathlib import Path

from sqlalchemy import select

from exams import services
from exams.models import Sitting, SittingKind
from exams.typing import audio
from exams.typing.demo_passages import LISTEN_ITEMS, PASSAGES
from exams.typing.models import Passage, PassageKind, PassagePurpose, TypingTest
from lms.extensions import db
from lms.timeutil import utcnow

#: The recordings shipped with the app (made offline with espeak-ng, voice cmn).
AUDIO_DIR = Path(__file__).with_name("demo_audio")
#: The demo's typing test: the default rules (DOMAIN 第四条).
MONTHLY_TEST = "月度打字测试"


def _recording(passage: Passage, filename: str) -> None:
    """Store the shipped recording unless the passage's file is already in place."""
    if passage.audio_file and audio.path_of(passage.audio_file).exists():
        return
    passage.audio_file, passage.audio_mime = audio.store((AUDIO_DIR / filename).read_bytes())


def seed_typing() -> str:
    """Add what is missing of the demo's typing data; return a summary line."""
    have = {p.title: p for p in db.session.scalars(select(Passage))}
    added = 0
    for title, purpose, text in PASSAGES:
        if title not in have:
            db.session.add(Passage(title=title, purpose=PassagePurpose(purpose), text=text))
            added += 1
    for title, purpose, filename, transcript in LISTEN_ITEMS:
        passage = have.get(title)
        if passage is None:
            passage = Passage(
                title=title,
                kind=PassageKind.LISTEN,
                purpose=PassagePurpose(purpose),
                text=transcript,
                max_plays=2,
            )
            db.session.add(passage)
            added += 1
        _recording(passage, filename)
    test = db.session.scalar(select(TypingTest).where(TypingTest.title == MONTHLY_TEST))
    if test is None:
        test = TypingTest(title=MONTHLY_TEST, kind=PassageKind.TEXT)
        db.session.add(test)
    db.session.flush()
    now = utcnow()
    attached = 0
    for sitting in db.session.scalars(
        select(Sitting).where(
            Sitting.kind == SittingKind.MONTHLY,
            Sitting.opens_at <= now,
            Sitting.closes_at > now,
            Sitting.typing_test_id.is_(None),
        )
    ).all():
        # Through the service, so that candidates who already sat the paper are not left
        # passed on a sitting whose typing test they have not taken.
        attached += services.set_typing_test(sitting, str(test.id), None, now)
    db.session.flush()
    return (
        f"typing: {added} passages added ({len(PASSAGES) + len(LISTEN_ITEMS)} in the demo), "
        f"test {MONTHLY_TEST}, attached to {attached} open monthly sittings"
    )
