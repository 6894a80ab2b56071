"""An agent's typing results month by month: staff see anyone's, an agent only their own."""

from datetime import timedelta

from exams.typing import engine
from lms.accounts.models import Role
from lms.extensions import db
from tests.exams.typing.conftest import type_steadily
from tests.exams.typing.test_engine import started
from tests.helpers import text, zh


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
