"""The home page per role, the health check and the language switch."""

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from flask_login import current_user
from sqlalchemy import func, select, text

from lms import audit
from lms.accounts.access import public, signed_in
from lms.accounts.models import Role, User, UserSession
from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.i18n import LANGUAGE_NAMES
from lms.people import services as people
from lms.people.models import ONBOARDING_STATUSES, AgentStatus
from lms.web import safe_next

bp = Blueprint("main", __name__)


@bp.get("/")
@signed_in
def home():
    """Show a panel for each role the user holds."""
    user = current_user
    ctx = {}
    if user.has_role(Role.TRAINER, Role.HR):
        ctx["status_matrix"] = people.status_counts_by_team()
        ctx["in_training"] = [
            s for s in (*ONBOARDING_STATUSES, AgentStatus.RETRAINING, AgentStatus.STANDBY)
        ]
    if user.has_role(Role.ADMIN):
        ctx["user_count"] = db.session.scalar(select(func.count(User.id)))
        ctx["active_users"] = db.session.scalar(
            select(func.count(User.id)).where(User.is_active.is_(True))
        )
        ctx["live_sessions"] = db.session.scalar(
            select(func.count(UserSession.id)).where(UserSession.revoked_at.is_(None))
        )
        ctx["recent_events"] = db.session.scalars(
            select(AuditEvent).order_by(AuditEvent.id.desc()).limit(8)
        ).all()
    return render_template("home.html", AgentStatus=AgentStatus, Role=Role, **ctx)


@bp.get("/healthz")
@public
def healthz():
    """Report whether the app and its database answer."""
    try:
        db.session.execute(text("SELECT 1"))
        db_state = "ok"
    except Exception:  # the point is to report any failure, not to raise it
        current_app.logger.exception("health check: database does not answer")
        db.session.rollback()
        db_state = "error"
    body = {"status": "ok" if db_state == "ok" else "error", "db": db_state}
    return jsonify(body), 200 if db_state == "ok" else 503


@bp.post("/language")
@public
def set_language():
    """Switch the interface language, for the account when signed in."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGE_NAMES:
        session["lang"] = lang
        if current_user.is_authenticated and current_user.locale != lang:
            before = current_user.locale
            current_user.locale = lang
            audit.record(
                "user.locale",
                current_user,
                summary=current_user.username,
                before={"locale": before},
                after={"locale": lang},
            )
    return redirect(safe_next(request.form.get("next")))
