"""The sign-in lockout: at most N failed sign-ins per account in a sliding window.

The rule is a pure function; two stores keep the failures: Redis when REDIS_URL is set
(shared by every worker and host), otherwise the database (shared by every worker that
uses it).
"""

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, insert, select, text

from lms.accounts.models import LoginFailure
from lms.extensions import db
from lms.timeutil import utcnow


@dataclass(frozen=True)
class Lockout:
    """The state of one account's sign-in failures."""

    locked: bool
    #: Seconds until a new attempt is allowed (0 when not locked).
    retry_after: int


def lockout_state(failures: list[float], now: float, limit: int, window: int) -> Lockout:
    """Decide from failure timestamps (seconds) whether the account is locked at ``now``."""
    recent = sorted(t for t in failures if now - window < t <= now)
    if len(recent) < limit:
        return Lockout(False, 0)
    # Unlocks when the oldest of the last ``limit`` failures leaves the window.
    oldest = recent[-limit]
    return Lockout(True, max(1, int(oldest + window - now + 0.999)))


SERIALISE_KEY = text("SELECT pg_advisory_xact_lock(hashtext(:key))")


class DatabaseStore:
    """Failures kept in the login_failures table, written in their own transaction so they
    count at once for every worker and survive the request's rollback."""

    def failures(self, key: str, window: int, before: int | None = None) -> list[float]:
        """Return the failure times inside the window (only those added before ``before``)."""
        since = datetime.now(UTC) - timedelta(seconds=window)
        stmt = select(LoginFailure.at).where(
            LoginFailure.username_key == key, LoginFailure.at > since
        )
        if before is not None:
            stmt = stmt.where(LoginFailure.id < before)
        with db.engine.connect() as conn:
            return [t.replace(tzinfo=UTC).timestamp() for t in conn.scalars(stmt)]

    def add(self, key: str, window: int) -> int:
        """Record one failure now and return its marker; now and then drop expired rows."""
        since = datetime.now(UTC) - timedelta(seconds=window)
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # One account's failures are written one at a time, so their ids follow the
                # order of their commits: a failure counted "before the marker" is committed.
                # (Ids are handed out at insert, not commit: two at once could otherwise each
                # miss the other and both slip under the limit.) SQLite writes one at a time.
                conn.execute(SERIALISE_KEY, {"key": f"login-failures:{key}"})
            marker = conn.execute(
                insert(LoginFailure)
                .values(username_key=key, at=utcnow())
                .returning(LoginFailure.id)
            ).scalar_one()
            if secrets.randbelow(50) == 0:
                conn.execute(delete(LoginFailure).where(LoginFailure.at <= since))
        return marker

    def reset(self, key: str) -> None:
        """Forget this key's failures, as part of the request's own transaction.

        (A separate connection would wait for the request's write lock on SQLite.)
        """
        db.session.execute(delete(LoginFailure).where(LoginFailure.username_key == key))


class RedisStore:
    """Failures kept in one Redis sorted set per account."""

    prefix = "lms:login-failures:"

    def __init__(self, client):
        self.client = client

    def failures(self, key: str, window: int, before: str | None = None) -> list[float]:
        """Return the failure times inside the window (only those added before ``before``)."""
        now = time.time()
        entries = self.client.zrangebyscore(
            self.prefix + key, now - window, "+inf", withscores=True
        )
        if before is not None:
            mine = self.client.zscore(self.prefix + key, before)
            entries = [
                (m, s)
                for m, s in entries
                if mine is not None and m.decode() != before and (s, m.decode()) < (mine, before)
            ]
        return [float(s) for _, s in entries]

    def add(self, key: str, window: int) -> str:
        """Record one failure now and return its marker; let the set expire with the window."""
        now = time.time()
        name = self.prefix + key
        member = f"{now:.6f}-{secrets.token_hex(4)}"
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(name, "-inf", now - window)
        pipe.zadd(name, {member: now})
        pipe.expire(name, window)
        pipe.execute()
        return member

    def reset(self, key: str) -> None:
        """Forget this key's failures."""
        self.client.delete(self.prefix + key)


def store():
    """Return the store in use for this app."""
    return current_app.extensions.get("lms_throttle_store") or DatabaseStore()


def _state(failures: list[float]) -> Lockout:
    cfg = current_app.config
    return lockout_state(
        failures, time.time(), cfg["LOGIN_FAILURE_LIMIT"], cfg["LOGIN_FAILURE_WINDOW"]
    )


def check(key: str) -> Lockout:
    """Return the lockout state of ``key`` now."""
    return _state(store().failures(key, current_app.config["LOGIN_FAILURE_WINDOW"]))


def attempt(key: str) -> Lockout:
    """Count an attempt as failed until it succeeds; return the state before it.

    Recording first, and judging by the failures recorded earlier, keeps concurrent
    attempts from all slipping past the limit while their passwords are being checked.
    """
    s = store()
    window = current_app.config["LOGIN_FAILURE_WINDOW"]
    marker = s.add(key, window)
    return _state(s.failures(key, window, before=marker))


def record_failure(key: str) -> Lockout:
    """Record a failure for ``key`` and return the new state."""
    store().add(key, current_app.config["LOGIN_FAILURE_WINDOW"])
    return check(key)


def reset(key: str) -> None:
    """Clear the failures of ``key`` (after a success, or by an administrator)."""
    store().reset(key)


def init_app(app) -> None:
    """Choose Redis when REDIS_URL is set."""
    url = app.config.get("REDIS_URL")
    if url:
        import redis

        app.extensions["lms_throttle_store"] = RedisStore(redis.Redis.from_url(url))
