"""Background jobs: long work (big imports, batches of PDFs) runs off the request and
reports its progress, which a page polls.

With REDIS_URL set, the web process only enqueues the job's id on an RQ queue once the
request has committed, and ``flask --app wsgi worker`` processes run it: a job outlives a
restart of the web process, and any web worker shows its progress (kept in the job's row).
Without Redis, jobs run in a small thread pool inside the web process; if Redis does not
answer when a job is enqueued, the job runs there too rather than being lost. A job whose
process died shows as interrupted once it has not reported for STALE_AFTER.
"""

import enum
import secrets
import traceback
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, String, null, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Mapped, mapped_column

from lms.accounts.models import enum_column
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.timeutil import UTCDateTime, utcnow

STALE_AFTER = timedelta(minutes=10)
#: A job kind that keeps its input (see ``register``) keeps it at most this long.
INPUT_KEPT = timedelta(hours=24)
#: The longest a job may run in a worker before RQ stops it (seconds).
WORKER_TIMEOUT = 3600
_REGISTRY: dict = {}
#: Kinds whose input outlives the job, for a second step (confirming a checked import).
_KEEPS_INPUT: set[str] = set()
_EXECUTOR = ThreadPoolExecutor(max_workers=2, thread_name_prefix="lms-job")


class JobStatus(enum.StrEnum):
    """Where a job stands."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Job(db.Model):
    """One piece of long work and its progress."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    status: Mapped[JobStatus] = mapped_column(
        enum_column(JobStatus, "job_status"), default=JobStatus.QUEUED
    )
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done: Mapped[int] = mapped_column(default=0)
    total: Mapped[int] = mapped_column(default=0)
    #: What the job is doing now, or why it failed (in the submitter's language).
    message: Mapped[str] = mapped_column(String(500), default="")
    params: Mapped[dict | None] = mapped_column(JSON)
    result: Mapped[dict | None] = mapped_column(JSON)

    @property
    def percent(self) -> int:
        """Return the progress as a whole percentage."""
        if self.status == JobStatus.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0

    @property
    def interrupted(self) -> bool:
        """Tell whether a running job has stopped reporting (its process died)."""
        return (
            self.status in (JobStatus.QUEUED, JobStatus.RUNNING)
            and utcnow() - self.updated_at > STALE_AFTER
        )


def register(kind: str, keeps_input: bool = False):
    """Register ``fn(progress, params, user) -> result dict`` as the body of jobs of ``kind``.

    A job's input is wiped when it ends, unless ``keeps_input``: then it stays until
    ``take_input`` or ``forget_input`` is called, or INPUT_KEPT has passed.
    """

    def decorate(fn):
        _REGISTRY[kind] = fn
        if keeps_input:
            _KEEPS_INPUT.add(kind)
        else:
            _KEEPS_INPUT.discard(kind)
        return fn

    return decorate


def input_expired(job: Job) -> bool:
    """Tell whether a finished job's kept input is past INPUT_KEPT (it must not be used)."""
    return job.finished_at is not None and utcnow() - job.finished_at > INPUT_KEPT


def forget_input(job: Job) -> None:
    """Wipe a job's kept input (flushes; the caller's transaction commits)."""
    job.params = null()
    db.session.flush()
    db.session.refresh(job, ["params"])


def take_input(job: Job) -> dict | None:
    """Return a finished job's kept input and wipe it, or None when it is gone or expired.

    The wipe is one conditional UPDATE, so two requests racing for the same input (a double
    click) cannot both get it.
    """
    if job.params is None or input_expired(job):
        return None
    params = job.params
    taken = db.session.execute(
        update(Job)
        .where(Job.id == job.id, Job.params.is_not(None))
        .values(params=null())
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(job, ["params"])
    return params if taken.rowcount == 1 else None


def create(kind: str, params: dict, user) -> Job:
    """Add a queued job; start() runs it once the request commits."""
    job = Job(
        id=secrets.token_hex(16), kind=kind, params=params, created_by=getattr(user, "id", None)
    )
    db.session.add(job)
    db.session.flush()
    return job


def start(job_id: str) -> None:
    """Run the job in the background (or at once when JOBS_EAGER is set, as in tests), as
    soon as the request that created it has committed."""
    from lms.transaction import after_commit

    app = current_app._get_current_object()
    if app.config.get("JOBS_EAGER"):
        after_commit(lambda: _run(app, job_id))
    elif app.config.get("REDIS_URL"):
        after_commit(lambda: _enqueue(app, job_id))
    else:
        after_commit(lambda: _EXECUTOR.submit(_run, app, job_id))


def queue(app, *, worker: bool = False):
    """Return the app's RQ queue (REDIS_URL, queue JOBS_QUEUE).

    The web side fails fast when Redis does not answer; a worker's connection waits on
    the queue, so it has no read timeout.
    """
    import redis
    from rq import Queue

    url, name = app.config["REDIS_URL"], app.config.get("JOBS_QUEUE") or "lms"
    if worker:
        return Queue(name, connection=redis.Redis.from_url(url))
    queues = app.extensions.setdefault("lms_job_queues", {})
    if (url, name) not in queues:
        connection = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        queues[url, name] = Queue(name, connection=connection)
    return queues[url, name]


def _enqueue(app, job_id: str) -> None:
    """Hand the job to the workers; when Redis does not answer, run it here instead."""
    import redis

    try:
        queue(app).enqueue_call(
            perform, args=(job_id,), timeout=WORKER_TIMEOUT, result_ttl=0, job_id=job_id
        )
    except redis.exceptions.RedisError as exc:
        app.logger.warning("job %s: Redis did not answer (%s); running it in-process", job_id, exc)
        _EXECUTOR.submit(_run, app, job_id)


def perform(job_id: str) -> None:
    """Run a job inside ``flask worker`` (whose app context names the app)."""
    app = current_app._get_current_object()
    # A forked work horse must not share the parent's database connections.
    db.engine.dispose(close=False)
    _run(app, job_id)


class Progress:
    """Report progress from inside a job, in its own short transaction."""

    def __init__(self, job_id: str):
        self.job_id = job_id

    def __call__(self, done: int, total: int | None = None, message: str | None = None) -> None:
        """Record that ``done`` of ``total`` steps are finished."""
        values = {"done": done, "updated_at": utcnow()}
        if total is not None:
            values["total"] = total
        if message is not None:
            values["message"] = message[:500]
        try:
            with db.engine.begin() as conn:
                sqlite = conn.dialect.name == "sqlite"
                if sqlite:
                    # The job's own transaction may hold SQLite's single write lock: then
                    # skip this report rather than wait for the job to finish.
                    conn.exec_driver_sql("PRAGMA busy_timeout=100")
                try:
                    conn.execute(update(Job).where(Job.id == self.job_id).values(**values))
                finally:
                    if sqlite:
                        conn.exec_driver_sql("PRAGMA busy_timeout=10000")
        except OperationalError:
            if db.engine.dialect.name != "sqlite":
                raise


def _finish(job_id: str, **values) -> None:
    with db.engine.begin() as conn:
        conn.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(updated_at=utcnow(), finished_at=utcnow(), **values)
        )


def _run(app, job_id: str) -> None:
    from lms.accounts.models import User
    from lms.i18n import force_user_locale

    with app.app_context():
        # Only a queued job starts: a job handed out twice (a retry, a fallback) runs once,
        # and one that waited so long that its page calls it interrupted never runs.
        with db.engine.begin() as conn:
            claimed = conn.execute(
                update(Job)
                .where(
                    Job.id == job_id,
                    Job.status == JobStatus.QUEUED,
                    Job.updated_at > utcnow() - STALE_AFTER,
                )
                .values(status=JobStatus.RUNNING, updated_at=utcnow())
            ).rowcount
        if not claimed:
            app.logger.warning("job %s is not waiting (gone, taken or stale): skipped", job_id)
            return
        job = db.session.get(Job, job_id)
        kind, params = job.kind, job.params or {}
        user = db.session.get(User, job.created_by) if job.created_by else None
        with force_user_locale(user):
            try:
                result = _REGISTRY[kind](Progress(job_id), params, user)
                db.session.commit()
                outcome = {"status": JobStatus.DONE, "result": result, "message": ""}
            except ValidationFailed as exc:
                db.session.rollback()
                outcome = {
                    "status": JobStatus.FAILED,
                    "message": "; ".join(exc.messages)[:500],
                    "result": getattr(exc, "result", None),
                }
            except Exception:  # a job must always end in a state the page can show
                db.session.rollback()
                app.logger.error("job %s (%s) failed:\n%s", job_id, kind, traceback.format_exc())
                outcome = {
                    "status": JobStatus.FAILED,
                    "message": _(
                        "The job stopped because of an internal error; nothing was changed."
                    ),
                }
        db.session.remove()
        # The input (an uploaded file, personal data) is not kept once the work is done,
        # unless the kind needs it for a second step and the job succeeded.
        if kind not in _KEEPS_INPUT or outcome["status"] != JobStatus.DONE:
            outcome["params"] = null()
        _finish(job_id, **outcome)
