"""Running the suite in several processes (pytest-xdist, ``make test`` uses two): each
worker gets a PostgreSQL database and a Redis database of its own, so that no worker
empties or locks what another is using."""

import os

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def worker_index() -> int | None:
    """Return this xdist worker's number (gw0 → 0), or None outside xdist."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name[2:]) if name.startswith("gw") and name[2:].isdigit() else None


def isolate_worker() -> None:
    """Point TEST_DATABASE_URL and TEST_REDIS_URL at this worker's own databases."""
    index = worker_index()
    if index is None:
        return
    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        url = make_url(pg)
        own = url.set(database=f"{url.database}_w{index}")
        _create_database(url, own.database)
        os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)
    redis = os.environ.get("TEST_REDIS_URL")
    if redis:
        base, _, db = redis.rpartition("/")
        number = int(db) if db.isdigit() else 15
        os.environ["TEST_REDIS_URL"] = f"{base}/{max(0, number - 1 - index)}"


def _create_database(url, name: str) -> None:
    """Create database ``name`` on url's server unless it exists."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
