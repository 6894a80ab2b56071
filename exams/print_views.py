"""Trainers' printed papers: the exam paper and its answer key as PDF files."""

from flask import Response, abort, flash, redirect, url_for

from exams import printing
from exams.models import Paper
from exams.staff_views import bp
from lms.accounts.services import ValidationFailed
from lms.extensions import db


def _pdf(paper_id: int, with_key: bool, filename: str):
    """Return the paper's PDF inline, or go back to the paper with the reason it cannot print."""
    paper = db.session.get(Paper, paper_id) or abort(404)
    try:
        data = printing.render_paper_pdf(paper, with_key)
    except ValidationFailed as exc:
        for message in exc.messages:
            flash(message, "error")
        return redirect(url_for("exams.paper", paper_id=paper.id))
    return Response(
        data,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{filename}"',
            # The key must not linger in shared caches or the browser's disk cache.
            "Cache-Control": "private, no-store",
        },
    )


@bp.get("/papers/<id:paper_id>/print.pdf")
def paper_pdf(paper_id: int):
    """Print the paper for candidates (a random-draw section shows one sample draw)."""
    return _pdf(paper_id, False, f"paper-{paper_id}.pdf")


@bp.get("/papers/<id:paper_id>/key.pdf")
def paper_key_pdf(paper_id: int):
    """Print the answer key for trainers: keys, explanations, reference answers, rubrics."""
    return _pdf(paper_id, True, f"paper-{paper_id}-key.pdf")
