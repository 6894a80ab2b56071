"""Two-step import: an upload is checked without saving anything, the trainer reads the
report, then confirms (a second job imports the same file) or cancels.

The checking job keeps the uploaded file (``jobs.register(..., keeps_input=True)``) until
it is confirmed, cancelled, or jobs.INPUT_KEPT has passed. Flush, never commit.
"""

import base64
import enum

from flask_babel import gettext as _

from lms import jobs
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank import transfer

CHECK_KIND = "question_import_check"
IMPORT_KIND = "question_import"


class PreviewState(enum.StrEnum):
    """Where a checked upload stands."""

    READY = "ready"  #: checked, without errors, waiting for the trainer
    CONFIRMED = "confirmed"  #: an import job was queued from it
    CANCELLED = "cancelled"  #: the trainer discarded the upload
    EXPIRED = "expired"  #: its file was kept for jobs.INPUT_KEPT only


class CheckRefused(ValidationFailed):
    """Raise when the checked file has errors: it cannot be confirmed; ``result`` is the
    report."""

    def __init__(self, report: transfer.ImportReport):
        super().__init__(
            _("Nothing can be imported: the file has %(n)d errors.", n=len(report.errors))
        )
        self.result = report.as_dict()


class PreviewClosed(ValidationFailed):
    """Raise when a checked upload can no longer be confirmed or cancelled."""


@jobs.register(CHECK_KIND, keeps_input=True)
def run_check_job(progress, params: dict, user) -> dict:
    """Check an uploaded file in the background and report what importing it would do."""
    data = base64.b64decode(params["data"])
    report = transfer.check_questions(params["filename"], data, progress)
    # The check only reads; roll back so that nothing it touched can reach the database.
    db.session.rollback()
    if report.errors:
        raise CheckRefused(report)
    return {**report.as_dict(), "filename": params["filename"], "state": PreviewState.READY}


def start_check(filename: str, data: bytes, user) -> jobs.Job:
    """Queue the check of an upload (nothing is saved until the trainer confirms)."""
    transfer.format_for(filename)
    return jobs.create(
        CHECK_KIND,
        {"filename": filename, "data": base64.b64encode(data).decode("ascii")},
        user,
    )


def state(job: jobs.Job) -> PreviewState | None:
    """Return where a checked upload stands, or None while it is checked or if it failed."""
    if job.kind != CHECK_KIND or job.status != jobs.JobStatus.DONE or not job.result:
        return None
    current = PreviewState(job.result.get("state", PreviewState.READY))
    if current == PreviewState.READY and (job.params is None or jobs.input_expired(job)):
        return PreviewState.EXPIRED
    return current


def _set_state(job: jobs.Job, new: PreviewState, **extra) -> None:
    """Record a checked upload's new state (the only place it changes)."""
    job.result = {**job.result, "state": new.value, **extra}
    db.session.flush()


def _refuse_unless_ready(job: jobs.Job) -> None:
    """Raise with the reason a checked upload cannot be confirmed or cancelled now."""
    current = state(job)
    if current is None:
        raise ValidationFailed(
            _("This file was not checked successfully: nothing can be imported from it.")
        )
    if current == PreviewState.CONFIRMED:
        raise PreviewClosed(_("This import was already confirmed; it is not done twice."))
    if current == PreviewState.CANCELLED:
        raise PreviewClosed(_("This import was cancelled. Upload the file again to import it."))
    if current == PreviewState.EXPIRED:
        raise PreviewClosed(
            _("The checked file is kept for 24 hours only. Upload the file again to import it.")
        )


def confirm(job: jobs.Job, user) -> jobs.Job:
    """Queue the import of a checked upload: once only, and only while it is ready."""
    _refuse_unless_ready(job)
    params = jobs.take_input(job)
    if params is None:  # another request (a double click) took the file first
        raise PreviewClosed(_("This import was already confirmed; it is not done twice."))
    import_job = jobs.create(IMPORT_KIND, params, user)
    _set_state(job, PreviewState.CONFIRMED, import_job=import_job.id)
    return import_job


def cancel(job: jobs.Job) -> None:
    """Discard a checked upload: its file is wiped and it can no longer be confirmed."""
    if state(job) != PreviewState.EXPIRED:  # an expired upload may still be dismissed
        _refuse_unless_ready(job)
    jobs.forget_input(job)
    _set_state(job, PreviewState.CANCELLED)
