"""Typing-speed exam data: passages, the tests' rules, attempts and their snapshots.

A sitting's typing component is a :class:`TypingTest` (``Sitting.typing_test_id``): the
rules (duration, pass speed, accuracy, penalty, plausibility ceiling) and the kind of
item (read a passage and type it 看打, or hear a recording and type it 听打). Each
candidate's attempt draws one unseen passage of that kind, freezes the rules, and keeps
the typed text with its progress snapshots; the server scores it from the text and its
own clock (exams.typing.scoring), never from what the page computed.
"""

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User, enum_column
from lms.extensions import db
from lms.timeutil import UTCDateTime, utcnow


class PassageKind(enum.StrEnum):
    """How the candidate receives the text to type."""

    TEXT = "text"  #: 看打: the passage is shown
    LISTEN = "listen"  #: 听打: a recording is played; its transcript is what counts

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(PASSAGE_KIND_LABELS[self])


PASSAGE_KIND_LABELS = {
    PassageKind.TEXT: _l("Read and type"),
    PassageKind.LISTEN: _l("Listen and type"),
}


class PassagePurpose(enum.StrEnum):
    """Whether a passage is kept for exams or open for practice."""

    EXAM = "exam"
    PRACTICE = "practice"

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(PASSAGE_PURPOSE_LABELS[self])


PASSAGE_PURPOSE_LABELS = {
    PassagePurpose.EXAM: _l("Exam"),
    PassagePurpose.PRACTICE: _l("Practice"),
}


class Passage(db.Model):
    """A Chinese text to type (a banking script, a regulation, a customer's letter), or the
    transcript of a recording to type by ear."""

    __tablename__ = "ex_typing_passages"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PassageKind] = mapped_column(
        enum_column(PassageKind, "passage_kind"), default=PassageKind.TEXT
    )
    purpose: Mapped[PassagePurpose] = mapped_column(
        enum_column(PassagePurpose, "passage_purpose"), default=PassagePurpose.EXAM
    )
    #: What the candidate must type: the passage, or the recording's transcript.
    text: Mapped[str] = mapped_column(Text)
    #: The recording (listen-and-type): a file name in the instance's typing-audio folder.
    audio_file: Mapped[str | None] = mapped_column(String(80))
    audio_mime: Mapped[str | None] = mapped_column(String(40))
    #: How many times a candidate may play the recording in one attempt.
    max_plays: Mapped[int] = mapped_column(default=2)
    #: Archived passages are never drawn again (attempts keep pointing at them).
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class TypingTest(db.Model):
    """The rules of a typing test, set by an administrator (DOMAIN 第四条: 60 字/分钟)."""

    __tablename__ = "ex_typing_tests"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PassageKind] = mapped_column(
        enum_column(PassageKind, "passage_kind"), default=PassageKind.TEXT
    )
    #: Minutes allowed (at least 3); the speed is over these minutes.
    duration_minutes: Mapped[int] = mapped_column(default=10)
    #: True: "type the whole passage": it ends when the passage is typed, and the speed is
    #: over the time used (the minutes above stay the limit).
    whole_passage: Mapped[bool] = mapped_column(default=False)
    pass_speed: Mapped[int] = mapped_column(default=60)  #: 字/分钟
    min_accuracy: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(95))  #: %
    #: Characters taken off the correct count per error (net speed); 0 turns it off.
    error_penalty: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    #: Above this speed a result is held for a trainer's review (nobody types that fast).
    speed_ceiling: Mapped[int] = mapped_column(default=250)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TypingState(enum.StrEnum):
    """Where a typing attempt stands."""

    IN_PROGRESS = "in_progress"
    FINISHED = "finished"


class TypingReview(enum.StrEnum):
    """Whether a result stands as scored or waits for a trainer (an implausible attempt)."""

    NONE = "none"  #: scored automatically
    HELD = "held"  #: looks impossible: held with its evidence, neither passed nor failed
    CONFIRMED = "confirmed"  #: a trainer let the score stand
    VOIDED = "voided"  #: a trainer voided it (the candidate sits again)


class TypingAttempt(db.Model):
    """One candidate's typing test, or a practice run (``sitting_id`` None)."""

    __tablename__ = "ex_typing_attempts"
    __table_args__ = (
        UniqueConstraint("sitting_id", "user_id", "number"),
        Index("ix_ex_typing_attempts_state_deadline", "state", "deadline_at"),
        # One typing attempt in progress per person (exam or practice, any sitting): starts
        # check before they insert, and this stops the ones that ran at the same moment.
        Index(
            "uq_ex_typing_attempts_open_per_user",
            "user_id",
            unique=True,
            postgresql_where=sql_text("state = 'in_progress'"),
            sqlite_where=sql_text("state = 'in_progress'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int | None] = mapped_column(
        ForeignKey("ex_sittings.id", ondelete="RESTRICT"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    passage_id: Mapped[int] = mapped_column(
        ForeignKey("ex_typing_passages.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int] = mapped_column(default=1)
    practice: Mapped[bool] = mapped_column(default=False)
    state: Mapped[TypingState] = mapped_column(
        enum_column(TypingState, "typing_state"), default=TypingState.IN_PROGRESS
    )
    #: The server's clock only: when the page was first delivered, the deadline, the end.
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The rules, frozen from the test at the start.
    duration_minutes: Mapped[int] = mapped_column(default=10)
    whole_passage: Mapped[bool] = mapped_column(default=False)
    pass_speed: Mapped[int] = mapped_column(default=60)
    min_accuracy: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(95))
    error_penalty: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal(0))
    speed_ceiling: Mapped[int] = mapped_column(default=250)
    #: What must be typed, frozen at the start: the passage (repeated, in a timed test, to
    #: more than the speed ceiling × the duration, so nobody runs out), or the transcript.
    target: Mapped[str] = mapped_column(Text, default="")
    #: The text as last received (the page sends all of it with every snapshot).
    text: Mapped[str] = mapped_column(Text, default="")
    seq: Mapped[int] = mapped_column(default=0)
    last_snapshot_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    plays_used: Mapped[int] = mapped_column(default=0)
    #: The play being listened to: its recording is served with this token for a while.
    play_token: Mapped[str | None] = mapped_column(String(32))
    play_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The page's input evidence, as last reported (keys, compositions, pastes ...).
    evidence: Mapped[dict | None] = mapped_column(JSON)
    # The result, computed by the server from ``text`` and its own clock.
    correct: Mapped[int | None]
    wrong: Mapped[int | None]
    missing: Mapped[int | None]
    extra: Mapped[int | None]
    minutes: Mapped[Decimal | None] = mapped_column(Numeric(8, 3))
    speed: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    net_speed: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    accuracy: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))  #: %
    scored: Mapped[bool] = mapped_column(default=False)
    passed: Mapped[bool | None]
    review: Mapped[TypingReview] = mapped_column(
        enum_column(TypingReview, "typing_review"), default=TypingReview.NONE
    )
    #: Why the result was held (codes, see exams.typing.plausibility).
    review_reasons: Mapped[list | None] = mapped_column(JSON)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    review_comment: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    passage: Mapped[Passage] = relationship()
    snapshots: Mapped[list["TypingSnapshot"]] = relationship(
        back_populates="attempt", order_by="TypingSnapshot.seq", cascade="all, delete-orphan"
    )


class TypingSnapshot(db.Model):
    """The text as the server received it at one moment: the attempt's progress on record.

    Only the change is kept: the length of the previous text that still stands (``kept``)
    and what follows it (``added``), so ten minutes of snapshots cost about one passage.
    """

    __tablename__ = "ex_typing_snapshots"
    __table_args__ = (UniqueConstraint("attempt_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("ex_typing_attempts.id", ondelete="CASCADE"))
    seq: Mapped[int]
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Milliseconds since the page started, as the page says (checked against received_at).
    client_ms: Mapped[int | None]
    kept: Mapped[int] = mapped_column(default=0)
    added: Mapped[str] = mapped_column(Text, default="")
    length: Mapped[int] = mapped_column(default=0)
    #: The page's counters at that moment (keys, compositions, deletions, pastes ...).
    evidence: Mapped[dict | None] = mapped_column(JSON)

    attempt: Mapped[TypingAttempt] = relationship(back_populates="snapshots")
