"""The lockout rule as a pure function, and its Redis store."""

import os
import uuid

import pytest

from lms.accounts.models import Role
from lms.accounts.throttle import Lockout, RedisStore, lockout_state
from tests.conftest import PASSWORD
from tests.helpers import text

W = 900  # the 15-minute window


@pytest.mark.parametrize(
    ("failures", "now", "expected"),
    [
        ([], 1000.0, Lockout(False, 0)),
        ([100.0 + i for i in range(9)], 200.0, Lockout(False, 0)),
        ([100.0 + i for i in range(10)], 200.0, Lockout(True, 800)),
        # The oldest of ten leaves the window: unlocked again.
        ([100.0 + i for i in range(10)], 1000.5, Lockout(False, 0)),
        # Failures older than the window do not count.
        ([0.0] * 20 + [1000.0], 1001.0, Lockout(False, 0)),
        # Twelve failures: the lock lasts until the 3rd-oldest leaves (the last ten count).
        ([100.0 + i for i in range(12)], 200.0, Lockout(True, 802)),
        # Future timestamps (clock skew between workers) are ignored.
        ([5000.0] * 10, 200.0, Lockout(False, 0)),
    ],
)
def test_lockout_state(failures, now, expected):
    assert lockout_state(failures, now, limit=10, window=W) == expected


def test_lockout_retry_after_is_at_least_one_second():
    assert lockout_state([100.0] * 10, 999.9999, 10, W).retry_after >= 1


REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def redis_client():
    """Return a client of the test Redis, or skip."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set: Redis store not tested")
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis at {REDIS_URL} does not answer")
    yield client
    client.close()


def test_redis_store_counts_and_resets(redis_client):
    store = RedisStore(redis_client)
    key = f"test-{uuid.uuid4().hex}"
    for _ in range(3):
        store.add(key, W)
    assert len(store.failures(key, W)) == 3
    assert 0 < redis_client.ttl(store.prefix + key) <= W
    store.reset(key)
    assert store.failures(key, W) == []


def test_lockout_shared_through_redis(app_config, redis_client, tmp_path, monkeypatch, backend):
    """Two app instances (two workers) see the same failures through Redis."""
    from lms import create_app
    from lms.extensions import db

    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_path / "i"))
    cfg = {**app_config, "REDIS_URL": REDIS_URL}
    worker1, worker2 = create_app(cfg), create_app(cfg)
    from tests.conftest import Client

    worker1.test_client_class = worker2.test_client_class = Client
    with worker1.app_context():
        if backend == "postgresql":
            from tests.conftest import _reset_postgres

            _reset_postgres()
        db.create_all()
        from lms.accounts import passwords
        from lms.accounts.models import User

        name = f"r{uuid.uuid4().hex[:8]}"
        u = User(username=name, full_name="测试", password_hash=passwords.hash_password(PASSWORD))
        u.set_roles([Role.AGENT])
        db.session.add(u)
        db.session.commit()
        db.session.remove()
    c1, c2 = worker1.test_client(), worker2.test_client()
    for i in range(10):
        c = c1 if i % 2 else c2
        c.submit("/login", {"username": name, "password": "wrong-pass1"})
    resp = c1.submit("/login", {"username": name, "password": PASSWORD})
    assert "登录失败次数过多" in text(resp)
    resp = c2.submit("/login", {"username": name, "password": PASSWORD})
    assert "登录失败次数过多" in text(resp)
    redis_client.delete(RedisStore.prefix + name)
    with worker1.app_context():
        db.session.remove()
        if backend == "postgresql":
            _reset_postgres()
        db.engine.dispose()
    with worker2.app_context():
        db.engine.dispose()
