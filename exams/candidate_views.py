"""The candidate's pages: my exams, the exam page, saving, submitting, the result."""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from exams import engine, printing, rules
from exams.models import Attempt, AttemptItem, AttemptState, Candidate, Sitting
from lms.accounts.access import signed_in
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.i18n import datetime_filter
from lms.timeutil import utcnow

bp = Blueprint("exam", __name__, url_prefix="/exam")


def own_attempt(attempt_id: int, with_items: bool = True) -> Attempt:
    """Return the current user's attempt; anyone else's does not exist for them (404)."""
    stmt = select(Attempt).where(Attempt.id == attempt_id, Attempt.user_id == current_user.id)
    if with_items:
        stmt = stmt.options(selectinload(Attempt.items).selectinload(AttemptItem.version))
    attempt = db.session.scalar(stmt)
    if attempt is None:
        abort(404)
    return attempt


def my_sittings():
    """Return (sitting, candidate, attempts, window) for the current user, newest first."""
    engine.finalise_overdue_of(current_user)
    db.session.commit()
    rows = db.session.execute(
        select(Sitting, Candidate)
        .join(Candidate, Candidate.sitting_id == Sitting.id)
        .where(Candidate.user_id == current_user.id)
        .order_by(Sitting.opens_at.desc())
    ).all()
    attempts: dict[int, list] = {}
    for a in db.session.scalars(
        select(Attempt).where(Attempt.user_id == current_user.id).order_by(Attempt.number)
    ):
        attempts.setdefault(a.sitting_id, []).append(a)
    return [(s, c, attempts.get(s.id, []), engine.window(s, c)) for s, c in rows]


@bp.get("/")
@signed_in
def my_exams():
    """List my exams: open now, upcoming and finished."""
    now = utcnow()
    groups = {"open": [], "upcoming": [], "finished": []}
    for sitting, candidate, attempts, (opens, closes) in my_sittings():
        in_progress = any(a.state == AttemptState.IN_PROGRESS for a in attempts)
        can_start = rules.can_start(
            now, opens, closes, len(attempts), sitting.attempts_allowed, in_progress
        ).allowed
        entry = {
            "sitting": sitting,
            "attempts": attempts,
            "opens": opens,
            "closes": closes,
            "can_start": can_start,
            "in_progress": in_progress,
            "extra": candidate.extra_minutes,
        }
        if in_progress or can_start:
            groups["open"].append(entry)
        elif now < opens:
            groups["upcoming"].append(entry)
        else:
            groups["finished"].append(entry)
    return render_template("exams/my_exams.html", groups=groups, now=now)


@bp.post("/sittings/<id:sitting_id>/start")
@signed_in
def start(sitting_id: int):
    """Start (or resume) my attempt at a sitting."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    if engine.candidate_of(sitting, current_user) is None:
        abort(404)
    open_attempt = db.session.scalar(
        select(Attempt).where(
            Attempt.sitting_id == sitting.id,
            Attempt.user_id == current_user.id,
            Attempt.state == AttemptState.IN_PROGRESS,
        )
    )
    if open_attempt is not None and not engine.finalise_if_overdue(open_attempt):
        return redirect(url_for("exam.attempt", attempt_id=open_attempt.id))
    try:
        attempt = engine.start(sitting, current_user)
        db.session.commit()
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.messages[0], "error")
        return redirect(url_for("exam.my_exams"))
    except IntegrityError:
        # Another request started the same attempt a moment earlier: continue that one.
        db.session.rollback()
        attempt = db.session.scalar(
            select(Attempt).where(
                Attempt.sitting_id == sitting.id,
                Attempt.user_id == current_user.id,
                Attempt.state == AttemptState.IN_PROGRESS,
            )
        ) or abort(409)
    return redirect(url_for("exam.attempt", attempt_id=attempt.id))


@bp.get("/attempts/<id:attempt_id>")
@signed_in
def attempt(attempt_id: int):
    """Show the exam page; a finished attempt goes to its result."""
    attempt = own_attempt(attempt_id)
    if engine.finalise_if_overdue(attempt):
        db.session.commit()
        flash(_("Time is up. Your saved answers were submitted."), "info")
    if attempt.state == AttemptState.FINISHED:
        return redirect(url_for("exam.result", attempt_id=attempt.id))
    return render_template(
        "exams/attempt.html",
        attempt=attempt,
        heads=section_heads(attempt),
        seconds_left=rules.seconds_left(utcnow(), attempt.deadline_at),
    )


def section_heads(attempt: Attempt) -> dict[int, str]:
    """Return each section's heading as on the paper, numbered in the order shown.

    e.g. 一、单项选择题（本题共20小题，每小题1分，共20分）
    """
    counts: dict[int, list] = {}
    for item in attempt.items:
        entry = counts.setdefault(item.section, [item.version.qtype, 0, item.points])
        entry[1] += 1
    return {
        section: section_heading(n, qtype, count, points)
        for n, (section, (qtype, count, points)) in enumerate(counts.items(), start=1)
    }


def section_heading(n: int, qtype: str, count: int, points) -> str:
    """Return 一、单项选择题（本题共20小题，每小题1分，共20分）, as on the printed paper."""
    return printing.section_heading(n, qtype, count, points)


def _error(reason: str, status: int):
    messages = {
        "finished": _("This attempt has already been submitted."),
        "time_over": _("Time is up: answers can no longer be changed."),
        "stale": _(
            "A newer save came from another window or device. Reload this page to see "
            "the latest answers."
        ),
    }
    return jsonify(ok=False, reason=reason, message=messages.get(reason, reason)), status


@bp.post("/attempts/<id:attempt_id>/save")
@signed_in
def save(attempt_id: int):
    """Save answers (JSON): {seq, answers: {item: answer}, flags: {item: bool}}."""
    attempt = own_attempt(attempt_id, with_items=False)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("seq"), int):
        return jsonify(
            ok=False, reason="bad_request", message=_("The save could not be read.")
        ), 400
    if not isinstance(data.get("answers", {}), dict) or not isinstance(data.get("flags", {}), dict):
        return jsonify(
            ok=False, reason="bad_request", message=_("The save could not be read.")
        ), 400
    try:
        result = engine.save(
            attempt, data["seq"], data.get("answers") or {}, data.get("flags") or {}
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return jsonify(ok=False, reason="bad_request", message=exc.messages[0]), 400
    # Read before the commit expires them (no reload needed).
    seq, saved_at, deadline_at = attempt.seq, attempt.last_saved_at, attempt.deadline_at
    db.session.commit()
    if not result.accepted:
        return _error(result.reason, 409)
    return jsonify(
        ok=True,
        seq=seq,
        saved_at=saved_at.isoformat(),
        saved_at_local=datetime_filter(saved_at, "HH:mm:ss"),
        seconds_left=rules.seconds_left(utcnow(), deadline_at),
    )


@bp.post("/attempts/<id:attempt_id>/submit")
@signed_in
def submit(attempt_id: int):
    """Finish the attempt; a second submit changes nothing and shows the result."""
    attempt = own_attempt(attempt_id)
    if engine.finalise(attempt, "submitted"):
        flash(_("Your answers were submitted."), "success")
    db.session.commit()
    return redirect(url_for("exam.result", attempt_id=attempt.id))


@bp.get("/attempts/<id:attempt_id>/result")
@signed_in
def result(attempt_id: int):
    """Show the result as the paper's review policy allows."""
    attempt = own_attempt(attempt_id)
    if attempt.state != AttemptState.FINISHED:
        return redirect(url_for("exam.attempt", attempt_id=attempt.id))
    paper = attempt.sitting.paper
    _opens, closes = engine.window(
        attempt.sitting, engine.candidate_of(attempt.sitting, current_user)
    )
    review = rules.review_allowed(paper.review_policy.value, True, utcnow(), closes)
    return render_template(
        "exams/result.html",
        attempt=attempt,
        paper=paper,
        review=review,
        heads=section_heads(attempt),
        closes=closes,
    )
