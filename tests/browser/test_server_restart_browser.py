"""The exam page under a server that stops and starts again: it warns, keeps, recovers."""

import re
import threading
import time

import pytest
from playwright.sync_api import Page, expect
from werkzeug.serving import make_server

from tests.browser.test_exam_browser import (
    PENDING,
    start_sitting,
    stored_answers,
    true_false_sitting,
)
from tests.servers import free_port

pytestmark = pytest.mark.browser


class Server:
    """The app served on a fixed port, which can be stopped and started again."""

    def __init__(self, app):
        self.app, self.port, self.httpd, self.thread = app, free_port(), None, None

    @property
    def url(self) -> str:
        """Return the base URL (the same across restarts)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen again on the same port."""
        self.httpd = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop listening: connections are refused until start()."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def server(live_app):
    """Yield a restartable server of the live app; stop it after the test."""
    srv = Server(live_app)
    srv.start()
    yield srv
    if srv.thread.is_alive():
        srv.stop()


def test_page_warns_while_the_server_is_stopped_and_recovers_when_it_is_back(
    page: Page, server, live_app, page_problems
):
    sitting_id = true_false_sitting(live_app, "a0010")
    attempt_id = start_sitting(page, server.url, "A0010", sitting_id)
    items = page.locator(".exam-item")
    status = page.locator("#save-status")
    # Nothing of the page is still loading when the server stops ...
    page.wait_for_load_state("networkidle")
    # ... and while it is down the browser's requests fail at the network level, whatever
    # the code Chromium gives (REFUSED, RESET, SOCKET_NOT_CONNECTED, ...), as expected here.
    page_problems.allow("/save")
    page_problems.allow("net::ERR_")
    page_problems.allow("Failed to load resource")
    server.stop()
    items.nth(0).locator("label.option").nth(0).click()
    began = time.monotonic()
    expect(status).to_have_text(PENDING, timeout=5_000)
    warned_after = time.monotonic() - began
    # The candidate goes on answering; nothing reaches the database meanwhile.
    items.nth(1).locator("label.option").nth(1).click()
    time.sleep(4)
    expect(status).to_have_text(PENDING)
    expect(items.nth(0).locator("input").nth(0)).to_be_checked()
    assert stored_answers(live_app, attempt_id) == [None, None]
    # The server comes back on the same address: the page saves by itself (backoff cap 30 s).
    server.start()
    back = time.monotonic()
    expect(status).to_have_text(re.compile(r"^已保存"), timeout=35_000)
    recovered_after = time.monotonic() - back
    assert stored_answers(live_app, attempt_id) == [True, False]
    print(f"warning after {warned_after:.1f} s; saved {recovered_after:.1f} s after the restart")
    assert warned_after <= 5
