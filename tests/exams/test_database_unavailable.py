"""When the database is unreachable or the pool is exhausted the app answers 503 with
Retry-After (JSON for saves, a short translated page otherwise), never 500."""

from contextlib import contextmanager

import pytest
from sqlalchemy import exc as sa_exc

from exams.models import Attempt
from lms.extensions import db
from tests.exams.test_attempts import letters, start
from tests.helpers import text, zh


class DriverError:
    """An OperationalError of whichever driver the test database uses (sqlite3, psycopg):
    SQLAlchemy wraps only its own driver's errors."""

    def __init__(self, message: str):
        self.message = message

    def __call__(self, dialect):
        return dialect.dbapi.OperationalError(self.message)


@contextmanager
def database_down(error):
    """Make every statement fail in the driver as a locked, lost or exhausted database
    does, until the block ends (SQLAlchemy wraps the driver's error as it would)."""
    dialect = db.engine.dialect
    if isinstance(error, DriverError):
        error = error(dialect)

    def fail(*args, **kwargs):
        raise error

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(dialect, "do_execute", fail)
        mp.setattr(dialect, "do_execute_no_params", fail)
        yield


FAILURES = [
    pytest.param(DriverError("database is locked"), id="locked"),
    pytest.param(DriverError("unable to open database file"), id="unreachable"),
    pytest.param(sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached"), id="pool"),
    pytest.param(sa_exc.DisconnectionError("server closed the connection"), id="disconnected"),
]


@pytest.mark.parametrize("error", FAILURES)
def test_save_answers_503_json_with_retry_after(agent_client, sitting, error):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    token = agent_client.csrf_token()
    body = {"seq": 1, "writer": "p", "answers": {str(item.id): letters(item, "2")}}
    url = f"/exam/attempts/{attempt.id}/save"
    with database_down(error):
        resp = agent_client.post(url, json=body, headers={"X-CSRFToken": token})
    assert resp.status_code == 503
    assert int(resp.headers["Retry-After"]) > 0
    data = resp.get_json()
    assert data["ok"] is False and data["reason"] == "unavailable"
    assert (
        zh("The server is busy or cannot reach its database. Try again shortly.")
        in (data["message"])
    )
    # Nothing was stored, and the same save goes through once the database is back.
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).seq == 0
    resp = agent_client.post(url, json=body, headers={"X-CSRFToken": token})
    assert resp.status_code == 200


@pytest.mark.parametrize("error", FAILURES)
def test_page_answers_503_html_with_retry_after(agent_client, sitting, error):
    with database_down(error):
        resp = agent_client.get("/exam/")
    assert resp.status_code == 503 and resp.mimetype == "text/html"
    assert int(resp.headers["Retry-After"]) > 0
    page = text(resp)
    assert zh("The service is temporarily unavailable") in page
    assert zh("Your saved answers are safe. Wait a moment, then reload this page.") in page


def test_page_unavailable_in_english(agent_client, sitting):
    with agent_client.session_transaction() as session:
        session["lang"] = "en"
    with database_down(DriverError("database is locked")):
        resp = agent_client.get("/exam/")
    assert resp.status_code == 503
    assert "The service is temporarily unavailable" in text(resp)
    assert 'lang="en"' in text(resp)


def test_signed_out_page_unavailable_too(client, sitting):
    with database_down(DriverError("database is locked")):
        resp = client.get("/login")
        health = client.get("/healthz")
    # /login needs no database to show its form; the health check reports the failure.
    assert resp.status_code in (200, 503) and resp.status_code != 500
    assert health.status_code == 503 and health.get_json()["db"] == "error"
