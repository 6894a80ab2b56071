"""Authoring through the pages: each type, validation, versions, conflicts, permissions."""

import io
import re

import pytest
from PIL import Image as PILImage
from sqlalchemy import select

from lms.accounts.models import Role
from lms.audit.models import AuditEvent
from lms.extensions import db
from question_bank import qtypes
from question_bank.models import Image, Question, QuestionStatus, QuestionVersion
from tests.helpers import count, text, zh

FORMS = {
    "single_choice": {
        "stem": "客户来电挂失信用卡，首先应：",
        "option_1": "直接挂失",
        "option_2": "核实身份",
        "option_3": "询问消费",
        "correct": "2",
    },
    "multiple_choice": {
        "stem": "以下哪些属于客户敏感信息？",
        "option_1": "密码",
        "option_2": "CVV2",
        "option_3": "网点地址",
        "correct": ["1", "2"],
    },
    "true_false": {"stem": "客服代表可以索要客户的取款密码。", "correct": "false"},
    "fill_blank": {"stem": "信用卡挂失后____小时内的损失由银行承担。", "blank_1": "48|四十八"},
    "short_answer": {
        "stem": "简述首问负责制。",
        "reference": "第一位接待客户的员工负责到底。",
        "rubric": "要点一（5分）",
    },
}


def form(qtype, category, **over):
    """Return a complete authoring form for ``qtype``."""
    data = {
        "qtype": qtype,
        "category_id": str(category.id),
        "difficulty": "2",
        "default_points": "1",
        "tags": "挂失、身份核实",
        "explanation": "先核实身份。",
        "source": "服务规范",
        "action": "save",
        **FORMS[qtype],
    }
    data.update(over)
    return data


@pytest.mark.parametrize("qtype", list(FORMS))
def test_trainer_creates_each_type(trainer_client, category, qtype):
    resp = trainer_client.submit(f"/qb/new?type={qtype}", form(qtype, category))
    assert resp.status_code == 302, text(resp)[-2000:]
    q = db.session.scalar(select(Question))
    assert q.qtype == qtype and q.status == QuestionStatus.DRAFT and q.current.number == 1
    assert [t.name for t in q.tags] == ["挂失", "身份核实"]
    page = text(trainer_client.get(resp.location))
    assert FORMS[qtype]["stem"][:6] in page


def test_bodies_are_stored_as_the_schema_says(trainer_client, category):
    trainer_client.submit("/qb/new", form("multiple_choice", category))
    trainer_client.submit("/qb/new", form("fill_blank", category))
    bodies = {v.qtype: v.body for v in db.session.scalars(select(QuestionVersion))}
    options = bodies["multiple_choice"]["options"]
    assert [o["html"] for o in options] == ["密码", "CVV2", "网点地址"]
    # New options get opaque keys of their own; "correct" names the rows ticked.
    keys = [o["key"] for o in options]
    assert len(set(keys)) == 3 and all(isinstance(k, str) and k for k in keys)
    assert bodies["multiple_choice"]["correct"] == keys[:2]
    assert bodies["fill_blank"] == {"blanks": [["48", "四十八"]]}


BAD = [
    (
        "single_choice",
        {"option_2": "", "option_3": "", "correct": "1"},
        "A choice question needs at least two options.",
    ),
    (
        "single_choice",
        {"correct": ""},
        "A single-choice question needs exactly one correct option.",
    ),
    (
        "multiple_choice",
        {"correct": ""},
        "A multiple-choice question needs at least one correct option.",
    ),
    ("true_false", {"correct": ""}, "Choose whether the statement is true or false."),
    ("fill_blank", {"blank_1": ""}, "Blank %(n)d needs at least one accepted answer."),
    (
        "fill_blank",
        {"stem": "没有空格的题干"},
        "Mark each blank in the stem with ____ (three or more underscores).",
    ),
    (
        "short_answer",
        {"reference": "", "action": "publish"},
        "A short-answer question needs a reference answer for the graders.",
    ),
    ("true_false", {"stem": ""}, "The stem is empty."),
    ("true_false", {"category_id": ""}, "Choose a category."),
    ("true_false", {"category_id": "99999"}, "Choose a category."),
    (
        "true_false",
        {"default_points": "0"},
        "Points must be a number above 0 and at most 1000, with at most two decimals.",
    ),
    (
        "true_false",
        {"default_points": "abc"},
        "Points must be a number above 0 and at most 1000, with at most two decimals.",
    ),
    ("true_false", {"difficulty": "9"}, "Difficulty is a whole number from 1 (easy) to 5 (hard)."),
    ("true_false", {"tags": "a b c d e f g h i j k"}, "A question may have at most %(n)d tags."),
]


@pytest.mark.parametrize(("qtype", "change", "msgid"), BAD)
def test_bad_questions_are_explained_and_nothing_saved(
    trainer_client, category, qtype, change, msgid
):
    resp = trainer_client.submit("/qb/new", form(qtype, category, **change))
    assert resp.status_code == 422
    page = text(resp)
    assert zh(msgid, n=10 if "tags" in msgid else 1) in page
    assert zh("Nothing was saved. Correct the fields marked below.") in page
    assert count(Question) == 0
    # What the trainer typed is still in the form.
    typed = change.get("stem", FORMS[qtype]["stem"])
    if typed:
        assert typed[:5] in page


@pytest.mark.parametrize("field", ["stem", "option_1", "explanation", "reference", "rubric"])
def test_stored_xss_is_stripped_from_every_rich_field(trainer_client, category, field):
    attack = "<img src=x onerror=alert(1)><script>alert(2)</script><b>ok</b>"
    qtype = "short_answer" if field in ("reference", "rubric") else "single_choice"
    data = form(qtype, category)
    data[field] = attack + (data.get(field) or "")
    resp = trainer_client.submit("/qb/new", data)
    assert resp.status_code == 302
    v = db.session.scalar(select(QuestionVersion))
    stored = repr((v.stem, v.body, v.explanation))
    assert "onerror" not in stored and "<script" not in stored and "<b>ok</b>" in stored
    page = text(trainer_client.get(resp.location))
    assert "onerror" not in page and "alert(2)" not in page


def test_preview_shows_the_question_without_saving(trainer_client, category):
    resp = trainer_client.submit("/qb/new", form("fill_blank", category, action="preview"))
    assert resp.status_code == 200
    page = text(resp)
    assert 'id="preview"' in page and 'class="blank"' in page
    assert count(Question) == 0


def test_editing_a_draft_changes_it_in_place(trainer_client, make_question, category):
    q = make_question()
    resp = trainer_client.submit(
        f"/qb/{q.id}/edit",
        form("true_false", category, stem="改过的题干。", revision=str(q.revision)),
    )
    assert resp.status_code == 302
    db.session.refresh(q)
    assert len(q.versions) == 1 and q.current.stem == "改过的题干。"


def test_editing_a_published_question_makes_a_new_version(trainer_client, make_question, category):
    q = make_question(status="published")
    first = q.current
    resp = trainer_client.submit(
        f"/qb/{q.id}/edit",
        form("true_false", category, stem="新的题干。", correct="true", revision=str(q.revision)),
    )
    assert resp.status_code == 302
    db.session.refresh(q)
    assert [v.number for v in q.versions] == [1, 2]
    db.session.refresh(first)
    assert first.stem == "信用卡挂失前应先核实客户身份。" and first.frozen
    assert q.current.number == 2 and q.current.stem == "新的题干。"
    page = text(trainer_client.get(f"/qb/{q.id}/history"))
    assert "新的题干。" in page and "信用卡挂失前应先核实客户身份。" in page


def test_second_editor_is_told_and_nothing_is_overwritten(
    app, trainer_client, make_question, make_user, login, category
):
    q = make_question()
    opened_at = q.revision
    other = app.test_client()
    make_user(Role.TRAINER, username="t2", full_name="李老师")
    login(other, "t2")
    resp = other.submit(
        f"/qb/{q.id}/edit",
        form("true_false", category, stem="李老师的版本。", revision=str(opened_at)),
    )
    assert resp.status_code == 302
    resp = trainer_client.submit(
        f"/qb/{q.id}/edit",
        form("true_false", category, stem="王老师的版本。", revision=str(opened_at)),
    )
    assert resp.status_code == 409
    page = text(resp)
    assert "李老师" in page and "王老师的版本。" in page  # told, and the typing is kept
    db.session.refresh(q)
    assert q.current.stem == "李老师的版本。"


def test_near_duplicate_is_warned_and_can_be_saved_anyway(trainer_client, make_question, category):
    make_question(stem="信用卡挂失前应先核实客户身份。")
    data = form("true_false", category, stem="信用卡挂失前，应先核实客户的身份。")
    resp = trainer_client.submit("/qb/new", data)
    assert resp.status_code == 422
    assert zh("A very similar question is already in the bank") in text(resp)
    assert count(Question) == 1
    resp = trainer_client.submit("/qb/new", {**data, "confirm_duplicate": "1"})
    assert resp.status_code == 302
    assert count(Question) == 2


def test_publish_retire_and_delete(trainer_client, make_question):
    q = make_question()
    trainer_client.submit(f"/qb/{q.id}/status", {"status": "published"})
    db.session.refresh(q)
    assert q.status == QuestionStatus.PUBLISHED and q.current.frozen
    trainer_client.submit(f"/qb/{q.id}/status", {"status": "retired"})
    db.session.refresh(q)
    assert q.status == QuestionStatus.RETIRED
    trainer_client.submit(f"/qb/{q.id}/delete")
    assert count(Question) == 0
    actions = {e.action for e in db.session.scalars(select(AuditEvent))}
    assert {"question.create", "question.status", "question.delete"} <= actions


def test_a_used_question_cannot_be_deleted(trainer_client, make_question):
    from question_bank import services

    q = make_question()
    services.USAGE_CHECKS.append(lambda ids: True)
    try:
        trainer_client.submit(f"/qb/{q.id}/delete")
        page = text(trainer_client.get(f"/qb/{q.id}"))
    finally:
        services.USAGE_CHECKS.pop()
    assert zh("This question was used in an exam: it cannot be deleted, only retired.") in page
    assert count(Question) == 1


def test_list_filters_and_chinese_search(trainer_client, make_question, category):
    from question_bank import categories

    other = categories.ensure_path(["服务规范"])
    db.session.commit()
    make_question(stem="反洗钱可疑交易要及时报告。", difficulty=5, tags=["反洗钱"])
    make_question(stem="接听电话要使用礼貌用语。", category_id=other.id)
    page = text(trainer_client.get("/qb/?q=洗钱"))
    assert "反洗钱可疑交易" in page and "礼貌用语" not in page
    page = text(trainer_client.get(f"/qb/?category={category.parent_id}&sub=1"))
    assert "反洗钱可疑交易" in page and "礼貌用语" not in page
    page = text(trainer_client.get("/qb/?difficulty=5"))
    assert "反洗钱可疑交易" in page and "礼貌用语" not in page
    page = text(trainer_client.get("/qb/?tag=反洗钱"))
    assert "反洗钱可疑交易" in page and "礼貌用语" not in page
    page = text(trainer_client.get("/qb/?q=100%25_"))
    assert zh("No question matches.") in page


def test_bulk_actions_apply_to_all_or_none(trainer_client, make_question, category):
    a = make_question(stem="第一题题干内容。")
    b = make_question(stem="第二题____完全不同。", qtype="fill_blank", body={"blanks": [["x"]]})
    b.current.body = {"blanks": []}  # damaged data: b cannot be published
    db.session.commit()
    trainer_client.submit("/qb/bulk", {"bulk_action": "publish", "ids": [a.id, b.id]})
    db.session.refresh(a)
    assert a.status == QuestionStatus.DRAFT
    trainer_client.submit(
        "/qb/bulk", {"bulk_action": "tag", "ids": [a.id], "bulk_value_tags": "重点，新规"}
    )
    db.session.refresh(a)
    assert {t.name for t in a.tags} == {"重点", "新规"}
    trainer_client.submit("/qb/bulk", {"bulk_action": "retire", "ids": [a.id, b.id]})
    assert {q.status for q in db.session.scalars(select(Question))} == {QuestionStatus.RETIRED}


def png_bytes() -> bytes:
    """Return a small real PNG."""
    out = io.BytesIO()
    PILImage.new("RGB", (4, 3), "red").save(out, "PNG")
    return out.getvalue()


def test_image_upload_and_use(trainer_client, category):
    resp = trainer_client.submit(
        "/qb/images",
        {"image": (io.BytesIO(png_bytes()), "a.png")},
        content_type="multipart/form-data",
    )
    url = resp.get_json()["url"]
    assert re.fullmatch(r"/qb/images/\d+", url)
    resp = trainer_client.get(url)
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "image/png"
    data = form("true_false", category, stem=f'看图判断：<img src="{url}" alt="">')
    assert trainer_client.submit("/qb/new", data).status_code == 302
    assert f'<img src="{url}"' in db.session.scalar(select(QuestionVersion.stem))


@pytest.mark.parametrize("payload", [b"not an image", b"GIF89a" + b"\x00" * 10])
def test_bad_image_upload_is_refused(trainer_client, payload):
    resp = trainer_client.submit(
        "/qb/images", {"image": (io.BytesIO(payload), "a.png")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 400
    assert resp.get_json()["error"]
    assert count(Image) == 0


@pytest.mark.parametrize("role", [Role.AGENT, Role.HR])
def test_agents_and_hr_reach_no_authoring_page(client, make_user, login, make_question, role):
    q = make_question(status="published")
    make_user(role, username="u1")
    login(client, "u1")
    for url in (
        "/qb/",
        f"/qb/{q.id}",
        f"/qb/{q.id}/edit",
        f"/qb/{q.id}/history",
        "/qb/new",
        "/qb/categories",
        "/qb/import",
        "/qb/export?format=xlsx",
    ):
        resp = client.get(url)
        assert resp.status_code == 403, url
        assert "信用卡挂失前" not in text(resp)
    for url in (f"/qb/{q.id}/status", f"/qb/{q.id}/delete", "/qb/bulk", "/qb/similar"):
        assert client.submit(url, {"status": "retired"}).status_code == 403, url
    db.session.refresh(q)
    assert q.status == QuestionStatus.PUBLISHED


def edit_form(client, question_id: int) -> dict:
    """Return what the edit page's form posts as it stands (option rows with their keys)."""
    page = text(client.get(f"/qb/{question_id}/edit"))
    data = dict(
        re.findall(r'<input type="hidden" name="(option_key_\d+|revision)" value="([^"]*)"', page)
    )
    for name, value in re.findall(
        r'<textarea class="rich" id="f-[^"]+" name="([^"]+)"[^>]*>([^<]*)</textarea>', page
    ):
        data[name] = value
    data["correct"] = re.findall(r'name="correct" value="(\d+)" checked', page)
    return data


def keys_of(version) -> list[str]:
    """Return a version's option keys in order."""
    return [o["key"] for o in version.body["options"]]


def test_option_keys_survive_removing_an_option_and_editing(trainer_client, category):
    new = form(
        "single_choice",
        category,
        option_1="直接挂失",
        option_2="转接主管",
        option_3="核实身份",
        option_4="询问消费",
        correct="3",
        action="publish",
    )
    assert trainer_client.submit("/qb/new?type=single_choice", new).status_code == 302
    q = db.session.scalar(select(Question))
    first = q.current
    k1, k2, k3, k4 = keys_of(first)
    assert first.body["correct"] == [k3]
    # Remove option B: its row is posted empty; the others keep their keys.
    data = {**form("single_choice", category), **edit_form(trainer_client, q.id)}
    assert [data[f"option_key_{n}"] for n in range(1, 5)] == [k1, k2, k3, k4]
    data["option_2"] = ""
    assert trainer_client.submit(f"/qb/{q.id}/edit", data).status_code == 302
    db.session.refresh(q)
    second = q.current
    assert keys_of(second) == [k1, k3, k4] and second.body["correct"] == [k3]
    # Fix the stem and add an option: keys stay, the new option's key is new.
    data = {**form("single_choice", category), **edit_form(trainer_client, q.id)}
    data["stem"] = "客户来电挂失信用卡，应首先："
    data["option_4"] = "登记来电"
    assert trainer_client.submit(f"/qb/{q.id}/edit", data).status_code == 302
    db.session.refresh(q)
    third = q.current
    assert [v.number for v in q.versions] == [1, 2, 3]
    assert keys_of(third)[:3] == [k1, k3, k4] and third.body["correct"] == [k3]
    assert keys_of(third)[3] not in {k1, k2, k3, k4}
    assert [o["html"] for o in third.body["options"]][:3] == ["直接挂失", "核实身份", "询问消费"]
    # An answer given on version 1 grades right against version 3 (a regrade's view).
    single = qtypes.get("single_choice")
    assert single.grade(third.body, k3) == 1.0
    assert single.grade(third.body, k2) == 0.0


def test_tampered_option_keys_are_replaced(trainer_client, category):
    data = form(
        "multiple_choice",
        category,
        option_key_1="same",
        option_key_2="same",
        option_key_3="<script>",
    )
    assert trainer_client.submit("/qb/new?type=multiple_choice", data).status_code == 302
    keys = keys_of(db.session.scalar(select(Question)).current)
    assert keys[0] == "same" and len(set(keys)) == 3 and "<script>" not in keys
