"""Browse the audit log (administrators)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import distinct, select

from lms.accounts.access import blueprint_roles
from lms.accounts.models import Role
from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.web import paginate

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")
blueprint_roles(bp, Role.ADMIN)


def _day(value: str):
    """Parse yyyy-mm-dd as a day in the centre's zone; None when blank or malformed."""
    try:
        day = datetime.strptime(value, "%Y-%m-%d")
    except ValueError:
        return None
    if not 1900 <= day.year <= 9000:
        return None  # no event is that old or new; and the UTC arithmetic would overflow
    return day.replace(tzinfo=ZoneInfo(current_app.config["LMS_TIMEZONE"]))


@bp.get("/")
def index():
    """List audit events, newest first, filtered by actor, action, target and dates."""
    args = request.args
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    errors = []
    if args.get("actor"):
        stmt = stmt.where(AuditEvent.actor_name == args["actor"].strip().lower())
    if args.get("action"):
        stmt = stmt.where(AuditEvent.action == args["action"])
    if args.get("target_type"):
        stmt = stmt.where(AuditEvent.target_type == args["target_type"])
    if args.get("target_id"):
        stmt = stmt.where(AuditEvent.target_id == args["target_id"].strip())
    if args.get("q"):
        stmt = stmt.where(AuditEvent.summary.ilike(f"%{args['q'].strip()}%"))
    for key, op in (("since", "ge"), ("until", "lt")):
        if args.get(key):
            day = _day(args[key])
            if day is None:
                errors.append(key)
            elif op == "ge":
                stmt = stmt.where(AuditEvent.at >= day)
            else:
                stmt = stmt.where(AuditEvent.at < day + timedelta(days=1))
    actions = db.session.scalars(select(distinct(AuditEvent.action)).order_by(AuditEvent.action))
    targets = db.session.scalars(
        select(distinct(AuditEvent.target_type)).order_by(AuditEvent.target_type)
    )
    return render_template(
        "audit/index.html",
        page=paginate(stmt, per_page=50),
        args=args,
        errors=errors,
        actions=[a for a in actions if a],
        targets=[t for t in targets if t],
    )
