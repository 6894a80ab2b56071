"""Teams and agent profiles. Flush, never commit."""

from datetime import date

from flask_babel import gettext as _
from sqlalchemy import func, select

from lms import audit
from lms.accounts.models import User
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.i18n import today_local
from lms.people.models import Agent, AgentStatus, Team
from lms.timeutil import utcnow


def team_snapshot(team: Team) -> dict:
    """Return the audited fields of a team."""
    return {"name": team.name, "description": team.description}


def _check_team_name(name: str, exclude_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A team name is required."), field="name")
    if len(name) > 64:
        raise ValidationFailed(_("A team name may be at most 64 characters."), field="name")
    stmt = select(Team.id).where(Team.name == name)
    if exclude_id is not None:
        stmt = stmt.where(Team.id != exclude_id)
    if db.session.scalar(stmt):
        raise ValidationFailed(_("A team named %(name)s already exists.", name=name), field="name")
    return name


def create_team(name: str, description: str = "") -> Team:
    """Create a team with a unique name."""
    team = Team(name=_check_team_name(name), description=(description or "").strip())
    db.session.add(team)
    db.session.flush()
    audit.record("team.create", team, summary=team.name, after=team_snapshot(team))
    return team


def update_team(team: Team, name: str, description: str) -> None:
    """Rename a team or change its description."""
    before = team_snapshot(team)
    team.name = _check_team_name(name, exclude_id=team.id)
    team.description = (description or "").strip()
    after = team_snapshot(team)
    if before != after:
        audit.record("team.update", team, summary=team.name, before=before, after=after)


def delete_team(team: Team) -> None:
    """Delete a team that has no agents."""
    count = db.session.scalar(select(func.count(Agent.id)).where(Agent.team_id == team.id))
    if count:
        raise ValidationFailed(
            _(
                "The team %(name)s still has %(n)d agents: move them to another team first.",
                name=team.name,
                n=count,
            )
        )
    audit.record("team.delete", team, summary=team.name, before=team_snapshot(team))
    db.session.delete(team)
    db.session.flush()


def agent_snapshot(agent: Agent) -> dict:
    """Return the audited fields of an agent profile."""
    return {
        "employee_no": agent.employee_no,
        "team": agent.team.name if agent.team else None,
        "hire_date": agent.hire_date.isoformat() if agent.hire_date else None,
        "status": agent.status.value if agent.status else None,
    }


def check_employee_no(employee_no: str, exclude_id: int | None = None) -> str:
    """Return the trimmed employee number, or raise if malformed or taken."""
    no = (employee_no or "").strip().upper()
    if not no:
        raise ValidationFailed(_("An employee number is required."), field="employee_no")
    if len(no) > 32 or not no.isascii() or not no.replace("-", "").isalnum():
        raise ValidationFailed(
            _("An employee number may contain only letters, digits and hyphens."),
            field="employee_no",
        )
    stmt = select(Agent.id).where(Agent.employee_no == no)
    if exclude_id is not None:
        stmt = stmt.where(Agent.id != exclude_id)
    if db.session.scalar(stmt):
        raise ValidationFailed(
            _("The employee number %(no)s is already in use.", no=no), field="employee_no"
        )
    return no


def check_hire_date(value: date | None) -> date:
    """Refuse a missing or future hire date (today as the centre counts it)."""
    if value is None:
        raise ValidationFailed(_("A hire date is required."), field="hire_date")
    if value > today_local():
        raise ValidationFailed(_("The hire date cannot be in the future."), field="hire_date")
    return value


def set_agent_profile(
    user: User,
    *,
    employee_no: str,
    team: Team | None,
    hire_date: date | None,
    status: AgentStatus | None = None,
    actor=None,
) -> Agent:
    """Create or update the agent profile of ``user``."""
    agent = user.agent
    no = check_employee_no(employee_no, exclude_id=agent.id if agent else None)
    hire_date = check_hire_date(hire_date)
    if agent is None:
        agent = Agent(
            user=user,
            employee_no=no,
            team=team,
            hire_date=hire_date,
            status=status or AgentStatus.CLASSROOM,
        )
        db.session.add(agent)
        db.session.flush()
        audit.record(
            "agent.create", agent, summary=f"{no} {user.full_name}", after=agent_snapshot(agent)
        )
        return agent
    if status is not None:
        change_status(agent, status)
    before = agent_snapshot(agent)
    agent.employee_no, agent.team, agent.hire_date = no, team, hire_date
    after = agent_snapshot(agent)
    if before != after:
        audit.record(
            "agent.update", agent, summary=f"{no} {user.full_name}", before=before, after=after
        )
    return agent


def change_status(agent: Agent, status: AgentStatus, reason: str = "", actor=None) -> None:
    """Move an agent to another lifecycle status; the one place that does so."""
    status = AgentStatus(status)
    if status == agent.status:
        return
    before = {"status": agent.status.value}
    agent.status = status
    agent.status_changed_at = utcnow()
    audit.record(
        "agent.status",
        agent,
        summary=f"{agent.employee_no} {reason}".strip(),
        before=before,
        after={"status": status.value},
    )


def status_counts_by_team() -> dict:
    """Return {team name or None: {status: count}} for agents, teams sorted by name."""
    rows = db.session.execute(
        select(Team.name, Agent.status, func.count(Agent.id))
        .select_from(Agent)
        .join(Team, Agent.team_id == Team.id, isouter=True)
        .group_by(Team.name, Agent.status)
    ).all()
    matrix: dict = {}
    for team_name, status, n in rows:
        matrix.setdefault(team_name, {})[status] = n
    return dict(sorted(matrix.items(), key=lambda kv: (kv[0] is None, kv[0] or "")))


def agents_query(*, team_id=None, status=None, q=None):
    """Return a select of agents (with user and team) filtered as given."""
    stmt = (
        select(Agent)
        .join(User, Agent.user_id == User.id)
        .options(db.joinedload(Agent.user), db.joinedload(Agent.team))
        .order_by(Agent.employee_no)
    )
    if team_id:
        stmt = stmt.where(Agent.team_id == team_id)
    if status:
        stmt = stmt.where(Agent.status == AgentStatus(status))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(Agent.employee_no.ilike(like) | User.full_name.ilike(like))
    return stmt
