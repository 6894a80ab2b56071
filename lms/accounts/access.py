"""Access rules on every view: declared per view or per blueprint, denied when missing."""

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.accounts.models import Role
from lms.extensions import login_manager

PUBLIC = "public"
SIGNED_IN: frozenset = frozenset()
#: The view checks the signed-in session within its own statement, then falls back to
#: :func:`require_signed_in` when that statement finds nothing (see sessions.py).
CHECKED_IN_VIEW = "checked-in-view"

#: Endpoints a user who must change the password may still reach.
ALLOWED_BEFORE_PASSWORD_CHANGE = frozenset(
    {"accounts.change_password", "accounts.logout", "main.set_language", "static"}
)


def public(view):
    """Let anyone, signed in or not, reach ``view``."""
    view.access_rule = PUBLIC
    return view


def signed_in(view):
    """Let any signed-in user reach ``view``."""
    view.access_rule = SIGNED_IN
    return view


def session_checked_in_view(view):
    """Let ``view`` check the signed-in session itself, in the statement that reads its
    object (sessions.live_session_clauses), calling :func:`require_signed_in` when that
    finds nothing. Only for the heaviest traffic: every other view uses :func:`signed_in`."""
    view.access_rule = CHECKED_IN_VIEW
    return view


def roles_required(*roles: Role):
    """Let only users holding one of ``roles`` reach the view."""

    def decorate(view):
        view.access_rule = frozenset(roles)
        return view

    return decorate


def blueprint_roles(blueprint, *roles: Role) -> None:
    """Set the rule for every view of ``blueprint`` that declares none of its own."""
    blueprint.access_rule = frozenset(roles)


def rule_for(endpoint: str):
    """Return the declared rule of ``endpoint``, or None when it declares none."""
    view = current_app.view_functions.get(endpoint)
    rule = getattr(view, "access_rule", None)
    if rule is None and "." in endpoint:
        bp = current_app.blueprints.get(endpoint.rsplit(".", 1)[0])
        rule = getattr(bp, "access_rule", None)
    return rule


def enforce() -> None:
    """Check the current request against its endpoint's rule (a before_request hook)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint == "static":
        return None  # 404s and shipped assets
    rule = rule_for(endpoint)
    if rule is None:
        # A view nobody declared a rule for is a mistake: deny rather than expose it.
        current_app.logger.error("no access rule on endpoint %s", endpoint)
        abort(403)
    if rule in (PUBLIC, CHECKED_IN_VIEW):
        return None
    refused = require_signed_in()
    if refused is not None:
        return refused
    if rule and not current_user.has_role(*rule):
        abort(403)
    return None


def require_signed_in():
    """Return the answer for a request without a usable sign-in (None when it has one)."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.must_change_password and request.endpoint not in ALLOWED_BEFORE_PASSWORD_CHANGE:
        flash(_("Please set a new password before you continue."), "warning")
        return redirect(url_for("accounts.change_password"))
    return None
