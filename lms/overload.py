"""Load shedding: a request that waited too long in the queue is answered 503 at once.

When a whole centre starts its exam in the same minute, requests can queue in front of
the web workers faster than they are served. A request that has already waited longer
than the browser will (its own timeout, the candidate's patience) is not worth serving:
answering it costs the same work as a fresh one and its answer is thrown away, so the
queue only grows. Such a request is answered ``503 Retry-After`` before it touches the
session or the database; the exam page then retries it with backoff and jitter, and its
unsent answers stay in the page meanwhile.

The queue time comes from the ``X-Request-Start`` header the reverse proxy sets when it
receives the request (``deploy/nginx``: ``t=${msec}``; seconds, milliseconds or
microseconds since the epoch are all understood). Without the header (no proxy in
front, as in ``make run``) nothing is shed. A client that forges an old value only has
its own request refused.
"""

import time

from flask import current_app, request


class Overloaded(Exception):
    """Raise when a request waited in the queue longer than SHED_QUEUED_SECONDS."""


def queued_seconds(header: str | None, now: float) -> float | None:
    """Return how long ago ``header`` (X-Request-Start) says the request arrived, or None.

    Accepts ``t=1700000000.123`` (nginx, seconds), ``t=1700000000123`` (milliseconds) and
    ``t=1700000000123456`` (microseconds); anything unreadable or in the future is None.
    """
    if not header:
        return None
    raw = header.strip()
    if raw.startswith("t="):
        raw = raw[2:]
    try:
        value = float(raw)
    except ValueError:
        return None
    if value != value or value <= 0:  # NaN or nonsense
        return None
    if value > 1e14:
        value /= 1e6
    elif value > 1e11:
        value /= 1e3
    waited = now - value
    return waited if waited >= 0 else None


def shed_if_queued_too_long() -> None:
    """Refuse (503) a request that waited in the proxy's queue beyond the limit."""
    limit = current_app.config.get("SHED_QUEUED_SECONDS") or 0
    if limit <= 0:
        return
    waited = queued_seconds(request.headers.get("X-Request-Start"), time.time())
    if waited is not None and waited > limit:
        raise Overloaded(f"queued {waited:.1f} s (limit {limit:g} s)")


def init_app(app) -> None:
    """Run the check before every other hook, so a shed request loads nothing."""
    app.before_request_funcs.setdefault(None, []).insert(0, shed_if_queued_too_long)
