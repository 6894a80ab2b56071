"""Fixtures in the flaskr style, plus factories built with Faker (zh_CN).

Every test that uses ``app`` runs on SQLite and, when TEST_DATABASE_URL is set, on
PostgreSQL too.
"""

import os
import re
from datetime import date

import pytest
from faker import Faker
from flask.globals import _cv_app
from flask.testing import FlaskClient
from sqlalchemy import text

from lms import create_app
from lms.accounts import passwords
from lms.accounts.models import Role, User
from lms.extensions import db
from lms.people.models import Agent, AgentStatus, Team
from tests.parallel import isolate_worker

pytest_plugins = ["tests.factories"]

isolate_worker()  # under xdist: this worker's own databases, before anything reads them
PG_URL = os.environ.get("TEST_DATABASE_URL")
# Without TEST_DATABASE_URL the PostgreSQL half is not generated at all; the report header
# says so once instead of a skip line per test.
BACKENDS = ["sqlite"] + ([pytest.param("postgresql", marks=pytest.mark.postgres)] if PG_URL else [])
PASSWORD = "Passw0rd-demo"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def pytest_report_header(config):
    """Say which databases and services the run uses."""
    lines = [
        "databases: sqlite"
        + (", postgresql" if PG_URL else " (set TEST_DATABASE_URL to run on PostgreSQL too)")
    ]
    if not os.environ.get("TEST_REDIS_URL"):
        lines.append(
            "redis: not set (set TEST_REDIS_URL to test the shared lockout store and job queue)"
        )
    return lines


class Client(FlaskClient):
    """A test client whose every request runs in its own app context, like a real server.

    The fixtures keep an app context open for the test's own database work; without this,
    requests would share its ``g`` (and so its signed-in user and CSRF token) and its
    database session.
    """

    def open(self, *args, **kwargs):
        """Run the request outside the test's app context, then expire the test's objects."""
        token = _cv_app.set(None)
        try:
            return super().open(*args, **kwargs)
        finally:
            _cv_app.reset(token)
            if _cv_app.get(None) is not None:
                db.session.expire_all()

    def csrf_token(self) -> str:
        """Return a CSRF token of this client's session, from any rendered page."""
        page = self.get("/login")
        if page.status_code == 302:
            page = self.get("/account/password")
        found = CSRF_RE.search(page.get_data(as_text=True))
        assert found, "no CSRF token on the page"
        return found.group(1)

    def submit(self, url: str, data: dict | None = None, **kwargs):
        """POST ``data`` to ``url`` with a valid CSRF token."""
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf_token())
        return self.post(url, data=data, **kwargs)


def _reset_postgres():
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '30s'"))  # an error, never a hung run
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


#: What the public schema held right after the last create_all: its tables' columns, its
#: indexes and its types. A schema that still reads so is emptied, not rebuilt.
_pg_schema: frozenset | None = None
SCHEMA_SIGNATURE = text(
    "SELECT 'c', table_name, column_name || ':' || data_type FROM information_schema.columns"
    " WHERE table_schema = 'public'"
    " UNION ALL SELECT 'i', tablename, indexname FROM pg_indexes WHERE schemaname = 'public'"
    " UNION ALL SELECT 't', t.typname, '' FROM pg_type t"
    " JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public'"
)


RESTART_SEQUENCES = text(
    "SELECT setval(format('%I.%I', schemaname, sequencename), 1, false)"
    " FROM pg_sequences WHERE schemaname = 'public'"
)


def _fresh_postgres():
    """Give the test an empty schema of the models: emptied (a few ms) when the schema
    is exactly what create_all made, else drop and create it (about 0.5 s). A test that
    migrated, dropped or added anything leaves a schema that reads otherwise: rebuilt."""
    global _pg_schema
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL lock_timeout = '30s'"))
        if _pg_schema is not None and frozenset(conn.execute(SCHEMA_SIGNATURE)) == _pg_schema:
            # DELETE, not TRUNCATE: a few rows each, and TRUNCATE makes new files per table.
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
            conn.execute(RESTART_SEQUENCES)
            return
    _reset_postgres()
    db.create_all()
    with db.engine.begin() as conn:
        _pg_schema = frozenset(conn.execute(SCHEMA_SIGNATURE))


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Name the database the test runs on."""
    return request.param


@pytest.fixture
def app_config(backend, tmp_path):
    """Return the configuration of the app under test."""
    url = PG_URL if backend == "postgresql" else f"sqlite:///{tmp_path / 'test.db'}"
    engine = {"pool_pre_ping": True}  # as lms.config
    if backend == "postgresql":
        # A test's commits need not survive a power cut: no wait for the WAL flush.
        engine["connect_args"] = {"options": "-c synchronous_commit=off"}
    return {
        "SQLALCHEMY_ENGINE_OPTIONS": engine,
        "TESTING": True,
        "SECRET_KEY": "test-" + "x" * 40,
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_TIME_COST": 1,
        "PASSWORD_HASH_MEMORY_COST": 1024,
        "REDIS_URL": None,
        "JOBS_EAGER": True,
    }


@pytest.fixture
def app(app_config, tmp_path, monkeypatch, backend):
    """Build the app on a fresh, empty schema."""
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app(app_config)
    app.test_client_class = Client
    with app.app_context():
        if backend == "postgresql":
            _fresh_postgres()  # the next test empties what this one leaves
        else:
            db.create_all()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> Client:
    """Return a test client."""
    return app.test_client()


@pytest.fixture
def runner(app):
    """Return a CLI runner."""
    return app.test_cli_runner()


@pytest.fixture
def fake():
    """Return a Faker that writes Chinese names."""
    f = Faker("zh_CN")
    f.seed_instance(1234)
    return f


@pytest.fixture
def make_user(app, fake):
    """Return a factory of committed users."""
    counter = iter(range(1, 10_000))

    def make(*roles, username=None, password=PASSWORD, must_change=False, active=True, **kw):
        user = User(
            username=username or f"user{next(counter)}",
            full_name=kw.get("full_name") or fake.name(),
            password_hash=passwords.hash_password(password),
            must_change_password=must_change,
            is_active=active,
        )
        user.set_roles(roles or [Role.AGENT])
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_team(app, fake):
    """Return a factory of committed teams."""

    def make(name=None):
        team = Team(name=name or f"{fake.unique.word()}组", description="")
        db.session.add(team)
        db.session.commit()
        return team

    return make


@pytest.fixture
def make_agent(make_user, make_team):
    """Return a factory of agents with their user accounts."""
    counter = iter(range(1, 10_000))

    def make(team=None, status=AgentStatus.ON_LINE, employee_no=None, **kw):
        n = next(counter)
        no = employee_no or f"T{n:04d}"
        user = make_user(Role.AGENT, username=no.lower(), **kw)
        agent = Agent(
            user=user,
            employee_no=no,
            team=team or make_team(),
            hire_date=date(2024, 3, 1),
            status=status,
        )
        db.session.add(agent)
        db.session.commit()
        return agent

    return make


@pytest.fixture
def login():
    """Return a function that signs a client in and checks it worked."""

    def do(client, username, password=PASSWORD):
        resp = client.submit("/login", {"username": username, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return resp

    return do


@pytest.fixture
def admin(make_user):
    """Return an administrator."""
    return make_user(Role.ADMIN, username="boss")


@pytest.fixture
def admin_client(client, admin, login):
    """Return a client signed in as an administrator."""
    login(client, "boss")
    return client


@pytest.fixture
def english(app):
    """Speak English inside the test (the msgids), whatever the default language."""
    from flask import g
    from flask_babel import force_locale

    g.test_locale = True  # Flask-Babel ignores an empty g
    with force_locale("en"):
        yield
