"""Typing results over time: an agent's monthly typing speed, for staff and for the agent."""

from collections import OrderedDict

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import select

from exams.typing.engine import DEFAULT_RULES
from exams.typing.models import TypingAttempt, TypingReview, TypingState
from lms.accounts.access import roles_required, signed_in
from lms.accounts.models import Role, User
from lms.extensions import db
from lms.i18n import datetime_filter

bp = Blueprint("typing_history", __name__, url_prefix="/exams/typing/history")

STAFF_READ = (Role.TRAINER, Role.HR, Role.ADMIN)


def monthly(user_id: int) -> list[dict]:
    """Return the user's typing exams month by month (oldest first): the best result of each
    month with its attempts; practice, unfinished, held and voided attempts are left out."""
    attempts = db.session.scalars(
        select(TypingAttempt)
        .where(
            TypingAttempt.user_id == user_id,
            TypingAttempt.practice.is_(False),
            TypingAttempt.state == TypingState.FINISHED,
            TypingAttempt.review.in_([TypingReview.NONE, TypingReview.CONFIRMED]),
        )
        .order_by(TypingAttempt.finished_at)
    )
    months: OrderedDict[str, dict] = OrderedDict()
    for a in attempts:
        key = datetime_filter(a.finished_at, "yyyy-MM")
        month = months.setdefault(key, {"month": key, "attempts": [], "best": None})
        month["attempts"].append(a)
        best = month["best"]
        if best is None or _rank(a) > _rank(best):
            month["best"] = a
    return list(months.values())


def _rank(attempt: TypingAttempt) -> tuple:
    """Order a month's attempts: a pass before a fail, then the higher net speed."""
    return (bool(attempt.passed), attempt.net_speed or 0)


def chart_points(months: list[dict]) -> list[tuple[str, float, bool]]:
    """Return (month, best net speed, passed) for the chart."""
    return [(m["month"], float(m["best"].net_speed or 0), bool(m["best"].passed)) for m in months]


def pass_speed(months: list[dict]) -> int:
    """Return the pass line of the chart: the pass speed the latest exam was taken at (each
    attempt keeps its test's rules), else the default."""
    return months[-1]["attempts"][-1].pass_speed if months else DEFAULT_RULES["pass_speed"]


@bp.get("/<id:user_id>")
@roles_required(*STAFF_READ)
def agent(user_id: int):
    """Show an agent's typing results month by month (trainers, HR, administrators)."""
    user = db.session.get(User, user_id) or abort(404)
    months = monthly(user.id)
    return render_template(
        "exams/typing/history.html",
        user=user,
        months=months,
        points=chart_points(months),
        pass_speed=pass_speed(months),
    )


@bp.get("/mine")
@signed_in
def mine():
    """Show my own typing results month by month."""
    months = monthly(current_user.id)
    return render_template(
        "exams/typing/history.html",
        user=current_user,
        months=months,
        points=chart_points(months),
        pass_speed=pass_speed(months),
        own=True,
    )
