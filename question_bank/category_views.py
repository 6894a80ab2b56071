"""The category tree page: create, rename, move, merge, delete."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.web import parse_id
from question_bank import categories
from question_bank.models import Category
from question_bank.views import bp, counts_by_category


def _category(field: str, required: bool = True) -> Category | None:
    category_id = parse_id(request.form.get(field))
    if category_id is None:
        if required:
            raise ValidationFailed(_("Choose a category."))
        return None
    return db.session.get(Category, category_id) or abort(404)


@bp.get("/categories")
def category_tree():
    """Show the tree with question counts and the forms that change it."""
    return render_template(
        "question_bank/categories.html",
        tree=categories.tree(),
        counts=counts_by_category(),
        path_label=categories.path_label,
    )


@bp.post("/categories")
def category_action():
    """Apply one change to the tree."""
    action = request.form.get("action", "")
    try:
        if action == "create":
            cat = categories.create(
                request.form.get("name", ""),
                _category("parent_id", False),
                request.form.get("description", ""),
            )
            message = _("Category %(name)s created.", name=categories.path_label(cat))
        elif action == "rename":
            cat = _category("category_id")
            categories.rename(cat, request.form.get("name", ""))
            message = _("Category renamed to %(name)s.", name=cat.name)
        elif action == "move":
            cat = _category("category_id")
            categories.move(cat, _category("parent_id", False))
            message = _("Category moved to %(path)s.", path=categories.path_label(cat))
        elif action == "merge":
            source, target = _category("category_id"), _category("target_id")
            label = categories.path_label(source)
            categories.merge(source, target)
            message = _(
                "%(source)s merged into %(target)s.",
                source=label,
                target=categories.path_label(target),
            )
        elif action == "delete":
            cat = _category("category_id")
            label = categories.path_label(cat)
            categories.delete(cat)
            message = _("Category %(name)s deleted.", name=label)
        else:
            abort(400)
    except ValidationFailed as exc:
        db.session.rollback()
        for m in exc.messages:
            flash(m, "error")
        return redirect(url_for("qb.category_tree"))
    flash(message, "success")
    return redirect(url_for("qb.category_tree"))
