"""Trainers' typing pages: the passage library, the typing tests' rules, held results."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from exams.models import Sitting
from exams.typing import audio, engine, library
from exams.typing.forms import MAX_AUDIO_BYTES, PassageForm, ReviewForm, TypingTestForm
from exams.typing.models import (
    Passage,
    PassageKind,
    PassagePurpose,
    TypingAttempt,
    TypingReview,
    TypingTest,
)
from exams.typing.review import REASON_LABELS, evidence_rows, timeline
from lms.accounts.access import blueprint_roles
from lms.accounts.models import Role, User
from lms.accounts.services import ValidationFailed
from lms.extensions import db

bp = Blueprint("typing_staff", __name__, url_prefix="/exams/typing")
blueprint_roles(bp, Role.TRAINER, Role.ADMIN)


# --- passages ------------------------------------------------------------------------------


@bp.get("/passages")
def passages():
    """List the passages with their length and mix, filtered by kind, use and state."""
    kind = request.args.get("kind", "")
    purpose = request.args.get("purpose", "")
    state = request.args.get("state", "active")
    stmt = select(Passage).order_by(Passage.kind, Passage.purpose, Passage.id)
    if kind in PassageKind._value2member_map_:
        stmt = stmt.where(Passage.kind == PassageKind(kind))
    if purpose in PassagePurpose._value2member_map_:
        stmt = stmt.where(Passage.purpose == PassagePurpose(purpose))
    if state == "active":
        stmt = stmt.where(Passage.active.is_(True))
    elif state == "archived":
        stmt = stmt.where(Passage.active.is_(False))
    rows = [(p, library.passage_mix(p.text)) for p in db.session.scalars(stmt)]
    return render_template(
        "exams/typing/staff/passages.html",
        rows=rows,
        used=library.used_passage_ids(),
        kind=kind,
        purpose=purpose,
        state=state,
        PassageKind=PassageKind,
        PassagePurpose=PassagePurpose,
    )


def _recording(form: PassageForm) -> tuple[bytes | None, bool]:
    """Return (the uploaded recording or None, whether it was acceptable)."""
    upload = form.audio.data
    if upload is None or not getattr(upload, "filename", ""):
        return None, True
    data = upload.read(MAX_AUDIO_BYTES + 1)
    if len(data) > MAX_AUDIO_BYTES:
        form.audio.errors = [_("The recording is too large: at most 10 MB.")]
        return None, False
    if audio.sniff(data) is None:
        form.audio.errors = [
            _("This file is not a recording we can play: upload OGG, MP3, WAV, M4A or WebM.")
        ]
        return None, False
    return data, True


def _passage_input(form: PassageForm, passage: Passage | None) -> library.PassageInput | None:
    """Validate the form (and the upload); return the input, or None with errors set."""
    valid = form.validate_on_submit()
    recording, ok = _recording(form) if request.method == "POST" else (None, True)
    if not (valid and ok):
        return None
    kind = PassageKind(form.kind.data)
    has_recording = recording is not None or bool(passage and passage.audio_file)
    if kind == PassageKind.LISTEN and not has_recording:
        form.audio.errors = [_("A listen-and-type item needs its recording.")]
        return None
    return library.PassageInput(
        title=form.title.data.strip(),
        kind=kind,
        purpose=PassagePurpose(form.purpose.data),
        text=form.text.data,
        max_plays=form.max_plays.number,
        recording=recording,
    )


@bp.route("/passages/new", methods=["GET", "POST"])
def passage_new():
    """Add a passage, or a listen-and-type item with its recording and transcript."""
    form = PassageForm()
    data = _passage_input(form, None)
    if data is not None:
        passage = library.create_passage(data, current_user)
        flash(_("Passage saved."), "success")
        return redirect(url_for("typing_staff.passage", passage_id=passage.id))
    return _passage_page(form, None)


@bp.route("/passages/<id:passage_id>", methods=["GET", "POST"])
def passage(passage_id: int):
    """Edit a passage; a used one gets a new passage when what is typed changes."""
    passage = db.session.get(Passage, passage_id) or abort(404)
    form = PassageForm(obj=passage)
    if request.method == "GET":
        form.kind.data, form.purpose.data = passage.kind.value, passage.purpose.value
        form.max_plays.data = str(passage.max_plays)
    data = _passage_input(form, passage)
    if data is not None:
        saved = library.update_passage(passage, data, current_user)
        if saved is passage:
            flash(_("Passage saved."), "success")
        else:
            flash(
                _(
                    "Candidates have typed this passage already, so it was not changed: "
                    "the new text is a new passage, and the old one is archived."
                ),
                "success",
            )
        return redirect(url_for("typing_staff.passage", passage_id=saved.id))
    return _passage_page(form, passage)


def _passage_page(form: PassageForm, passage: Passage | None):
    in_use = passage is not None and library.passage_in_use(passage)
    mix = library.passage_mix(passage.text) if passage else None
    return render_template(
        "exams/typing/staff/passage_form.html", form=form, passage=passage, in_use=in_use, mix=mix
    ), (422 if form.errors else 200)


@bp.post("/passages/<id:passage_id>/archive")
def passage_archive(passage_id: int):
    """Archive a passage: it is never drawn again (attempts keep it)."""
    passage = db.session.get(Passage, passage_id) or abort(404)
    library.set_active(passage, False)
    flash(_("Passage archived."), "success")
    return redirect(url_for("typing_staff.passage", passage_id=passage.id))


@bp.post("/passages/<id:passage_id>/restore")
def passage_restore(passage_id: int):
    """Restore an archived passage to the pool."""
    passage = db.session.get(Passage, passage_id) or abort(404)
    library.set_active(passage, True)
    flash(_("Passage restored."), "success")
    return redirect(url_for("typing_staff.passage", passage_id=passage.id))


@bp.get("/passages/<id:passage_id>/audio")
def passage_audio(passage_id: int):
    """Play a listen-and-type item's recording to staff."""
    passage = db.session.get(Passage, passage_id) or abort(404)
    return audio.response(passage, cache_control="private, no-store")


# --- typing tests ----------------------------------------------------------------------------


@bp.get("/tests")
def tests():
    """List the typing tests with their rules."""
    rows = db.session.scalars(select(TypingTest).order_by(TypingTest.id.desc())).all()
    return render_template("exams/typing/staff/tests.html", tests=rows)


@bp.route("/tests/new", methods=["GET", "POST"])
def test_new():
    """Create a typing test with the default rules filled in."""
    return _test_page(None)


@bp.route("/tests/<id:test_id>", methods=["GET", "POST"])
def test_edit(test_id: int):
    """Edit a typing test (its rules are fixed once a candidate has started it)."""
    return _test_page(db.session.get(TypingTest, test_id) or abort(404))


def _test_page(test: TypingTest | None):
    form = TypingTestForm()
    in_use = test is not None and library.typing_test_in_use(test)
    if test is not None and (request.method == "GET" or in_use):
        # In use, the rule fields are disabled: a browser sends none of them, and those not
        # sent are the test's own (one posted all the same is checked, and refused).
        posted = request.form if request.method == "POST" else {}
        if request.method == "GET":
            form.title.data = test.title
        if "kind" not in posted:
            form.kind.data = test.kind.value
        for name in engine.DEFAULT_RULES:
            value = getattr(test, name)
            if name not in posted:
                getattr(form, name).data = value if name == "whole_passage" else _plain(value)
        if in_use:
            for name in ("kind", *engine.DEFAULT_RULES):
                getattr(form, name).render_kw = {
                    **(getattr(form, name).render_kw or {}),
                    "disabled": True,
                }
    if form.validate_on_submit():
        try:
            saved = library.save_test(
                test,
                form.title.data.strip(),
                PassageKind(form.kind.data),
                form.rules(),
                current_user,
            )
        except ValueError:
            db.session.rollback()
            form.form_errors.append(
                _(
                    "Candidates have started this typing test, so its rules can no longer "
                    "change. Create a new typing test for the next sitting."
                )
            )
        else:
            flash(_("Typing test saved."), "success")
            return redirect(url_for("typing_staff.test_edit", test_id=saved.id))
    return render_template(
        "exams/typing/staff/test_form.html", form=form, test=test, in_use=in_use
    ), (422 if form.errors or form.form_errors else 200)


def _plain(value) -> str:
    """Return a number as typed in the form (95.00 → 95, 0.50 → 0.5)."""
    text = str(value)
    return text.rstrip("0").rstrip(".") if "." in text else text


# --- held results ----------------------------------------------------------------------------


@bp.get("/reviews")
def reviews():
    """List the typing results held for a review, with their reasons."""
    held = library.held_attempts()
    sittings = {
        s.id: s
        for s in db.session.scalars(
            select(Sitting).where(Sitting.id.in_({a.sitting_id for a in held if a.sitting_id}))
        )
    }
    return render_template(
        "exams/typing/staff/reviews.html", held=held, sittings=sittings, reasons=REASON_LABELS
    )


@bp.route("/reviews/<id:attempt_id>", methods=["GET", "POST"])
def review(attempt_id: int):
    """Show a held result's evidence and timeline; confirm its score or void it."""
    attempt = db.session.get(TypingAttempt, attempt_id) or abort(404)
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            engine.decide(
                attempt, current_user, form.decision.data == "confirm", form.comment.data.strip()
            )
        except ValidationFailed as exc:
            db.session.rollback()
            form.form_errors.extend(exc.messages)
        else:
            flash(_("Decision saved."), "success")
            return redirect(url_for("typing_staff.reviews"))
    status = 200
    if form.errors or form.form_errors:
        status = 409 if attempt.review != TypingReview.HELD else 422
    sitting = db.session.get(Sitting, attempt.sitting_id) if attempt.sitting_id else None
    return render_template(
        "exams/typing/staff/review.html",
        attempt=attempt,
        sitting=sitting,
        form=form,
        reasons=REASON_LABELS,
        evidence=evidence_rows(attempt.evidence),
        points=timeline(attempt),
        attempt_reviewer=reviewer_name(attempt),
    ), status


def reviewer_name(attempt: TypingAttempt) -> str:
    """Return who decided a held result (their name, else their username; "" if nobody)."""
    if attempt.reviewed_by_id is None:
        return ""
    user = db.session.get(User, attempt.reviewed_by_id)
    return (user.full_name or user.username) if user else ""
