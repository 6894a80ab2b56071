"""A candidate's whole answer sheet, for staff: every question as the candidate saw it,
their answer, the points, the key and the grader's comment.
"""

from flask import abort, render_template
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exams.candidate_views import section_heads
from exams.models import Attempt, AttemptItem, Candidate
from exams.printing import points_text
from exams.results_views import FINISH_LABELS
from exams.staff_views import bp, staff_only
from lms.extensions import db
from question_bank import qtypes


def item_key_text(item: AttemptItem) -> str:
    """Return the key that grades ``item``, its letters following the candidate's order."""
    version = item.key_source
    return qtypes.get(version.qtype).key_text(version.body, item.option_order)


@bp.get("/attempts/<id:attempt_id>")
@staff_only
def answer_sheet(attempt_id: int):
    """Show one attempt's answer sheet to trainers, HR and admins."""
    attempt = db.session.scalar(
        select(Attempt)
        .where(Attempt.id == attempt_id)
        .options(
            selectinload(Attempt.items).selectinload(AttemptItem.version),
            selectinload(Attempt.items).selectinload(AttemptItem.key_version),
            selectinload(Attempt.user),
        )
    ) or abort(404)
    candidate = db.session.scalar(
        select(Candidate).where(
            Candidate.sitting_id == attempt.sitting_id, Candidate.user_id == attempt.user_id
        )
    )
    return render_template(
        "exams/answer_sheet.html",
        attempt=attempt,
        sitting=attempt.sitting,
        counted=candidate is not None and candidate.result_attempt_id == attempt.id,
        heads=section_heads(attempt),
        keys={item.id: item_key_text(item) for item in attempt.items},
        points_text=points_text,
        finish_label=FINISH_LABELS.get(attempt.finish_reason),
    )
