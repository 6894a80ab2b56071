"""Administration: users, teams and the bulk import of agents."""

import io

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from lms import audit, jobs
from lms.accounts import services as accounts
from lms.accounts import sessions, throttle
from lms.accounts.access import blueprint_roles
from lms.accounts.models import Role, User, UserRole, UserSession
from lms.admin.forms import ImportAgentsForm, PasswordResetForm, TeamForm, UserForm
from lms.extensions import db
from lms.people import importer
from lms.people import services as people
from lms.people.models import Agent, AgentStatus, Team
from lms.web import paginate

bp = Blueprint("admin", __name__, url_prefix="/admin")
blueprint_roles(bp, Role.ADMIN)


def _team_choices():
    teams = db.session.scalars(select(Team).order_by(Team.name))
    return [SelectChoice(0, _("(no team)")), *(SelectChoice(t.id, t.name) for t in teams)]


def _apply_errors(form, exc: accounts.ValidationFailed, default: str) -> None:
    field = getattr(form, exc.field or default, None) or getattr(form, default)
    field.errors = list(field.errors) + exc.messages


def _save_profile(form, user: User) -> None:
    """Create or update the agent profile from the form when the user is an agent."""
    if Role.AGENT.value not in (form.roles.data or []):
        return
    missing = [f for f in (form.employee_no, form.hire_date) if not f.data]
    if missing:
        raise accounts.ValidationFailed(
            _("An agent needs an employee number and a hire date."),
            field=missing[0].name,
        )
    team = db.session.get(Team, form.team_id.data) if form.team_id.data else None
    people.set_agent_profile(
        user,
        employee_no=form.employee_no.data,
        team=team,
        hire_date=form.hire_date.data,
        status=AgentStatus(form.status.data) if form.status.data else None,
    )


@bp.get("/users")
def users():
    """List users, filtered by role, state and a search text."""
    stmt = select(User).order_by(User.username)
    role = request.args.get("role", "")
    if role in {r.value for r in Role}:
        stmt = stmt.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == Role(role))))
    state = request.args.get("state", "")
    if state == "active":
        stmt = stmt.where(User.is_active.is_(True))
    elif state == "inactive":
        stmt = stmt.where(User.is_active.is_(False))
    elif state == "must_change":
        stmt = stmt.where(User.must_change_password.is_(True))
    q = request.args.get("q", "").strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(User.username.ilike(like) | User.full_name.ilike(like))
    page = paginate(stmt, per_page=30)
    return render_template("admin/users.html", page=page, Role=Role, role=role, state=state, q=q)


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    """Create a user; an agent gets a profile too."""
    form = UserForm()
    form.team_id.choices = _team_choices()
    if request.method == "GET":
        form.status.data = AgentStatus.CLASSROOM.value
    if form.validate_on_submit():
        try:
            if not form.password.data:
                raise accounts.ValidationFailed(_("Enter an initial password."), field="password")
            user = accounts.create_user(
                form.username.data,
                form.full_name.data,
                form.roles.data,
                form.password.data,
                must_change_password=True,
                is_active=form.is_active.data,
            )
            _save_profile(form, user)
        except accounts.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc, "username")
        else:
            flash(
                _(
                    "User %(name)s created. They must choose a new password at first sign-in.",
                    name=user.username,
                ),
                "success",
            )
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_form.html", form=form, user=None), (
        422 if form.errors else 200
    )


@bp.route("/users/<id:user_id>", methods=["GET", "POST"])
def user_edit(user_id: int):
    """Edit a user's name, roles, state and agent profile."""
    user = db.session.get(User, user_id) or abort(404)
    form = UserForm(obj=user)
    form.team_id.choices = _team_choices()
    form.username.data = user.username
    if request.method == "GET":
        form.roles.data = [r.value for r in user.roles]
        if user.agent:
            form.employee_no.data = user.agent.employee_no
            form.team_id.data = user.agent.team_id or 0
            form.hire_date.data = user.agent.hire_date
            form.status.data = user.agent.status.value
    if form.validate_on_submit():
        try:
            accounts.update_user(
                user,
                full_name=form.full_name.data,
                roles=form.roles.data,
                is_active=form.is_active.data,
                actor=current_user,
            )
            _save_profile(form, user)
        except accounts.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc, "full_name")
        else:
            flash(_("Changes to %(name)s saved.", name=user.username), "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    live = db.session.scalar(
        select(func.count(UserSession.id)).where(
            UserSession.user_id == user.id, UserSession.revoked_at.is_(None)
        )
    )
    lock = throttle.check(user.username)
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        reset_form=PasswordResetForm(),
        live_sessions=live,
        lock=lock,
    ), (422 if form.errors else 200)


@bp.post("/users/<id:user_id>/password")
def user_reset_password(user_id: int):
    """Give a user a temporary password and end their sessions."""
    user = db.session.get(User, user_id) or abort(404)
    form = PasswordResetForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(user, form.password.data)
        except accounts.ValidationFailed as exc:
            db.session.rollback()
            for m in exc.messages:
                flash(m, "error")
        else:
            flash(
                _("Password of %(name)s reset; all their sessions ended.", name=user.username),
                "success",
            )
    else:
        for errors in form.errors.values():
            for m in errors:
                flash(m, "error")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<id:user_id>/unlock")
def user_unlock(user_id: int):
    """Clear a user's failed sign-ins."""
    user = db.session.get(User, user_id) or abort(404)
    accounts.unlock(user)
    flash(_("The sign-in lock of %(name)s is cleared.", name=user.username), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.post("/users/<id:user_id>/sessions/end")
def user_end_sessions(user_id: int):
    """Sign a user out everywhere."""
    user = db.session.get(User, user_id) or abort(404)
    n = sessions.revoke_all(user)

    audit.record("user.sessions_ended", user, summary=user.username, after={"sessions_ended": n})
    flash(_("Sessions ended: %(n)d.", n=n), "success")
    return redirect(url_for("admin.user_edit", user_id=user.id))


@bp.get("/teams")
def teams():
    """List the teams with their number of agents."""
    rows = db.session.execute(
        select(Team, func.count(Agent.id))
        .join(Agent, Agent.team_id == Team.id, isouter=True)
        .group_by(Team.id)
        .order_by(Team.name)
    ).all()
    return render_template("admin/teams.html", rows=rows, form=TeamForm())


@bp.post("/teams")
def team_create():
    """Create a team."""
    form = TeamForm()
    if form.validate_on_submit():
        try:
            team = people.create_team(form.name.data, form.description.data)
        except accounts.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc, "name")
        else:
            flash(_("Team %(name)s created.", name=team.name), "success")
            return redirect(url_for("admin.teams"))
    rows = db.session.execute(
        select(Team, func.count(Agent.id))
        .join(Agent, Agent.team_id == Team.id, isouter=True)
        .group_by(Team.id)
        .order_by(Team.name)
    ).all()
    return render_template("admin/teams.html", rows=rows, form=form), 422


@bp.route("/teams/<id:team_id>", methods=["GET", "POST"])
def team_edit(team_id: int):
    """Rename a team or change its description."""
    team = db.session.get(Team, team_id) or abort(404)
    form = TeamForm(obj=team)
    if form.validate_on_submit():
        try:
            people.update_team(team, form.name.data, form.description.data)
        except accounts.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc, "name")
        else:
            flash(_("Team %(name)s saved.", name=team.name), "success")
            return redirect(url_for("admin.teams"))
    return render_template("admin/team_form.html", form=form, team=team), (
        422 if form.errors else 200
    )


@bp.post("/teams/<id:team_id>/delete")
def team_delete(team_id: int):
    """Delete a team without agents."""
    team = db.session.get(Team, team_id) or abort(404)
    name = team.name
    try:
        people.delete_team(team)
    except accounts.ValidationFailed as exc:
        db.session.rollback()
        for m in exc.messages:
            flash(m, "error")
        return redirect(url_for("admin.team_edit", team_id=team_id))
    flash(_("Team %(name)s deleted.", name=name), "success")
    return redirect(url_for("admin.teams"))


@bp.route("/import-agents", methods=["GET", "POST"])
def import_agents():
    """Check an upload at once; if every row is right, create the agents in a job."""
    form = ImportAgentsForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            report, job = importer.start_import(upload.filename or "", upload.read(), current_user)
        except accounts.ValidationFailed as exc:
            db.session.rollback()
            _apply_errors(form, exc, "file")
        else:
            if job is not None:
                jobs.start(job.id)
                return redirect(url_for("jobs.show", job_id=job.id))
            db.session.rollback()
    status = 422 if form.errors or (report and report.errors) else 200
    return render_template("admin/import_agents.html", form=form, report=report), status


@bp.get("/import-agents/template.xlsx")
def import_template():
    """Download the import template."""
    return send_file(
        io.BytesIO(importer.template_workbook()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name="agents-template.xlsx",
    )
