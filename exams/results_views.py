"""Results of a sitting: the table, the .xlsx export, the distribution and item statistics."""

import io
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template
from flask_babel import gettext as _
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exams import statistics
from exams.models import Attempt, AttemptItem, AttemptState, Sitting
from exams.staff_views import STAFF_READ, bp
from lms.accounts.access import roles_required
from lms.extensions import db
from lms.timeutil import utcnow


def local(value):
    """Return an aware UTC time as the centre's naive local time (what Excel shows)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["LMS_TIMEZONE"])).replace(tzinfo=None)


def finished_attempts(sitting: Sitting) -> list[Attempt]:
    """Return the finished attempts of a sitting with their items and users."""
    return list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.sitting_id == sitting.id, Attempt.state == AttemptState.FINISHED)
            .options(
                selectinload(Attempt.items).selectinload(AttemptItem.version),
                selectinload(Attempt.user),
            )
            .order_by(Attempt.user_id, Attempt.number)
        )
    )


def best_attempts(attempts: list[Attempt]) -> list[Attempt]:
    """Return each candidate's last finished attempt (the one that counts)."""
    last: dict[int, Attempt] = {}
    for a in attempts:
        last[a.user_id] = a
    return list(last.values())


def _fractions(attempts: list[Attempt]) -> tuple[dict[int, float], list[dict]]:
    """Return each question's points and each attempt's fraction per question (None: ungraded)."""
    items: dict[int, float] = {}
    rows = []
    for a in attempts:
        row = {}
        for i in a.items:
            items[i.question_id] = float(i.points)
            row[i.question_id] = None if i.score is None else float(i.score / i.points)
        rows.append(row)
    return items, rows


def item_table(attempts: list[Attempt]):
    """Return per-question statistics over the attempts (keyed by question id)."""
    items, rows = _fractions(attempts)
    if not rows:
        return {}, None
    if all(set(r) == set(items) for r in rows):
        return statistics.item_statistics(rows, items), statistics.paper_statistics(rows, items)
    return drawn_item_table(attempts), None


def drawn_item_table(attempts: list[Attempt]) -> dict:
    """Return per-question statistics when candidates got different (drawn) questions."""
    items, rows = _fractions(attempts)
    return dict(sorted(statistics.drawn_item_statistics(rows, items).items()))


@bp.get("/sittings/<id:sitting_id>/results")
@roles_required(*STAFF_READ)
def results(sitting_id: int):
    """Show every candidate's result, the score distribution and the item statistics."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    attempts = best_attempts(finished_attempts(sitting))
    scores = [float(a.score) for a in attempts if a.score is not None]
    # The attempts' own full marks: the paper may have changed since they were taken.
    max_score = max([float(a.max_score) for a in attempts] + [1.0])
    bins = statistics.histogram(scores, max_score, 10) if scores else []
    items, paper_stats = item_table(attempts)
    versions = {i.question_id: i.version for a in attempts for i in a.items}
    return render_template(
        "exams/results.html",
        sitting=sitting,
        attempts=attempts,
        bins=bins,
        peak=max((b[2] for b in bins), default=0),
        items=items,
        paper_stats=paper_stats,
        versions=versions,
        now=utcnow(),
        passed=sum(1 for a in attempts if a.passed),
        pending=sum(1 for a in attempts if a.score is None),
    )


@bp.get("/sittings/<id:sitting_id>/results.xlsx")
@roles_required(*STAFF_READ)
def results_xlsx(sitting_id: int):
    """Download the results as .xlsx (one row per candidate)."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    attempts = best_attempts(finished_attempts(sitting))
    wb = Workbook()
    ws = wb.active
    ws.title = _("Results")
    ws.append(
        [
            _("Username"),
            _("Name"),
            _("Employee number"),
            _("Team"),
            _("Attempt"),
            _("Score"),
            _("Full marks"),
            _("Passed"),
            _("Started"),
            _("Finished"),
            _("Minutes taken"),
        ]
    )
    for a in attempts:
        agent = getattr(a.user, "agent", None)
        taken = (a.finished_at - a.started_at).total_seconds() / 60 if a.finished_at else None
        ws.append(
            [
                a.user.username,
                a.user.full_name,
                agent.employee_no if agent else "",
                agent.team.name if agent and agent.team else "",
                a.number,
                float(a.score) if a.score is not None else _("being graded"),
                float(a.max_score),
                "" if a.passed is None else (_("yes") if a.passed else _("no")),
                local(a.started_at),
                local(a.finished_at),
                round(taken, 1) if taken is not None else None,
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return (
        out.getvalue(),
        200,
        {
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f"attachment; filename=results-{sitting.id}.xlsx",
        },
    )
