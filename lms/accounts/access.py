"""Access rules on every view: declared per view or per blueprint, denied when missing."""

from flask import abort, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms.accounts.models import Role
from lms.extensions import login_manager

PUBLIC = "public"
SIGNED_IN: frozenset = frozenset()

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
    if rule == PUBLIC:
        return None
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.must_change_password and endpoint not in ALLOWED_BEFORE_PASSWORD_CHANGE:
        flash(_("Please set a new password before you continue."), "warning")
        return redirect(url_for("accounts.change_password"))
    if rule and not current_user.has_role(*rule):
        abort(403)
    return None
