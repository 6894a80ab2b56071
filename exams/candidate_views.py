"""The candidate's pages: my exams, the exam page, saving, submitting, the result."""

import json
import re

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from exams import engine, printing, results, rules
from exams.models import (
    Attempt,
    AttemptItem,
    AttemptState,
    Candidate,
    FinishReason,
    Paper,
    PaperSection,
    Sitting,
)
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
    """Return (sitting, candidate, attempts, window) for the current user, newest first;
    ``attempts`` are {"paper": [...], "typing": [...]}, each in order."""
    from exams.typing import engine as typing_engine
    from exams.typing.models import TypingAttempt

    engine.finalise_overdue_of(current_user)
    typing_engine.finalise_overdue_of(current_user.id)
    # The papers' sections come along (full marks): a few statements however many sittings.
    rows = db.session.execute(
        select(Sitting, Candidate)
        .join(Candidate, Candidate.sitting_id == Sitting.id)
        .where(Candidate.user_id == current_user.id)
        .order_by(Sitting.opens_at.desc())
        .options(
            selectinload(Sitting.paper)
            .selectinload(Paper.sections)
            .selectinload(PaperSection.items),
            selectinload(Sitting.paper)
            .selectinload(Paper.sections)
            .selectinload(PaperSection.rules),
            selectinload(Sitting.typing_test),
        )
    ).all()
    attempts: dict[int, dict] = {}
    for a in db.session.scalars(
        select(Attempt).where(Attempt.user_id == current_user.id).order_by(Attempt.number)
    ):
        attempts.setdefault(a.sitting_id, {"paper": [], "typing": []})["paper"].append(a)
    for t in db.session.scalars(
        select(TypingAttempt)
        .where(TypingAttempt.user_id == current_user.id, TypingAttempt.sitting_id.is_not(None))
        .order_by(TypingAttempt.number)
    ):
        attempts.setdefault(t.sitting_id, {"paper": [], "typing": []})["typing"].append(t)
    empty = {"paper": [], "typing": []}
    return [(s, c, attempts.get(s.id, empty), engine.window(s, c)) for s, c in rows]


@bp.get("/")
@signed_in
def my_exams():
    """List my exams, each with its parts (paper, typing test): open, upcoming, finished."""
    now = utcnow()
    groups = {"open": [], "upcoming": [], "finished": []}
    for sitting, candidate, attempts, (opens, closes) in my_sittings():
        parts = []
        if sitting.paper is not None:
            parts.append(_part("paper", sitting, attempts["paper"], opens, closes, now))
        if sitting.typing_test is not None:
            parts.append(_part("typing", sitting, attempts["typing"], opens, closes, now))
        entry = {
            "sitting": sitting,
            "candidate": candidate,
            "parts": parts,
            "opens": opens,
            "closes": closes,
            "extra": candidate.extra_minutes,
        }
        if any(p["in_progress"] or p["can_start"] for p in parts):
            groups["open"].append(entry)
        elif now < opens:
            groups["upcoming"].append(entry)
        else:
            groups["finished"].append(entry)
    return render_template("exams/my_exams.html", groups=groups, now=now)


def _part(kind: str, sitting, attempts: list, opens, closes, now) -> dict:
    """Return one part of a sitting as "my exams" shows it: its attempts and what I may do."""
    counted = [a for a in attempts if getattr(a, "review", None) != "voided"]
    open_ = [a for a in attempts if a.state.value == "in_progress"]
    # Past its deadline an open attempt cannot be answered any more (a closed tab):
    # it is shown as finished, and no button offers to continue it.
    in_progress = any(a.deadline_at is None or a.deadline_at > now for a in open_)
    can_start = rules.can_start(
        now, opens, closes, len(counted), sitting.attempts_allowed, bool(open_)
    ).allowed
    return {"kind": kind, "attempts": attempts, "in_progress": in_progress, "can_start": can_start}


@bp.post("/sittings/<id:sitting_id>/start")
@signed_in
def start(sitting_id: int):
    """Start (or resume) my attempt at a sitting."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    candidate = engine.candidate_of(sitting, current_user)
    if candidate is None:
        abort(404)
    open_attempt = _open_attempt(sitting)
    if open_attempt is not None and not engine.finalise_if_overdue(open_attempt):
        return redirect(url_for("exam.attempt", attempt_id=open_attempt.id))
    try:
        attempt = engine.start(sitting, current_user, candidate=candidate)
    except engine.StartRefused as exc:
        # Nothing was written but the finalisation of overdue attempts, which stands.
        winner = _open_attempt(sitting) if exc.reason == "open_attempt" else None
        if winner is not None:  # a second click started it a moment earlier
            return redirect(url_for("exam.attempt", attempt_id=winner.id))
        flash(exc.messages[0], "error")
        return redirect(url_for("exam.my_exams"))
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.messages[0], "error")
        return redirect(url_for("exam.my_exams"))
    except IntegrityError:
        # Another request started the same attempt a moment earlier: continue that one.
        db.session.rollback()
        attempt = _open_attempt(sitting) or abort(409)
    return redirect(url_for("exam.attempt", attempt_id=attempt.id))


def _open_attempt(sitting: Sitting) -> Attempt | None:
    """Return my attempt in progress at the sitting, if any."""
    return db.session.scalar(
        select(Attempt).where(
            Attempt.sitting_id == sitting.id,
            Attempt.user_id == current_user.id,
            Attempt.state == AttemptState.IN_PROGRESS,
        )
    )


@bp.get("/attempts/<id:attempt_id>")
@signed_in
def attempt(attempt_id: int):
    """Show the exam page; a finished attempt goes to its result."""
    attempt = own_attempt(attempt_id)
    engine.deliver(attempt)  # the clock starts when this page first goes out
    if engine.finalise_if_overdue(attempt):
        flash(_("Time is up: your answers were submitted automatically."), "info")
    if attempt.state == AttemptState.FINISHED:
        return redirect(url_for("exam.result", attempt_id=attempt.id))
    return render_template(
        "exams/attempt.html",
        attempt=attempt,
        heads=section_heads(attempt),
        seconds_left=rules.seconds_left(utcnow(), attempt.deadline_at),
        ms_left=rules.ms_left(utcnow(), attempt.deadline_at),
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


def _stale_message() -> str:
    return _(
        "A newer save came from another window or device. Reload this page to see "
        "the latest answers."
    )


def _error(reason: str, status: int):
    messages = {
        "finished": _("This attempt has already been submitted."),
        "time_over": _("Time is up: answers can no longer be changed."),
        "stale": _stale_message(),
    }
    return jsonify(ok=False, reason=reason, message=messages.get(reason, reason)), status


#: Largest sequence number a save may carry (the column is a 32-bit integer everywhere).
MAX_SEQ = 2**31 - 1
#: A save is a few kilobytes; nothing legitimate comes near this.
MAX_SAVE_BYTES = 1_000_000
#: {"answers": {"12": ["a", "b"]}} is three levels deep; anything deeper is not an answer.
MAX_DEPTH = 4


#: Characters no answer may hold: NUL (databases refuse it) and lone surrogates (they
#: cannot be written as UTF-8, so every page showing the answer would fail).
UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def _storable(value) -> bool:
    """Tell whether every string in a (shallow, already depth-checked) JSON value can be kept."""
    if isinstance(value, str):
        return not UNSTORABLE.search(value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return True


def _depth(value, limit: int) -> int:
    """Return the nesting depth of a JSON value, stopping once it exceeds ``limit``."""
    if limit < 0:
        return 1
    if isinstance(value, dict):
        return 1 + max((_depth(v, limit - 1) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v, limit - 1) for v in value), default=0)
    return 0


class BadSave(ValueError):
    """Raise when a save's body cannot be what the exam page sends."""


#: The page's writer id: a few random characters, so nothing long or odd is hashed.
WRITER = re.compile(r"[A-Za-z0-9_-]{1,64}")


def read_save(raw: bytes | str | None) -> dict:
    """Return {seq, answers, flags, writer} from a save's JSON, or raise BadSave."""
    if raw is None or len(raw) > MAX_SAVE_BYTES:
        raise BadSave(_("The save could not be read."))
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # deeply nested input overflows the parser
        raise BadSave(_("The save could not be read.")) from exc
    if not isinstance(data, dict) or _depth(data, MAX_DEPTH) > MAX_DEPTH:
        raise BadSave(_("The save could not be read."))
    if not _storable(data):
        raise BadSave(_("An answer contains a character that cannot be stored; remove it."))
    seq = data.get("seq")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        raise BadSave(
            _("The save's sequence number must be a whole number from 1 to %(max)d.", max=MAX_SEQ)
        )
    answers, flags = data.get("answers", {}), data.get("flags", {})
    if not isinstance(answers, dict) or not isinstance(flags, dict):
        raise BadSave(_("The save could not be read."))
    if not all(isinstance(v, bool) for v in flags.values()):
        raise BadSave(_("A question's flag must be true or false."))
    writer = data.get("writer", "")
    if writer != "" and not (isinstance(writer, str) and WRITER.fullmatch(writer)):
        raise BadSave(_("The save could not be read."))
    return {"seq": seq, "answers": answers, "flags": flags, "writer": writer}


def _bad(message: str):
    db.session.rollback()
    return jsonify(ok=False, reason="bad_request", message=message), 400


@bp.post("/attempts/<id:attempt_id>/save")
@signed_in
def save(attempt_id: int):
    """Save answers (JSON): {seq, writer, answers: {item: answer}, flags: {item: bool}}.

    The same save sent again (its response was lost) is answered as saved, unchanged.
    """
    attempt = own_attempt(attempt_id, with_items=False)
    try:
        data = read_save(request.get_data(cache=False))
        result = engine.save(
            attempt, data["seq"], data["answers"], data["flags"], writer=data["writer"]
        )
    except (BadSave, ValidationFailed) as exc:
        return _bad(exc.messages[0] if isinstance(exc, ValidationFailed) else str(exc))
    if not result.accepted:
        return _error(result.reason, 409)
    return jsonify(
        ok=True,
        seq=attempt.seq,
        saved_at=attempt.last_saved_at.isoformat(),
        saved_at_local=datetime_filter(attempt.last_saved_at, "HH:mm:ss"),
        seconds_left=rules.seconds_left(utcnow(), attempt.deadline_at),
        ms_left=rules.ms_left(utcnow(), attempt.deadline_at),
    )


@bp.post("/attempts/<id:attempt_id>/submit")
@signed_in
def submit(attempt_id: int):
    """Finish the attempt; a second submit changes nothing and shows the result.

    The page posts its last answers with the submit (``final``: the save's JSON), so what
    was typed in the last seconds is kept even if the last autosave did not get through;
    ``auto`` says the page submitted because its countdown reached zero.
    """
    attempt = own_attempt(attempt_id)
    final = request.form.get("final")
    if final:
        try:
            data = read_save(final)
            saved = engine.save(
                attempt, data["seq"], data["answers"], data["flags"], writer=data["writer"]
            )
        except (BadSave, ValidationFailed) as exc:
            db.session.rollback()
            flash(exc.messages[0] if isinstance(exc, ValidationFailed) else str(exc), "error")
            return redirect(url_for("exam.attempt", attempt_id=attempt.id))
        if saved.reason == "stale" and request.form.get("auto") != "1":
            # Another window saved newer answers: submitting now would grade those, not
            # what this page shows. Reloading shows them; the candidate decides.
            flash(_stale_message(), "error")
            return redirect(url_for("exam.attempt", attempt_id=attempt.id))
    auto = request.form.get("auto") == "1"
    if engine.finalise(attempt, FinishReason.TIMEOUT if auto else FinishReason.SUBMITTED):
        if attempt.finish_reason == FinishReason.TIMEOUT:
            flash(_("Time is up: your answers were submitted automatically."), "info")
        else:
            flash(_("Your answers were submitted."), "success")
    return redirect(url_for("exam.result", attempt_id=attempt.id))


@bp.get("/attempts/<id:attempt_id>/result")
@signed_in
def result(attempt_id: int):
    """Show the result as the review policy frozen on the attempt allows."""
    attempt = own_attempt(attempt_id)
    if attempt.state != AttemptState.FINISHED:
        return redirect(url_for("exam.attempt", attempt_id=attempt.id))
    return render_template(
        "exams/result.html",
        attempt=attempt,
        review=results.may_review(attempt),
        heads=section_heads(attempt),
        last_close=results.last_close(attempt.sitting),
    )
