"""Exam data: papers and their sections, sittings and candidates, attempts and their items."""

import enum
from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from exams.typing.models import TypingTest
from lms.accounts.models import User, enum_column
from lms.extensions import db
from lms.timeutil import UTCDateTime, utcnow
from question_bank.models import Category, Question, QuestionVersion


class ReviewPolicy(enum.StrEnum):
    """What a candidate may see of a finished attempt."""

    SCORE_ONLY = "score_only"  #: score and pass/fail only
    AFTER_CLOSE = "after_close"  #: answers, key and explanations once the sitting closes
    AFTER_SUBMIT = "after_submit"  #: answers, key and explanations right after submitting

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(REVIEW_LABELS[self])


REVIEW_LABELS = {
    ReviewPolicy.SCORE_ONLY: _l("Score only"),
    ReviewPolicy.AFTER_CLOSE: _l("Answers and explanations after the sitting closes"),
    ReviewPolicy.AFTER_SUBMIT: _l("Answers and explanations right after submitting"),
}


class MultipleChoiceRule(enum.StrEnum):
    """How a multiple-choice answer that is not exactly right scores."""

    ALL_OR_NOTHING = "all_or_nothing"
    PARTIAL_HALF = "partial_half"  #: 少选得一半分，错选不得分

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(MC_LABELS[self])


MC_LABELS = {
    MultipleChoiceRule.ALL_OR_NOTHING: _l("All or nothing"),
    MultipleChoiceRule.PARTIAL_HALF: _l(
        "Half the points for a correct subset, none for a wrong option"
    ),
}


class Paper(db.Model):
    """An exam paper (试卷): sections of questions, fixed or drawn per candidate."""

    __tablename__ = "ex_papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text, default="")
    time_limit_minutes: Mapped[int] = mapped_column(default=60)
    pass_mark: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(60))
    shuffle_questions: Mapped[bool] = mapped_column(default=False)
    shuffle_options: Mapped[bool] = mapped_column(default=False)
    review_policy: Mapped[ReviewPolicy] = mapped_column(
        enum_column(ReviewPolicy, "review_policy"), default=ReviewPolicy.AFTER_CLOSE
    )
    multiple_choice_rule: Mapped[MultipleChoiceRule] = mapped_column(
        enum_column(MultipleChoiceRule, "multiple_choice_rule"),
        default=MultipleChoiceRule.ALL_OR_NOTHING,
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    sections: Mapped[list["PaperSection"]] = relationship(
        back_populates="paper", order_by="PaperSection.position", cascade="all, delete-orphan"
    )

    @property
    def total_points(self) -> Decimal:
        """Return the paper's full marks."""
        return sum((s.total_points for s in self.sections), Decimal(0))


class PaperSection(db.Model):
    """A numbered section of one question type, e.g. 一、单项选择题（本题共20小题…）."""

    __tablename__ = "ex_paper_sections"

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(
        ForeignKey("ex_papers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    qtype: Mapped[str] = mapped_column(String(32))
    points_per_question: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(1))

    paper: Mapped[Paper] = relationship(back_populates="sections")
    items: Mapped[list["SectionQuestion"]] = relationship(
        order_by="SectionQuestion.position", cascade="all, delete-orphan"
    )
    rules: Mapped[list["DrawRule"]] = relationship(cascade="all, delete-orphan")

    @property
    def question_count(self) -> int:
        """Return how many questions each candidate gets in this section."""
        return len(self.items) + sum(r.count for r in self.rules)

    @property
    def total_points(self) -> Decimal:
        """Return the section's full marks."""
        return self.points_per_question * self.question_count


class SectionQuestion(db.Model):
    """A question every candidate gets in a section."""

    __tablename__ = "ex_section_questions"
    __table_args__ = (UniqueConstraint("section_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(
        ForeignKey("ex_paper_sections.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=1)
    question_id: Mapped[int] = mapped_column(ForeignKey("qb_questions.id", ondelete="RESTRICT"))

    question: Mapped[Question] = relationship()


class DrawRule(db.Model):
    """Draw N published questions at random per candidate from a category."""

    __tablename__ = "ex_draw_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    section_id: Mapped[int] = mapped_column(
        ForeignKey("ex_paper_sections.id", ondelete="CASCADE"), index=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("qb_categories.id", ondelete="RESTRICT"))
    include_subcategories: Mapped[bool] = mapped_column(default=True)
    difficulty: Mapped[int | None]
    tag: Mapped[str | None] = mapped_column(String(50))
    count: Mapped[int] = mapped_column(default=1)

    category: Mapped[Category] = relationship()


class SittingKind(enum.StrEnum):
    """Why a sitting is held (第十七、二十三、二十六条)."""

    ONBOARDING = "onboarding"
    MONTHLY = "monthly"
    RETRAINING = "retraining"
    STANDBY = "standby"

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(KIND_LABELS[self])


KIND_LABELS = {
    SittingKind.ONBOARDING: _l("End of onboarding"),
    SittingKind.MONTHLY: _l("Monthly"),
    SittingKind.RETRAINING: _l("After retraining"),
    SittingKind.STANDBY: _l("Standby assessment"),
}


class ResultRule(enum.StrEnum):
    """Which finished attempt counts for a candidate's result of a sitting."""

    HIGHEST = "highest"  #: the best score (Moodle's default grading method)
    LAST = "last"  #: the latest finished attempt

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(RESULT_RULE_LABELS[self])


RESULT_RULE_LABELS = {
    ResultRule.HIGHEST: _l("Highest score counts"),
    ResultRule.LAST: _l("Last attempt counts"),
}


class Sitting(db.Model):
    """An exam session (考试安排): a paper, a window and the candidates."""

    __tablename__ = "ex_sittings"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SittingKind] = mapped_column(enum_column(SittingKind, "sitting_kind"))
    #: The components: a business-knowledge paper, a typing test, or both (第十六、二十三条).
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("ex_papers.id", ondelete="RESTRICT"))
    typing_test_id: Mapped[int | None] = mapped_column(
        ForeignKey("ex_typing_tests.id", ondelete="RESTRICT")
    )
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts_allowed: Mapped[int] = mapped_column(default=1)
    #: Which attempt counts when a candidate has several (exams.results applies it).
    result_rule: Mapped[ResultRule] = mapped_column(
        enum_column(ResultRule, "result_rule"), default=ResultRule.HIGHEST
    )
    #: The cycle the sitting assesses, e.g. "2026-11" for November's monthly exam, so that
    #: consecutive results of one kind are one query (exams.results.consecutive_failures).
    cycle: Mapped[str | None] = mapped_column(String(7), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    paper: Mapped[Paper | None] = relationship()
    typing_test: Mapped[TypingTest | None] = relationship()
    candidates: Mapped[list["Candidate"]] = relationship(
        back_populates="sitting", cascade="all, delete-orphan"
    )

    @property
    def components(self) -> list[str]:
        """Return the parts a candidate sits, in order: "paper", "typing"."""
        parts = (("paper", self.paper_id), ("typing", self.typing_test_id))
        return [name for name, present in parts if present]


class Outcome(enum.StrEnum):
    """A candidate's result of a sitting, as exams.results keeps it on the candidate."""

    NONE = "none"  #: no finished attempt yet
    PENDING = "pending"  #: the counted attempt waits for a trainer's grading
    PASSED = "passed"
    FAILED = "failed"
    ABSENT = "absent"  #: the sitting closed without a finished attempt


class Candidate(db.Model):
    """A user who may sit a sitting, with any personal extra time or window, and the result.

    The result columns are written only by exams.results.refresh (called by the engines):
    each component's columns mirror its attempt that counts under the sitting's result
    rule, and ``outcome`` is the sitting's: passed only when every component is.
    """

    __tablename__ = "ex_candidates"
    __table_args__ = (UniqueConstraint("sitting_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("ex_sittings.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    extra_minutes: Mapped[int] = mapped_column(default=0)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The sitting's result: every component passed, or why not (see exams.results).
    outcome: Mapped[Outcome] = mapped_column(enum_column(Outcome, "outcome"), default=Outcome.NONE)
    #: The business paper's result (the same as ``outcome`` when it is the only component).
    paper_outcome: Mapped[Outcome] = mapped_column(
        enum_column(Outcome, "outcome"), default=Outcome.NONE
    )
    #: The typing test's result, its counted attempt, speed (字/分钟) and accuracy (%).
    typing_outcome: Mapped[Outcome] = mapped_column(
        enum_column(Outcome, "outcome"), default=Outcome.NONE
    )
    typing_attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("ex_typing_attempts.id", ondelete="SET NULL", use_alter=True)
    )
    typing_speed: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    typing_accuracy: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    #: The business paper's attempt that counts (None before any attempt is finished).
    result_attempt_id: Mapped[int | None] = mapped_column(
        ForeignKey("ex_attempts.id", ondelete="SET NULL", use_alter=True)
    )
    result_score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    #: When the result became final: graded, and no further attempt possible (every attempt
    #: used, or the sitting closed). Until then a pass or fail is provisional.
    result_final_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    sitting: Mapped[Sitting] = relationship(back_populates="candidates")
    user: Mapped[User] = relationship()
    result_attempt: Mapped["Attempt | None"] = relationship(foreign_keys=[result_attempt_id])


class AttemptState(enum.StrEnum):
    """Where an attempt stands; only the engine changes it."""

    IN_PROGRESS = "in_progress"
    FINISHED = "finished"


class FinishReason(enum.StrEnum):
    """Why an attempt finished."""

    SUBMITTED = "submitted"  #: the candidate submitted before the deadline
    TIMEOUT = "timeout"  #: time ran out; finished at the deadline with the saved answers


class GradeState(enum.StrEnum):
    """Where one item of an attempt stands (Moodle's question states)."""

    TODO = "todo"  #: not answered
    COMPLETE = "complete"  #: answered, not yet graded (during the attempt)
    NEEDS_GRADING = "needsgrading"  #: waits for a trainer
    GRADED_RIGHT = "gradedright"
    GRADED_PARTIAL = "gradedpartial"
    GRADED_WRONG = "gradedwrong"

    @property
    def graded(self) -> bool:
        """Tell whether the item has its score."""
        return self in (self.GRADED_RIGHT, self.GRADED_PARTIAL, self.GRADED_WRONG)


class Attempt(db.Model):
    """One candidate's try at a sitting's paper."""

    __tablename__ = "ex_attempts"
    __table_args__ = (
        UniqueConstraint("sitting_id", "user_id", "number"),
        Index("ix_ex_attempts_state_deadline", "state", "deadline_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sitting_id: Mapped[int] = mapped_column(ForeignKey("ex_sittings.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    number: Mapped[int] = mapped_column(default=1)
    state: Mapped[AttemptState] = mapped_column(
        enum_column(AttemptState, "attempt_state"), default=AttemptState.IN_PROGRESS
    )
    #: When the clock started: the start, moved to the first delivery of the exam page.
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: When the exam page first reached the candidate (None until then).
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Kept on the server: the earlier of start + time limit (+ extra) and the window's close.
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finish_reason: Mapped[FinishReason | None] = mapped_column(
        enum_column(FinishReason, "finish_reason")
    )
    #: The last save accepted; a save must carry a higher number (stale or replayed otherwise).
    seq: Mapped[int] = mapped_column(default=0)
    #: Digest of the last accepted save (page and content): the same save sent again after
    #: its response was lost is recognised and acknowledged, not refused as stale.
    save_digest: Mapped[str | None] = mapped_column(String(32))
    last_saved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Frozen from the paper at the start: what decides this attempt's result never changes
    # with later edits of the paper (only an audited regrade changes a score).
    time_limit_minutes: Mapped[int] = mapped_column(default=60)
    pass_mark: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(60))
    multiple_choice_rule: Mapped[MultipleChoiceRule] = mapped_column(
        enum_column(MultipleChoiceRule, "multiple_choice_rule"),
        default=MultipleChoiceRule.ALL_OR_NOTHING,
    )
    review_policy: Mapped[ReviewPolicy] = mapped_column(
        enum_column(ReviewPolicy, "review_policy"), default=ReviewPolicy.AFTER_CLOSE
    )
    max_score: Mapped[Decimal] = mapped_column(Numeric(8, 2), default=Decimal(0))
    score: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    passed: Mapped[bool | None]
    #: True while short answers wait for a trainer.
    needs_grading: Mapped[bool] = mapped_column(default=False)
    section_scores: Mapped[list | None] = mapped_column(JSON)

    sitting: Mapped[Sitting] = relationship()
    user: Mapped[User] = relationship()
    items: Mapped[list["AttemptItem"]] = relationship(
        back_populates="attempt", order_by="AttemptItem.position", cascade="all, delete-orphan"
    )


class AttemptItem(db.Model):
    """One question of an attempt: the frozen version and option order, the answer, the grade."""

    __tablename__ = "ex_attempt_items"
    __table_args__ = (UniqueConstraint("attempt_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("ex_attempts.id", ondelete="CASCADE"))
    position: Mapped[int]
    section: Mapped[int]  #: the section's position on the paper
    question_id: Mapped[int] = mapped_column(ForeignKey("qb_questions.id", ondelete="RESTRICT"))
    version_id: Mapped[int] = mapped_column(
        ForeignKey("qb_question_versions.id", ondelete="RESTRICT"), index=True
    )
    #: The version whose answer key grades this item, when a regrade set one (else ``version``,
    #: the one shown). Option keys are stable across versions, so the answer still fits it.
    key_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("qb_question_versions.id", ondelete="RESTRICT")
    )
    points: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    #: Option keys in the order this candidate sees them (choice questions).
    option_order: Mapped[list | None] = mapped_column(JSON)
    response: Mapped[object | None] = mapped_column(JSON)
    flagged: Mapped[bool] = mapped_column(default=False)
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    grade_state: Mapped[GradeState] = mapped_column(
        enum_column(GradeState, "grade_state"), default=GradeState.TODO
    )
    grader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    grader_comment: Mapped[str] = mapped_column(Text, default="")
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    attempt: Mapped[Attempt] = relationship(back_populates="items")
    version: Mapped[QuestionVersion] = relationship(foreign_keys=[version_id])
    key_version: Mapped[QuestionVersion | None] = relationship(foreign_keys=[key_version_id])

    @property
    def key_source(self) -> QuestionVersion:
        """Return the version whose key and explanation apply: the regrade's, else the shown."""
        return self.key_version or self.version

    @property
    def grading_body(self) -> dict:
        """Return the body whose key grades this item."""
        return self.key_source.body
