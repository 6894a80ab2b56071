"""The audit log: who changed what, and when."""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User
from lms.extensions import db
from lms.timeutil import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """One recorded change. Rows are only ever added."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    #: The actor's username at the time, kept even if the account goes.
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    #: Dotted verb such as ``user.create`` or ``agent.status``.
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    #: Human-readable line, e.g. the username or the team name.
    summary: Mapped[str] = mapped_column(String(255), default="")
    #: ``{field: [before, after]}`` for every field that changed.
    changes: Mapped[dict | None] = mapped_column(JSON)
    ip: Mapped[str | None] = mapped_column(String(45))

    actor: Mapped[User | None] = relationship()
