"""The sign-in lockout: at most N failed sign-ins per account in a sliding window.

The rule is a pure function; two stores keep the failures: Redis when REDIS_URL is set
(shared by every worker and host), otherwise the database (shared by every worker that
uses it).
"""

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from lms.accounts.models import LoginFailure
from lms.extensions import db


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


class DatabaseStore:
    """Failures kept in the login_failures table."""

    def failures(self, key: str, window: int) -> list[float]:
        """Return the failure times inside the window."""
        since = datetime.now(UTC) - timedelta(seconds=window)
        rows = db.session.scalars(
            select(LoginFailure.at).where(LoginFailure.username_key == key, LoginFailure.at > since)
        )
        return [t.timestamp() for t in rows]

    def add(self, key: str, window: int) -> None:
        """Record one failure now; drop this key's failures older than the window."""
        since = datetime.now(UTC) - timedelta(seconds=window)
        db.session.execute(
            delete(LoginFailure).where(LoginFailure.username_key == key, LoginFailure.at <= since)
        )
        db.session.add(LoginFailure(username_key=key))
        db.session.flush()

    def reset(self, key: str) -> None:
        """Forget this key's failures."""
        db.session.execute(delete(LoginFailure).where(LoginFailure.username_key == key))

    def count_locked(self, window: int, limit: int) -> int:
        """Return how many keys are locked now."""
        since = datetime.now(UTC) - timedelta(seconds=window)
        sub = (
            select(LoginFailure.username_key)
            .where(LoginFailure.at > since)
            .group_by(LoginFailure.username_key)
            .having(func.count() >= limit)
            .subquery()
        )
        return db.session.scalar(select(func.count()).select_from(sub)) or 0


class RedisStore:
    """Failures kept in one Redis sorted set per account."""

    prefix = "lms:login-failures:"

    def __init__(self, client):
        self.client = client

    def failures(self, key: str, window: int) -> list[float]:
        """Return the failure times inside the window."""
        now = time.time()
        return [
            float(s)
            for _, s in self.client.zrangebyscore(
                self.prefix + key, now - window, "+inf", withscores=True
            )
        ]

    def add(self, key: str, window: int) -> None:
        """Record one failure now and let the set expire with the window."""
        now = time.time()
        name = self.prefix + key
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(name, "-inf", now - window)
        pipe.zadd(name, {f"{now:.6f}": now})
        pipe.expire(name, window)
        pipe.execute()

    def reset(self, key: str) -> None:
        """Forget this key's failures."""
        self.client.delete(self.prefix + key)


def store():
    """Return the store in use for this app."""
    return current_app.extensions.get("lms_throttle_store") or DatabaseStore()


def check(key: str) -> Lockout:
    """Return the lockout state of ``key`` now."""
    cfg = current_app.config
    window = cfg["LOGIN_FAILURE_WINDOW"]
    return lockout_state(
        store().failures(key, window), time.time(), cfg["LOGIN_FAILURE_LIMIT"], window
    )


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
