"""Fixtures of the question bank tests."""

import pytest

from lms.accounts.models import Role
from lms.extensions import db
from question_bank import categories
from question_bank.services import QuestionInput, create_question


@pytest.fixture
def trainer(make_user):
    """Return a trainer."""
    return make_user(Role.TRAINER, username="teacher", full_name="王老师")


@pytest.fixture
def trainer_client(client, trainer, login):
    """Return a client signed in as a trainer."""
    login(client, "teacher")
    return client


@pytest.fixture
def category(app):
    """Return the category 业务知识 › 信用卡 › 挂失."""
    cat = categories.ensure_path(["业务知识", "信用卡", "挂失"])
    db.session.commit()
    return cat


@pytest.fixture
def make_question(app, category, trainer):
    """Return a factory of committed questions."""

    def make(
        stem="信用卡挂失前应先核实客户身份。", qtype="true_false", body=None, status="draft", **kw
    ):
        inp = QuestionInput(
            qtype=qtype,
            category_id=kw.pop("category_id", category.id),
            stem=stem,
            body=body or {"correct": True},
            **kw,
        )
        q = create_question(inp, trainer, status)
        db.session.commit()
        return q

    return make
