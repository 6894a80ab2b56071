"""The typing snapshot checks the sign-in inside the statement that reads the attempt (it
is the heaviest traffic): every way a sign-in stops being good refuses it as any other
private request is refused, and stores nothing."""

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from exams.typing.models import TypingAttempt
from lms.accounts.models import User, UserSession
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams.typing.test_typing_pages import start


@pytest.fixture
def typing_sitting(make_typing_sitting, agent, other_agent):
    return make_typing_sitting([agent, other_agent])


@pytest.fixture
def typing(agent_client, typing_sitting):
    """Return (post, attempt): a snapshot poster with the token read while signed in."""
    attempt = start(agent_client, typing_sitting)
    token = agent_client.csrf_token()

    def post(seq: int, text: str = "您好"):
        return agent_client.post(
            f"/exam/typing/attempts/{attempt.id}/snapshot",
            data=json.dumps({"seq": seq, "text": text, "client_ms": seq * 5000}),
            content_type="application/json",
            headers={"X-CSRFToken": token},
        )

    assert post(1).status_code == 200
    return post, attempt


def stored(attempt) -> tuple[int, str]:
    db.session.expire_all()
    row = db.session.get(TypingAttempt, attempt.id)
    return row.seq, row.text


def agent_sessions():
    return update(UserSession).where(
        UserSession.user_id == select(User.id).where(User.username == "a1").scalar_subquery()
    )


def revoke():
    db.session.execute(agent_sessions().values(revoked_at=utcnow()))


def idle_out(app):
    idle = timedelta(seconds=app.config["SESSION_IDLE_TIMEOUT"] + 1)
    db.session.execute(agent_sessions().values(last_seen_at=utcnow() - idle))


def deactivate():
    db.session.execute(update(User).where(User.username == "a1").values(is_active=False))


def must_change():
    db.session.execute(update(User).where(User.username == "a1").values(must_change_password=True))


@pytest.mark.parametrize(
    "spoil, goes_to",
    [
        pytest.param(lambda app: revoke(), "/login", id="session-revoked"),
        pytest.param(idle_out, "/login", id="session-idle-too-long"),
        pytest.param(lambda app: deactivate(), "/login", id="account-deactivated"),
        pytest.param(lambda app: must_change(), "/account/password", id="must-change-password"),
    ],
)
def test_a_spoilt_sign_in_is_refused_as_elsewhere_and_nothing_is_kept(
    app, agent_client, typing, spoil, goes_to
):
    post, attempt = typing
    spoil(app)
    db.session.commit()
    resp = post(2, "您好，这里")
    assert resp.status_code == 302 and resp.location.startswith(goes_to), resp.status_code
    assert stored(attempt) == (1, "您好")
    # The same as a private page answers under the same sign-in.
    page = agent_client.get(f"/exam/typing/attempts/{attempt.id}")
    assert page.status_code == 302 and page.location.startswith(goes_to)


def test_after_signing_out_a_snapshot_is_refused(agent_client, typing):
    post, attempt = typing
    agent_client.submit("/logout")
    resp = post(2, "您好，这里")
    # The signed-out cookie no longer carries the token either: the CSRF check refuses first.
    assert resp.status_code == 400
    assert stored(attempt) == (1, "您好")


def test_another_agents_session_cannot_write_my_attempt(app, typing, login):
    _, attempt = typing
    other = app.test_client()
    login(other, "a2")
    resp = other.post(
        f"/exam/typing/attempts/{attempt.id}/snapshot",
        data=json.dumps({"seq": 2, "text": "代打", "client_ms": 10_000}),
        content_type="application/json",
        headers={"X-CSRFToken": other.csrf_token()},
    )
    assert resp.status_code == 404
    assert stored(attempt) == (1, "您好")


def test_a_snapshot_keeps_the_session_alive_as_any_request_does(app, typing):
    post, attempt = typing
    # Seen 2 minutes ago: the snapshot writes the time (as every request does once a minute).
    two_minutes_ago = utcnow() - timedelta(minutes=2)
    db.session.execute(agent_sessions().values(last_seen_at=two_minutes_ago))
    db.session.commit()
    time.sleep(0.55)  # closer than 0.5 s to the last snapshot is refused
    assert post(2, "您好，这").status_code == 200
    db.session.expire_all()
    seen = db.session.scalar(
        select(UserSession.last_seen_at).where(UserSession.revoked_at.is_(None))
    )
    assert seen > utcnow() - timedelta(seconds=30)
    # Seen just now: not written again on every snapshot.
    just_now = utcnow() - timedelta(seconds=10)
    db.session.execute(agent_sessions().values(last_seen_at=just_now))
    db.session.commit()
    time.sleep(0.55)
    assert post(3, "您好，这里").status_code == 200
    db.session.expire_all()
    seen = db.session.scalar(
        select(UserSession.last_seen_at).where(UserSession.revoked_at.is_(None))
    )
    assert abs((seen - just_now).total_seconds()) < 0.001
    assert stored(attempt) == (3, "您好，这里")
