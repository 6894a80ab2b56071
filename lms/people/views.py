"""The agent directory for trainers, HR and administrators."""

from flask import Blueprint, render_template, request
from sqlalchemy import select

from lms.accounts.access import blueprint_roles
from lms.accounts.models import Role
from lms.extensions import db
from lms.people import services
from lms.people.models import AgentStatus, Team
from lms.web import id_arg, paginate

bp = Blueprint("people", __name__, url_prefix="/agents")
blueprint_roles(bp, Role.TRAINER, Role.HR, Role.ADMIN)


@bp.get("/")
def agents():
    """List agents filtered by team, status and a search text."""
    team_id = id_arg("team")
    status = request.args.get("status", "")
    if status not in {s.value for s in AgentStatus}:
        status = ""
    q = request.args.get("q", "").strip()
    page = paginate(services.agents_query(team_id=team_id, status=status or None, q=q), 30)
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    return render_template(
        "people/agents.html",
        page=page,
        teams=teams,
        team_id=team_id,
        status=status,
        q=q,
        AgentStatus=AgentStatus,
    )
