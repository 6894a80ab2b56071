"""Import and export pages of the question bank."""

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from lms import jobs
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank import transfer
from question_bank.formats import spreadsheet
from question_bank.views import bp, list_query


@bp.route("/import", methods=["GET", "POST"])
def import_page():
    """Upload a file; it is checked and imported in the background with progress."""
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            error = _("Choose a file to upload.")
        else:
            try:
                job = transfer.start_import(upload.filename, upload.read(), current_user)
            except ValidationFailed as exc:
                db.session.rollback()
                error = exc.messages[0]
            else:
                jobs.start(job.id)
                return redirect(url_for("jobs.show", job_id=job.id))
    return render_template("question_bank/import.html", error=error), (422 if error else 200)


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
