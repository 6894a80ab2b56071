"""Real services for the tests that need them: Redis, and the app's own processes."""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookies import SimpleCookie
from pathlib import Path

import pytest

from tests.conftest import CSRF_RE, PASSWORD

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL")


def redis_url_or_skip(untested: str = "the Redis job queue") -> str:
    """Return TEST_REDIS_URL once Redis answers there, or skip saying what goes untested."""
    if not REDIS_URL:
        pytest.skip(f"TEST_REDIS_URL is not set: {untested} not tested")
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


def serve(env: dict, log, workers: int = 1) -> tuple[subprocess.Popen, str]:
    """Start gunicorn on a free port; return the process and its address."""
    port = free_port()
    bind = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-w",
            str(workers),
            "--threads",
            "4",
            "-b",
            bind,
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(proc: subprocess.Popen, host: str) -> None:
    """Wait until the server at ``host`` answers /healthz."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"gunicorn at {host} exited"
        try:
            with urllib.request.urlopen(f"{host}/healthz", timeout=2) as resp:  # noqa: S310
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"gunicorn at {host} never answered /healthz")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """A minimal browser: keeps its cookies by hand, so a test can replay an old one."""

    opener = urllib.request.build_opener(_NoRedirect)

    def __init__(self):
        self.cookies: dict[str, str] = {}

    def open(self, url: str, data: bytes | None = None, content_type: str | None = None):
        """Send one request; return (status, location, body) without following redirects."""
        req = urllib.request.Request(url, data=data)  # noqa: S310 (our own http://127.0.0.1)
        if self.cookies:
            req.add_header("Cookie", "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if content_type:
            req.add_header("Content-Type", content_type)
        try:
            resp = self.opener.open(req, timeout=30)
        except urllib.error.HTTPError as err:
            resp = err
        for header in resp.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return resp.status, resp.headers.get("Location"), resp.read().decode("utf-8")

    def csrf(self, url: str) -> str:
        """Return the CSRF token of this browser's session from the page at ``url``."""
        status, _, body = self.open(url)
        assert status == 200, (url, status)
        return CSRF_RE.search(body).group(1)

    def post(self, url: str, fields: dict, csrf_from: str):
        """Post a form with the CSRF token read from ``csrf_from``."""
        fields = {**fields, "csrf_token": self.csrf(csrf_from)}
        return self.open(url, urllib.parse.urlencode(fields).encode())

    def sign_in(self, host: str, username: str, password: str = PASSWORD):
        """Post the sign-in form of ``host``."""
        return self.post(
            f"{host}/login", {"username": username, "password": password}, f"{host}/login"
        )

    def upload(self, url: str, filename: str, data: bytes, csrf_from: str):
        """Post a file as multipart/form-data."""
        boundary = uuid.uuid4().hex
        token = self.csrf(csrf_from)
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
                f"{token}\r\n--{boundary}\r\n"
                f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return self.open(url, body, f"multipart/form-data; boundary={boundary}")
