"""A live server on a seeded SQLite database, and Debian's Chromium for Playwright."""

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from lms import create_app
from lms.demo import seed
from lms.extensions import db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Launch Debian's Chromium; Playwright cannot download its own browser here."""
    if not shutil.which("chromium"):
        pytest.skip("chromium is not installed (apt-get install chromium): browser tests skipped")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def live_app(tmp_path_factory):
    """Return the app the live server serves (tests may prepare data through it)."""
    tmp = tmp_path_factory.mktemp("live")
    mp = pytest.MonkeyPatch()
    mp.setenv("LMS_INSTANCE_PATH", str(tmp / "instance"))
    app = create_app(
        {
            "SECRET_KEY": "live-" + "y" * 40,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'live.db'}",
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_COST": 1024,
            "REDIS_URL": None,
        }
    )
    with app.app_context():
        db.create_all()
        seed(n_agents=12)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()
    mp.undo()


@pytest.fixture(scope="session")
def live_server(live_app):
    """Serve the app with demo data on a free local port; yield its base URL."""
    app = live_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


class PageProblems:
    """Collect a page's console errors, uncaught exceptions and failed requests."""

    def __init__(self):
        self.problems: list[str] = []
        self.allowed: list[str] = []

    def allow(self, fragment: str) -> None:
        """Accept problems containing ``fragment`` (a test that provokes a 409 on purpose)."""
        self.allowed.append(fragment)

    def add(self, text: str) -> None:
        """Record a problem unless the test allowed it."""
        if not any(fragment in text for fragment in self.allowed):
            self.problems.append(text)

    def watch(self, page) -> None:
        """Listen to ``page`` (and nothing else)."""
        page.on(
            "console",
            lambda m: self.add(f"console {m.type}: {m.text}") if m.type == "error" else None,
        )
        page.on("pageerror", lambda exc: self.add(f"uncaught: {exc}"))
        # ERR_ABORTED is the browser dropping a load because the page moved on (a click
        # before a script finished loading), not a failure of the server.
        page.on(
            "requestfailed",
            lambda r: (
                self.add(f"request failed: {r.method} {r.url} ({r.failure})")
                if "ERR_ABORTED" not in (r.failure or "")
                else None
            ),
        )
        page.on(
            "response",
            lambda r: (
                self.add(f"HTTP {r.status}: {r.request.method} {r.url}")
                if r.status >= 400
                else None
            ),
        )


@pytest.fixture(autouse=True)
def page_problems(request):
    """Fail a browser test on any console error, uncaught exception or failed request."""
    problems = PageProblems()
    if "page" in request.fixturenames:
        problems.watch(request.getfixturevalue("page"))
    yield problems
    assert not problems.problems, "the page reported problems:\n" + "\n".join(problems.problems)


# Werkzeug's development server, when the browser drops a static-file request (a page moving
# on before its favicon arrived), can skip closing the file it was sending: the selector it
# builds on the dead socket raises first. That is the test server's leak, not the app's, and
# it surfaces at random as a ResourceWarning in a later test. Production serves with gunicorn.
_STATIC_FILE_LEAK = [
    r"ignore:unclosed file <_io\.BufferedReader name='[^']*/lms/static/:ResourceWarning",
    r"ignore:Exception ignored in. <_io\.FileIO name='[^']*/lms/static/"
    r":pytest.PytestUnraisableExceptionWarning",
]


def pytest_collection_modifyitems(items):
    """Let browser tests tolerate the development server's static-file leak, nothing more."""
    for item in items:
        if "tests/browser/" in str(item.path).replace("\\", "/"):
            for spec in _STATIC_FILE_LEAK:
                item.add_marker(pytest.mark.filterwarnings(spec))
