"""A trainee takes a whole exam in a real browser."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

pytestmark = pytest.mark.browser


def sign_in(page: Page, base: str, username: str) -> None:
    """Sign in with the demo password."""
    page.goto(f"{base}/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill("demo12345")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/")


def test_trainee_takes_the_monthly_exam(page: Page, live_server, live_app):
    sign_in(page, live_server, "A0001")
    page.get_by_role("link", name="我的考试").first.click()
    page.get_by_role("button", name="开始考试").first.click()
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+$"))
    expect(page.locator("#timer")).to_have_text(re.compile(r"^(59|60):\d\d$"))
    items = page.locator(".exam-item")
    first = items.nth(0)
    first.locator("label.option").first.click()  # answer question 1
    expect(page.locator("#save-status")).to_have_text(re.compile(r"已保存 \d\d:\d\d:\d\d"))
    chosen = first.locator("input:checked").get_attribute("value")
    # Flag question 2 and see it in the navigator.
    items.nth(1).get_by_label("标记此题").check()
    expect(page.locator(".navigator ol .nav-item.flagged")).to_have_count(1)
    expect(page.locator("#save-status")).to_have_text(re.compile(r"已保存"))
    # Reload mid-exam: every saved answer and the flag are back.
    page.reload()
    expect(page.locator(".exam-item").nth(0).locator(f'input[value="{chosen}"]')).to_be_checked()
    expect(page.locator(".navigator ol .nav-item.flagged")).to_have_count(1)
    expect(page.locator(".navigator ol .nav-item.answered")).to_have_count(1)
    page.screenshot(path="test-results/exam-page.png", full_page=False)
    # Submit (the page asks first, naming the unanswered questions).
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="交卷").click()
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+/result$"))
    expect(page.locator("#result")).to_be_visible()
    page.screenshot(path="test-results/exam-result.png", full_page=True)
    # A second submit changes nothing.
    attempt_url = page.url.removesuffix("/result")
    token = page.locator('input[name="csrf_token"]').first.get_attribute("value")
    resp = page.request.post(f"{attempt_url}/submit", form={"csrf_token": token})
    assert resp.ok
    from exams.models import Attempt
    from lms.audit.models import AuditEvent
    from lms.extensions import db

    with live_app.app_context():
        attempt_id = int(attempt_url.rsplit("/", 1)[1])
        events = db.session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "attempt.finish", AuditEvent.target_id == str(attempt_id)
            )
        ).all()
        assert len(events) == 1
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.finish_reason == "submitted"
        # The page posted the letter shown; the attempt stores the option it stands for.
        first = attempt.items[0]
        key = first.option_order["ABCDEFGHIJ".index(chosen)]
        assert first.response in (key, [key])


def test_time_up_submits_the_saved_answers(page: Page, live_server, live_app):
    from exams.models import Candidate, Paper, PaperSection, SectionQuestion, Sitting, SittingKind
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.timeutil import utcnow
    from question_bank.models import Question, QuestionStatus

    with live_app.app_context():
        q = db.session.scalar(
            select(Question).where(
                Question.qtype == "true_false", Question.status == QuestionStatus.PUBLISHED
            )
        )
        paper = Paper(title="限时测验", time_limit_minutes=30, pass_mark=Decimal(1))
        section = PaperSection(position=1, qtype="true_false", points_per_question=Decimal(1))
        section.items.append(SectionQuestion(question_id=q.id, position=1))
        paper.sections.append(section)
        user = db.session.scalar(select(User).where(User.username == "a0002"))
        now = utcnow()
        # The window closes in 12 seconds: that is the deadline, whatever the time limit.
        sitting = Sitting(
            title="限时测验",
            kind=SittingKind.RETRAINING,
            paper=paper,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(seconds=12),
        )
        sitting.candidates = [Candidate(user_id=user.id)]
        db.session.add(sitting)
        db.session.commit()
        sitting_id = sitting.id
    sign_in(page, live_server, "A0002")
    page.goto(f"{live_server}/exam/")
    page.locator(f'form[action="/exam/sittings/{sitting_id}/start"] button').click()
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+$"))
    page.locator(".exam-item label.option").first.click()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"已保存"))
    # Nobody clicks submit: at zero the page submits by itself.
    expect(page).to_have_url(re.compile(r"/result$"), timeout=30_000)
    with live_app.app_context():
        from exams.models import Attempt

        attempt = db.session.scalar(select(Attempt).where(Attempt.sitting_id == sitting_id))
        assert attempt.state.value == "finished"
        assert attempt.items[0].response is True


def test_text_typed_two_seconds_before_time_up_is_kept(page: Page, live_server, live_app):
    from exams.models import (
        Attempt,
        Candidate,
        Paper,
        PaperSection,
        SectionQuestion,
        Sitting,
        SittingKind,
    )
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.timeutil import utcnow
    from question_bank.models import Question, QuestionStatus

    with live_app.app_context():
        q = db.session.scalar(
            select(Question).where(
                Question.qtype == "fill_blank", Question.status == QuestionStatus.PUBLISHED
            )
        )
        paper = Paper(title="最后两秒", time_limit_minutes=30, pass_mark=Decimal(1))
        section = PaperSection(position=1, qtype="fill_blank", points_per_question=Decimal(1))
        section.items.append(SectionQuestion(question_id=q.id, position=1))
        paper.sections.append(section)
        user = db.session.scalar(select(User).where(User.username == "a0003"))
        now = utcnow()
        sitting = Sitting(
            title="最后两秒",
            kind=SittingKind.RETRAINING,
            paper=paper,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(seconds=15),
        )
        sitting.candidates = [Candidate(user_id=user.id)]
        db.session.add(sitting)
        db.session.commit()
        sitting_id = sitting.id
    sign_in(page, live_server, "A0003")
    page.goto(f"{live_server}/exam/")
    page.locator(f'form[action="/exam/sittings/{sitting_id}/start"] button').click()
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+$"))
    # Wait for the countdown's last two seconds, then type without leaving the field: no
    # change event, no time for the typing-pause autosave.
    expect(page.locator("#timer")).to_have_text("0:02", timeout=20_000)
    page.locator("input.blank").first.press_sequentially("最后一刻", delay=20)
    expect(page).to_have_url(re.compile(r"/result$"), timeout=15_000)
    expect(page.locator("#finish-reason")).to_have_text("时间到，已自动交卷")
    expect(page.locator("body")).not_to_contain_text("您已成功交卷")
    with live_app.app_context():
        attempt = db.session.scalar(select(Attempt).where(Attempt.sitting_id == sitting_id))
        assert attempt.finish_reason.value == "timeout"
        assert attempt.items[0].response[0] == "最后一刻"
        # Finished at its deadline: time taken never exceeds what the candidate had.
        assert attempt.finished_at <= attempt.deadline_at


def test_review_letters_match_the_shuffled_options_the_candidate_saw(
    page: Page, live_server, live_app
):
    from exams.models import (
        Candidate,
        Paper,
        PaperSection,
        ReviewPolicy,
        SectionQuestion,
        Sitting,
        SittingKind,
    )
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.timeutil import utcnow
    from question_bank import categories
    from question_bank.services import QuestionInput, create_question

    with live_app.app_context():
        # Not under 业务知识: the open monthly sitting draws from there, which holds reviews.
        cat = categories.ensure_path(["乱序测试"])
        questions = [
            create_question(
                QuestionInput(
                    "single_choice",
                    cat.id,
                    f"第{n}题：正确的是哪一项？",
                    {
                        "options": [
                            {"key": "1", "html": "甲"},
                            {"key": "2", "html": "乙"},
                            {"key": "3", "html": "丙"},
                            {"key": "4", "html": "丁"},
                        ],
                        "correct": ["3"],
                    },
                ),
                None,
                "published",
            )
            for n in range(1, 7)
        ]
        paper = Paper(
            title="乱序选项",
            time_limit_minutes=30,
            pass_mark=Decimal(1),
            shuffle_options=True,
            review_policy=ReviewPolicy.AFTER_SUBMIT,
        )
        section = PaperSection(position=1, qtype="single_choice", points_per_question=Decimal(1))
        section.items = [
            SectionQuestion(question_id=q.id, position=i) for i, q in enumerate(questions)
        ]
        paper.sections.append(section)
        user = db.session.scalar(select(User).where(User.username == "a0004"))
        now = utcnow()
        sitting = Sitting(
            title="乱序选项",
            kind=SittingKind.RETRAINING,
            paper=paper,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(hours=1),
        )
        sitting.candidates = [Candidate(user_id=user.id)]
        db.session.add(sitting)
        db.session.commit()
        sitting_id = sitting.id
    sign_in(page, live_server, "A0004")
    page.goto(f"{live_server}/exam/")
    page.locator(f'form[action="/exam/sittings/{sitting_id}/start"] button').click()
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+$"))
    seen = []  # per question: the letter shown beside 丙, and the order shown
    for item in page.locator(".exam-item").all():
        options = item.locator("label.option")
        texts = [t.strip() for t in options.locator(".option-text").all_inner_texts()]
        letters = [t.strip(". ") for t in options.locator(".letter").all_inner_texts()]
        seen.append((letters[texts.index("丙")], texts))
        # Every value posted is a shown letter: nothing on the page names the key.
        values = [v.get_attribute("value") for v in options.locator("input").all()]
        assert values == letters
        options.nth(texts.index("丙")).click()
    assert len({tuple(texts) for _, texts in seen}) > 1, "options were not shuffled"
    expect(page.locator("#save-status")).to_have_text(re.compile(r"已保存"))
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="交卷").click()
    expect(page).to_have_url(re.compile(r"/result$"))
    reviews = page.locator("#review .review-item")
    expect(reviews).to_have_count(len(seen))
    for n, (letter, texts) in enumerate(seen):
        review = reviews.nth(n)
        shown = [t.strip() for t in review.locator(".option-text").all_inner_texts()]
        assert shown == texts  # the review shows the order of the exam
        expect(review.locator(".key-text")).to_have_text(letter)
        expect(review.locator(".response-text")).to_have_text(letter)
    page.screenshot(path="test-results/review-shuffled.png", full_page=True)


def test_phone_keeps_the_navigator_in_the_sticky_bar(page: Page, live_server, live_app):
    from exams.models import Candidate, Sitting
    from lms.accounts.models import User
    from lms.extensions import db

    with live_app.app_context():
        # A0005 joins the demo's open monthly sitting (A0001 takes it elsewhere).
        sitting = db.session.scalar(select(Sitting).order_by(Sitting.closes_at.desc()))
        user = db.session.scalar(select(User).where(User.username == "a0005"))
        if not any(c.user_id == user.id for c in sitting.candidates):
            sitting.candidates.append(Candidate(user_id=user.id))
            db.session.commit()
        sitting_id = sitting.id
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, live_server, "A0005")
    page.goto(f"{live_server}/exam/")
    page.locator(f'form[action="/exam/sittings/{sitting_id}/start"] button').click()
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+$"))
    navigator = page.locator("#navigator")
    toggle = page.locator("#nav-toggle")
    expect(navigator).to_be_hidden()  # no room beside the questions on a phone
    items = page.locator(".exam-item")
    items.nth(0).locator("label.option").first.click()
    items.nth(1).get_by_label("标记此题").check()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"已保存"))
    # Far down the paper, the bar is still on screen and opens the navigator.
    items.nth(items.count() - 1).scroll_into_view_if_needed()
    expect(toggle).to_be_in_viewport()
    expect(toggle).to_contain_text(f"1/{items.count()}")
    toggle.click()
    expect(navigator).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    links = navigator.locator("ol .nav-item")

    def look(n):
        return links.nth(n).evaluate(
            """e => ({border: getComputedStyle(e).borderStyle,
                     tick: getComputedStyle(e, '::before').content,
                     flag: getComputedStyle(e, '::after').content})"""
        )

    # Told apart by shape and mark, not only by colour.
    answered, flagged, plain = look(0), look(1), look(2)
    assert answered["border"] == "solid" and "✓" in answered["tick"]
    assert plain["border"] == "dashed" and "✓" not in plain["tick"] and "⚑" not in plain["flag"]
    assert "⚑" in flagged["flag"]
    page.screenshot(path="test-results/exam-phone-navigator.png")
    links.nth(2).click()  # jumping to a question closes the navigator
    expect(navigator).to_be_hidden()
    expect(items.nth(2)).to_be_in_viewport()


def true_false_sitting(live_app, username: str, n: int = 2, seconds: int = 3600) -> int:
    """Open a sitting of ``n`` true/false questions for ``username`` alone, closing in
    ``seconds``; return its id."""
    from exams.models import Candidate, Paper, PaperSection, SectionQuestion, Sitting, SittingKind
    from lms.accounts.models import User
    from lms.extensions import db
    from lms.timeutil import utcnow
    from question_bank.models import Question, QuestionStatus

    with live_app.app_context():
        qs = db.session.scalars(
            select(Question)
            .where(Question.qtype == "true_false", Question.status == QuestionStatus.PUBLISHED)
            .limit(n)
        ).all()
        paper = Paper(title=f"断网测验 {username}", time_limit_minutes=30, pass_mark=Decimal(1))
        section = PaperSection(position=1, qtype="true_false", points_per_question=Decimal(1))
        for pos, q in enumerate(qs, start=1):
            section.items.append(SectionQuestion(question_id=q.id, position=pos))
        paper.sections.append(section)
        user = db.session.scalar(select(User).where(User.username == username))
        now = utcnow()
        sitting = Sitting(
            title=f"断网测验 {username}",
            kind=SittingKind.RETRAINING,
            paper=paper,
            opens_at=now - timedelta(minutes=1),
            closes_at=now + timedelta(seconds=seconds),
        )
        sitting.candidates = [Candidate(user_id=user.id)]
        db.session.add(sitting)
        db.session.commit()
        return sitting.id


def start_sitting(page: Page, base: str, username: str, sitting_id: int) -> int:
    """Sign in, start the sitting, return the attempt's id."""
    sign_in(page, base, username)
    page.goto(f"{base}/exam/")
    page.locator(f'form[action="/exam/sittings/{sitting_id}/start"] button').click()
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def stored_answers(live_app, attempt_id: int) -> list:
    """Return the attempt's stored responses in question order."""
    from exams.models import Attempt
    from lms.extensions import db

    with live_app.app_context():
        return [i.response for i in db.session.get(Attempt, attempt_id).items]


PENDING = "答案尚未保存——正在重试，请勿关闭本页"


def test_page_rides_out_a_server_outage_and_recovers_by_itself(
    page: Page, live_server, live_app, page_problems, monkeypatch
):
    import sqlite3
    import time

    from sqlalchemy.exc import OperationalError

    from exams import engine

    sitting_id = true_false_sitting(live_app, "a0005")
    attempt_id = start_sitting(page, live_server, "A0005", sitting_id)
    # The outage: saves fail (no answer at all, then the app's own 503), as expected here.
    page_problems.allow("/save")
    page_problems.allow("Failed to load resource")
    page.route("**/save", lambda route: route.abort())  # the network is down
    items = page.locator(".exam-item")
    status = page.locator("#save-status")
    items.nth(0).locator("label.option").nth(0).click()
    began = time.monotonic()
    expect(status).to_have_text(PENDING, timeout=5_000)
    warned_after = time.monotonic() - began
    # Now the network is back but the database is not: the app answers 503, Retry-After.
    # (Keepalive saves sent while the page unloads bypass page.route: the app must fail.)
    page.unroute("**/save")

    def database_down(*args, **kwargs):
        raise OperationalError("UPDATE ex_attempts", {}, sqlite3.OperationalError("locked"))

    monkeypatch.setattr(engine, "save", database_down)
    # The candidate goes on answering meanwhile.
    items.nth(1).locator("label.option").nth(1).click()
    expect(status).to_have_text(PENDING)
    # A reload meanwhile loses nothing: the unsent answers come back from this tab.
    page.on("dialog", lambda d: d.accept())  # "leave with unsaved answers?"
    page.reload()
    items = page.locator(".exam-item")
    expect(items.nth(0).locator("input").nth(0)).to_be_checked()
    expect(items.nth(1).locator("input").nth(1)).to_be_checked()
    expect(page.locator("#save-status")).to_have_text(PENDING, timeout=5_000)
    assert stored_answers(live_app, attempt_id) == [None, None]
    # The database is back: the page saves by itself within the backoff's cap (30 s).
    monkeypatch.undo()
    back = time.monotonic()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^已保存"), timeout=35_000)
    recovered_after = time.monotonic() - back
    assert stored_answers(live_app, attempt_id) == [True, False]
    print(f"warning after {warned_after:.1f} s; recovered {recovered_after:.1f} s after")
    # And it goes on autosaving as before.
    page.locator(".exam-item").nth(0).locator("label.option").nth(1).click()
    deadline = time.monotonic() + 5
    while stored_answers(live_app, attempt_id) != [False, False] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored_answers(live_app, attempt_id) == [False, False]
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^已保存"))


def test_a_save_whose_answer_was_lost_is_not_taken_for_another_window(
    page: Page, live_server, live_app, page_problems
):
    sitting_id = true_false_sitting(live_app, "a0006")
    attempt_id = start_sitting(page, live_server, "A0006", sitting_id)
    page_problems.allow("/save")
    page_problems.allow("Failed to load resource")
    bodies, answers = [], []
    page.on(
        "request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/save") else None
    )
    page.on("response", lambda r: answers.append(r.status) if r.url.endswith("/save") else None)

    def drop_first_answer(route):
        if not answers and len(bodies) == 1:
            route.fetch()  # the server stores the save…
            route.abort()  # …but its answer never reaches the page (a timeout under load)
        else:
            route.continue_()

    page.route("**/save", drop_first_answer)
    items = page.locator(".exam-item")
    items.nth(0).locator("label.option").nth(0).click()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^已保存"), timeout=10_000)
    # The retry was the very same save (same seq and page), and the server said "saved".
    assert len(bodies) >= 2 and bodies[1] == bodies[0]
    assert stored_answers(live_app, attempt_id)[0] is True
    # The page keeps autosaving: nothing was taken for another window's save.
    items.nth(1).locator("label.option").nth(1).click()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^已保存"))
    expect(page.locator("body")).not_to_contain_text("其他窗口")
    import time

    deadline = time.monotonic() + 5
    while stored_answers(live_app, attempt_id) != [True, False] and time.monotonic() < deadline:
        time.sleep(0.1)
    assert stored_answers(live_app, attempt_id) == [True, False]
    assert 409 not in answers


def test_time_up_with_the_database_down_keeps_submitting_the_last_answers(
    page: Page, live_server, live_app, page_problems, monkeypatch
):
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from exams import engine
    from exams.models import Attempt
    from lms.extensions import db

    # 20 s: room for the first save on a busy machine (the suite runs in two processes).
    sitting_id = true_false_sitting(live_app, "a0007", n=1, seconds=20)
    attempt_id = start_sitting(page, live_server, "A0007", sitting_id)
    items = page.locator(".exam-item")
    items.nth(0).locator("label.option").nth(0).click()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^已保存"), timeout=10_000)
    # The database goes away; the candidate changes the answer (it cannot be saved).
    page_problems.allow("/save")
    page_problems.allow("/submit")
    page_problems.allow("Failed to load resource")

    def database_down(*args, **kwargs):
        raise OperationalError("UPDATE ex_attempts", {}, sqlite3.OperationalError("locked"))

    monkeypatch.setattr(engine, "save", database_down)
    items.nth(0).locator("label.option").nth(1).click()
    expect(page.locator("#save-status")).to_have_text(PENDING, timeout=5_000)
    # Time is up: the submit fails too, the page says so and keeps trying.
    expect(page.locator("#save-status")).to_have_text(
        "答案尚未提交——正在重试，请勿关闭本页", timeout=25_000
    )
    expect(page).to_have_url(re.compile(r"/exam/attempts/\d+$"))
    # Back within the grace: the last answer is submitted and the result shown.
    monkeypatch.undo()
    expect(page).to_have_url(re.compile(r"/result$"), timeout=15_000)
    with live_app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.state.value == "finished" and attempt.finish_reason.value == "timeout"
        assert attempt.items[0].response is False


def test_a_save_the_server_never_answers_is_given_up_and_retried(
    page: Page, live_server, live_app, page_problems
):
    import time

    sitting_id = true_false_sitting(live_app, "a0008", n=1)
    attempt_id = start_sitting(page, live_server, "A0008", sitting_id)
    page_problems.allow("/save")
    page_problems.allow("Failed to load resource")
    held = []

    def hold(route):
        held.append(route)  # the server takes the request and never answers

    page.route("**/save", hold)
    page.locator(".exam-item").nth(0).locator("label.option").nth(0).click()
    began = time.monotonic()
    expect(page.locator("#save-status")).to_have_text(PENDING, timeout=5_000)
    warned_after = time.monotonic() - began
    # After 10 s the page gives the save up (aborts it) and sends it again.
    while len(held) < 2 and time.monotonic() - began < 20:
        page.wait_for_timeout(200)
    retried_after = time.monotonic() - began
    assert len(held) == 2 and 10 <= retried_after < 20
    assert held[1].request.post_data_json == held[0].request.post_data_json
    page.unroute("**/save")  # the held retry now reaches the server
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^已保存"), timeout=10_000)
    assert stored_answers(live_app, attempt_id) == [True]
    print(f"warning after {warned_after:.1f} s; retried after {retried_after:.1f} s")


def test_page_opened_after_the_deadline_within_the_grace_submits_at_once(
    page: Page, live_server, live_app
):
    from exams.models import Attempt
    from lms.extensions import db

    sitting_id = true_false_sitting(live_app, "a0009", n=1, seconds=8)
    attempt_id = start_sitting(page, live_server, "A0009", sitting_id)
    page.locator(".exam-item label.option").first.click()
    expect(page.locator("#save-status")).to_have_text(re.compile(r"^已保存"))
    page.goto(f"{live_server}/")  # the candidate left, and comes back after the deadline
    with live_app.app_context():
        deadline = db.session.get(Attempt, attempt_id).deadline_at
    from lms.timeutil import utcnow

    page.wait_for_timeout(max(0, (deadline - utcnow()).total_seconds() + 1) * 1000)
    page.goto(f"{live_server}/exam/attempts/{attempt_id}")
    expect(page).to_have_url(re.compile(r"/result$"), timeout=10_000)
    with live_app.app_context():
        attempt = db.session.get(Attempt, attempt_id)
        assert attempt.state.value == "finished" and attempt.items[0].response is True
