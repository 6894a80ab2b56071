"""A request that queued too long in front of the workers is shed: 503 with Retry-After at
once, in the user's language, before the session or the database is touched."""

import time

import pytest

from exams.models import Attempt
from lms.extensions import db
from lms.overload import queued_seconds
from tests.exams.test_attempts import letters, start
from tests.helpers import count_queries, zh

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "waited"),
    [
        pytest.param("t=1799999988.500", 11.5, id="nginx-seconds"),
        pytest.param("t=1799999988500", 11.5, id="milliseconds"),
        pytest.param("t=1799999988500000", 11.5, id="microseconds"),
        pytest.param("1799999999", 1.0, id="no-prefix"),
        pytest.param(None, None, id="absent"),
        pytest.param("", None, id="empty"),
        pytest.param("t=soon", None, id="unreadable"),
        pytest.param("t=nan", None, id="nan"),
        pytest.param("t=-5", None, id="negative"),
        pytest.param("t=1800000030", None, id="in-the-future"),
    ],
)
def test_queue_time_is_read_from_the_proxy_header(header, waited):
    got = queued_seconds(header, NOW)
    assert got == (pytest.approx(waited) if waited is not None else None)


def _save(agent_client, attempt_id, body, token, **headers):
    return agent_client.post(
        f"/exam/attempts/{attempt_id}/save", json=body, headers={"X-CSRFToken": token, **headers}
    )


def test_a_save_that_queued_too_long_is_shed_and_stores_nothing(agent_client, sitting):
    attempt = start(agent_client, sitting)
    token = agent_client.csrf_token()
    item = attempt.items[0]
    body = {"seq": 1, "writer": "p", "answers": {str(item.id): letters(item, "2")}}
    old = {"X-Request-Start": f"t={time.time() - 30:.3f}"}
    with count_queries() as q:
        resp = _save(agent_client, attempt.id, body, token, **old)
    assert resp.status_code == 503
    assert int(resp.headers["Retry-After"]) > 0
    data = resp.get_json()
    assert data["reason"] == "unavailable"
    assert (
        zh("The server is busy or cannot reach its database. Try again shortly.")
        in (data["message"])
    )
    assert q.count == 0, q.statements
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).seq == 0
    # The same save sent again, fresh from the proxy, is stored.
    fresh = {"X-Request-Start": f"t={time.time():.3f}"}
    assert _save(agent_client, attempt.id, body, token, **fresh).status_code == 200
    db.session.expire_all()
    assert db.session.get(Attempt, attempt.id).seq == 1


def test_a_page_that_queued_too_long_gets_the_busy_page(agent_client, sitting):
    resp = agent_client.get("/exam/", headers={"X-Request-Start": f"t={time.time() - 11:.3f}"})
    assert resp.status_code == 503 and resp.mimetype == "text/html"
    assert int(resp.headers["Retry-After"]) > 0
    assert zh("Your saved answers are safe. Wait a moment, then reload this page.") in (
        resp.get_data(as_text=True)
    )


def test_within_the_limit_or_without_the_header_nothing_is_shed(agent_client, sitting):
    assert agent_client.get("/exam/").status_code == 200
    recent = {"X-Request-Start": f"t={time.time() - 9:.3f}"}
    assert agent_client.get("/exam/", headers=recent).status_code == 200


def test_shedding_can_be_turned_off(app, agent_client, sitting):
    app.config["SHED_QUEUED_SECONDS"] = 0
    old = {"X-Request-Start": f"t={time.time() - 3600:.3f}"}
    assert agent_client.get("/exam/", headers=old).status_code == 200


def test_nginx_example_sets_the_header():
    from pathlib import Path

    conf = (Path(__file__).resolve().parents[2] / "deploy" / "nginx" / "lms.conf").read_text()
    assert 'proxy_set_header X-Request-Start "t=${msec}";' in conf
