"""Chinese by default, English on request; every string is translated."""

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from lms.accounts.models import Role
from lms.extensions import db
from tests.helpers import text

ROOT = Path(__file__).resolve().parents[2]


def source_msgids() -> set[str]:
    """Extract every translatable string from the code and templates."""
    method_map = [
        ("lms/**.py", "python"),
        ("question_bank/**.py", "python"),
        ("exams/**.py", "python"),
        ("certificates/**.py", "python"),
        ("templates/**.html", "jinja2"),
    ]
    options = {"templates/**.html": {"extensions": "jinja2.ext.do"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    ids = set()
    for _, _, msg, _, _ in extract_from_dir(str(ROOT), method_map, options, keywords):
        ids.add(msg[0] if isinstance(msg, tuple) else msg)
    return ids


def test_every_string_has_a_chinese_translation():
    with open(ROOT / "lms/translations/zh_Hans_CN/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    translated = {
        (m.id[0] if isinstance(m.id, tuple) else m.id)
        for m in catalog
        if m.id and not m.fuzzy and (all(m.string) if isinstance(m.string, tuple) else m.string)
    }
    missing = sorted(source_msgids() - translated)
    assert missing == [], "run `make messages` and translate: " + "; ".join(missing[:10])


def test_anonymous_visitor_switches_to_english(client):
    token = client.csrf_token()
    resp = client.post("/language", data={"lang": "en", "next": "/login", "csrf_token": token})
    assert resp.location == "/login"
    page = text(client.get("/login"))
    assert 'lang="en"' in page and "Sign in" in page


def test_language_switch_refuses_foreign_redirects(client):
    resp = client.submit("/language", {"lang": "en", "next": "https://evil.example/"})
    assert resp.location == "/"
    resp = client.submit("/language", {"lang": "en", "next": "//evil.example/"})
    assert resp.location == "/"


def test_user_language_preference_sticks_across_sessions(app, make_user, login):
    user = make_user(Role.AGENT, username="a1")
    c = app.test_client()
    login(c, "a1")
    c.submit("/account", {"locale": "en"})
    db.session.refresh(user)
    assert user.locale == "en"
    other = app.test_client()
    login(other, "a1")
    assert "My training" in text(other.get("/"))


def test_unknown_language_is_ignored(client, make_user, login):
    user = make_user(Role.AGENT, username="a1")
    login(client, "a1")
    client.submit("/language", {"lang": "xx"})
    db.session.refresh(user)
    assert user.locale is None
    assert 'lang="zh-CN"' in text(client.get("/"))


def test_bad_preference_value_is_refused(client, make_user, login):
    user = make_user(Role.AGENT, username="a1")
    login(client, "a1")
    resp = client.submit("/account", {"locale": "fr"})
    assert resp.status_code == 422
    db.session.refresh(user)
    assert user.locale is None


def test_decimals_show_without_an_exponent(app):
    from decimal import Decimal

    num = app.jinja_env.filters["num"]
    assert num(Decimal("10.000")) == "10"  # normalize() alone gives 1E+1
    assert num(Decimal("100.00")) == "100"
    assert num(Decimal("98.50")) == "98.5"
    assert num(Decimal("0.000")) == "0"
    assert num(None) == ""
