"""The clock starts when the exam page first reaches the candidate: a start whose page
never arrived (a timeout under load) costs them nothing if they come back in time."""

from datetime import UTC, datetime, timedelta

import pytest

from exams import engine, rules
from exams.models import AttemptState
from lms.extensions import db
from lms.timeutil import utcnow

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("delivered", "closes", "expected"),
    [
        (T0, T0 + 120 * M, (T0, T0 + 60 * M)),  # at once: nothing moves
        (T0 + 5 * M, T0 + 120 * M, (T0 + 5 * M, T0 + 65 * M)),  # 5 minutes given back
        (T0 + 5 * M, T0 + 62 * M, (T0 + 5 * M, T0 + 62 * M)),  # but not past the close
        (T0 + 5 * M, T0 + 60 * M, (T0 + 5 * M, T0 + 60 * M)),  # capped by the close already
        (T0 - M, T0 + 120 * M, (T0, T0 + 60 * M)),  # a clock behind never takes time away
    ],
)
def test_delivered_clock(delivered, closes, expected):
    assert rules.delivered_clock(T0, T0 + 60 * M, delivered, closes) == expected


def started_minutes_ago(sitting, agent, minutes: int):
    """Start an attempt whose page has not been delivered, ``minutes`` ago."""
    attempt = engine.start(sitting, agent)
    attempt.started_at -= timedelta(minutes=minutes)
    attempt.deadline_at -= timedelta(minutes=minutes)
    db.session.commit()
    return attempt


def test_first_page_gives_back_the_time_the_page_did_not_arrive(agent_client, sitting, agent):
    attempt = started_minutes_ago(sitting, agent, 5)
    limit = timedelta(minutes=attempt.time_limit_minutes)
    before = utcnow()
    assert agent_client.get(f"/exam/attempts/{attempt.id}").status_code == 200
    db.session.expire_all()
    assert attempt.delivered_at is not None and attempt.delivered_at >= before
    assert attempt.started_at == attempt.delivered_at
    assert attempt.deadline_at == attempt.delivered_at + limit
    # Later loads (a reload, a second tab) move nothing.
    deadline = attempt.deadline_at
    assert agent_client.get(f"/exam/attempts/{attempt.id}").status_code == 200
    db.session.expire_all()
    assert attempt.deadline_at == deadline


def test_time_given_back_stops_at_the_close(agent_client, sitting, agent):
    sitting.closes_at = utcnow() + timedelta(minutes=10)
    db.session.commit()
    attempt = started_minutes_ago(sitting, agent, 5)
    assert attempt.deadline_at <= sitting.closes_at
    agent_client.get(f"/exam/attempts/{attempt.id}")
    db.session.expire_all()
    assert attempt.deadline_at == sitting.closes_at


def test_an_undelivered_attempt_past_its_deadline_is_finalised_as_it_stands(
    agent_client, sitting, agent
):
    attempt = started_minutes_ago(sitting, agent, 40)  # the paper allows 30
    resp = agent_client.get(f"/exam/attempts/{attempt.id}")
    assert resp.status_code == 302 and "/result" in resp.location
    db.session.expire_all()
    assert attempt.state == AttemptState.FINISHED and attempt.delivered_at is None
