"""Configuration: secret key, production checks, database URLs, SQLite pragmas."""

import threading

import pytest
from sqlalchemy import text

from lms import create_app
from lms.config import ConfigError, check_secret_key, load_secret_key, normalise_database_url
from lms.extensions import db


def test_secret_key_generated_into_instance_once(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = create_app().config["SECRET_KEY"]
    second = create_app().config["SECRET_KEY"]
    assert first == second and len(first) >= 32
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == first
    assert key_file.stat().st_mode & 0o077 == 0  # readable by the owner only


def test_workers_starting_at_once_share_one_secret_key(tmp_path, monkeypatch):
    """gunicorn's workers create the app at the same moment on a fresh instance folder."""
    monkeypatch.delenv("SECRET_KEY", raising=False)
    barrier, keys = threading.Barrier(8), []

    def start():
        barrier.wait()
        keys.append(load_secret_key(str(tmp_path)))

    workers = [threading.Thread(target=start) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(keys) == 8 and set(keys) == {(tmp_path / "secret_key").read_text()}
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left


@pytest.mark.parametrize("key", ["", "dev", "secret", "changeme", "short-key-123", "x" * 31])
def test_check_secret_key_refuses_weak(key):
    with pytest.raises(ConfigError):
        check_secret_key(key)


def test_check_secret_key_accepts_strong():
    check_secret_key("Zq8" * 16)


@pytest.mark.parametrize("key", ["dev", "changeme", "abc"])
def test_production_refuses_to_start_with_weak_key(tmp_path, monkeypatch, key):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", key)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app()


def test_production_starts_with_strong_key_and_secure_cookies(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LMS_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 48)
    app = create_app()
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_unknown_locale_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("LMS_LOCALE", "fr")
    with pytest.raises(ConfigError, match="LMS_LOCALE"):
        create_app()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected


def test_default_database_is_sqlite_in_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'lms.db'}"


def test_sqlite_pragmas(app, backend):
    if backend != "sqlite":
        pytest.skip("SQLite only")
    conn = db.session.connection()
    assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
    assert conn.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_healthz_reports_ok(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "db": "ok"}


def test_healthz_reports_a_dead_database(tmp_path, monkeypatch):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite:////nonexistent-dir/none/x.db"})
    app.logger.disabled = True
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.get_json() == {"status": "error", "db": "error"}
