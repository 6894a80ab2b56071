"""Import and export pages of the question bank."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms import jobs
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.job_views import own_job
from question_bank import import_preview, transfer
from question_bank.formats import spreadsheet
from question_bank.views import bp, list_query


@bp.route("/import", methods=["GET", "POST"])
def import_page():
    """Upload a file; it is checked in the background, and imported once confirmed."""
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a file to upload.")
        else:
            try:
                job = import_preview.start_check(upload.filename, upload.read(), current_user)
            except ValidationFailed as exc:
                db.session.rollback()
                error = exc.messages[0]
            else:
                jobs.start(job.id)
                return redirect(url_for("jobs.show", job_id=job.id))
    return render_template("question_bank/import.html", error=error), (422 if error else 200)


def _checked_upload(job_id: str) -> jobs.Job:
    """Return the current user's checked upload, or 404."""
    job = own_job(job_id)
    if job.kind != import_preview.CHECK_KIND:
        abort(404)
    return job


@bp.post("/import/<job_id>/confirm")
def confirm_import(job_id: str):
    """Import a checked upload (once); follow the import on its progress page."""
    job = _checked_upload(job_id)
    try:
        import_job = import_preview.confirm(job, current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.messages[0], "error")
        return redirect(url_for("jobs.show", job_id=job_id))
    jobs.start(import_job.id)
    return redirect(url_for("jobs.show", job_id=import_job.id))


@bp.post("/import/<job_id>/cancel")
def cancel_import(job_id: str):
    """Discard a checked upload without importing it."""
    job = _checked_upload(job_id)
    try:
        import_preview.cancel(job)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.messages[0], "error")
        return redirect(url_for("jobs.show", job_id=job_id))
    flash(_("The upload was discarded; nothing was imported."), "success")
    return redirect(url_for("qb.import_page"))


@bp.get("/import/template.xlsx")
def import_template():
    """Download the .xlsx template with instructions and drop-downs."""
    return (
        spreadsheet.template_xlsx(),
        200,
        {
            "Content-Type": transfer.FORMATS["xlsx"][2],
            "Content-Disposition": "attachment; filename=question-bank-template.xlsx",
        },
    )


@bp.get("/export")
def export():
    """Download the questions the list shows (all filters apply) in a chosen format."""
    fmt = request.args.get("format", "xlsx")
    if fmt not in transfer.FORMATS:
        flash(_("Choose a format: xlsx, csv, moodle-xml or gift."), "error")
        return redirect(url_for("qb.index"))
    stmt, _filters = list_query(request.args)
    ids = list(db.session.scalars(stmt.with_only_columns(transfer.Question.id)))
    _parse, _export, mimetype, ext = transfer.FORMATS[fmt]
    skipped = transfer.left_out(ids)
    if skipped:
        # Shown on the next page: the download itself cannot carry a message.
        flash(
            _(
                "Left out of the export: %(list)s",
                list="; ".join(f"{where}: {reason}" for where, reason in skipped),
            ),
            "warning",
        )
    return (
        transfer.export_questions(fmt, ids),
        200,
        {
            "Content-Type": mimetype,
            "Content-Disposition": f"attachment; filename=question-bank.{ext}",
        },
    )
