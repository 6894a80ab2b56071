"""Helpers shared by the tests."""

from flask import g
from flask_babel import force_locale, gettext, ngettext
from markupsafe import escape
from sqlalchemy import func, select

from lms.extensions import db


def zh(msgid: str, **kwargs) -> str:
    """Return the Chinese text of ``msgid``, checking that it is translated, HTML-escaped."""
    # Flask-Babel ignores an empty ``g`` (it is falsy), so give it something first.
    g.test_helper = True
    with force_locale("zh_CN"):
        text = gettext(msgid, **kwargs)
    assert text != msgid % kwargs if kwargs else text != msgid, f"untranslated: {msgid}"
    return str(escape(text))


def zh_n(singular: str, plural: str, n: int) -> str:
    """Return the Chinese text of a counted message for ``n``, checking that it is translated."""
    g.test_helper = True
    with force_locale("zh_CN"):
        text = ngettext(singular, plural, n)
    assert text not in (singular % {"num": n}, plural % {"num": n}), f"untranslated: {plural}"
    return str(escape(text))


def count(model) -> int:
    """Return the number of rows of ``model``."""
    return db.session.scalar(select(func.count()).select_from(model))


def text(resp) -> str:
    """Return a response body as text."""
    return resp.get_data(as_text=True)


def moodle_fixtures():
    """Return the folder of the real Moodle files (../shared/fixtures/moodle), or skip."""
    import os
    from pathlib import Path

    import pytest

    root = Path(os.environ.get("LMS_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared")
    folder = root / "fixtures" / "moodle"
    if not folder.is_dir():
        pytest.skip(f"the shared Moodle fixtures are not at {folder} (set LMS_SHARED_DIR)")
    return folder


class count_queries:
    """Count the SQL statements run inside the block (Indico's query budget), by kind."""

    def __init__(self):
        self.statements: list[str] = []

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.statements.append(statement)

    def __enter__(self):
        from sqlalchemy import event

        event.listen(db.engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(db.engine, "before_cursor_execute", self._record)

    @property
    def count(self) -> int:
        """Return how many statements ran (transaction control excluded)."""
        return len(self.statements)

    @property
    def writes(self) -> list[str]:
        """Return the INSERT, UPDATE and DELETE statements."""
        return [
            s
            for s in self.statements
            if s.lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}
        ]


def check_upload(client, filename: str, data: bytes):
    """Upload a question file to be checked; return the report page (nothing is saved)."""
    import io

    return client.submit(
        "/qb/import",
        {"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def confirm_url(page) -> str:
    """Return the address the report page's Import button posts to."""
    import re

    found = re.search(r'action="(/qb/import/[0-9a-f]+/confirm)"', text(page))
    assert found, "the report offers no import: " + text(page)[-1500:]
    return found.group(1)


def import_upload(client, filename: str, data: bytes):
    """Upload a question file, then confirm its import; return the import's result page."""
    report = check_upload(client, filename, data)
    return client.submit(confirm_url(report), follow_redirects=True)


def outside_event_loop(fn, *args):
    """Return fn(*args) run in a thread of its own: a benchmark's asyncio.run() refuses to
    start where an event loop runs (the browser tests' Playwright keeps one in the process)."""
    import threading

    result = {}

    def run():
        try:
            result["value"] = fn(*args)
        except BaseException as exc:  # handed to the caller
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]
