"""Trainers' and HR's exam pages: papers, sittings, the live monitor, results, grading."""

import functools
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from exams import engine, rules, services
from exams.models import (
    Attempt,
    AttemptItem,
    AttemptState,
    Candidate,
    DrawRule,
    MultipleChoiceRule,
    Paper,
    PaperSection,
    ResultRule,
    ReviewPolicy,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from exams.typing.models import TypingTest
from lms import audit
from lms.accounts.access import blueprint_roles, roles_required, signed_in
from lms.accounts.models import Role
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.people.models import AgentStatus, Team
from lms.timeutil import utcnow
from question_bank import categories, qtypes
from question_bank.models import QuestionVersion
from question_bank.sanitize import to_text

bp = Blueprint("exams", __name__, url_prefix="/exams")
blueprint_roles(bp, Role.TRAINER, Role.ADMIN)
STAFF_READ = (Role.TRAINER, Role.HR, Role.ADMIN)


def staff_only(view):
    """Let trainers, HR and admins reach ``view``; for anyone else it does not exist (404).

    For pages about one candidate's attempt (and the monitor's data), where a 403 would
    tell an agent that the attempt they guessed exists.
    """

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.has_role(*STAFF_READ):
            abort(404)
        return view(*args, **kwargs)

    return signed_in(wrapper)


def local_datetime(value: str | None) -> datetime | None:
    """Read a datetime-local field as the centre's time; None when blank or malformed."""
    if not value:
        return None
    try:
        naive = datetime.fromisoformat(value.strip().replace(" ", "T"))
    except ValueError:
        return None
    if not 2000 <= naive.year <= 2100:
        return None
    return naive.replace(tzinfo=ZoneInfo(current_app.config["LMS_TIMEZONE"]))


def _flash_errors(exc: ValidationFailed) -> None:
    for m in exc.messages:
        flash(m, "error")


@bp.get("/papers")
def papers():
    """List the papers."""
    rows = db.session.scalars(
        select(Paper).order_by(Paper.id.desc()).options(selectinload(Paper.sections))
    ).all()
    return render_template("exams/papers.html", papers=rows)


@bp.route("/papers/new", methods=["GET", "POST"])
def paper_new():
    """Create a paper's settings; sections come next."""
    error = None
    if request.method == "POST":
        try:
            paper = services.save_paper(None, request.form, current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            error = exc
        else:
            flash(_("Paper created. Now add its sections."), "success")
            return redirect(url_for("exams.paper", paper_id=paper.id))
    return render_template(
        "exams/paper_form.html",
        paper=None,
        error=error,
        form=request.form,
        ReviewPolicy=ReviewPolicy,
        MultipleChoiceRule=MultipleChoiceRule,
    ), (422 if error else 200)


@bp.route("/papers/<id:paper_id>", methods=["GET", "POST"])
def paper(paper_id: int):
    """Edit a paper: settings, sections, fixed questions and draw rules."""
    paper = db.session.get(Paper, paper_id) or abort(404)
    error = None
    if request.method == "POST":
        try:
            services.save_paper(paper, request.form, current_user)
        except ValidationFailed as exc:
            db.session.rollback()
            error = exc
        else:
            flash(_("Paper saved."), "success")
            return redirect(url_for("exams.paper", paper_id=paper.id))
    return render_template(
        "exams/paper.html",
        paper=paper,
        error=error,
        form=request.form if error else None,
        ReviewPolicy=ReviewPolicy,
        MultipleChoiceRule=MultipleChoiceRule,
        qtypes=qtypes.REGISTRY,
        tree=categories.tree(),
        path_label=categories.path_label,
        numeral=rules.section_numeral,
        in_use=services.paper_in_use(paper),
    ), (422 if error else 200)


@bp.post("/papers/<id:paper_id>/copy")
def paper_copy(paper_id: int):
    """Make an editable copy of a paper (one in use cannot change)."""
    paper = db.session.get(Paper, paper_id) or abort(404)
    copy = services.copy_paper(paper, current_user)
    flash(_("Copy created: edit it, then schedule sittings with it."), "success")
    return redirect(url_for("exams.paper", paper_id=copy.id))


@bp.post("/papers/<id:paper_id>/sections")
def section_add(paper_id: int):
    """Add a section."""
    paper = db.session.get(Paper, paper_id) or abort(404)
    try:
        services.add_section(paper, request.form.get("qtype", ""), request.form.get("points", ""))
    except ValidationFailed as exc:
        db.session.rollback()
        _flash_errors(exc)
    return redirect(url_for("exams.paper", paper_id=paper_id))


def _section(section_id: int) -> PaperSection:
    return db.session.get(PaperSection, section_id) or abort(404)


@bp.post("/sections/<id:section_id>/questions")
def section_questions(section_id: int):
    """Add fixed questions to a section by number."""
    section = _section(section_id)
    try:
        n = services.add_questions(section, request.form.get("question_ids", ""))
    except ValidationFailed as exc:
        db.session.rollback()
        _flash_errors(exc)
    else:
        flash(_("%(n)d questions added.", n=n), "success")
    return redirect(url_for("exams.paper", paper_id=section.paper_id) + f"#section-{section.id}")


@bp.post("/sections/<id:section_id>/rules")
def section_rule(section_id: int):
    """Add a random-draw rule to a section."""
    section = _section(section_id)
    try:
        services.add_rule(section, request.form)
    except ValidationFailed as exc:
        db.session.rollback()
        _flash_errors(exc)
    return redirect(url_for("exams.paper", paper_id=section.paper_id) + f"#section-{section.id}")


def _remove_from_paper(obj, paper_id: int, what: dict):
    """Delete a section, fixed question or draw rule of a paper; record who did it."""
    paper = db.session.get(Paper, paper_id)
    try:
        services.ensure_editable(paper)
    except ValidationFailed as exc:
        _flash_errors(exc)
        return redirect(url_for("exams.paper", paper_id=paper_id))
    db.session.delete(obj)
    audit.record("paper.update", paper, summary=paper.title, after={"removed": what})
    return redirect(url_for("exams.paper", paper_id=paper_id))


@bp.post("/sections/<id:section_id>/delete")
def section_delete(section_id: int):
    """Remove a section."""
    section = _section(section_id)
    return _remove_from_paper(section, section.paper_id, {"section": section.qtype})


@bp.post("/section-questions/<id:item_id>/delete")
def section_question_delete(item_id: int):
    """Remove a fixed question from a section."""
    item = db.session.get(SectionQuestion, item_id) or abort(404)
    paper_id = _section(item.section_id).paper_id
    return _remove_from_paper(item, paper_id, {"question": item.question_id})


@bp.post("/rules/<id:rule_id>/delete")
def rule_delete(rule_id: int):
    """Remove a draw rule."""
    rule = db.session.get(DrawRule, rule_id) or abort(404)
    paper_id = _section(rule.section_id).paper_id
    return _remove_from_paper(
        rule, paper_id, {"draw_rule": rule.count, "category": rule.category_id}
    )


@bp.get("/sittings")
@roles_required(*STAFF_READ)
def sittings():
    """List the sittings with their progress."""
    rows = db.session.scalars(select(Sitting).order_by(Sitting.opens_at.desc())).all()
    counts = dict(
        db.session.execute(
            select(Candidate.sitting_id, func.count(Candidate.id)).group_by(Candidate.sitting_id)
        ).all()
    )
    finished = dict(
        db.session.execute(
            select(Attempt.sitting_id, func.count(func.distinct(Attempt.user_id)))
            .where(Attempt.state == AttemptState.FINISHED)
            .group_by(Attempt.sitting_id)
        ).all()
    )
    return render_template(
        "exams/sittings.html", sittings=rows, counts=counts, finished=finished, now=utcnow()
    )


@bp.route("/sittings/new", methods=["GET", "POST"])
def sitting_new():
    """Schedule a sitting: its paper and/or typing test, window, kind and candidates."""
    error = None
    if request.method == "POST":
        try:
            sitting = services.create_sitting(
                request.form,
                current_user,
                local_datetime(request.form.get("opens_at")),
                local_datetime(request.form.get("closes_at")),
            )
        except ValidationFailed as exc:
            db.session.rollback()
            error = exc
        else:
            flash(
                _("Sitting scheduled for %(n)d candidates.", n=len(sitting.candidates)), "success"
            )
            return redirect(url_for("exams.sitting", sitting_id=sitting.id))
    papers_ = db.session.scalars(select(Paper).order_by(Paper.title)).all()
    typing_tests = db.session.scalars(select(TypingTest).order_by(TypingTest.title)).all()
    teams = db.session.scalars(select(Team).order_by(Team.name)).all()
    return render_template(
        "exams/sitting_form.html",
        error=error,
        form=request.form,
        papers=papers_,
        typing_tests=typing_tests,
        teams=teams,
        SittingKind=SittingKind,
        ResultRule=ResultRule,
        AgentStatus=AgentStatus,
    ), (422 if error else 200)


@bp.post("/sittings/<id:sitting_id>/candidates/<id:candidate_id>")
def candidate_override(sitting_id: int, candidate_id: int):
    """Give one candidate extra time or another window."""
    candidate = db.session.get(Candidate, candidate_id)
    if candidate is None or candidate.sitting_id != sitting_id:
        abort(404)
    form = request.form
    try:
        services.set_override(
            candidate,
            form.get("extra_minutes"),
            local_datetime(form.get("opens_at")),
            local_datetime(form.get("closes_at")),
            current_user,
        )
    except ValidationFailed as exc:
        db.session.rollback()
        _flash_errors(exc)
    else:
        flash(_("Saved for %(name)s.", name=candidate.user.full_name), "success")
    return redirect(url_for("exams.sitting", sitting_id=sitting_id))


@bp.post("/sittings/<id:sitting_id>/typing-test")
def sitting_typing_test(sitting_id: int):
    """Attach, switch or remove the sitting's typing test; every result is recomputed."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    try:
        changed = services.set_typing_test(
            sitting, request.form.get("typing_test_id", ""), current_user
        )
    except ValidationFailed as exc:
        db.session.rollback()
        _flash_errors(exc)
    else:
        if changed:
            flash(_("Typing test changed; every candidate's result was recomputed."), "success")
    return redirect(url_for("exams.sitting", sitting_id=sitting_id))


@bp.route("/sittings/<id:sitting_id>/regrade", methods=["GET", "POST"])
def regrade(sitting_id: int):
    """Regrade with the corrected keys: a dry run lists every change before it is applied."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    apply = request.method == "POST"
    plan = engine.regrade(sitting, apply=apply, actor=current_user)
    if apply:
        flash(_("Regraded: %(n)d answers changed.", n=len(plan.changes)), "success")
        return redirect(url_for("exams.results", sitting_id=sitting_id))
    return render_template("exams/regrade.html", sitting=sitting, plan=plan, changes=plan.changes)


#: How much of a question's text the grading pages show.
STEM_EXCERPT = 80


def stem_excerpt(version: QuestionVersion, length: int = STEM_EXCERPT) -> str:
    """Return the start of a question's text, plain (no markup), e.g. for lists and titles."""
    text = to_text(version.stem)
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


@bp.get("/grading")
def grading_queue():
    """List the short answers waiting for a grader, by sitting and question."""
    rows = db.session.execute(
        select(
            Attempt.sitting_id,
            AttemptItem.question_id,
            func.count(AttemptItem.id),
            func.max(AttemptItem.version_id),
        )
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(Attempt.state == AttemptState.FINISHED, AttemptItem.grade_state == "needsgrading")
        .group_by(Attempt.sitting_id, AttemptItem.question_id)
        .order_by(Attempt.sitting_id, AttemptItem.question_id)
    ).all()
    sittings_ = {
        s.id: s
        for s in db.session.scalars(select(Sitting).where(Sitting.id.in_({r[0] for r in rows})))
    }
    # The text the candidates answered (the newest version any of them saw).
    stems = {
        v.id: stem_excerpt(v)
        for v in db.session.scalars(
            select(QuestionVersion).where(QuestionVersion.id.in_({r[3] for r in rows}))
        )
    }
    return render_template("exams/grading_queue.html", rows=rows, sittings=sittings_, stems=stems)


@bp.route("/grading/<id:sitting_id>/<id:question_id>", methods=["GET", "POST"])
def grade_question(sitting_id: int, question_id: int):
    """Grade one question across candidates (optionally without names)."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    items = db.session.scalars(
        select(AttemptItem)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .where(
            Attempt.sitting_id == sitting.id,
            Attempt.state == AttemptState.FINISHED,
            AttemptItem.question_id == question_id,
        )
        .order_by(AttemptItem.grade_state.desc(), AttemptItem.id)
    ).all()
    if not items:
        abort(404)
    # Only the hand-graded versions (a question's type may have changed between versions).
    items = [i for i in items if qtypes.get(i.version.qtype).manual]
    if not items:
        # Choice, true/false and fill-in are graded by their key: a score changes only
        # through a regrade, which shows its dry run first and is audited.
        return render_template(
            "errors/error.html",
            code=400,
            title=_("This question is graded automatically"),
            message=_(
                "Only short answers are graded by hand. To change the scores of this "
                "question, correct its key and regrade the sitting."
            ),
        ), 400
    if request.method == "POST":
        problems, done = [], 0
        for item in items:
            raw = request.form.get(f"score_{item.id}", "").strip()
            if raw == "":
                continue
            try:
                engine.record_manual_grade(
                    item, raw, request.form.get(f"comment_{item.id}", ""), current_user
                )
                done += 1
            except ValidationFailed as exc:
                problems.extend(f"#{item.id}: {m}" for m in exc.messages)
        if problems:
            db.session.rollback()
            for m in problems:
                flash(m, "error")
            flash(_("Nothing was saved."), "error")
        else:
            flash(_("%(n)d grades saved.", n=done), "success")
        return redirect(request.full_path)
    anonymous = request.args.get("anonymous", "1") == "1"
    return render_template(
        "exams/grade_question.html",
        sitting=sitting,
        items=items,
        version=items[0].version,
        excerpt=stem_excerpt(items[0].version, 40),
        anonymous=anonymous,
    )
