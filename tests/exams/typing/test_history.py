"""An agent's typing results month by month: staff see anyone's, an agent only their own."""

import re
from datetime import timedelta

import pytest

from exams.typing import engine
from exams.typing.models import Passage, PassageKind, PassagePurpose, TypingTest
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams.typing.conftest import SCRIPT, type_steadily
from tests.exams.typing.test_engine import started
from tests.helpers import text, zh

#: The chart's colours of a point at or above the pass line, and of one below it.
PASS, FAIL = "#15803d", "#b91c1c"


def test_staff_see_an_agents_monthly_typing_and_the_agent_only_their_own(
    app, make_typing_sitting, agent, make_user, login, agent_client
):
    sitting = make_typing_sitting([agent])
    attempt = started(sitting, agent)
    type_steadily(engine, attempt, attempt.target[:700], attempt.started_at, 600)
    engine.finish(attempt, now=attempt.started_at + timedelta(minutes=10))
    db.session.commit()
    hr = make_user(Role.HR, username="hr9")
    staff = app.test_client()
    login(staff, hr.username)
    page = text(staff.get(f"/exams/typing/history/{agent.id}"))
    assert "<svg" in page and str(attempt.net_speed) in page
    assert zh("passed") in page
    # The agent: their own page, never someone else's (the staff page is refused).
    assert agent_client.get(f"/exams/typing/history/{agent.id}").status_code == 403
    mine = text(agent_client.get("/exams/typing/history/mine"))
    assert str(attempt.net_speed) in mine


def test_practice_and_held_attempts_stay_out_of_the_history(app, make_typing_sitting, agent):
    from exams.typing.history_views import monthly

    practice = engine.start_practice(agent)
    engine.deliver(practice)
    engine.finish(practice)
    sitting = make_typing_sitting([agent])
    held = started(sitting, agent)
    engine.record(held, 1, held.target[:800], 5000, {}, now=held.started_at + timedelta(seconds=5))
    engine.finish(held, now=held.started_at + timedelta(minutes=10))
    assert held.review == "held"
    assert monthly(agent.id) == []


def pass_line(page: str) -> str:
    """Return the speed written on the chart's pass line."""
    found = re.search(r'<line class="pass-line"[^>]*/>\s*<text[^>]*>([^<]+)</text>', page)
    assert found, "no pass line"
    return found.group(1)


def dots(page: str) -> list[str]:
    """Return the colours of the chart's points, oldest first."""
    return re.findall(r'<circle [^>]*fill="(#[0-9a-f]+)"', page)


def test_history_draws_the_pass_line_at_the_tests_pass_speed(
    app, make_typing_sitting, agent, typing_test, agent_client
):
    typing_test.pass_speed = 70
    db.session.commit()
    sitting = make_typing_sitting([agent])
    attempt = started(sitting, agent)
    type_steadily(engine, attempt, attempt.target[:650], attempt.started_at, 600)
    engine.finish(attempt, now=attempt.started_at + timedelta(minutes=10))
    db.session.commit()
    assert 60 <= attempt.net_speed < 70 and not attempt.passed
    page = text(agent_client.get("/exams/typing/history/mine"))
    assert pass_line(page) == "70" and dots(page) == [FAIL]


@pytest.fixture
def long_practice(app, passages):
    """Return the only practice passage: long enough to type at 65 characters a minute for
    2 minutes (the short ones are archived)."""
    for p in passages:
        p.active = p.purpose != PassagePurpose.PRACTICE
    passage = Passage(title="长练习", text=SCRIPT * 3, purpose=PassagePurpose.PRACTICE)
    db.session.add(passage)
    db.session.commit()
    return passage


def practised(user, chars: int, seconds: int):
    """Return a finished practice run: ``chars`` typed evenly over ``seconds``."""
    run = engine.start_practice(user)
    engine.deliver(run)
    type_steadily(engine, run, run.target[:chars], run.started_at, seconds)
    engine.finish(run, now=run.started_at + timedelta(seconds=seconds))
    db.session.commit()
    return run


def test_practice_draws_the_pass_line_of_the_agents_next_typing_test(
    app, make_typing_sitting, typing_test, agent, agent_client, long_practice
):
    strict = TypingTest(title="季度打字测试", kind=PassageKind.TEXT, pass_speed=70)
    db.session.add(strict)
    db.session.commit()
    now = utcnow()
    make_typing_sitting(
        [agent],
        title="上月技能考试",
        opens_at=now - timedelta(days=30),
        closes_at=now - timedelta(days=29),
    )
    coming = make_typing_sitting(
        [agent],
        title="下周技能考试",
        opens_at=now + timedelta(days=7),
        closes_at=now + timedelta(days=8),
    )
    coming.typing_test = strict
    db.session.commit()
    run = practised(agent, 130, 120)
    assert 60 <= run.net_speed < 70 and run.passed  # practice itself uses the default rules

    page = text(agent_client.get("/exam/typing/practice"))
    assert pass_line(page) == "70" and dots(page) == [FAIL]


def test_practice_uses_the_most_recent_typing_test_once_all_have_closed(
    app, make_typing_sitting, typing_test, agent, agent_client, long_practice
):
    now = utcnow()
    typing_test.pass_speed = 70
    db.session.commit()
    make_typing_sitting(
        [agent], opens_at=now - timedelta(days=2), closes_at=now - timedelta(days=1)
    )
    practised(agent, 130, 120)
    assert pass_line(text(agent_client.get("/exam/typing/practice"))) == "70"


def test_practice_without_a_typing_test_draws_the_default_pass_line(
    app, agent, agent_client, long_practice
):
    practised(agent, 130, 120)
    page = text(agent_client.get("/exam/typing/practice"))
    assert pass_line(page) == "60" and dots(page) == [PASS]
