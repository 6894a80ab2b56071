"""Two hosts: two real gunicorn processes on two ports sharing PostgreSQL and Redis.

A session ended on one is dead on the other, the sign-in lockout counts on both, and a
job started on one (run by a `flask worker`) is followed from the other, even once the
first is gone.
"""

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.cookies import SimpleCookie

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import CSRF_RE, PASSWORD
from tests.lms.test_jobs_worker import GIFT
from tests.servers import ROOT, app_env, flask, free_port, redis_url_or_skip

PG_URL = os.environ.get("TEST_DATABASE_URL")
LOCKED_OUT = "登录失败次数过多"


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


def _reset_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def _serve(env: dict, log) -> tuple[subprocess.Popen, str]:
    port = free_port()
    bind = f"127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--threads", "4", "-b", bind, "wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_healthy(proc: subprocess.Popen, host: str) -> None:
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


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Start hosts A and B on one fresh PostgreSQL schema and one Redis; yield their state."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: two hosts need a shared PostgreSQL")
    redis_url = redis_url_or_skip()
    import redis

    tmp = tmp_path_factory.mktemp("hosts")
    queue = f"test-{uuid.uuid4().hex[:12]}"
    env = app_env(tmp / "instance", DATABASE_URL=PG_URL, REDIS_URL=redis_url, LMS_JOBS_QUEUE=queue)
    _reset_schema(PG_URL)
    suffix = uuid.uuid4().hex[:6]
    users = {"trainer": f"t{suffix}", "victim": f"v{suffix}"}
    for step in (
        ["init-db"],
        ["create-user", users["trainer"], "--role", "trainer", "--password", PASSWORD],
        ["create-user", users["victim"], "--role", "agent", "--password", PASSWORD],
    ):
        done = flask(*step, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    procs, urls = [], []
    log = open(tmp / "gunicorn.log", "w")  # noqa: SIM115 (closed at teardown)
    try:
        for _ in range(2):
            proc, url = _serve(env, log)
            procs.append(proc)
            urls.append(url)
        for proc, url in zip(procs, urls, strict=True):
            _wait_healthy(proc, url)
        yield {"a": urls[0], "b": urls[1], "procs": procs, "env": env, "users": users}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        log.close()
        client = redis.Redis.from_url(redis_url)
        client.delete(*client.keys(f"rq:*{queue}*") or ["-"])
        client.delete(f"lms:login-failures:{users['victim']}")
        client.close()
        _reset_schema(PG_URL)


def test_a_session_ended_on_one_host_is_refused_on_the_other(hosts):
    a, b, name = hosts["a"], hosts["b"], hosts["users"]["trainer"]
    browser = Browser()
    status, _, _ = browser.sign_in(a, name)
    assert status == 302
    assert browser.open(f"{b}/qb/")[0] == 200  # the session is good on B too
    old_cookies = dict(browser.cookies)
    status, _, _ = browser.post(f"{a}/logout", {}, f"{a}/qb/")
    assert status == 302
    replay = Browser()
    replay.cookies = old_cookies
    status, location, _ = replay.open(f"{b}/qb/")
    assert status == 302 and "/login" in location


def test_the_sign_in_lockout_is_shared_by_both_hosts(hosts):
    a, b, name = hosts["a"], hosts["b"], hosts["users"]["victim"]
    attacker = Browser()
    for _ in range(12):
        status, _, body = attacker.sign_in(a, name, "wrong-Passw0rd")
        assert status == 422
        if LOCKED_OUT in body:
            break
    else:
        raise AssertionError("host A never locked the account")
    status, _, body = Browser().sign_in(b, name)  # the right password, on the other host
    assert status == 422 and LOCKED_OUT in body


def test_a_job_started_on_one_host_is_followed_on_the_other(hosts):
    a, b, name = hosts["a"], hosts["b"], hosts["users"]["trainer"]
    browser = Browser()
    assert browser.sign_in(a, name)[0] == 302
    status, location, _ = browser.upload(f"{a}/qb/import", "bank.gift", GIFT, f"{a}/qb/import")
    assert status == 302 and "/jobs/" in location
    job_url = urllib.parse.urljoin(b, urllib.parse.urlparse(location).path)

    def state():
        status, _, body = browser.open(f"{job_url}.json")
        assert status == 200, body[:300]
        return json.loads(body)

    assert state()["status"] == "queued"
    # Host A goes away (a restart, a crash): the job is in the database and on the queue.
    hosts["procs"][0].terminate()
    hosts["procs"][0].wait(timeout=30)
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
        cwd=ROOT,
        env=hosts["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen, deadline = [], time.monotonic() + 60
    while time.monotonic() < deadline:
        seen.append(state())
        if seen[-1]["status"] in ("done", "failed", "interrupted"):
            break
        time.sleep(0.05)
    output, _ = worker.communicate(timeout=60)
    assert worker.returncode == 0, output
    final = seen[-1]
    assert final["status"] == "done" and final["percent"] == 100, seen
    assert final["total"] == 2
    status, _, body = browser.open("{}/qb/?q={}".format(b, urllib.parse.quote("挂失")))
    assert status == 200 and "信用卡挂失前必须核实持卡人身份" in body
