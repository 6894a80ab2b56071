"""The category tree: create, rename, move, merge, delete."""

import pytest
from sqlalchemy import select

from lms.extensions import db
from question_bank import categories
from question_bank.models import Category, Question
from tests.helpers import count, text, zh


def path(name):
    """Return the path label of the category named ``name``."""
    return categories.path_label(db.session.scalar(select(Category).where(Category.name == name)))


def test_create_rename_move_merge_delete(trainer_client):
    from question_bank.services import QuestionInput, create_question

    trainer_client.submit("/qb/categories", {"action": "create", "name": "业务知识"})
    top = db.session.scalar(select(Category))
    trainer_client.submit(
        "/qb/categories", {"action": "create", "name": "信用卡", "parent_id": str(top.id)}
    )
    card = db.session.scalar(select(Category).where(Category.name == "信用卡"))
    trainer_client.submit(
        "/qb/categories", {"action": "rename", "category_id": str(card.id), "name": "信用卡业务"}
    )
    assert path("信用卡业务") == "业务知识 › 信用卡业务"
    trainer_client.submit("/qb/categories", {"action": "create", "name": "旧卡"})
    old = db.session.scalar(select(Category).where(Category.name == "旧卡"))
    create_question(QuestionInput("true_false", old.id, "旧卡题目。", {"correct": True}), None)
    db.session.commit()
    trainer_client.submit(
        "/qb/categories", {"action": "merge", "category_id": str(old.id), "target_id": str(card.id)}
    )
    assert db.session.scalar(select(Question)).category_id == card.id
    assert db.session.scalar(select(Category).where(Category.name == "旧卡")) is None
    trainer_client.submit(
        "/qb/categories", {"action": "move", "category_id": str(card.id), "parent_id": ""}
    )
    assert path("信用卡业务") == "信用卡业务"
    trainer_client.submit("/qb/categories", {"action": "delete", "category_id": str(top.id)})
    assert count(Category) == 1


def test_moving_a_category_below_itself_is_refused(trainer_client):
    a = categories.ensure_path(["甲", "乙", "丙"])
    db.session.commit()
    top = a.parent.parent
    trainer_client.submit(
        "/qb/categories", {"action": "move", "category_id": str(top.id), "parent_id": str(a.id)}
    )
    page = text(trainer_client.get("/qb/categories"))
    assert zh("A category cannot be moved into itself or below itself.") in page
    db.session.refresh(top)
    assert top.parent_id is None


@pytest.mark.parametrize(
    ("name", "msgid"),
    [
        ("", "A category name is required."),
        ("a/b", "A category name may not contain /, › or >."),
        ("已有", "This level already has a category named %(name)s."),
    ],
)
def test_bad_category_names(trainer_client, name, msgid):
    categories.ensure_path(["已有"])
    db.session.commit()
    trainer_client.submit("/qb/categories", {"action": "create", "name": name})
    assert zh(msgid, name=name) in text(trainer_client.get("/qb/categories"))
    assert count(Category) == 1


def test_non_empty_category_cannot_be_deleted(trainer_client, make_question, category):
    make_question()
    trainer_client.submit("/qb/categories", {"action": "delete", "category_id": str(category.id)})
    assert zh(
        "Only an empty category can be deleted: move or merge its questions and "
        "subcategories first."
    ) in text(trainer_client.get("/qb/categories"))
    assert count(Category) == 3


def test_merge_combines_subcategories_of_the_same_name(app):
    a = categories.ensure_path(["A", "卡"])
    b = categories.ensure_path(["B", "卡"])
    db.session.commit()
    categories.merge(a.parent, b.parent)
    db.session.commit()
    assert [c.name for c, _ in categories.tree()] == ["B", "卡"]
