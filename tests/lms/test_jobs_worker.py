"""Background jobs on the Redis queue, run by `flask worker`, and the in-process fallback."""

import io
import logging
import time
import uuid
from datetime import timedelta

import pytest

from lms import create_app, jobs
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank.models import Question
from tests.conftest import Client
from tests.helpers import confirm_url, count
from tests.servers import app_env, flask, redis_url_or_skip

GIFT = """::挂失:: 信用卡挂失前必须核实持卡人身份。{T}

::办理:: 办理挂失前应：{=核实身份 ~直接办理 ~先收费}
""".encode()


def upload(client):
    """Upload the GIFT file on the import page and return the job's address."""
    resp = client.submit(
        "/qb/import",
        {"file": (io.BytesIO(GIFT), "bank.gift")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp.location


def confirm(client, check_url):
    """Confirm a checked upload from its report page; return the import job's address."""
    resp = client.submit(confirm_url(client.get(check_url)))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
    return resp.location


def follow(client, job_url, timeout=30):
    """Poll the job's JSON until it ends and return its last state."""
    deadline = time.monotonic() + timeout
    state = {}
    while time.monotonic() < deadline:
        state = client.get(f"{job_url}.json").get_json()
        if state["status"] in ("done", "failed", "interrupted"):
            break
        time.sleep(0.1)
    return state


def test_worker_command_needs_redis(runner):
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0
    assert "REDIS_URL is not set" in result.output


def test_job_runs_in_process_when_redis_does_not_answer(admin_client, app, caplog, monkeypatch):
    """Enqueuing fails: the job is not lost, it runs in the web process and says so."""
    app.config.update(JOBS_EAGER=False, REDIS_URL="redis://127.0.0.1:1/0")
    monkeypatch.setattr(app.logger, "disabled", False)  # the "lms" logger outlives apps
    with caplog.at_level(logging.WARNING):
        check_url = upload(admin_client)
        assert follow(admin_client, check_url)["status"] == "done"
        job_url = confirm(admin_client, check_url)
        state = follow(admin_client, job_url)
    assert state["status"] == "done" and state["percent"] == 100, state
    assert count(Question) == 2
    assert "Redis did not answer" in caplog.text and "running it in-process" in caplog.text


def test_a_job_handed_out_twice_runs_once(app, admin):
    calls = []
    jobs.register("test_count")(lambda progress, params, user: calls.append(1) or {"n": 1})
    job = jobs.create("test_count", {}, admin)
    db.session.commit()
    jobs._run(app, job.id)
    jobs._run(app, job.id)  # a retry, or the fallback after a slow enqueue
    db.session.expire_all()
    assert calls == [1]
    assert db.session.get(jobs.Job, job.id).status == jobs.JobStatus.DONE


def test_a_job_that_waited_too_long_never_runs(app, admin, client, login):
    """Its page already says it was interrupted and asks for a new upload."""
    calls = []
    jobs.register("test_count")(lambda progress, params, user: calls.append(1) or {"n": 1})
    job = jobs.create("test_count", {}, admin)
    job.updated_at = utcnow() - jobs.STALE_AFTER - timedelta(seconds=1)
    db.session.commit()
    jobs._run(app, job.id)
    assert calls == []
    login(client, "boss")
    assert client.get(f"/jobs/{job.id}.json").get_json()["status"] == "interrupted"


def test_a_job_whose_worker_died_shows_as_interrupted(app, admin, client, login):
    job = jobs.create("test_count", {}, admin)
    job.status = jobs.JobStatus.RUNNING  # taken by a worker that then died: no more news
    job.updated_at = utcnow() - jobs.STALE_AFTER - timedelta(seconds=1)
    db.session.commit()
    login(client, "boss")
    assert client.get(f"/jobs/{job.id}.json").get_json()["status"] == "interrupted"
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'id="job-progress"' not in page and "flash-error" in page


@pytest.fixture
def queued(app, app_config):
    """Point the app at a queue of its own on the test Redis; empty it afterwards."""
    url = redis_url_or_skip()
    name = f"test-{uuid.uuid4().hex[:12]}"
    app.config.update(JOBS_EAGER=False, REDIS_URL=url, JOBS_QUEUE=name)
    q = jobs.queue(app)
    yield q
    q.delete(delete_jobs=True)
    q.connection.close()


def test_worker_process_runs_a_queued_import_seen_from_another_instance(
    queued, admin_client, app, app_config, tmp_path, login
):
    env = app_env(
        tmp_path / "worker",
        DATABASE_URL=app_config["SQLALCHEMY_DATABASE_URI"],
        REDIS_URL=app.config["REDIS_URL"],
        LMS_JOBS_QUEUE=queued.name,
    )
    check_url = upload(admin_client)
    # The check and then the import each wait on the queue until a worker runs them.
    for step in ("check", "import"):
        job_url = check_url if step == "check" else confirm(admin_client, check_url)
        job_id = job_url.rsplit("/", 1)[1]
        time.sleep(0.3)
        assert queued.job_ids == [job_id]
        assert admin_client.get(f"{job_url}.json").get_json()["status"] == "queued"
        assert count(Question) == 0
        done = flask("worker", "--burst", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert queued.count == 0

    # Another web instance (another host) on the same database follows the job.
    other = create_app({**app_config, **{k: app.config[k] for k in ("REDIS_URL", "JOBS_QUEUE")}})
    other.test_client_class = Client
    try:
        second = other.test_client()
        login(second, "boss")
        state = second.get(f"{job_url}.json").get_json()
        assert state["status"] == "done" and state["percent"] == 100, state
        assert state["total"] == 2  # reported by the worker while it ran
        page = second.get(job_url).get_data(as_text=True)
        assert 'id="job-progress"' not in page and "flash-success" in page
    finally:
        with other.app_context():
            db.engine.dispose()
    db.session.expire_all()
    assert count(Question) == 2
    assert db.session.get(jobs.Job, job_id).params is None  # the upload is not kept
