"""Bad or hostile input to the bank: every case gets a clear refusal, never a 500."""

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook
from PIL import Image as PILImage
from sqlalchemy import select

from lms.accounts.models import Role
from lms.extensions import db
from lms.tabular import FORMULA_START
from question_bank import categories, transfer
from question_bank.models import Category, Question, QuestionStatus
from question_bank.services import QuestionInput, create_question, update_question
from tests.helpers import count, text
from tests.question_bank.test_authoring import form, png_bytes

TEN = {"options": [{"key": str(i), "html": f"选项{i}"} for i in range(1, 11)], "correct": ["10"]}


def test_xlsx_zip_bomb_is_refused(trainer):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<x/>")
        zf.writestr("xl/worksheets/sheet1.xml", "<a>" + " " * (60 * 1024 * 1024) + "</a>")
    with pytest.raises(transfer.ValidationFailed):
        transfer.import_questions("bomb.xlsx", out.getvalue(), trainer)


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_ten_options_and_tricky_text_survive_spreadsheets(app, category, trainer, fmt):
    create_question(
        QuestionInput("single_choice", category.id, "十个选项\x0b的题目", TEN), trainer, "published"
    )
    create_question(
        QuestionInput(
            "true_false",
            category.id,
            '=HYPERLINK("http://x")',
            {"correct": True},
            explanation="-1 是负数",
        ),
        trainer,
        "draft",
    )
    db.session.commit()
    before = transfer.bank_data(embed_files=False)
    data = transfer.export_questions(fmt)
    if fmt == "xlsx":
        ws = load_workbook(io.BytesIO(data))["试题"]
        assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    else:
        assert b"\n=HYPERLINK" not in data and b",=HYPERLINK" not in data
    for q in db.session.scalars(select(Question)):
        q.current = None
        db.session.flush()
        db.session.delete(q)
    db.session.commit()
    transfer.import_questions(f"bank.{fmt}", data, trainer)
    db.session.commit()
    after = transfer.bank_data(embed_files=False)
    assert [(d.stem, d.body, d.explanation) for d in after] == [
        (d.stem, d.body, d.explanation) for d in before
    ]
    assert "\x0b" not in before[0].stem  # the control character was dropped on the way in


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_question_export_neutralises_formula_like_cells(app, category, trainer, fmt):
    stem = '=HYPERLINK("http://x","y")'
    create_question(
        QuestionInput(
            "true_false", category.id, stem, {"correct": True}, explanation="\uff0b1 全角加号"
        ),
        trainer,
        "draft",
    )
    db.session.commit()
    data = transfer.export_questions(fmt)
    if fmt == "xlsx":
        ws = load_workbook(io.BytesIO(data))["试题"]
        cells = [c for row in ws.iter_rows() for c in row]
        assert all(c.data_type != "f" for c in cells)
        risky = [c for c in cells if isinstance(c.value, str) and c.value.startswith(FORMULA_START)]
        assert {c.value for c in risky} == {stem, "\uff0b1 全角加号"}
        assert all(c.data_type == "s" and c.quotePrefix for c in risky)
    else:
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        assert not [c for row in rows for c in row if c.startswith(FORMULA_START)]
        assert "'" + stem in rows[1] and "'\uff0b1 全角加号" in rows[1]
    for q in db.session.scalars(select(Question)):
        q.current = None
        db.session.flush()
        db.session.delete(q)
    db.session.commit()
    transfer.import_questions(f"bank.{fmt}", data, trainer)
    db.session.commit()
    (after,) = transfer.bank_data(embed_files=False)
    assert stem in after.stem and "\uff0b1 全角加号" in after.explanation


def test_merge_into_the_parent_with_a_same_named_child(app, trainer):
    leaf = categories.ensure_path(["P", "C", "C"])
    db.session.commit()
    create_question(
        QuestionInput("true_false", leaf.id, "叶子里的题。", {"correct": True}), trainer
    )
    middle = leaf.parent
    create_question(
        QuestionInput("true_false", middle.id, "中间的题。", {"correct": True}), trainer
    )
    db.session.commit()
    categories.merge(middle, middle.parent)
    db.session.commit()
    assert [categories.path_label(c) for c, _ in categories.tree()] == ["P", "P › C"]
    assert count(Question) == 2


def test_moving_too_deep_is_refused(app):
    deep = categories.ensure_path(["1", "2", "3", "4", "5", "6"])
    other = categories.ensure_path(["A", "B"])
    db.session.commit()
    with pytest.raises(categories.ValidationFailed):
        categories.move(other.parent, deep)


def test_bulk_tagging_makes_an_open_editor_conflict(trainer_client, make_question, category):
    q = make_question()
    opened = q.revision
    trainer_client.submit(
        "/qb/bulk", {"bulk_action": "tag", "ids": [q.id], "bulk_value_tags": "新规"}
    )
    resp = trainer_client.submit(
        f"/qb/{q.id}/edit", form("true_false", category, revision=str(opened))
    )
    assert resp.status_code == 409
    db.session.refresh(q)
    assert "新规" in [t.name for t in q.tags]


def test_editing_a_published_question_keeps_the_publish_rules(app, trainer, category):
    q = create_question(
        QuestionInput(
            "short_answer", category.id, "简述。", {"reference": "<p>要点</p>", "rubric": ""}
        ),
        trainer,
        "published",
    )
    db.session.commit()
    with pytest.raises(transfer.ValidationFailed):
        update_question(
            q,
            QuestionInput("short_answer", category.id, "简述。", {"reference": "", "rubric": ""}),
            q.revision,
            trainer,
        )


@pytest.mark.parametrize(
    "url",
    [
        "/qb/?q=²",
        "/qb/?q=99999999999999999999",
        "/qb/?difficulty=99999999999999999",
        "/qb/export?format=csv&q=²",
    ],
)
def test_odd_numbers_in_the_list_are_harmless(trainer_client, url):
    assert trainer_client.get(url).status_code == 200


@pytest.mark.parametrize(
    "data",
    [
        {"bulk_action": "retire", "ids": ["²", "99999999999999"]},
        {"bulk_action": "move", "ids": ["1"], "bulk_value_category": "²"},
        {"bulk_action": "tag", "ids": ["1"], "bulk_value_tags": "x" * 80},
        {"bulk_action": "retire", "ids": ["1"], "back": "https://evil.example/"},
    ],
)
def test_odd_bulk_requests_are_refused_cleanly(trainer_client, make_question, data):
    make_question()
    resp = trainer_client.submit("/qb/bulk", data)
    assert resp.status_code == 302 and not resp.location.startswith("http")


def test_category_actions_with_odd_ids(trainer_client):
    resp = trainer_client.submit("/qb/categories", {"action": "delete", "category_id": "²"})
    assert resp.status_code == 302


def test_decompression_bomb_image_is_refused(trainer_client):
    out = io.BytesIO()
    PILImage.new("1", (20000, 20000)).save(out, "PNG")
    resp = trainer_client.submit(
        "/qb/images",
        {"image": (io.BytesIO(out.getvalue()), "b.png")},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 400


def test_category_names_with_slashes_do_not_duplicate_on_import(app, trainer):
    from question_bank.interchange import QuestionData

    data = [
        QuestionData("true_false", f"题{i}", {"correct": True}, ["借记卡/信用卡", "挂失"])
        for i in range(2)
    ]
    transfer.import_data(data, trainer, "t")
    transfer.import_data(data, trainer, "t")
    db.session.commit()
    assert count(Category) == 2


def test_agents_see_only_images_of_their_own_exams(app, make_user, login, trainer_client):
    resp = trainer_client.submit(
        "/qb/images",
        {"image": (io.BytesIO(png_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    url = resp.get_json()["url"]
    make_user(Role.AGENT, username="ag")
    agent = app.test_client()
    login(agent, "ag")
    assert agent.get(url).status_code == 404


@pytest.mark.parametrize(("field", "value"), [("tags", "tag one"), ("blank_1", "a|b;c")])
def test_separators_inside_values_are_refused(trainer_client, category, field, value):
    qtype = "fill_blank" if field.startswith("blank") else "true_false"
    data = form(qtype, category, **{field: value})
    if field == "tags":
        data["tags"] = "合法标签"
        data["bulk"] = ""
        resp = trainer_client.submit("/qb/new", data)
        assert resp.status_code == 302
        q = db.session.scalar(select(Question))
        assert [t.name for t in q.tags] == ["合法标签"]
    else:
        # The form splits on |, so "a|b;c" is two answers, one of them containing ; : refused.
        resp = trainer_client.submit("/qb/new", data)
        assert resp.status_code == 422
        assert count(Question) == 0


def test_placeholder_images_never_survive(trainer_client, category):
    data = form("true_false", category, stem='题<img src="@@PLUGINFILE@@/x.png">干')
    assert trainer_client.submit("/qb/new", data).status_code == 302
    assert "@@PLUGINFILE@@" not in db.session.scalar(select(Question)).current.stem


def test_question_image_keeps_its_cache_header(trainer_client):
    resp = trainer_client.submit(
        "/qb/images",
        {"image": (io.BytesIO(png_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    img = trainer_client.get(resp.get_json()["url"])
    assert img.headers["Cache-Control"] == "private, max-age=86400"
    assert (
        text(trainer_client.get("/qb/"))
        and trainer_client.get("/qb/").headers["Cache-Control"] == "no-store"
    )


def test_used_questions_and_categories_are_protected(app, trainer):
    from decimal import Decimal

    from exams.models import DrawRule, Paper, PaperSection

    cat = categories.ensure_path(["被抽题分类"])
    q = create_question(
        QuestionInput("true_false", cat.id, "题。", {"correct": True}), trainer, "published"
    )
    paper = Paper(title="p", pass_mark=Decimal(1))
    section = PaperSection(position=1, qtype="true_false", points_per_question=Decimal(1))
    section.rules.append(DrawRule(category_id=cat.id, count=1))
    paper.sections.append(section)
    db.session.add(paper)
    db.session.commit()
    with pytest.raises(categories.ValidationFailed):
        categories.delete(cat)
    assert q.status == QuestionStatus.PUBLISHED
