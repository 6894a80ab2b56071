"""The audit helper every capability calls to record a change."""

from flask import has_request_context, request
from flask_login import current_user

from lms.audit.models import AuditEvent
from lms.extensions import db


def diff(before: dict | None, after: dict | None) -> dict:
    """Return ``{field: [before, after]}`` for the fields whose values differ."""
    before, after = before or {}, after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return {k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)}


def record(
    action: str,
    target=None,
    *,
    summary: str = "",
    before: dict | None = None,
    after: dict | None = None,
    actor=None,
) -> AuditEvent:
    """Add an audit event for ``action`` on ``target``; flush, never commit.

    ``target`` is a model instance (its table name and id are kept) or None. ``before`` and
    ``after`` are plain dicts of the fields that matter; only differing fields are stored.
    The actor defaults to the signed-in user; commands pass one or leave it empty.
    """
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    event = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "username", "") or "",
        target_type=getattr(target, "__tablename__", "") if target is not None else "",
        target_id=str(getattr(target, "id", "") or "") if target is not None else "",
        summary=summary[:255],
        changes=diff(before, after) if (before or after) else None,
        ip=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    db.session.flush()
    return event
