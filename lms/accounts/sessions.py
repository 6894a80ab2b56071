"""Server-side sessions: the cookie names a row here, so a session can be ended for good."""

import secrets
from datetime import timedelta

from flask import current_app, request, session
from flask_login import login_user, logout_user
from sqlalchemy import bindparam, false, select, true, update
from sqlalchemy.orm import joinedload

from lms.accounts.models import User, UserSession
from lms.extensions import db, login_manager
from lms.timeutil import utcnow

#: How often last_seen_at is written, so that not every request writes.
TOUCH_EVERY = timedelta(seconds=60)


def start(user: User) -> UserSession:
    """Begin a fresh session for ``user``: nothing of the anonymous session is kept."""
    session.clear()
    row = UserSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        ip=request.remote_addr,
        user_agent=(request.user_agent.string or "")[:200],
    )
    db.session.add(row)
    db.session.flush()
    session["sid"] = row.id
    login_user(user)
    return row


def end() -> None:
    """Revoke the current session on the server and clear the cookie."""
    sid = session.get("sid")
    if sid:
        db.session.execute(
            update(UserSession)
            .where(UserSession.id == sid, UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    logout_user()
    session.clear()


def revoke_all(user: User, keep: str | None = None) -> int:
    """Revoke every live session of ``user`` except ``keep``; return how many."""
    stmt = (
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    if keep:
        stmt = stmt.where(UserSession.id != keep)
    return db.session.execute(stmt).rowcount


def is_live(row: UserSession | None, now=None) -> bool:
    """Tell whether a session row may still be used."""
    if row is None or row.revoked_at is not None:
        return False
    now = now or utcnow()
    idle = timedelta(seconds=current_app.config["SESSION_IDLE_TIMEOUT"])
    return now - row.last_seen_at < idle


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Load the user only through a live server-side session of theirs."""
    sid = session.get("sid")
    if not sid:
        return None
    # One statement for the session, its user and the roles, on every request.
    row = (
        db.session.execute(
            select(UserSession)
            .where(UserSession.id == sid)
            .options(joinedload(UserSession.user).joinedload(User.role_rows))
        )
        .unique()
        .scalar_one_or_none()
    )
    if not is_live(row) or str(row.user_id) != user_id or not row.user.is_active:
        return None
    now = utcnow()
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
    return row.user


_us = UserSession.__table__.c
_users = User.__table__.c


def live_session_clauses(user_id_column) -> list:
    """Return SQL conditions that hold only for the cookie's live session of the user whose
    id is in ``user_id_column``, and a user who may act now: what :func:`load_user` and
    the access rules check, for a view that checks it within its own statement (the typing
    snapshot). Bind it with :func:`live_session_params`. The FROM must hold ``users``."""
    return [
        _us.id == bindparam("sid"),
        _us.user_id == user_id_column,
        _us.revoked_at.is_(None),
        _us.last_seen_at > bindparam("idle_since", type_=_us.last_seen_at.type),
        _users.id == user_id_column,
        _users.is_active == true(),
        _users.must_change_password == false(),
        user_id_column == bindparam("uid"),
    ]


def live_session_params(now) -> dict | None:
    """Return the binds of :func:`live_session_clauses` from the cookie (None: no session)."""
    sid, uid = session.get("sid"), session.get("_user_id")
    if not sid or not isinstance(uid, str) or not uid.isdigit():
        return None
    idle = timedelta(seconds=current_app.config["SESSION_IDLE_TIMEOUT"])
    return {"sid": sid, "uid": int(uid), "idle_since": now - idle}


TOUCH = (
    UserSession.__table__.update()
    .where(_us.id == bindparam("sid"))
    .values(last_seen_at=bindparam("now", type_=_us.last_seen_at.type))
)


def touch_if_due(sid: str, last_seen_at, now, conn=None) -> None:
    """Write last_seen_at as :func:`load_user` does (at most every TOUCH_EVERY), on
    ``conn`` (default: the session's connection)."""
    if now - last_seen_at > TOUCH_EVERY:
        (conn or db.session.connection()).execute(TOUCH, {"sid": sid, "now": now})
