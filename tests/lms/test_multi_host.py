"""Two hosts: two real gunicorn processes on two ports sharing PostgreSQL and Redis.

A session ended on one is dead on the other, the sign-in lockout counts on both, and a
job started on one (run by a `flask worker`) is followed from the other, even once the
first is gone.
"""

import json
import os
import re
import subprocess
import sys
import time
import urllib.parse
import uuid

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PASSWORD
from tests.lms.test_jobs_worker import GIFT
from tests.servers import ROOT, Browser, app_env, flask, redis_url_or_skip, serve, wait_healthy

PG_URL = os.environ.get("TEST_DATABASE_URL")
LOCKED_OUT = "登录失败次数过多"


def _reset_schema(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="module")
def hosts(tmp_path_factory):
    """Start hosts A and B on one fresh PostgreSQL schema and one Redis; yield their state."""
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is not set: two hosts need a shared PostgreSQL")
    redis_url = redis_url_or_skip("two hosts sharing Redis")
    import redis
    from rq import Queue

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
            proc, url = serve(env, log)
            procs.append(proc)
            urls.append(url)
        for proc, url in zip(procs, urls, strict=True):
            wait_healthy(proc, url)
        yield {"a": urls[0], "b": urls[1], "procs": procs, "env": env, "users": users}
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        log.close()
        client = redis.Redis.from_url(redis_url)
        Queue(queue, connection=client).delete(delete_jobs=True)
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

    def run_worker():
        return subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--burst"],
            cwd=ROOT,
            env=hosts["env"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    # The check job, queued by host A, run by a worker, its report read and confirmed on B.
    assert state()["status"] == "queued"
    checker = run_worker()
    output, _ = checker.communicate(timeout=60)
    assert checker.returncode == 0, output
    assert state()["status"] == "done"
    status, _, report = browser.open(job_url)
    action = re.search(r'action="(/qb/import/[0-9a-f]+/confirm)"', report).group(1)
    status, location, _ = browser.post(f"{b}{action}", {}, csrf_from=job_url)
    assert status == 302 and "/jobs/" in location
    job_url = urllib.parse.urljoin(b, urllib.parse.urlparse(location).path)
    assert state()["status"] == "queued"
    # Host A goes away (a restart, a crash): the job is in the database and on the queue.
    hosts["procs"][0].terminate()
    hosts["procs"][0].wait(timeout=30)
    worker = run_worker()
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
