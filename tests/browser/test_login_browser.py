"""Sign in through a real browser (headless Chromium)."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def sign_in(page: Page, base: str, username: str, password: str) -> None:
    """Fill the sign-in form with the keyboard, as a user would."""
    page.goto(f"{base}/login")
    page.get_by_label("用户名", exact=True).fill(username)
    page.get_by_label("密码", exact=True).fill(password)
    page.keyboard.press("Enter")


def test_agent_signs_in_and_sees_the_agent_home(page: Page, live_server):
    sign_in(page, live_server, "A0001", "demo12345")
    expect(page).to_have_url(f"{live_server}/")
    home = page.locator("#agent-home")
    expect(home).to_be_visible()
    expect(home).to_contain_text("A0001")
    expect(home).to_contain_text("在岗")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    # An agent's navigation has no staff pages.
    expect(page.get_by_role("link", name="用户", exact=True)).to_have_count(0)
    page.screenshot(path="test-results/agent-home.png", full_page=True)
    page.get_by_role("button", name="退出登录").click()
    expect(page).to_have_url(re.compile(r"/login$"))


def test_wrong_password_shows_the_chinese_error(page: Page, live_server, page_problems):
    page_problems.allow("422")  # the refused sign-in answers 422, as it should
    sign_in(page, live_server, "A0002", "not-the-password1")
    error = page.locator("#login-error")
    expect(error).to_have_text("用户名或密码错误。")
    expect(page.get_by_label("用户名", exact=True)).to_have_value("A0002")
    page.screenshot(path="test-results/login-error.png", full_page=True)


def test_english_can_be_chosen_before_signing_in(page: Page, live_server):
    page.goto(f"{live_server}/login")
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_role("button", name="中文").click()
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
