"""Sign-in, sign-out and the user's own account page."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from lms import audit
from lms.accounts import services, sessions
from lms.accounts.access import public, signed_in
from lms.accounts.forms import ChangePasswordForm, LoginForm, PreferencesForm
from lms.accounts.models import UserSession
from lms.extensions import db
from lms.web import safe_next

bp = Blueprint("accounts", __name__)


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    """Show the sign-in form and sign the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = services.authenticate(form.username.data, form.password.data)
        if result.user is None:
            error = result.error
        else:
            lang = session.get("lang")
            sessions.start(result.user)
            if lang and not result.user.locale:
                session["lang"] = lang
            if result.user.must_change_password:
                flash(_("Welcome. Please choose your own password first."), "info")
                return redirect(url_for("accounts.change_password"))
            return redirect(safe_next(request.args.get("next"), url_for("main.home")))
    status = 422 if (error or form.errors) else 200
    return render_template("accounts/login.html", form=form, error=error), status


@bp.post("/logout")
@public
def logout():
    """End the session on the server."""
    if current_user.is_authenticated:
        audit.record("auth.logout", current_user, summary=current_user.username)
    sessions.end()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
def change_password():
    """Let the user change their password; other sessions end."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                current_user,
                form.current_password.data,
                form.new_password.data,
                keep_sid=session.get("sid"),
            )
        except services.AccountLocked as exc:
            sessions.end()
            flash(exc.messages[0], "error")
            return redirect(url_for("accounts.login"))
        except services.ValidationFailed as exc:
            db.session.rollback()
            getattr(form, exc.field or "new_password").errors = list(exc.messages)
        else:
            flash(_("Your password has been changed. Your other sessions were ended."), "success")
            return redirect(url_for("main.home"))
    status = 422 if form.errors else 200
    return render_template("accounts/password.html", form=form), status


@bp.route("/account", methods=["GET", "POST"])
@signed_in
def account():
    """Show the account: language preference and the sessions signed in."""
    form = PreferencesForm(locale=current_user.locale or "")
    if form.validate_on_submit():
        before = current_user.locale
        current_user.locale = form.locale.data or None
        session.pop("lang", None)
        if before != current_user.locale:
            audit.record(
                "user.locale",
                current_user,
                summary=current_user.username,
                before={"locale": before},
                after={"locale": current_user.locale},
            )
        flash(_("Your preferences are saved."), "success")
        return redirect(url_for("accounts.account"))
    live = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == current_user.id, UserSession.revoked_at.is_(None))
        .order_by(UserSession.last_seen_at.desc())
    ).all()
    live = [s for s in live if sessions.is_live(s)]
    return render_template(
        "accounts/account.html", form=form, live_sessions=live, current_sid=session.get("sid")
    ), (422 if form.errors else 200)


@bp.post("/account/sessions/end-others")
@signed_in
def end_other_sessions():
    """Sign out every other browser of the user."""
    n = sessions.revoke_all(current_user, keep=session.get("sid"))
    audit.record(
        "user.sessions_ended",
        current_user,
        summary=current_user.username,
        after={"sessions_ended": n},
    )
    flash(_("Other sessions ended: %(n)d.", n=n), "success")
    return redirect(url_for("accounts.account"))
