"""People of the centre: teams and agent profiles."""

import enum
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.accounts.models import User, enum_column
from lms.extensions import db
from lms.timeutil import UTCDateTime, utcnow


class AgentStatus(enum.StrEnum):
    """Where an agent stands in the training lifecycle (第十二条–第二十六条)."""

    CLASSROOM = "classroom"  #: 岗前集中培训
    SITE_RULES = "site_rules"  #: 见习：现场工作规范学习
    SHADOWING = "shadowing"  #: 见习：跟班实习
    TRIAL_CALLS = "trial_calls"  #: 见习：试接听
    ON_LINE = "on_line"  #: 在岗
    RETRAINING = "retraining"  #: 再培训
    STANDBY = "standby"  #: 待岗培训
    DISMISSED = "dismissed"  #: 辞退
    LEFT = "left"  #: 离职

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(STATUS_LABELS[self])

    @property
    def is_onboarding(self) -> bool:
        """Tell whether the agent is still in onboarding."""
        return self in ONBOARDING_STATUSES

    @property
    def is_current(self) -> bool:
        """Tell whether the agent still works at the centre."""
        return self not in (AgentStatus.DISMISSED, AgentStatus.LEFT)


ONBOARDING_STATUSES = (
    AgentStatus.CLASSROOM,
    AgentStatus.SITE_RULES,
    AgentStatus.SHADOWING,
    AgentStatus.TRIAL_CALLS,
)

STATUS_LABELS = {
    AgentStatus.CLASSROOM: _l("Onboarding: classroom"),
    AgentStatus.SITE_RULES: _l("Onboarding: site rules"),
    AgentStatus.SHADOWING: _l("Onboarding: shadowing"),
    AgentStatus.TRIAL_CALLS: _l("Onboarding: trial calls"),
    AgentStatus.ON_LINE: _l("On the line"),
    AgentStatus.RETRAINING: _l("Retraining"),
    AgentStatus.STANDBY: _l("Standby training"),
    AgentStatus.DISMISSED: _l("Dismissed"),
    AgentStatus.LEFT: _l("Left"),
}


class Team(db.Model):
    """A team (班组) of agents under one team leader."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    description: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agents: Mapped[list["Agent"]] = relationship(back_populates="team")

    def __repr__(self) -> str:
        return f"<Team {self.name}>"


class Agent(db.Model):
    """The agent profile of a user: only what training and exams need."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    #: 工号, the centre's employee number.
    employee_no: Mapped[str] = mapped_column(String(32), unique=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="SET NULL"), index=True
    )
    hire_date: Mapped[date]
    status: Mapped[AgentStatus] = mapped_column(
        enum_column(AgentStatus, "agent_status"), default=AgentStatus.CLASSROOM, index=True
    )
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(backref=db.backref("agent", uselist=False))
    team: Mapped[Team | None] = relationship(back_populates="agents")

    @property
    def name(self) -> str:
        """Return the agent's name, held on the user."""
        return self.user.full_name

    def __repr__(self) -> str:
        return f"<Agent {self.employee_no}>"
