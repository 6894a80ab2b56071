"""Background jobs: their input is wiped when they end, unless their kind keeps it."""

from datetime import timedelta

import pytest

from lms import jobs
from lms.accounts.models import Role
from lms.accounts.services import ValidationFailed
from lms.extensions import db


@jobs.register("test_plain")
def _plain(progress, params, user):
    return {"ok": True}


@jobs.register("test_kept", keeps_input=True)
def _kept(progress, params, user):
    if params.get("fail"):
        raise ValidationFailed("refused")
    return {"ok": True}


def run(kind: str, params: dict, user=None) -> jobs.Job:
    """Create and run (eagerly) a job; return it as it ended."""
    job = jobs.create(kind, params, user)
    db.session.commit()
    jobs.start(job.id)
    db.session.expire_all()
    return db.session.get(jobs.Job, job.id)


@pytest.mark.parametrize(
    ("kind", "params", "kept"),
    [
        ("test_plain", {"data": "x"}, False),
        ("test_kept", {"data": "x"}, True),
        ("test_kept", {"data": "x", "fail": True}, False),  # a failed job keeps nothing
    ],
)
def test_job_input_is_wiped_unless_its_kind_keeps_it(app, kind, params, kept):
    job = run(kind, params)
    assert (job.params is not None) is kept


def test_kept_input_is_taken_once(app):
    job = run("test_kept", {"data": "x"})
    assert jobs.take_input(job) == {"data": "x"}
    assert jobs.take_input(job) is None
    assert job.params is None


def test_kept_input_expires(app):
    job = run("test_kept", {"data": "x"})
    job.finished_at -= jobs.INPUT_KEPT + timedelta(seconds=1)
    assert jobs.take_input(job) is None


def test_opening_a_job_wipes_its_expired_input(app, client, make_user, login):
    user = make_user(Role.TRAINER, username="t1")
    login(client, "t1")
    job = run("test_kept", {"data": "x"}, user)
    job.finished_at -= jobs.INPUT_KEPT + timedelta(seconds=1)
    db.session.commit()
    assert client.get(f"/jobs/{job.id}.json").status_code == 200
    db.session.expire_all()
    assert db.session.get(jobs.Job, job.id).params is None
