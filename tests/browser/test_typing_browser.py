"""The typing test in a real browser: text typed through Chromium's input-method emulation
at a known pace is scored by the server within 2 % of the true speed; a paste is blocked
and recorded; a burst of text with no composition is held for a trainer's review."""

import time
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import PageProblems
from tests.browser.test_exam_browser import sign_in

pytestmark = pytest.mark.browser

#: 72 counted characters: typed two by two, about one commit every 1.7 s (≈ 70 字/分钟).
PASSAGE = (
    "您好，这里是客户服务中心。请您提供银行卡号和预留手机号，我们马上为您办理挂失。"
    "挂失后二十四小时内生效，补卡需要三个工作日，请您留意短信通知。"
)


def typing_sitting(live_app, usernames) -> int:
    """Create an open sitting whose typing test asks for the whole passage; return its id."""
    from exams.models import Candidate, Sitting, SittingKind
    from exams.typing.models import Passage, PassagePurpose, TypingTest
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.timeutil import utcnow

    with live_app.app_context():
        # Only this test's passages may be drawn (the demo's are five times as long);
        # no other browser test sits a typing test.
        for other in db.session.scalars(select(Passage).where(Passage.active.is_(True))):
            other.active = False
        for n in range(2):
            db.session.add(
                Passage(title=f"浏览器测试文章{n}", text=PASSAGE, purpose=PassagePurpose.EXAM)
            )
        test = TypingTest(title="浏览器打字测试", duration_minutes=3, whole_passage=True)
        now = utcnow()
        sitting = Sitting(
            title="浏览器技能考试",
            kind=SittingKind.MONTHLY,
            typing_test=test,
            opens_at=now - timedelta(minutes=5),
            closes_at=now + timedelta(hours=1),
        )
        users = db.session.scalars(select(User).where(User.username.in_(usernames))).all()
        sitting.candidates = [Candidate(user_id=u.id) for u in users]
        db.session.add(sitting)
        db.session.commit()
        return sitting.id


def open_test(page: Page, base: str, username: str, sitting_id: int) -> int:
    """Sign in, start the sitting's typing test; return the attempt id."""
    sign_in(page, base, username)
    page.goto(f"{base}/exam/")
    page.locator(f'form[action="/exam/typing/sittings/{sitting_id}/start"] button').click()
    page.wait_for_url("**/exam/typing/attempts/*")
    page.locator("#typing-input").focus()
    return int(page.url.rsplit("/", 1)[1])


def commit_through_ime(cdp, text: str) -> None:
    """Type ``text`` as a pinyin input method does: keys (229), a composition, a commit."""
    for _ in range(3):
        cdp.send(
            "Input.dispatchKeyEvent",
            {"type": "rawKeyDown", "windowsVirtualKeyCode": 229, "key": "Process", "code": "KeyA"},
        )
        cdp.send(
            "Input.dispatchKeyEvent",
            {"type": "keyUp", "windowsVirtualKeyCode": 229, "key": "Process", "code": "KeyA"},
        )
    cdp.send("Input.imeSetComposition", {"text": "ni", "selectionStart": 2, "selectionEnd": 2})
    cdp.send("Input.insertText", {"text": text})


def attempt_row(live_app, attempt_id):
    from exams.typing.models import TypingAttempt
    from lms.extensions import db

    with live_app.app_context():
        row = db.session.get(TypingAttempt, attempt_id)
        db.session.expunge(row)
        return row


def test_ime_typing_is_scored_by_the_server_paste_is_blocked_and_a_burst_is_held(
    page: Page, browser, live_server, live_app, page_problems
):
    sitting_id = typing_sitting(live_app, ["a0004", "a0007"])
    honest_id = open_test(page, live_server, "A0004", sitting_id)
    loaded = time.monotonic()
    other_context = browser.new_context()
    other = other_context.new_page()
    other_problems = PageProblems()
    other_problems.watch(other)
    burst_id = open_test(other, live_server, "A0007", sitting_id)
    other_loaded = time.monotonic()
    cdp = page.context.new_cdp_session(page)
    cdp_other = other_context.new_cdp_session(other)

    # The honest candidate: two characters per commit, a commit every 1.7 s.
    chars = list(PASSAGE)
    pairs = ["".join(chars[i : i + 2]) for i in range(0, len(chars), 2)]
    pace = 62.0 / len(pairs)
    for n, pair in enumerate(pairs):
        due = loaded + (n + 1) * pace
        while time.monotonic() < due:
            time.sleep(0.02)
        commit_through_ime(cdp, pair)
        if n == len(pairs) // 2:
            # A paste halfway, through the real clipboard and the real shortcut.
            page.context.grant_permissions(["clipboard-read", "clipboard-write"])
            page.evaluate("navigator.clipboard.writeText('粘贴进来的文字')")
            before = page.locator("#typing-input").input_value()
            page.keyboard.press("Control+V")
            expect(page.locator("#blocked-note")).to_be_visible()
            assert page.locator("#typing-input").input_value() == before
    typed_at = time.monotonic()
    # The whole passage typed: the page sends it at once and the server finishes the test.
    page.wait_for_url("**/result", timeout=15_000)

    # The other candidate waited over a minute (a shorter test is not scored, so not held),
    # then got the whole text in one go, no composition.
    while time.monotonic() < other_loaded + 63:
        time.sleep(0.1)
    other.locator("#typing-input").focus()
    cdp_other.send("Input.insertText", {"text": PASSAGE})
    other.wait_for_url("**/result", timeout=15_000)
    expect(other.locator(".flash-info")).to_contain_text("核查")

    honest = attempt_row(live_app, honest_id)
    true_speed = len(PASSAGE) / ((typed_at - loaded) / 60)
    recorded = float(honest.speed)
    assert honest.scored and honest.correct == len(PASSAGE)
    assert abs(recorded - true_speed) / true_speed <= 0.02, (recorded, true_speed)
    assert honest.evidence["pastes"] >= 1 and honest.evidence["compositions"] >= len(pairs) - 1
    assert honest.review == "none" and honest.passed is True
    expect(page.locator("#result-speed")).to_contain_text(str(honest.net_speed))

    burst = attempt_row(live_app, burst_id)
    assert burst.review == "held" and burst.passed is None
    assert "burst_without_composition" in burst.review_reasons
    assert not other_problems.problems, other_problems.problems
    other_context.close()
    print(f"true {true_speed:.1f} 字/分钟, recorded {recorded}; burst held: {burst.review_reasons}")


def test_finishing_in_the_first_minute_warns_that_it_is_not_scored(
    page: Page, live_server, live_app
):
    sitting_id = typing_sitting(live_app, ["a0002"])
    open_test(page, live_server, "A0002", sitting_id)
    asked = []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", answer)
    page.locator("#finish-button").click()
    expect(page.locator("#typing-input")).to_be_editable()
    assert asked and "不到一分钟" in asked[0] and "不计成绩" in asked[0]
    assert "/exam/typing/attempts/" in page.url and not page.url.endswith("/result")


def test_finishing_asks_once_and_loads_the_result_once(page: Page, live_server, live_app):
    """One question (app.js's data-confirm used to ask it again, too late for its Cancel to
    stop anything), and one load of the result page (not one in fetch, one in the tab)."""
    sitting_id = typing_sitting(live_app, ["a0003"])
    open_test(page, live_server, "A0003", sitting_id)
    asked, results = [], []

    def answer(dialog):
        asked.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    page.on("request", lambda r: r.url.endswith("/result") and results.append(r.method))
    page.locator("#finish-button").click()
    page.wait_for_url("**/result")
    expect(page.locator("h1")).to_be_visible()
    assert len(asked) == 1, asked
    assert results == ["GET"], results
