"""Real services for the tests that need them: Redis, and the app's own processes."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def redis_url_or_skip() -> str:
    """Return TEST_REDIS_URL once Redis answers there, or skip the test saying why."""
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set: the Redis job queue is not tested")
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis at {REDIS_URL} does not answer")
    finally:
        client.close()
    return REDIS_URL


def free_port() -> int:
    """Return a TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(instance: Path, **values: str) -> dict:
    """Return the environment of an app process: the given settings, nothing inherited."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "TEST_"))}
    for name in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY"):
        env.pop(name, None)
    env.update(
        LMS_INSTANCE_PATH=str(instance),
        SECRET_KEY="multi-host-" + "k" * 40,
        # Cheap hashing: the tests sign in many times.
        LMS_ARGON2_TIME_COST="1",
        LMS_ARGON2_MEMORY_KIB="1024",
        **values,
    )
    return env


def flask(*args: str, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``flask --app wsgi ARGS`` in a process of its own and return what it did."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
