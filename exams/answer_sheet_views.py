"""A candidate's whole answer sheet, for staff: every question as the candidate saw it,
their answer, the points, the key and the grader's comment.
"""

import inspect

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


def _in_order(body: dict, order: list | None) -> dict:
    """Return the body with its options in the candidate's order (any others last)."""
    options = body.get("options")
    if not order or not options:
        return body
    rank = {key: n for n, key in enumerate(order)}
    return {**body, "options": sorted(options, key=lambda o: rank.get(o["key"], len(rank)))}


def item_key_text(item: AttemptItem) -> str:
    """Return the key that grades ``item``, its letters following the candidate's order."""
    version = item.key_version or item.version
    qtype = qtypes.get(version.qtype)
    if len(inspect.signature(qtype.key_text).parameters) > 1:
        return qtype.key_text(item.grading_body, item.option_order)
    # key_text(body) numbers the options as stored: hand it them in the candidate's order.
    return qtype.key_text(_in_order(item.grading_body, item.option_order))


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
