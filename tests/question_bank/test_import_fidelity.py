"""An import never drops anything silently: what the bank cannot hold is a warning per
question; names, category descriptions, GIFT comment tags and <pre> indentation are kept."""

import base64

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from lms.extensions import db
from question_bank import transfer
from question_bank.fidelity import note_losses
from question_bank.formats import gift, moodle_xml
from question_bank.models import Category, Image, Question
from tests.helpers import count, text, zh
from tests.question_bank.test_authoring import png_bytes

PNG = base64.b64encode(png_bytes()).decode()
PDF = base64.b64encode(b"%PDF-1.4 not an image").decode()


def quiz(*questions: str) -> bytes:
    """Return a Moodle XML file of the given <question> elements."""
    return (
        "<?xml version='1.0' encoding='UTF-8'?><quiz>" + "".join(questions) + "</quiz>"
    ).encode()


def multichoice(extra: str = "", text_html: str = "<p>客户挂失信用卡，首先应：</p>") -> str:
    """Return a Moodle multichoice question with ``extra`` elements inside."""
    return f"""<question type="multichoice">
  <name><text>挂失第一步</text></name>
  <questiontext format="html"><text><![CDATA[{text_html}]]></text></questiontext>
  <generalfeedback format="html"><text><![CDATA[<p>先核实身份。</p>]]></text></generalfeedback>
  <single>true</single>
  <answer fraction="100" format="html"><text>核实身份</text></answer>
  <answer fraction="0" format="html"><text>直接挂失</text></answer>
  {extra}
</question>"""


def english(parse, data: bytes):
    """Parse and note losses with messages in English (the msgids the tests name)."""
    with force_locale("en"):
        return note_losses(parse(data))


def warnings_of(data: bytes, module=moodle_xml) -> list[str]:
    """Return the warnings of a one-question file, as the import report lists them."""
    parsed = english(module.parse, data)
    assert parsed.errors == [], parsed.errors
    assert len({w for w, _m in parsed.warnings}) <= 1  # all about the one question
    return [m for _w, m in parsed.warnings]


def test_plain_moodle_question_imports_without_warnings(app):
    assert warnings_of(quiz(multichoice())) == []


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (
            '<answer fraction="0" format="html"><text>询问消费</text>'
            '<feedback format="html"><text>不对，应先核实身份。</text></feedback></answer>',
            "The feedback of 1 answer was not imported",
        ),
        (
            '<answer fraction="0" format="html"><text>询问消费</text><feedback format="html">'
            '<text><![CDATA[<img src="@@PLUGINFILE@@/wrong.png">]]></text>'
            f'<file name="wrong.png" path="/" encoding="base64">{PNG}</file></feedback></answer>',
            "The feedback of 1 answer was not imported",
        ),
        (
            '<correctfeedback format="html"><text>回答正确。</text></correctfeedback>',
            "feedback for right, partly right and wrong responses",
        ),
        (
            '<hint format="html"><text>想想身份核实。</text></hint>'
            '<hint format="html"><text>第二个提示</text></hint>',
            "2 hints were not imported",
        ),
        ("<idnumber>CARD-LOSS-01</idnumber>", "Its ID number CARD-LOSS-01 was not kept"),
    ],
)
def test_moodle_xml_says_what_each_question_loses(app, extra, says):
    found = warnings_of(quiz(multichoice(extra)))
    assert any(says in m for m in found), found


@pytest.mark.parametrize(
    ("html", "says"),
    [
        ('<p style="color: red">挂失</p>', "Styles (colours, sizes, alignment) were removed"),
        ('<p>见<a href="http://intranet/rules">规定</a></p>', "Links were removed"),
        ("<p>挂失</p><script>alert(1)</script>", "Scripts, frames and media were removed"),
        ("<h3>挂失</h3><p>首先应：</p>", "Formatting the bank does not keep was removed"),
        ('<p><img src="http://example.com/x.png">挂失</p>', "Images from outside the file"),
    ],
)
def test_html_the_bank_trims_is_named(app, html, says):
    found = warnings_of(quiz(multichoice(text_html=html)))
    assert any(says in m for m in found), found


def test_attached_files_that_are_not_images_are_named_and_left_out(app, trainer):
    html = (
        '<p>见附件<a href="@@PLUGINFILE@@/rules.pdf">规定</a>与图'
        '<img src="@@PLUGINFILE@@/chart.png" alt="图"><img src="@@PLUGINFILE@@/bad.png"></p>'
    )
    files = (
        f'<file name="rules.pdf" path="/" encoding="base64">{PDF}</file>'
        f'<file name="chart.png" path="/" encoding="base64">{PNG}</file>'
        f'<file name="bad.png" path="/" encoding="base64">{PDF}</file>'
    )
    question = multichoice().replace(
        '<questiontext format="html"><text><![CDATA[<p>客户挂失信用卡，首先应：</p>]]></text>',
        f'<questiontext format="html"><text><![CDATA[{html}]]></text>{files}',
    )
    found = warnings_of(quiz(question))
    assert any("rules.pdf" in m and "keeps only images" in m for m in found), found
    assert any("bad.png" in m and "PNG, JPEG, GIF or WebP" in m for m in found), found
    # The import goes through: the real image is stored, the others are not.
    report = transfer.import_questions("q.xml", quiz(question), trainer)
    db.session.commit()
    assert report.created == 1 and count(Image) == 1
    stem = db.session.scalar(select(Question)).current.stem
    assert "/qb/images/" in stem and "PLUGINFILE" not in stem and "bad.png" not in stem


def test_images_in_the_general_feedback_are_kept(app, trainer):
    question = multichoice().replace(
        '<generalfeedback format="html"><text><![CDATA[<p>先核实身份。</p>]]></text>',
        '<generalfeedback format="html"><text><![CDATA[<p>流程<img src="@@PLUGINFILE@@/f.png">'
        f']]></text><file name="f.png" path="/" encoding="base64">{PNG}</file>',
    )
    assert warnings_of(quiz(question)) == []
    transfer.import_questions("q.xml", quiz(question), trainer)
    db.session.commit()
    assert "/qb/images/" in db.session.scalar(select(Question)).current.explanation


def test_part_marks_the_types_cannot_hold_are_named(app):
    single = multichoice('<answer fraction="50" format="html"><text>先安抚</text></answer>')
    assert any("(50%) were imported as wrong" in m for m in warnings_of(quiz(single)))
    weighted = """<question type="multichoice"><name><text>m</text></name>
      <questiontext format="html"><text>可疑交易特征：</text></questiontext><single>false</single>
      <answer fraction="60"><text>频繁大额现金</text></answer>
      <answer fraction="40"><text>拆分交易</text></answer>
      <answer fraction="-100"><text>按时还款</text></answer></question>"""
    assert any("different weights (60%, 40%)" in m for m in warnings_of(quiz(weighted)))
    catch_all = """<question type="shortanswer"><name><text>s</text></name>
      <questiontext format="html"><text>哪种动物？</text></questiontext>
      <answer fraction="100"><text>Frog</text></answer>
      <answer fraction="80"><text>toad</text></answer>
      <answer fraction="20"><text>*</text></answer></question>"""
    parsed = english(moodle_xml.parse, quiz(catch_all))
    assert [m for _w, m in parsed.warnings] == [
        "The answer * (worth 20%) has a wildcard (*) and was left out: blanks here accept "
        "only the answers they list."
    ]
    blank = parsed.questions[0][1].body["blanks"][0]
    assert [(a["text"], a["fraction"]) for a in blank["answers"]] == [("Frog", 1.0), ("toad", 0.8)]


def test_essay_attachments_and_templates_are_named(app):
    essay = """<question type="essay"><name><text>e</text></name>
      <questiontext format="html"><text>简述挂失流程。</text></questiontext>
      <attachments>1</attachments>
      <responsetemplate format="html"><text>第一步：</text></responsetemplate></question>"""
    found = warnings_of(quiz(essay))
    assert any("attach files" in m for m in found) and any("response template" in m for m in found)


def test_cloze_feedback_is_named(app):
    cloze = """<question type="multianswer"><name><text>c</text></name>
      <questiontext format="html"><text>挂失后{1:SHORTANSWER:=48#对~%50%四十八#也行}小时</text>
      </questiontext></question>"""
    assert any("feedback of 2 answers" in m for m in warnings_of(quiz(cloze)))


def test_gift_feedback_comment_tags_and_idnumber(app):
    data = (
        "// [id:CARD-7] [tag:挂失] [tag:身份核实]\n"
        "::挂失第一步:: 客户挂失信用卡，首先应：{=核实身份#对 ~直接挂失#不对}\n"
    ).encode()
    parsed = english(gift.parse, data)
    question = parsed.questions[0][1]
    assert question.tags == ["挂失", "身份核实"] and question.name == "挂失第一步"
    found = [m for _w, m in parsed.warnings]
    assert any("ID number CARD-7" in m for m in found)
    assert any("feedback of 2 answers" in m for m in found)


def test_gift_export_writes_tags_as_moodle_reads_them(app):
    q = gift.parse("::n:: 题{TRUE}\n".encode()).questions[0][1]
    q.tags = ["挂失", "身份核实"]
    exported = gift.export([q]).decode()
    assert "// [tag:挂失] [tag:身份核实]" in exported
    # Without our lms-json line (as Moodle reads it), the tags still come back.
    plain = "\n".join(line for line in exported.splitlines() if "lms-json" not in line)
    assert gift.parse(plain.encode()).questions[0][1].tags == ["挂失", "身份核实"]


def test_pre_keeps_its_indentation(app):
    code = "<pre>if 客户.身份已核实:\n    挂失(卡号)\n        通知(客户)</pre>"
    via_gift = gift.parse(f"::c:: [html]<p>流程\\:</p>{code}{{}}\n".encode())
    assert code in via_gift.questions[0][1].stem
    via_xml = moodle_xml.parse(
        quiz(
            '<question type="essay"><name><text>c</text></name><questiontext format="html">'
            f"<text><![CDATA[<p>流程：</p>{code}]]></text></questiontext></question>"
        )
    )
    assert code in via_xml.questions[0][1].stem
    # A blank line ends a GIFT question even inside <pre>: an unclosed <pre> cannot
    # swallow the questions after it.
    unclosed = gift.parse(b"::a:: [html]<pre>x{}\n\n::b:: next{TRUE}\n")
    assert [q.name for _w, q in unclosed.questions] == ["a", "b"]


def test_question_names_are_kept_searchable_and_exported(app, trainer, trainer_client):
    data = quiz(multichoice())
    transfer.import_questions("q.xml", data, trainer)
    db.session.commit()
    q = db.session.scalar(select(Question))
    assert q.name == "挂失第一步"
    page = text(trainer_client.get("/qb/?q=挂失第一步"))
    assert "挂失第一步" in page and f'/qb/{q.id}"' in page
    assert text(trainer_client.get("/qb/?q=没有这道题")).count('class="stem-cell"') == 0
    assert (
        "<name><text>挂失第一步</text></name>" in transfer.export_questions("moodle-xml").decode()
    )
    assert "::挂失第一步::" in transfer.export_questions("gift").decode()


def save_name(client, q, name: str):
    """Post the edit form of a true/false question with ``name``, the rest unchanged."""
    db.session.expire_all()
    fields = {
        "qtype": "true_false",
        "category_id": str(q.category_id),
        "stem": "挂失前应核实身份。",
        "correct": "true",
        "difficulty": "3",
        "default_points": "1",
        "revision": str(db.session.get(Question, q.id).revision),
        "name": name,
    }
    return client.submit(f"/qb/{q.id}/edit", fields)


def test_question_name_is_edited_in_the_form(app, trainer_client, make_question):
    q = make_question(stem="挂失前应核实身份。")
    form = text(trainer_client.get(f"/qb/{q.id}/edit"))
    assert 'name="name"' in form
    resp = save_name(trainer_client, q, "  挂失   身份核实 ")
    assert resp.status_code in (200, 302, 303), text(resp)
    db.session.expire_all()
    assert db.session.get(Question, q.id).name == "挂失 身份核实"
    too_long = save_name(trainer_client, q, "长" * 256)
    assert too_long.status_code == 422
    assert zh("The name may be at most %(n)d characters.", n=255) in text(too_long)
    db.session.expire_all()
    assert db.session.get(Question, q.id).name == "挂失 身份核实"


def test_category_descriptions_are_imported_and_exported(app, trainer):
    data = quiz(
        '<question type="category"><category><text>$course$/top/业务知识/信用卡</text></category>'
        '<info format="html"><text><![CDATA[<p>信用卡<b>挂失</b>与账单</p>]]></text></info>'
        "</question>",
        multichoice(),
    )
    assert warnings_of(data) == []
    transfer.import_questions("q.xml", data, trainer)
    db.session.commit()
    card = db.session.scalar(select(Category).where(Category.name == "信用卡"))
    assert card.description == "信用卡挂失与账单"
    exported = transfer.export_questions("moodle-xml").decode()
    assert '<info format="plain_text"><text>信用卡挂失与账单</text></info>' in exported
    # A category that already has another description keeps it, and the report says so.
    card.description = "本行说明"
    db.session.commit()
    parsed = moodle_xml.parse(data)
    report = transfer.import_questions("q.xml", data, trainer)
    assert (
        zh("category %(path)s", path="业务知识 / 信用卡"),
        zh("The category already has another description; the bank's is kept."),
    ) in report.warnings
    assert parsed.descriptions == {("业务知识", "信用卡"): "信用卡挂失与账单"}
    db.session.commit()
    assert db.session.get(Category, card.id).description == "本行说明"


def test_real_moodle_file_keeps_names_and_category_descriptions(app, trainer):
    from tests.helpers import moodle_fixtures

    path = moodle_fixtures() / "nested_categories_with_questions.xml"
    report = transfer.import_questions(path.name, path.read_bytes(), trainer)
    db.session.commit()
    assert report.created == 5 and report.errors == [] and report.skipped == []
    names = set(db.session.scalars(select(Question.name)))
    assert names == {
        "Iota Question",
        "Kappa Essay Question",
        "Kappa Question",
        "Lambda Question",
        "Mu Question",
    }
    lambda_ = db.session.scalar(select(Category).where(Category.name == "Lambda"))
    assert lambda_.description == "This is Lambda category for test"
