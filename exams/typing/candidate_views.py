"""The candidate's typing pages: start, the typing page, snapshots, finishing, the result,
practice, and the recording of a listen-and-type item."""

import functools
import json
import secrets
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from exams import engine as exam_engine
from exams import results, rules
from exams.candidate_views import UNSTORABLE
from exams.models import Candidate, Sitting
from exams.typing import audio as audio_store
from exams.typing import engine, scoring
from exams.typing.models import (
    PassageKind,
    PassagePurpose,
    TypingAttempt,
    TypingReview,
    TypingState,
    TypingTest,
)
from lms.accounts.access import require_signed_in, session_checked_in_view, signed_in
from lms.accounts.services import ValidationFailed
from lms.errors import wants_json
from lms.extensions import db
from lms.i18n import datetime_filter
from lms.timeutil import utcnow

bp = Blueprint("typing", __name__, url_prefix="/exam/typing")

#: How long after a counted play its recording is served (its ranges, a short pause).
PLAY_WINDOW = timedelta(minutes=5)
#: Snapshots closer together than this are refused (429): the page sends one every 5 s.
SNAPSHOT_MIN_INTERVAL = timedelta(milliseconds=500)
#: A snapshot carries the whole text (at most the scorer's limit) and a few counters.
MAX_SNAPSHOT_BYTES = 200_000
#: The page's counters kept as evidence: names and how large a value may be.
EVIDENCE_FIELDS = {
    "keys": 10**7,
    "compositions": 10**7,
    "deletions": 10**7,
    "pastes": 10**6,
    "longest_commit": 10**5,
    "idle_ms": 10**9,
    "key_gap_mean_ms": 10**7,
    "key_gap_sd_ms": 10**7,
}


def own_attempt(attempt_id: int) -> TypingAttempt:
    """Return the current user's typing attempt; anyone else's does not exist for them."""
    attempt = db.session.scalar(
        select(TypingAttempt)
        .where(TypingAttempt.id == attempt_id, TypingAttempt.user_id == current_user.id)
        .options(joinedload(TypingAttempt.passage))  # every page of an attempt shows it
    )
    if attempt is None:
        abort(404)
    return attempt


@bp.post("/sittings/<id:sitting_id>/start")
@signed_in
def start(sitting_id: int):
    """Start (or continue) my typing test of a sitting."""
    sitting = engine.sitting_for_start(sitting_id) or abort(404)
    candidate = exam_engine.candidate_of(sitting, current_user)
    if candidate is None or sitting.typing_test_id is None:
        abort(404)
    now = utcnow()
    attempts = engine.attempts_for_start(current_user.id, sitting.id)
    current = engine.current_of_sitting(attempts, sitting.id, now)
    if current is not None:
        return redirect(url_for("typing.attempt", attempt_id=current.id))
    try:
        attempt = engine.start(sitting, current_user, candidate, now=now, attempts=attempts)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.messages[0], "error")
        return redirect(url_for("exam.my_exams"))
    except IntegrityError:  # a double click: the other request started it
        db.session.rollback()
        attempt = engine.open_attempt_of(current_user.id) or abort(409)
    return redirect(url_for("typing.attempt", attempt_id=attempt.id))


@bp.get("/attempts/<id:attempt_id>")
@signed_in
def attempt(attempt_id: int):
    """Show the typing page; a finished attempt goes to its result."""
    attempt = own_attempt(attempt_id)
    engine.deliver(attempt)
    if attempt.state == TypingState.IN_PROGRESS and utcnow() > attempt.deadline_at + engine.GRACE:
        engine.finish(attempt)
    if attempt.state == TypingState.FINISHED:
        return redirect(url_for("typing.result", attempt_id=attempt.id))
    now = utcnow()
    return render_template(
        "exams/typing/attempt.html",
        attempt=attempt,
        passage=attempt.passage,
        listen=attempt.passage.kind == PassageKind.LISTEN,
        ms_left=rules.ms_left(now, attempt.deadline_at),
        seconds_left=rules.seconds_left(now, attempt.deadline_at),
        elapsed_ms=int((now - attempt.started_at).total_seconds() * 1000),
        equivalents=scoring.EQUIVALENT,
        passage_spans=passage_spans(attempt.target),
        # The page waits this long between two snapshots (the server refuses closer ones).
        min_gap_ms=int(SNAPSHOT_MIN_INTERVAL.total_seconds() * 1000) + 100,
    )


@functools.lru_cache(maxsize=32)
def passage_spans(target: str) -> Markup:
    """Return the passage as the page marks it, a span per character and <br> per line break;
    cached: a whole centre opens the same few (long) targets at once."""
    marked = "".join("<br>" if ch == "\n" else f"<span>{escape(ch)}</span>" for ch in target)
    return Markup(marked)  # noqa: S704 (every character of the passage is escaped above)


def errors_in_place(steps) -> Markup:
    """Return the typed text with each error marked, as the result page shows it: a wrong
    character with what it should be, a missing one, an extra one; the rest as typed.

    Built here rather than in the template: a result has a step per character (thousands
    in a ten-minute test), and a run of right characters is escaped at once.
    """
    titles = {
        "missing": escape(_("missing")),
        "extra": escape(_("extra")),
    }
    should_be = escape(_("should be %(c)s"))
    out, right = [], []
    for step in steps:
        if step.op == scoring.Op.OK:
            right.append(step.typed)
            continue
        if right:
            out.append(escape("".join(right)))
            right = []
        if step.op == scoring.Op.WRONG:
            title = should_be % {"c": step.expected}
            out.append(Markup('<span class="wrong" title="{}">{}</span>').format(title, step.typed))
        elif step.op == scoring.Op.MISSING:
            out.append(
                Markup('<span class="missing" title="{}">{}</span>').format(
                    titles["missing"], step.expected
                )
            )
        else:
            out.append(
                Markup('<span class="extra" title="{}">{}</span>').format(
                    titles["extra"], step.typed
                )
            )
    if right:
        out.append(escape("".join(right)))
    return Markup("").join(out)


class BadSnapshot(ValueError):
    """Raise when a snapshot's body is not what the typing page sends."""


def parse_snapshot(raw: bytes | None) -> tuple[dict | None, str]:
    """Return ({seq, text, client_ms, evidence}, "") from a snapshot's JSON, or (None, why):
    "unreadable", "seq", "too_long" or "unstorable". Needs no app: the snapshot's fast path
    (exams.typing.fast_snapshot) reads it before any request context exists."""
    if not raw or len(raw) > MAX_SNAPSHOT_BYTES:
        return None, "unreadable"
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        return None, "unreadable"
    if not isinstance(data, dict):
        return None, "unreadable"
    seq, text, client_ms = data.get("seq"), data.get("text"), data.get("client_ms")
    if type(seq) is not int or not 1 <= seq <= 2**31 - 1:
        return None, "seq"
    if not isinstance(text, str) or len(text) > engine.MAX_TEXT:
        return None, "too_long"
    if UNSTORABLE.search(text):
        return None, "unstorable"
    if type(client_ms) is not int or not 0 <= client_ms < 2**31:
        return None, "unreadable"
    evidence = parse_evidence(data.get("evidence"))
    if evidence is None:
        return None, "unreadable"
    return {"seq": seq, "text": text, "client_ms": client_ms, "evidence": evidence}, ""


def read_snapshot(raw: bytes | None) -> dict:
    """Return {seq, text, client_ms, evidence} from a snapshot's JSON, or raise BadSnapshot."""
    data, why = parse_snapshot(raw)
    if data is not None:
        return data
    if why == "seq":
        raise BadSnapshot(_("The snapshot's sequence number must be a whole number from 1."))
    if why == "too_long":
        raise BadSnapshot(_("The typed text must be at most %(n)d characters.", n=engine.MAX_TEXT))
    if why == "unstorable":
        raise BadSnapshot(_("The typed text contains a character that cannot be stored."))
    raise BadSnapshot(_("The typed text could not be read."))


def parse_evidence(raw) -> dict | None:
    """Return the known counters of the page's evidence, each a sane non-negative number
    (None: not what the page sends)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        return None
    out = {}
    for name, limit in EVIDENCE_FIELDS.items():
        value = raw.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
            return None
        out[name] = min(max(value, 0), limit)
    return out


def _refused(reason: str, status: int = 409):
    messages = {
        "finished": _("This typing test has already finished."),
        "time_over": _("Time is up: the text can no longer be changed."),
        "stale": _(
            "A newer text came from another window or device. Reload this page to continue."
        ),
        "not_started": _("Reload the page to start the typing test."),
    }
    return jsonify(ok=False, reason=reason, message=messages.get(reason, reason)), status


@bp.post("/attempts/<id:attempt_id>/snapshot")
@session_checked_in_view
def snapshot(attempt_id: int):
    """Keep the typed text: {seq, text, client_ms, evidence}; the same one again is acked.

    The heaviest traffic of the app: the sign-in is checked in the statement that reads the
    attempt; only when that finds nothing are the usual checks run, to answer as they do.
    """
    now = utcnow()
    state = engine.snapshot_state(attempt_id, now)
    if state is None:
        refused = require_signed_in()
        if refused is not None:
            return refused
        abort(404)
    try:
        data = read_snapshot(request.get_data(cache=False))
    except BadSnapshot as exc:
        db.session.rollback()
        return jsonify(ok=False, reason="bad_request", message=str(exc)), 400
    last = state.last_snapshot_at
    in_time = state.deadline_at is not None and now <= state.deadline_at + engine.GRACE
    takes = state.state == TypingState.IN_PROGRESS and in_time and data["seq"] > state.seq
    if takes and last is not None and now - last < SNAPSHOT_MIN_INTERVAL:
        # Bounds what one attempt can store (the page's own pace is a snapshot every 5 s).
        resp = jsonify(ok=False, reason="too_soon", message=_("Too many snapshots; wait a moment."))
        return resp, 429, {"Retry-After": "1"}
    result = engine.record(
        state, data["seq"], data["text"], data["client_ms"], data["evidence"], now=now
    )
    if not result.accepted:
        return _refused(result.reason)
    resp = jsonify(
        ok=True,
        seq=max(state.seq, data["seq"]),
        finished=result.finished,
        ms_left=rules.ms_left(now, state.deadline_at),
    )
    resp.headers["Cache-Control"] = "no-store"  # as every signed-in answer (lms.security)
    return resp


@bp.post("/attempts/<id:attempt_id>/finish")
@signed_in
def finish(attempt_id: int):
    """Finish the test with the page's last text (``final``: a snapshot's JSON)."""
    attempt = own_attempt(attempt_id)
    script = wants_json()  # the page's finish: it goes to ``location`` itself
    final = request.form.get("final")
    if final and attempt.state == TypingState.IN_PROGRESS:
        try:
            data = read_snapshot(final.encode())
        except BadSnapshot as exc:
            db.session.rollback()
            if script:
                return jsonify(ok=False, reason="bad_request", message=str(exc)), 400
            flash(str(exc), "error")
            return redirect(url_for("typing.attempt", attempt_id=attempt.id))
        engine.record(attempt, data["seq"], data["text"], data["client_ms"], data["evidence"])
    if engine.finish(attempt):
        flash(_("Your typing test was submitted."), "success")
    location = url_for("typing.result", attempt_id=attempt.id)
    if script:
        resp = jsonify(ok=True, location=location)
        resp.headers["Cache-Control"] = "no-store"
        return resp
    return redirect(location)


@bp.post("/attempts/<id:attempt_id>/play")
@signed_in
def play(attempt_id: int):
    """Count one play of the recording; refuse once the plays allowed are used."""
    attempt = own_attempt(attempt_id)
    passage = attempt.passage
    if passage.kind != PassageKind.LISTEN or attempt.state != TypingState.IN_PROGRESS:
        abort(404)
    token, now = secrets.token_hex(16), utcnow()
    if attempt.deadline_at is None:
        return _refused("not_started")
    if now > attempt.deadline_at:  # no grace: that is for snapshots already on their way
        message = _("Time is up: the recording can no longer be played.")
        return jsonify(ok=False, reason="time_over", message=message), 409
    won = db.session.execute(
        update(TypingAttempt)
        .where(TypingAttempt.id == attempt.id, TypingAttempt.plays_used < passage.max_plays)
        .values(plays_used=TypingAttempt.plays_used + 1, play_token=token, play_started_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    if not won:
        return jsonify(
            ok=False,
            reason="no_plays_left",
            message=ngettext(
                "The recording may be played once.",
                "The recording may be played %(num)d times.",
                passage.max_plays,
            ),
        ), 409
    return jsonify(
        ok=True,
        plays_used=attempt.plays_used,
        plays_left=passage.max_plays - attempt.plays_used,
        token=token,
    )


@bp.get("/attempts/<id:attempt_id>/audio")
@signed_in
def audio(attempt_id: int):
    """Serve the recording to its candidate during the attempt, for the play just counted:
    ``?token=`` of that play, for PLAY_WINDOW after it (the browser fetches it in ranges)."""
    attempt = own_attempt(attempt_id)
    passage = attempt.passage
    token = request.args.get("token", "")
    if (
        passage.kind != PassageKind.LISTEN
        or not passage.audio_file
        or attempt.state != TypingState.IN_PROGRESS
        or not attempt.play_token
        or not secrets.compare_digest(token, attempt.play_token)
        or utcnow() - attempt.play_started_at > PLAY_WINDOW
        or utcnow() > attempt.deadline_at
    ):
        abort(404)
    return audio_store.response(passage)


@bp.get("/attempts/<id:attempt_id>/result")
@signed_in
def result(attempt_id: int):
    """Show the result: figures, errors by kind and in place, or why it waits for review."""
    attempt = own_attempt(attempt_id)
    if attempt.state != TypingState.FINISHED:
        return redirect(url_for("typing.attempt", attempt_id=attempt.id))
    scored = scoring.score(
        attempt.target, attempt.text, engine.seconds_used(attempt), engine.rules_of(attempt)
    )
    show_text = attempt.practice or attempt.passage.kind == PassageKind.TEXT
    if not show_text:  # a recording's transcript: not before everyone has sat it
        show_text = transcript_may_show(attempt, utcnow())
    return render_template(
        "exams/typing/result.html",
        attempt=attempt,
        show_text=show_text,
        errors_in_place=errors_in_place(scored.alignment) if show_text else None,
        held=attempt.review == TypingReview.HELD,
        voided=attempt.review == TypingReview.VOIDED,
        seconds_used=int(engine.seconds_used(attempt)),
    )


def transcript_may_show(attempt: TypingAttempt, now) -> bool:
    """Tell whether a recording's transcript may be shown on an exam attempt's result.

    Not before the sitting's last window closes; and, while the item is still in the exam
    pool, not while any sitting of a listen-and-type test is open or still to come (the pool
    is shared by every sitting, so another team could be drawn the same recording).
    """
    if now < results.last_close(db.session.get(Sitting, attempt.sitting_id)):
        return False
    passage = attempt.passage
    if not passage.active or passage.purpose != PassagePurpose.EXAM:
        return True
    personal = exists().where(Candidate.sitting_id == Sitting.id, Candidate.closes_at > now)
    still_open = (
        select(Sitting.id)
        .join(TypingTest, Sitting.typing_test_id == TypingTest.id)
        .where(TypingTest.kind == PassageKind.LISTEN, or_(Sitting.closes_at > now, personal))
        .limit(1)
    )
    return db.session.scalar(still_open) is None


@bp.get("/practice")
@signed_in
def practice():
    """Practice: start a run on a practice passage, and my progress so far."""
    runs = list(
        db.session.scalars(
            select(TypingAttempt)
            .where(TypingAttempt.user_id == current_user.id, TypingAttempt.practice.is_(True))
            .order_by(TypingAttempt.created_at.desc())
            .limit(50)
        )
    )
    test = examining_test(current_user.id, utcnow())
    pass_speed = test.pass_speed if test else engine.DEFAULT_RULES["pass_speed"]
    min_accuracy = test.min_accuracy if test else engine.DEFAULT_RULES["min_accuracy"]
    return render_template(
        "exams/typing/practice.html",
        runs=runs,
        kinds=list(PassageKind),
        points=chart_points(runs, pass_speed, min_accuracy),
        pass_speed=pass_speed,
    )


def examining_test(user_id: int, now) -> TypingTest | None:
    """Return the typing test the user will be examined with: that of their next sitting with
    one (open now, or the first to open), else of their most recent; None when they have none.
    """
    rows = db.session.execute(
        select(Sitting, Candidate, TypingTest)
        .join(Candidate, Candidate.sitting_id == Sitting.id)
        .join(TypingTest, TypingTest.id == Sitting.typing_test_id)
        .where(Candidate.user_id == user_id)
        .order_by(Sitting.opens_at, Sitting.id)
    ).all()
    coming = [test for sitting, cand, test in rows if now < results.window(sitting, cand)[1]]
    if coming:
        return coming[0]
    return rows[-1][2] if rows else None


def chart_points(runs: list[TypingAttempt], pass_speed, min_accuracy) -> list[tuple]:
    """Return (date, net speed, reached) of the scored runs, oldest first, for the chart:
    ``reached`` tells whether the run would pass the exam (practice is scored with the
    default rules, the exam's may be stricter)."""
    return [
        (
            datetime_filter(r.finished_at, "MM-dd"),
            float(r.net_speed),
            r.accuracy is not None and r.net_speed >= pass_speed and r.accuracy >= min_accuracy,
        )
        for r in reversed(runs)
        if r.scored and r.finished_at is not None and r.net_speed is not None
    ]


@bp.post("/practice/start")
@signed_in
def start_practice():
    """Start a practice run (never counted)."""
    try:
        kind = PassageKind(request.form.get("kind", "text"))
    except ValueError:
        kind = PassageKind.TEXT
    current = engine.open_attempt_of(current_user.id)
    if current is not None and current.practice:
        return redirect(url_for("typing.attempt", attempt_id=current.id))
    try:
        attempt = engine.start_practice(current_user, kind)
    except ValidationFailed as exc:
        db.session.rollback()
        flash(exc.messages[0], "error")
        return redirect(url_for("typing.practice"))
    except IntegrityError:  # another start of mine ran at the same moment and won
        db.session.rollback()
        attempt = engine.open_attempt_of(current_user.id) or abort(409)
    return redirect(url_for("typing.attempt", attempt_id=attempt.id))


#: The worked example on the rules page: a passage, what was typed, and the time used.
EXAMPLE = ("您好，请问有什么可以帮您？", "您好，请问有甚么可以帮您", 60)


@bp.get("/rules")
@signed_in
def rules_page():
    """Explain how speed and accuracy are counted, with an example the scorer computes."""
    passage, typed, seconds = EXAMPLE
    example = scoring.score(passage, typed, seconds, scoring.TypingRules(duration_minutes=None))
    return render_template(
        "exams/typing/rules.html",
        example=example,
        passage=passage,
        typed=typed,
        seconds=seconds,
        min_seconds=scoring.MIN_SECONDS,
        defaults=engine.DEFAULT_RULES,
    )
