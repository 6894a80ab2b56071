"""Readable names for audit actions, objects, fields and values; capabilities add theirs here.

The log stores codes (``paper.update``, ``review_policy``, ``after_close``) so that each
reader sees them in their own language, whatever language the actor used.
"""

import enum
from collections.abc import Callable, Mapping

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

#: A value labeller returns the readable form of a stored value, or None when not its own.
Labeller = Callable[[object], str | None]

ACTIONS = {
    "auth.login": _l("Sign-in"),
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
    "name": _l("Title or name"),
    "description": _l("Description"),
    "sessions_ended": _l("Sessions ended"),
    "agents": _l("Agents"),
}

#: Field → the labellers of its values, tried in turn (``status`` serves agents and questions).
VALUES: dict[str, list[Labeller]] = {}

#: Action → a function that turns the stored summary into readable text.
SUMMARIES: dict[str, Callable[[str], str]] = {}


def enum_labeller(enum_cls: type[enum.Enum], names: Mapping | None = None) -> Labeller:
    """Return a labeller for the values of ``enum_cls`` (by ``names`` or the members' .label)."""

    def label(value) -> str | None:
        try:
            member = enum_cls(value)
        except (ValueError, TypeError):
            return None
        return str(names[member]) if names is not None else str(member.label)

    return label


def _as_labeller(spec) -> Labeller:
    if isinstance(spec, type) and issubclass(spec, enum.Enum):
        return enum_labeller(spec)
    if isinstance(spec, Mapping):
        return lambda value: str(spec[value]) if _hashable(value) and value in spec else None
    return spec


def _hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def register(
    actions: dict | None = None,
    targets: dict | None = None,
    fields: dict | None = None,
    values: dict | None = None,
    summaries: dict | None = None,
) -> None:
    """Add a capability's action, object and field names, value labellers and summaries.

    ``values`` maps a field to an enum class, a ``{value: label}`` mapping or a labeller.
    """
    ACTIONS.update(actions or {})
    TARGETS.update(targets or {})
    FIELDS.update(fields or {})
    for field, spec in (values or {}).items():
        labeller = _as_labeller(spec)
        if labeller not in VALUES.setdefault(field, []):
            VALUES[field].append(labeller)
    SUMMARIES.update(summaries or {})


def action_label(code: str) -> str:
    """Return the readable name of an action code (the code itself when unknown)."""
    return str(ACTIONS.get(code, code))


def target_label(code: str) -> str:
    """Return the readable name of an object type."""
    return str(TARGETS.get(code, code))


def field_label(code: str) -> str:
    """Return the readable name of a field."""
    return str(FIELDS.get(code, code))


def summary_label(event) -> str:
    """Return an event's summary as a reader expects it."""
    build = SUMMARIES.get(event.action)
    return build(event.summary) if build and event.summary else event.summary


def value_label(field: str, value) -> str:
    """Return a value as a reader expects it: yes/no, enum labels, lists."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    for labeller in VALUES.get(field, ()):
        text = labeller(value)
        if text is not None:
            return text
    if isinstance(value, list):
        return "、".join(value_label(field, v) for v in value)
    return str(value)


def _role(value) -> str | None:
    from lms.accounts.models import ROLE_LABELS, Role

    return enum_labeller(Role, ROLE_LABELS)(value)


def _agent_status(value) -> str | None:
    from lms.people.models import STATUS_LABELS, AgentStatus

    return enum_labeller(AgentStatus, STATUS_LABELS)(value)


def _language(value) -> str | None:
    from lms.i18n import LANGUAGE_NAMES

    return LANGUAGE_NAMES.get(value) if isinstance(value, str) else None


register(values={"roles": _role, "status": _agent_status, "locale": _language})
