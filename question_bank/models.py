"""Question bank data: a category tree, questions, their immutable versions, tags, images."""

import enum
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Index,
    LargeBinary,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User, enum_column
from lms.extensions import db
from lms.timeutil import UTCDateTime, utcnow


class QuestionStatus(enum.StrEnum):
    """Whether a question may be put in papers."""

    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(STATUS_LABELS[self])


STATUS_LABELS = {
    QuestionStatus.DRAFT: _l("Draft"),
    QuestionStatus.PUBLISHED: _l("Published"),
    QuestionStatus.RETIRED: _l("Retired"),
}


class Category(db.Model):
    """A node of the category tree, e.g. 业务知识 › 信用卡 › 挂失."""

    __tablename__ = "qb_categories"
    __table_args__ = (UniqueConstraint("parent_id", "name", name="uq_qb_categories_parent_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("qb_categories.id", ondelete="RESTRICT"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped["Category | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Category"]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Category {self.name}>"


question_tags = Table(
    "qb_question_tags",
    db.metadata,
    Column("question_id", ForeignKey("qb_questions.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("qb_tags.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(db.Model):
    """A free label on questions (e.g. 挂失, 身份核实)."""

    __tablename__ = "qb_tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)


class Question(db.Model):
    """A question's identity and bank metadata; its content lives in versions."""

    __tablename__ = "qb_questions"
    __table_args__ = (Index("ix_qb_questions_filter", "status", "qtype", "category_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    category_id: Mapped[int] = mapped_column(
        ForeignKey("qb_categories.id", ondelete="RESTRICT"), index=True
    )
    #: The type of the current version, kept here for filtering.
    qtype: Mapped[str] = mapped_column(String(32))
    status: Mapped[QuestionStatus] = mapped_column(
        enum_column(QuestionStatus, "question_status"), default=QuestionStatus.DRAFT
    )
    difficulty: Mapped[int] = mapped_column(default=3)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: A short title trainers find the question by (Moodle's question name); may be empty.
    name: Mapped[str] = mapped_column(String(255), default="")
    #: Plain text of the current stem, for the list, search and near-duplicate checks.
    stem_text: Mapped[str] = mapped_column(Text, default="")
    #: Bumped by every save; a form carries the value it was opened with, so a second
    #: editor learns that someone saved in between instead of overwriting them.
    revision: Mapped[int] = mapped_column(default=1)
    current_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("qb_question_versions.id", use_alter=True, ondelete="SET NULL")
    )

    category: Mapped[Category] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    updated_by: Mapped[User | None] = relationship(foreign_keys=[updated_by_id])
    tags: Mapped[list[Tag]] = relationship(secondary=question_tags, order_by=Tag.name)
    current: Mapped["QuestionVersion | None"] = relationship(
        foreign_keys=[current_version_id], post_update=True
    )
    versions: Mapped[list["QuestionVersion"]] = relationship(
        foreign_keys="QuestionVersion.question_id",
        back_populates="question",
        order_by="QuestionVersion.number",
        cascade="all, delete-orphan",
    )

    __mapper_args__: ClassVar[dict] = {"version_id_col": revision}

    def __repr__(self) -> str:
        return f"<Question {self.id}>"


class QuestionVersion(db.Model):
    """The content of a question at one point; frozen once published or used."""

    __tablename__ = "qb_question_versions"
    __table_args__ = (UniqueConstraint("question_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("qb_questions.id", ondelete="CASCADE"))
    number: Mapped[int]
    qtype: Mapped[str] = mapped_column(String(32))
    stem: Mapped[str] = mapped_column(Text)  #: sanitised HTML
    #: Type-specific content and answer key; see question_bank.interchange for the schemas.
    body: Mapped[dict] = mapped_column(JSON)
    explanation: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(200), default="")
    default_points: Mapped[Decimal] = mapped_column(Numeric(6, 2), default=Decimal(1))
    #: Set when the version was published or used in an exam: it never changes again.
    frozen: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    question: Mapped[Question] = relationship(foreign_keys=[question_id], back_populates="versions")
    created_by: Mapped[User | None] = relationship()


class Image(db.Model):
    """An image uploaded for questions, stored in the database so every host sees it."""

    __tablename__ = "qb_images"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(50))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    width: Mapped[int] = mapped_column(default=0)
    height: Mapped[int] = mapped_column(default=0)
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
