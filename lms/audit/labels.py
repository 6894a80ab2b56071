"""Readable names for audit actions, objects and fields; capabilities add theirs here."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

ACTIONS = {
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.lockout": _l("Sign-in locked"),
    "user.create": _l("User created"),
    "user.update": _l("User changed"),
    "user.password": _l("Password changed"),
    "user.password_reset": _l("Password reset"),
    "user.unlock": _l("Sign-in unlocked"),
    "user.locale": _l("Language changed"),
    "user.sessions_ended": _l("Sessions ended"),
    "team.create": _l("Team created"),
    "team.update": _l("Team changed"),
    "team.delete": _l("Team deleted"),
    "agent.create": _l("Agent profile created"),
    "agent.update": _l("Agent profile changed"),
    "agent.status": _l("Agent status changed"),
    "agent.import": _l("Agents imported"),
    "agent.import_credentials": _l("Temporary passwords downloaded"),
}

TARGETS = {"users": _l("User"), "teams": _l("Team"), "agents": _l("Agent")}

FIELDS = {
    "username": _l("Username"),
    "full_name": _l("Name"),
    "roles": _l("Roles"),
    "is_active": _l("Account active"),
    "locale": _l("Language"),
    "employee_no": _l("Employee number"),
    "team": _l("Team"),
    "hire_date": _l("Hire date"),
    "status": _l("Status"),
    "name": _l("Team name"),
    "description": _l("Description"),
    "sessions_ended": _l("Sessions ended"),
    "agents": _l("Agents"),
}


def register(
    actions: dict | None = None, targets: dict | None = None, fields: dict | None = None
) -> None:
    """Add a capability's action, object and field names."""
    ACTIONS.update(actions or {})
    TARGETS.update(targets or {})
    FIELDS.update(fields or {})


def action_label(code: str) -> str:
    """Return the readable name of an action code (the code itself when unknown)."""
    return str(ACTIONS.get(code, code))


def target_label(code: str) -> str:
    """Return the readable name of an object type."""
    return str(TARGETS.get(code, code))


def field_label(code: str) -> str:
    """Return the readable name of a field."""
    return str(FIELDS.get(code, code))


def value_label(field: str, value) -> str:
    """Return a value as a reader expects it: yes/no, role and status names, lists."""
    from lms.accounts.models import ROLE_LABELS, Role
    from lms.i18n import LANGUAGE_NAMES
    from lms.people.models import STATUS_LABELS, AgentStatus

    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    roles = {r.value: ROLE_LABELS[r] for r in Role}
    statuses = {s.value: STATUS_LABELS[s] for s in AgentStatus}
    if field == "roles" and isinstance(value, list):
        return "、".join(str(roles.get(v, v)) for v in value)
    if field == "status" and value in statuses:
        return str(statuses[value])
    if field == "locale":
        return LANGUAGE_NAMES.get(value, str(value))
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)
