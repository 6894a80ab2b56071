"""Pages that follow a background job: progress, result, and its one-time credentials."""

import csv
import io
from datetime import timedelta

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms import audit
from lms.accounts.access import signed_in
from lms.extensions import db
from lms.jobs import Job, JobStatus, forget_input, input_expired
from lms.tabular import csv_safe
from lms.timeutil import utcnow

bp = Blueprint("jobs", __name__, url_prefix="/jobs")

#: Temporary passwords are shown for this long, then wiped from the job.
CREDENTIALS_KEPT = timedelta(hours=24)


def own_job(job_id: str) -> Job:
    """Return the current user's job, or 404 (another user's job does not exist for them)."""
    job = db.session.get(Job, job_id)
    if job is None or job.created_by != current_user.id:
        abort(404)
    if (
        job.result
        and job.result.get("credentials")
        and job.finished_at
        and (utcnow() - job.finished_at > CREDENTIALS_KEPT)
    ):
        forget_credentials(job)
    if job.params is not None and input_expired(job):
        forget_input(job)  # an upload kept for a second step, past its time
    return job


def forget_credentials(job: Job) -> None:
    """Wipe the temporary passwords from a job's result."""
    result = dict(job.result or {})
    result["credentials"] = [
        {k: v for k, v in c.items() if k != "password"} for c in result.get("credentials", [])
    ]
    result["credentials_forgotten"] = True
    job.result = result


@bp.get("/<job_id>")
@signed_in
def show(job_id: str):
    """Show a job's progress, then its result."""
    job = own_job(job_id)
    return render_template("jobs/job.html", job=job, JobStatus=JobStatus)


@bp.get("/<job_id>.json")
@signed_in
def status(job_id: str):
    """Return a job's progress for the page to poll."""
    job = own_job(job_id)
    return jsonify(
        status="interrupted" if job.interrupted else job.status.value,
        done=job.done,
        total=job.total,
        percent=job.percent,
        message=job.message,
    )


@bp.get("/<job_id>/credentials.csv")
@signed_in
def credentials(job_id: str):
    """Download the temporary passwords of an import, while they are kept."""
    job = own_job(job_id)
    creds = (job.result or {}).get("credentials") or []
    if job.status != JobStatus.DONE or not creds or "password" not in creds[0]:
        abort(404)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["工号", "姓名", "班组", "用户名", "临时密码"])
    for c in creds:
        # Names and team names are typed by people: none may become a live formula.
        cells = [c["employee_no"], c["full_name"], c["team"], c["username"], c["password"]]
        writer.writerow([csv_safe(v) for v in cells])
    audit.record("agent.import_credentials", summary=job.id, actor=current_user)
    return (
        "\ufeff" + out.getvalue(),  # a BOM so that Excel reads the Chinese correctly
        200,
        {
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": "attachment; filename=temporary-passwords.csv",
            "Cache-Control": "no-store",
        },
    )


@bp.post("/<job_id>/forget")
@signed_in
def forget(job_id: str):
    """Wipe the temporary passwords now that they are handed out."""
    job = own_job(job_id)
    forget_credentials(job)
    flash(_("The temporary passwords were deleted from the system."), "success")
    return redirect(url_for("jobs.show", job_id=job.id))
