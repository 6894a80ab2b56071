"""The category tree: create, rename, move, merge, delete. Flush, never commit."""

from flask_babel import gettext as _
from sqlalchemy import func, select, update

from lms import audit
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank.models import Category, Question

MAX_DEPTH = 6
MAX_DESCRIPTION = 500


def all_categories() -> list[Category]:
    """Return every category (one query); use with tree()."""
    return list(db.session.scalars(select(Category).order_by(Category.name)))


def tree(categories: list[Category] | None = None) -> list[tuple[Category, int]]:
    """Return (category, depth) in display order: parents first, children indented."""
    categories = categories if categories is not None else all_categories()
    by_parent: dict = {}
    for c in categories:
        by_parent.setdefault(c.parent_id, []).append(c)
    out: list[tuple[Category, int]] = []

    def walk(parent_id, depth):
        for c in sorted(by_parent.get(parent_id, []), key=lambda c: c.name):
            out.append((c, depth))
            walk(c.id, depth + 1)

    walk(None, 0)
    return out


def path_of(category: Category) -> list[str]:
    """Return the names from the root down to ``category``."""
    names = []
    node = category
    while node is not None:
        names.append(node.name)
        node = node.parent
    return names[::-1]


def path_label(category: Category) -> str:
    """Return the path as 业务知识 › 信用卡 › 挂失."""
    return " › ".join(path_of(category))


def descendant_ids(category_id: int) -> list[int]:
    """Return the id of the category and of everything below it."""
    children: dict = {}
    for cid, pid in db.session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(pid, []).append(cid)
    out, stack = [], [category_id]
    while stack:
        cid = stack.pop()
        out.append(cid)
        stack.extend(children.get(cid, []))
    return out


def _check_name(name: str, parent_id: int | None, exclude_id: int | None = None) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("A category name is required."), field="name")
    if len(name) > 100:
        raise ValidationFailed(_("A category name may be at most 100 characters."), field="name")
    if any(c in name for c in "/›>"):
        raise ValidationFailed(_("A category name may not contain /, › or >."), field="name")
    stmt = select(Category.id).where(Category.name == name)
    stmt = stmt.where(
        Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
    )
    if exclude_id:
        stmt = stmt.where(Category.id != exclude_id)
    if db.session.scalar(stmt):
        raise ValidationFailed(
            _("This level already has a category named %(name)s.", name=name), field="name"
        )
    return name


def create(name: str, parent: Category | None, description: str = "") -> Category:
    """Create a category under ``parent`` (or at the top)."""
    if parent is not None and len(path_of(parent)) >= MAX_DEPTH:
        raise ValidationFailed(_("Categories may be at most %(n)d levels deep.", n=MAX_DEPTH))
    cat = Category(
        name=_check_name(name, parent.id if parent else None),
        parent=parent,
        description=(description or "").strip()[:MAX_DESCRIPTION],
    )
    db.session.add(cat)
    db.session.flush()
    audit.record("category.create", cat, summary=path_label(cat))
    return cat


def rename(cat: Category, name: str, description: str | None = None) -> None:
    """Rename a category."""
    before = {"name": cat.name}
    cat.name = _check_name(name, cat.parent_id, exclude_id=cat.id)
    if description is not None:
        cat.description = description.strip()[:MAX_DESCRIPTION]
    if before["name"] != cat.name:
        audit.record(
            "category.rename", cat, summary=path_label(cat), before=before, after={"name": cat.name}
        )


def move(cat: Category, new_parent: Category | None) -> None:
    """Move a category (with everything below it) under ``new_parent``."""
    if new_parent is not None and new_parent.id in descendant_ids(cat.id):
        raise ValidationFailed(_("A category cannot be moved into itself or below itself."))
    if (depth(new_parent) if new_parent else 0) + height(cat) > MAX_DEPTH:
        raise ValidationFailed(_("Categories may be at most %(n)d levels deep.", n=MAX_DEPTH))
    before = {"path": path_label(cat)}
    _check_name(cat.name, new_parent.id if new_parent else None, exclude_id=cat.id)
    cat.parent = new_parent
    db.session.flush()
    audit.record(
        "category.move", cat, summary=cat.name, before=before, after={"path": path_label(cat)}
    )


def merge(source: Category, target: Category) -> None:
    """Move every question and subcategory of ``source`` into ``target``; delete ``source``."""
    if source.id == target.id or target.id in descendant_ids(source.id):
        raise ValidationFailed(_("A category cannot be merged into itself or below itself."))
    if depth(target) + height(source) - 1 > MAX_DEPTH:
        raise ValidationFailed(_("Categories may be at most %(n)d levels deep.", n=MAX_DEPTH))
    label = f"{path_label(source)} → {path_label(target)}"
    moved = db.session.execute(
        update(Question).where(Question.category_id == source.id).values(category_id=target.id)
    ).rowcount
    for hook in MERGE_HOOKS:
        hook(source.id, target.id)
    children = list(source.children)
    # Delete the source first: a child may carry the source's own name (P › C › C into P).
    for child in children:
        child.parent = None
    db.session.flush()
    db.session.delete(source)
    db.session.flush()
    for child in children:
        clash = db.session.scalar(
            select(Category).where(Category.parent_id == target.id, Category.name == child.name)
        )
        if clash is not None:
            merge(child, clash)
        else:
            child.parent = target
            db.session.flush()
    audit.record("category.merge", target, summary=label, after={"questions_moved": moved})


def depth(cat: Category) -> int:
    """Return the level of ``cat`` (1 for a top category)."""
    return len(path_of(cat))


def height(cat: Category) -> int:
    """Return how many levels ``cat`` and the categories below it span."""
    return 1 + max((height(c) for c in cat.children), default=0)


#: Functions (category id) -> bool telling whether something else uses a category (papers).
USAGE_CHECKS: list = []
#: Functions (source id, target id) that move other references when categories merge.
MERGE_HOOKS: list = []


def delete(cat: Category) -> None:
    """Delete an empty category that nothing uses."""
    n = db.session.scalar(select(func.count(Question.id)).where(Question.category_id == cat.id))
    if any(check(cat.id) for check in USAGE_CHECKS):
        raise ValidationFailed(
            _("A paper draws questions from this category: change the paper first.")
        )
    if n or cat.children:
        raise ValidationFailed(
            _(
                "Only an empty category can be deleted: move or merge its questions and "
                "subcategories first."
            )
        )
    audit.record("category.delete", cat, summary=path_label(cat))
    db.session.delete(cat)
    db.session.flush()


def stored_name(raw: str) -> str:
    """Return a category name as the tree stores it (path separators replaced, cut)."""
    # The same replacement on lookup and on creation, or every import adds a duplicate.
    return raw.strip()[:100].replace("/", "／").replace("›", "＞").replace(">", "＞")


def ensure_path(names: list[str]) -> Category:
    """Return the category at ``names``, creating the missing levels."""
    names = [n.strip() for n in names if n and n.strip()] or [_("Imported")]
    parent = None
    for raw in names[:MAX_DEPTH]:
        name = stored_name(raw)
        stmt = select(Category).where(Category.name == name)
        stmt = stmt.where(
            Category.parent_id.is_(None) if parent is None else Category.parent_id == parent.id
        )
        node = db.session.scalar(stmt)
        if node is None:
            node = Category(name=name, parent=parent)
            db.session.add(node)
            db.session.flush()
        parent = node
    return parent


def descriptions() -> dict[tuple[str, ...], str]:
    """Return each described category's description, by its path of names."""
    nodes = db.session.scalars(select(Category)).all()
    by_id = {c.id: c for c in nodes}

    def path(c: Category) -> tuple[str, ...]:
        names = []
        while c is not None:
            names.append(c.name)
            c = by_id.get(c.parent_id)
        return tuple(reversed(names))

    return {path(c): c.description for c in nodes if c.description}


def find_path(names: list[str]) -> Category | None:
    """Return the category at ``names`` if it exists (nothing is created)."""
    node = None
    for raw in names:
        stmt = select(Category).where(Category.name == stored_name(raw))
        stmt = stmt.where(
            Category.parent_id.is_(None) if node is None else Category.parent_id == node.id
        )
        node = db.session.scalar(stmt)
        if node is None:
            return None
    return node
