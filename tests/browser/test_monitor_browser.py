"""The live monitor updates in place: what a trainer is typing survives every update."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_exam_browser import sign_in

pytestmark = pytest.mark.browser


def one_candidate_sitting(live_app, username: str, title: str, **components):
    """Create an open sitting of ``components`` (paper=, typing_test=) for one agent;
    return (sitting id, candidate id, user id)."""
    from exams.models import Candidate, Sitting, SittingKind
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.timeutil import utcnow

    with live_app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        now = utcnow()
        sitting = Sitting(
            title=title,
            kind=SittingKind.RETRAINING,
            opens_at=now - timedelta(minutes=5),
            closes_at=now + timedelta(hours=2),
            **{name: make() for name, make in components.items()},
        )
        sitting.candidates = [Candidate(user_id=user.id)]
        db.session.add(sitting)
        db.session.commit()
        return sitting.id, sitting.candidates[0].id, user.id


def open_monitor(page: Page, live_server, sitting_id: int, candidate_id: int):
    """Open the sitting's page as a trainer, with the page's clock under the test's hand;
    return the candidate's row, the page marked so that a reload would show."""
    page.clock.install()
    sign_in(page, live_server, "trainer1")
    page.goto(f"{live_server}/exams/sittings/{sitting_id}")
    page.evaluate("window.notReloaded = true")
    return page.locator(f'tr[data-candidate="{candidate_id}"]')


def test_monitor_updates_cells_without_wiping_typed_extra_time(page: Page, live_server, live_app):
    from exams import engine
    from exams.models import Paper, Sitting
    from lms.accounts.models import User
    from lms.extensions import db

    sitting_id, candidate_id, user_id = one_candidate_sitting(
        live_app,
        "a0003",
        "监控测试",
        paper=lambda: db.session.scalar(select(Paper).order_by(Paper.id)),
    )
    row = open_monitor(page, live_server, sitting_id, candidate_id)
    expect(row.locator('[data-field="status"]')).to_have_text("未开始")
    row.locator('input[name="extra_minutes"]').fill("25")  # typed, not saved yet

    with live_app.app_context():
        engine.start(db.session.get(Sitting, sitting_id), db.session.get(User, user_id))
        db.session.commit()
    page.clock.fast_forward("00:16")  # one poll later

    expect(row.locator('[data-field="status"]')).to_have_text("作答中")
    expect(row).to_have_class("state-in_progress")
    expect(row.locator('[data-field="left"]')).to_have_text(re.compile(r"^\d+:\d\d$"))
    expect(page.locator('[data-summary="in_progress"]')).to_have_text("作答中：1")
    expect(row.locator('[data-field="sheet"] a')).to_have_attribute(
        "href", re.compile(r"/exams/attempts/\d+$")
    )
    expect(row.locator('input[name="extra_minutes"]')).to_have_value("25")
    assert page.evaluate("window.notReloaded") is True


def test_monitor_updates_the_typing_state_in_place(page: Page, live_server, live_app):
    from exams.models import Candidate, Sitting
    from exams.typing import engine as typing_engine
    from exams.typing.models import TypingTest
    from lms.accounts.models import User
    from lms.extensions import db

    # An agent no other browser test types as: the open attempt left here would refuse
    # theirs ("a typing test in progress").
    sitting_id, candidate_id, user_id = one_candidate_sitting(
        live_app,
        "a0011",
        "打字监控测试",
        typing_test=lambda: db.session.scalar(select(TypingTest).order_by(TypingTest.id)),
    )
    row = open_monitor(page, live_server, sitting_id, candidate_id)
    typing = row.locator('[data-field="typing"]')
    expect(typing).to_have_text("未开始")
    row.locator('input[name="extra_minutes"]').fill("5")  # typed, not saved yet

    with live_app.app_context():
        sitting = db.session.get(Sitting, sitting_id)
        candidate = db.session.get(Candidate, candidate_id)
        attempt = typing_engine.start(sitting, db.session.get(User, user_id), candidate)
        typing_engine.deliver(attempt)
        db.session.commit()
    page.clock.fast_forward("00:16")  # one poll later

    expect(typing).to_have_text("打字中")
    expect(typing).to_have_attribute("data-state", "in_progress")
    expect(row.locator('input[name="extra_minutes"]')).to_have_value("5")
    assert page.evaluate("window.notReloaded") is True
