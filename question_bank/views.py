"""Authoring pages of the question bank (trainers and administrators)."""

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from lms.accounts.access import blueprint_roles, signed_in
from lms.accounts.models import Role, User
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.web import id_arg, paginate, parse_id, safe_next
from question_bank import categories, images, qtypes, services
from question_bank.forms import input_from_version, read_input
from question_bank.models import Image, Question, QuestionStatus, Tag, question_tags

bp = Blueprint("qb", __name__, url_prefix="/qb")
blueprint_roles(bp, Role.TRAINER, Role.ADMIN)
PER_PAGE = 30


def get_question(question_id: int) -> Question:
    """Return the question or 404."""
    return db.session.get(Question, question_id) or abort(404)


def list_query(args):
    """Return the filtered question query and the filters as understood."""
    f = {
        "category": id_arg("category"),
        "sub": args.get("sub", "1") == "1",
        "qtype": args.get("qtype") if args.get("qtype") in qtypes.REGISTRY else "",
        "difficulty": parse_id(args.get("difficulty"))
        if parse_id(args.get("difficulty")) in range(1, 6)
        else None,
        "tag": args.get("tag", "").strip()[:50],
        "status": args.get("status")
        if args.get("status") in QuestionStatus._value2member_map_
        else "",
        "author": id_arg("author"),
        "q": args.get("q", "").strip()[:200],
    }
    stmt = select(Question).options(
        selectinload(Question.tags),
        selectinload(Question.category),
        selectinload(Question.author),
    )
    if f["category"]:
        ids = categories.descendant_ids(f["category"]) if f["sub"] else [f["category"]]
        stmt = stmt.where(Question.category_id.in_(ids))
    if f["qtype"]:
        stmt = stmt.where(Question.qtype == f["qtype"])
    if f["difficulty"]:
        stmt = stmt.where(Question.difficulty == f["difficulty"])
    if f["status"]:
        stmt = stmt.where(Question.status == QuestionStatus(f["status"]))
    else:
        stmt = stmt.where(Question.status != QuestionStatus.RETIRED)
    if f["author"]:
        stmt = stmt.where(Question.author_id == f["author"])
    if f["tag"]:
        stmt = stmt.where(
            Question.id.in_(
                select(question_tags.c.question_id).join(Tag).where(Tag.name == f["tag"])
            )
        )
    if f["q"]:
        # Substring search works for Chinese without word segmentation.
        like = "%" + f["q"].replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        conds = [
            Question.stem_text.like(like, escape="\\"),
            Question.name.like(like, escape="\\"),
        ]
        if parse_id(f["q"]):
            conds.append(Question.id == parse_id(f["q"]))
        stmt = stmt.where(or_(*conds))
    return stmt.order_by(Question.id.desc()), f


@bp.get("/")
def index():
    """List, filter and search the bank."""
    stmt, f = list_query(request.args)
    page = paginate(stmt, PER_PAGE)
    authors = db.session.execute(
        select(User.id, User.full_name)
        .where(User.id.in_(select(Question.author_id).distinct()))
        .order_by(User.full_name)
    ).all()
    tags = db.session.scalars(select(Tag.name).order_by(Tag.name)).all()
    return render_template(
        "question_bank/index.html",
        page=page,
        f=f,
        tree=categories.tree(),
        authors=authors,
        tags=tags,
        qtypes=qtypes.REGISTRY,
        QuestionStatus=QuestionStatus,
        path_label=categories.path_label,
    )


def _form_page(question, inp, errors, *, preview=False, similar=None, conflict=None, status=200):
    qtype = qtypes.REGISTRY.get(inp.qtype)
    return render_template(
        "question_bank/form.html",
        question=question,
        inp=inp,
        qtype=qtype,
        errors=errors,
        preview=preview,
        similar=similar or [],
        conflict=conflict,
        tree=categories.tree(),
        qtypes=qtypes.REGISTRY,
    ), status


def _save(question):
    """Handle a submitted authoring form: preview, warn of duplicates, or save."""
    inp = read_input(request.form)
    action = request.form.get("action", "save")
    values, errors = services.check(inp)
    if errors:
        return _form_page(question, inp, errors, status=422)
    if action == "preview":
        return _form_page(question, inp, {}, preview=True)
    similar = services.similar_questions(values["stem_text"], question.id if question else None)
    if similar and not request.form.get("confirm_duplicate"):
        return _form_page(question, inp, {}, similar=similar, status=422)
    publish = action == "publish"
    try:
        if question is None:
            question = services.create_question(
                inp,
                current_user,
                QuestionStatus.PUBLISHED if publish else QuestionStatus.DRAFT,
            )
        else:
            services.update_question(
                question, inp, request.form.get("revision", type=int), current_user
            )
            if publish:
                services.set_status(question, QuestionStatus.PUBLISHED, current_user)
    except services.EditConflict as exc:
        db.session.rollback()
        return _form_page(question, inp, {}, conflict=exc.messages[0], status=409)
    except StaleDataError:
        db.session.rollback()
        question = get_question(question.id)
        return _form_page(
            question, inp, {}, conflict=services.EditConflict(question).messages[0], status=409
        )
    except ValidationFailed as exc:
        db.session.rollback()
        return _form_page(
            question, inp, getattr(exc, "by_field", {"body": exc.messages}), status=422
        )
    flash(
        _("Question %(id)d saved (version %(v)d).", id=question.id, v=question.current.number),
        "success",
    )
    return redirect(url_for("qb.show", question_id=question.id))


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Write a new question of the chosen type."""
    if request.method == "POST":
        return _save(None)
    qtype = request.args.get("type") or qtypes.default_key()
    if qtype not in qtypes.REGISTRY:
        abort(404)
    inp = services.QuestionInput(qtype=qtype, category_id=id_arg("category"), stem="", body={})
    return _form_page(None, inp, {})


@bp.route("/<id:question_id>/edit", methods=["GET", "POST"])
def edit(question_id: int):
    """Edit a question; a published one gets a new version."""
    question = get_question(question_id)
    if request.method == "POST":
        return _save(question)
    return _form_page(question, input_from_version(question), {})


@bp.get("/<id:question_id>")
def show(question_id: int):
    """Show a question as the trainee sees it, with its key and metadata."""
    question = get_question(question_id)
    return render_template(
        "question_bank/show.html",
        question=question,
        v=question.current,
        qtype=qtypes.get(question.current.qtype),
        path_label=categories.path_label,
        QuestionStatus=QuestionStatus,
        used=services.is_used(question),
    )


@bp.get("/<id:question_id>/history")
def history(question_id: int):
    """Show every version and what changed from the one before."""
    question = get_question(question_id)
    rows = []
    previous = None
    for v in question.versions:
        rows.append((v, services.version_diff(previous, v)))
        previous = v
    return render_template("question_bank/history.html", question=question, rows=rows[::-1])


@bp.post("/<id:question_id>/status")
def set_status(question_id: int):
    """Publish, retire or return to draft."""
    question = get_question(question_id)
    status = request.form.get("status", "")
    if status not in QuestionStatus._value2member_map_:
        abort(400)
    try:
        services.set_status(question, QuestionStatus(status), current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        for m in exc.messages:
            flash(m, "error")
    else:
        flash(
            _(
                "Question %(id)d is now %(status)s.",
                id=question.id,
                status=QuestionStatus(status).label,
            ),
            "success",
        )
    return redirect(url_for("qb.show", question_id=question.id))


@bp.post("/<id:question_id>/delete")
def delete(question_id: int):
    """Delete a question that was never used."""
    question = get_question(question_id)
    try:
        services.delete_question(question, current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        for m in exc.messages:
            flash(m, "error")
        return redirect(url_for("qb.show", question_id=question_id))
    flash(_("Question %(id)d deleted.", id=question_id), "success")
    return redirect(url_for("qb.index"))


BULK_ACTIONS = ("publish", "retire", "draft", "move", "tag")


@bp.post("/bulk")
def bulk():
    """Apply one action to the selected questions; all of them or none."""
    action = request.form.get("bulk_action", "")
    ids = [i for i in map(parse_id, request.form.getlist("ids")[:1000]) if i]
    back = safe_next(request.form.get("back"), url_for("qb.index"))
    if action not in BULK_ACTIONS:
        flash(_("Choose what to do with the selected questions."), "error")
        return redirect(back)
    if not ids:
        flash(_("Select at least one question."), "error")
        return redirect(back)
    questions = db.session.scalars(select(Question).where(Question.id.in_(ids))).all()
    try:
        value = request.form.get(
            "bulk_value_category" if action == "move" else "bulk_value_tags", ""
        )
        services.bulk_apply(questions, action, value, current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        for m in exc.messages[:20]:
            flash(m, "error")
        flash(_("Nothing was changed."), "error")
        return redirect(back)
    flash(_("%(n)d questions updated.", n=len(questions)), "success")
    return redirect(back)


@bp.post("/similar")
def similar():
    """Return questions whose stem nearly equals the given text (for the editor's warning)."""
    from question_bank.sanitize import rich, to_text

    text = to_text(rich(request.form.get("stem", "")))
    exclude = parse_id(request.form.get("exclude"))
    found = services.similar_questions(text, exclude)
    return jsonify([{"id": i, "stem": s[:120], "score": round(sc, 2)} for i, s, sc in found])


@bp.post("/images")
def upload_image():
    """Store an uploaded image; answer with its URL (JSON) for the editor."""
    upload = request.files.get("image")
    if upload is None:
        return jsonify(error=_("Choose an image file.")), 400
    try:
        image = images.store(upload.read(), current_user)
    except ValidationFailed as exc:
        db.session.rollback()
        return jsonify(error=exc.messages[0]), 400
    return jsonify(url=images.url(image))


@bp.get("/images/<id:image_id>")
@signed_in
def image(image_id: int):
    """Serve an image to the bank's authors, or to a candidate whose exam shows it."""
    if not current_user.has_role(Role.TRAINER, Role.HR, Role.ADMIN) and not any(
        check(current_user, image_id) for check in images.ACCESS_CHECKS
    ):
        abort(404)
    img = db.session.get(Image, image_id) or abort(404)
    return (
        img.data,
        200,
        {
            "Content-Type": img.content_type,
            "Cache-Control": "private, max-age=86400",
            "X-Content-Type-Options": "nosniff",
        },
    )


def counts_by_category() -> dict[int, int]:
    """Return the number of (not retired) questions directly in each category."""
    return dict(
        db.session.execute(
            select(Question.category_id, func.count(Question.id))
            .where(Question.status != QuestionStatus.RETIRED)
            .group_by(Question.category_id)
        ).all()
    )
