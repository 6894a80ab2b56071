"""Moodle XML and GIFT as pure formats: Moodle's own files, round trips, malformed input."""

import base64
import json
import random
from collections import Counter
from dataclasses import fields, replace

import pytest

from question_bank.formats import gift, moodle_xml
from question_bank.interchange import ParseResult, QuestionData


@pytest.fixture
def fixtures_dir():
    """Return the folder of the real Moodle files (skips when shared/ is not beside the repo)."""
    from tests.helpers import moodle_fixtures

    return moodle_fixtures()


FORMATS = [pytest.param(moodle_xml, id="moodle_xml"), pytest.param(gift, id="gift")]
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def options(*texts: str) -> list[dict]:
    """Return choice options keyed 1..n."""
    return [{"key": str(i), "html": t} for i, t in enumerate(texts, start=1)]


def partial(*answers: tuple[str, float], case: bool = False) -> dict:
    """Return a blank whose answers carry their share of the marks."""
    return {"answers": [{"text": t, "fraction": f} for t, f in answers], "case_sensitive": case}


def sample_bank() -> list[QuestionData]:
    """Return questions of every type with Chinese text, formatting, an image and metadata."""
    return [
        QuestionData(
            qtype="single_choice",
            stem='<p>客户来电<b>挂失</b>信用卡，首先应：</p><p><img src="@@PLUGINFILE@@/a.png" alt=""></p>',
            body={
                "options": options("直接挂失", "<b>核实身份</b>", "询问消费记录"),
                "correct": ["2"],
            },
            category_path=["业务知识"],
            explanation="<p>先核实身份，防止<i>冒名</i>挂失。</p>",
            default_points=2.0,
            difficulty=1,
            tags=["信用卡", "挂失"],
            source="《信用卡业务操作规程》第5条",
            status="published",
            name="挂失第一步",
            files={"a.png": PNG},
        ),
        QuestionData(
            qtype="multiple_choice",
            stem="<p>以下哪些属于可疑交易特征？</p><ul><li>依据反洗钱规定</li><li>可多选</li></ul>",
            body={
                "options": options(
                    "短期内频繁大额现金存取", "拆分交易规避报告", "按时还款", "资金快进快出"
                ),
                "correct": ["1", "2", "4"],
            },
            category_path=["风险合规", "反洗钱"],
            difficulty=5,
            tags=["反洗钱"],
            name="可疑交易",
        ),
        QuestionData(
            qtype="true_false",
            stem="<table><tr><th>业务</th><th>时限</th></tr><tr><td>挂失</td><td>次日</td></tr></table>"
            "<p>上表所列时限正确。</p>",
            body={"correct": False},
            category_path=["风险合规", "反洗钱"],
            explanation="<p>挂失<u>立即生效</u>。</p>",
            tags=["挂失", "时限"],
            status="retired",
            name="时限表",
        ),
        QuestionData(
            qtype="fill_blank",
            stem="<p>信用卡挂失后 ____ 小时内的损失由 ____ 承担。</p>",
            body={"blanks": [["48", "四十八"], ["银行", "发卡行"]]},
            category_path=["业务知识", "信用卡", "挂失"],
            default_points=2.5,
            tags=["挂失"],
            source="服务规范第十二条",
            name="挂失时限",
        ),
        QuestionData(
            qtype="fill_blank",
            stem="<p>大额现金交易的报告标准为人民币 ____</p>",
            body={"blanks": [["5万元", "50000元"]]},
            category_path=["风险合规", "反洗钱"],
            difficulty=4,
            status="published",
            name="",  # Moodle XML writes the text's beginning instead
        ),
        QuestionData(
            qtype="fill_blank",
            stem="<p>客户应在 ____ 内到网点领取新卡。</p>",
            body={"blanks": [["7天", "七天"]]},
            category_path=["业务知识", "信用卡", "挂失"],
            name="领卡时限",
        ),
        QuestionData(
            qtype="short_answer",
            stem="<p>简述<b>首问负责制</b>的要求。</p>",
            body={
                "reference": "<p>第一位接待客户的员工负责到底。</p><ul><li>不推诿</li></ul>",
                "rubric": "<table><tr><td>要点齐全</td><td>5分</td></tr></table>",
            },
            category_path=["业务知识", "信用卡"],
            default_points=10.0,
            difficulty=5,
            source="客服中心服务规范",
            status="published",
            name="首问负责制",
        ),
        QuestionData(
            qtype="true_false",
            stem="<p>没有分类的题目。</p>",
            body={"correct": True},
            name="根目录题",
        ),
    ]


def assert_same_questions(got: list[QuestionData], want: list[QuestionData]) -> None:
    """Compare question lists field by field, naming the question and field that differ."""
    assert len(got) == len(want), f"{len(got)} questions instead of {len(want)}"
    for i, (g, w) in enumerate(zip(got, want, strict=True), start=1):
        for f in fields(QuestionData):
            assert getattr(g, f.name) == getattr(w, f.name), f"question {i} ({w.name}): {f.name}"


def parsed(module, data: bytes) -> ParseResult:
    """Parse and check the result is well formed, whatever the input."""
    result = module.parse(data)
    assert isinstance(result, ParseResult)
    for where, reason in [*result.errors, *result.skipped]:
        assert isinstance(where, str) and where and isinstance(reason, str) and reason
    return result


# Moodle's own files


def test_gift_fixture_imports_every_supported_question_and_names_the_rest(fixtures_dir):
    result = parsed(gift, (fixtures_dir / "questions.gift.txt").read_bytes())
    assert result.errors == []
    assert Counter(q.qtype for _w, q in result.questions) == {
        "true_false": 3,
        "single_choice": 1,
        "multiple_choice": 1,
        "fill_blank": 1,
        "short_answer": 1,
    }
    assert result.skipped == [
        ("question 2 (Moodle activities)", "Matching questions are not supported."),
        ("question 5 (Q5)", "Numerical questions are not supported."),
    ]
    by_name = {q.name: q for _w, q in result.questions}
    assert by_name["colours"].body == {
        "options": options("yellow", "red", "off-beige", "blue"),
        "correct": ["1", "3"],
    }
    assert by_name["Q2"].qtype == "single_choice"
    assert by_name["Q2"].body["correct"] == ["1"]
    assert by_name["Q2"].stem == "What's between orange and green in the spectrum?"
    q1 = by_name["Q1"]
    assert (q1.qtype, q1.body) == ("true_false", {"correct": False})
    assert q1.explanation == "This is, of course, a Hitchiker's Guide to the Galaxy reference."
    # Text after the braces ('";' in Moodle's file) makes Moodle insert a blank there too.
    assert q1.stem == '42 is the Absolute Answer to everything.____";'
    assert by_name["Shortanswer"].stem == "Which is the best animal? ____"
    # Cat keeps its 50%; the catch-all * (0%) is dropped.
    assert by_name["Shortanswer"].body == {"blanks": [partial(("Frog", 1.0), ("Cat", 0.5))]}
    assert by_name["Q8"].body == {"reference": "", "rubric": ""}
    assert [w for w, _q in result.questions][-2:] == [
        "question 8 (2-08 TSL)",
        "question 9 (2-08 TSL)",
    ]
    assert all(q.difficulty == 3 and q.status == "draft" for _w, q in result.questions)


def test_xml_fixture_imports_nested_categories(fixtures_dir):
    result = parsed(
        moodle_xml, (fixtures_dir / "nested_categories_with_questions.xml").read_bytes()
    )
    assert result.errors == [] and result.skipped == []
    got = [(q.name, q.qtype, q.category_path) for _w, q in result.questions]
    assert got == [
        ("Iota Question", "true_false", ["Iota"]),
        ("Kappa Essay Question", "short_answer", ["Iota", "Kappa"]),
        ("Kappa Question", "true_false", ["Iota", "Kappa"]),
        ("Lambda Question", "true_false", ["Iota", "Kappa", "Lambda"]),
        ("Mu Question", "true_false", ["Iota", "Mu"]),
    ]
    first = result.questions[0][1]
    assert (first.stem, first.body, first.default_points) == (
        "<p>Testing Iota Question</p>",
        {"correct": True},
        1.0,
    )
    essay = result.questions[1][1]
    assert essay.stem == "Testing Kappa Essay Question"
    assert essay.body == {"reference": "", "rubric": ""}
    assert all(q.tags == [] and q.difficulty == 3 for _w, q in result.questions)


@pytest.mark.parametrize("source", ["questions.gift.txt", "nested_categories_with_questions.xml"])
@pytest.mark.parametrize("target", FORMATS)
def test_fixture_questions_survive_export_and_import(fixtures_dir, source, target):
    reader = gift if source.endswith(".txt") else moodle_xml
    first = [q for _w, q in parsed(reader, (fixtures_dir / source).read_bytes()).questions]
    again = parsed(target, target.export(first))
    assert again.errors == [] and again.skipped == []
    assert_same_questions([q for _w, q in again.questions], first)


# Round trips of our own questions


def test_moodle_xml_round_trip_keeps_every_field():
    bank = sample_bank()
    data = moodle_xml.export(bank)
    result = parsed(moodle_xml, data)
    assert result.errors == [] and result.skipped == [] and result.warnings == []
    # Moodle needs a name: a nameless question is written with its text's beginning, which
    # comes back as no name, so the round trip is exact.
    assert bank[4].name == ""
    assert "<name><text>大额现金交易的报告标准为人民币 ____</text></name>" in data.decode()
    assert_same_questions([q for _w, q in result.questions], bank)


def test_gift_round_trip_is_lossless():
    bank = sample_bank()
    result = parsed(gift, gift.export(bank))
    assert result.errors == [] and result.skipped == []
    assert_same_questions([q for _w, q in result.questions], bank)


def test_moodle_xml_keeps_our_metadata_in_reserved_tags_and_the_rubric_in_graderinfo():
    data = moodle_xml.export(sample_bank()).decode()
    for tag in (
        "lms-difficulty:1",
        "lms-difficulty:5",
        "lms-status:retired",
        "lms-source:服务规范第十二条",
    ):
        assert f"<tag><text>{tag}</text></tag>" in data
    assert "</ul><!-- lms-rubric --><table>" in data
    assert '<file name="a.png" path="/" encoding="base64">' in data
    assert "{1:SHORTANSWER:=48~=四十八}" in data and "{1:SHORTANSWER:=银行~=发卡行}" in data
    assert "<category><text>$course$/top/业务知识/信用卡/挂失</text></category>" in data


def test_gift_export_puts_the_whole_question_on_one_json_line_before_readable_gift():
    bank = sample_bank()
    lines = gift.export(bank).decode().split("\n")
    saved = [
        json.loads(line[len(gift.JSON_PREFIX) :])
        for line in lines
        if line.startswith("// lms-json:")
    ]
    assert [s["question"]["name"] for s in saved] == [q.name for q in bank]
    assert saved[0]["question"]["files"] == {"a.png": base64.b64encode(PNG).decode()}
    assert "$CATEGORY: $course$/top/风险合规/反洗钱" in lines


def test_gift_export_reads_as_plain_gift_without_our_json_lines():
    data = gift.export(sample_bank()).decode()
    plain = "\n".join(line for line in data.split("\n") if not line.startswith("// lms-json:"))
    result = parsed(gift, plain.encode())
    assert result.errors == [] and result.skipped == []
    got = [(q.qtype, q.category_path) for _w, q in result.questions]
    assert got == [
        ("single_choice", ["业务知识"]),
        ("multiple_choice", ["风险合规", "反洗钱"]),
        ("true_false", ["风险合规", "反洗钱"]),
        ("short_answer", ["业务知识", "信用卡", "挂失"]),  # two blanks: an essay for Moodle
        ("fill_blank", ["风险合规", "反洗钱"]),
        ("fill_blank", ["业务知识", "信用卡", "挂失"]),
        ("short_answer", ["业务知识", "信用卡"]),
        ("true_false", []),
    ]
    questions = [q for _w, q in result.questions]
    assert questions[1].body == sample_bank()[1].body
    assert questions[5].stem == "<p>客户应在 ____ 内到网点领取新卡。</p>"
    assert questions[5].body == {"blanks": [["7天", "七天"]]}
    assert "1. 48 / 四十八; 2. 银行 / 发卡行" in questions[3].explanation


@pytest.mark.parametrize(
    ("stem", "questiontext"),
    [
        ("<p>补卡需要几个工作日？ ____</p>", "<p>补卡需要几个工作日？</p>"),
        ("补卡需要几个工作日？ ____", "补卡需要几个工作日？"),
        ("<p>补卡需要 ____ 个工作日。</p>", "<p>补卡需要 ____ 个工作日。</p>"),
        ("<p>补卡需要几个工作日？______</p>", "<p>补卡需要几个工作日？______</p>"),
    ],
)
def test_one_blank_is_written_as_moodle_shortanswer_and_read_back(stem, questiontext):
    q = QuestionData(qtype="fill_blank", stem=stem, body={"blanks": [["3", "三"]]}, name="补卡")
    data = moodle_xml.export([q]).decode()
    assert '<question type="shortanswer">' in data
    assert f'<questiontext format="html"><text><![CDATA[{questiontext}]]></text>' in data
    assert [x for _w, x in moodle_xml.parse(data.encode()).questions] == [q]


@pytest.mark.parametrize(
    "answers", [["a*b", "星号*"], ["x~y", "p=q", "c#d", "{1}", "a\\b", "5:30"], ["A&B", "<b>"]]
)
@pytest.mark.parametrize("module", FORMATS)
def test_special_characters_in_answers_survive(module, answers):
    two = QuestionData(qtype="fill_blank", stem="____ 与 ____", body={"blanks": [answers, ["y"]]})
    one = QuestionData(qtype="fill_blank", stem="答案是 ____ 。", body={"blanks": [answers]})
    result = module.parse(module.export([replace(two, name="两空"), replace(one, name="一空")]))
    assert [q.body for _w, q in result.questions] == [two.body, one.body]


def test_gift_best_effort_body_keeps_special_characters():
    q = QuestionData(
        qtype="single_choice",
        stem='<p>费率：1% = 0.01 {含税}</p><img src="@@PLUGINFILE@@/a.png">',
        body={"options": options("a~b", "c#d", "x\\y"), "correct": ["3"]},
        name="Q:1",
    )
    lines = gift.export([q]).decode().split("\n")
    plain = "\n".join(line for line in lines if not line.startswith("//")).encode()
    assert [x for _w, x in gift.parse(plain).questions] == [q]


# Reading Moodle's constructs


XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>\n'


def xml_question(qtype: str, name: str, inner: str, text: str = "<p>Q</p>") -> str:
    """Return one Moodle <question> element."""
    return (
        f'<question type="{qtype}"><name><text>{name}</text></name>'
        f'<questiontext format="html"><text><![CDATA[{text}]]></text></questiontext>'
        f"{inner}</question>\n"
    )


def xml_file(*questions: str) -> bytes:
    """Return a Moodle XML file holding the questions, with a byte-order mark."""
    return b"\xef\xbb\xbf" + XML_HEAD + "".join(questions).encode() + b"</quiz>"


def test_xml_reads_cloze_with_short_answer_gaps_as_blanks():
    text = "<p>德国首都是{1:SHORTANSWER:=Berlin~%100%柏林#对~*#错}，法国首都是{2:SA:=Paris~%50%Lyon}。</p>"
    result = moodle_xml.parse(xml_file(xml_question("multianswer", "首都", "", text)))
    assert result.errors == [] and result.skipped == []
    q = result.questions[0][1]
    assert q.stem == "<p>德国首都是____，法国首都是____。</p>"
    assert q.body == {"blanks": [["Berlin", "柏林"], partial(("Paris", 1.0), ("Lyon", 0.5))]}


@pytest.mark.parametrize(
    ("qtype", "inner", "text", "reason"),
    [
        (
            "multianswer",
            "",
            "{1:MULTICHOICE:=a~b} and {2:SA:=c}",
            "Cloze questions are supported only when every gap is short answer; "
            "this one has MULTICHOICE gaps.",
        ),
        (
            "shortanswer",
            '<answer fraction="100"><text>Fr*g</text></answer>',
            "Q",
            "Short-answer questions with a wildcard (*) in an answer are not supported.",
        ),
        ("matching", "", "Q", "Matching questions are not supported."),
        ("ddwtos", "", "Q", "Drag and drop into text questions are not supported."),
        ("description", "", "Q", "Description questions are not supported."),
        ("mystery", "", "Q", 'Questions of type "mystery" are not supported.'),
    ],
)
def test_xml_skips_what_it_cannot_take_with_the_reason(qtype, inner, text, reason):
    result = moodle_xml.parse(xml_file(xml_question(qtype, "跳过", inner, text)))
    assert result.questions == [] and result.errors == []
    assert result.skipped == [("question 1 (跳过)", reason)]


def test_xml_reads_embedded_images_and_text_formats():
    png = base64.b64encode(PNG).decode()
    question = (
        '<question type="multichoice"><name><text>图</text></name>'
        '<questiontext format="html"><text><![CDATA[<p><img src="@@PLUGINFILE@@/%E5%9B%BE%201.png"></p>]]>'
        f'</text><file name="图 1.png" path="/" encoding="base64">{png}</file>'
        f'<file name="unused.png" path="/" encoding="base64">{png}</file></questiontext>'
        '<generalfeedback format="plain_text"><text>a &lt; b\nc</text></generalfeedback>'
        "<defaultgrade>2.5000000</defaultgrade><single>false</single>"
        '<answer fraction="50" format="moodle_auto_format"><text>一\n二</text></answer>'
        '<answer fraction="-100" format="html"><text></text></answer>'
        '<answer fraction="0" format="plain_text"><text>&lt;b&gt;</text></answer>'
        '<answer fraction="50" format="html"><text><![CDATA[<i>四</i>]]></text></answer>'
        "<tags><tag><text>信用卡</text></tag><tag><text>lms-difficulty:4</text></tag></tags>"
        "</question>"
    )
    result = moodle_xml.parse(xml_file(question))
    assert result.errors == []
    q = result.questions[0][1]
    assert q.files == {"%E5%9B%BE%201.png": PNG}  # keyed as the HTML spells it; unused dropped
    assert q.explanation == "a &lt; b<br>c"
    assert q.body == {
        "options": options("一<br>二", "&lt;b&gt;", "<i>四</i>"),
        "correct": ["1", "3"],
    }
    assert (q.default_points, q.tags, q.difficulty, q.status) == (2.5, ["信用卡"], 4, "draft")


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("$course$/Iota/Kappa", ["Iota", "Kappa"]),
        ("$system$/top/信用卡", ["信用卡"]),
        ("top/A//B/C", ["A/B", "C"]),
        ("$course$/top", []),
        ("$module$/测验题库", ["测验题库"]),
        ("", []),
    ],
)
def test_category_paths_drop_context_and_top(text, path):
    assert moodle_xml.parse_category(text) == path
    assert moodle_xml.parse_category(moodle_xml.category_text(path)) == path


@pytest.mark.parametrize(
    ("source", "qtype", "stem", "body"),
    [
        (
            "::M::Moodle costs {~lots of money =nothing ~a small amount} to download.",
            "single_choice",
            "Moodle costs ____ to download.",
            {"options": options("lots of money", "nothing", "a small amount"), "correct": ["2"]},
        ),
        (
            "::F::信用卡挂失后{=24 =二十四 =%50%一天}小时内生效。",
            "fill_blank",
            "信用卡挂失后____小时内生效。",
            {"blanks": [partial(("24", 1.0), ("二十四", 1.0), ("一天", 0.5))]},
        ),
        (
            "::E::[html]<p>价格 \\{含税\\} 是 5\\=5\\: 对吗</p>{TRUE}",
            "true_false",
            "<p>价格 {含税} 是 5=5: 对吗</p>",
            {"correct": True},
        ),
        ("::P::[plain]a < b\\nc{F#错}", "true_false", "a &lt; b<br>c", {"correct": False}),
        (
            "::W::Which?{\n~%33.3%one\n~%33.3%two\n~%-50%three\n~%33.4%four\n}",
            "multiple_choice",
            "Which?",
            {"options": options("one", "two", "three", "four"), "correct": ["1", "2", "4"]},
        ),
        (
            "::S::写一段话。{####[html]<b>参考</b>}",
            "short_answer",
            "写一段话。",
            {"reference": "", "rubric": ""},
        ),
    ],
)
def test_gift_reads_moodle_syntax(source, qtype, stem, body):
    result = gift.parse(f"// comment\n$CATEGORY: $course$/top/甲/乙\n\n{source}\n".encode())
    assert result.errors == [] and result.skipped == []
    q = result.questions[0][1]
    assert (q.qtype, q.stem, q.body, q.category_path) == (qtype, stem, body, ["甲", "乙"])


def test_gift_skips_descriptions_and_unsupported_types_but_reads_the_rest():
    data = (
        "::D:: Just text.\n\n::M:: Match {=a -> 1 =b -> 2}\n\n::N:: 2+2? {#4}\n\n::T:: 对吗 {T}\n"
    )
    result = gift.parse(data.encode())
    assert [w for w, _q in result.questions] == ["question 4 (T)"]
    assert [w for w, _r in result.skipped] == ["question 1 (D)", "question 2 (M)", "question 3 (N)"]
    assert result.errors == []


def test_one_malformed_question_does_not_stop_the_others():
    data = "::A:: 好 {T}\n\n::B:: 坏 {=a ~b\n\n::C:: 配对 {=a -> 1 =b -> 2}\n\n::D:: 也好 {F}\n"
    result = gift.parse(data.encode())
    assert [w for w, _q in result.questions] == ["question 1 (A)", "question 4 (D)"]
    assert [w for w, _r in result.errors] == ["question 2 (B)"]
    assert [w for w, _r in result.skipped] == ["question 3 (C)"]
    xml = xml_file(
        xml_question("truefalse", "A", '<answer fraction="100"><text>true</text></answer>'),
        xml_question("multichoice", "B", ""),
        xml_question("numerical", "C", ""),
        xml_question("truefalse", "D", '<answer fraction="0"><text>true</text></answer>'),
    )
    result = moodle_xml.parse(xml)
    assert [(w, q.body) for w, q in result.questions] == [
        ("question 1 (A)", {"correct": True}),
        ("question 4 (D)", {"correct": False}),
    ]
    assert [w for w, _r in result.errors] == ["question 2 (B)"]
    assert [w for w, _r in result.skipped] == ["question 3 (C)"]


# Malformed input


def mc(name: str, single: str, *answers: tuple[str, str]) -> bytes:
    """Return a Moodle XML file with one multichoice question."""
    inner = f"<single>{single}</single>" + "".join(
        f'<answer fraction="{f}"><text>{t}</text></answer>' for f, t in answers
    )
    return xml_file(xml_question("multichoice", name, inner))


def lms_json(body: str, **question) -> bytes:
    """Return a GIFT question with a // lms-json line written by our export, then edited."""
    data = gift.export(
        [QuestionData(qtype="true_false", stem="对吗", body={"correct": True}, name="J")]
    )
    head = next(line for line in data.decode().split("\n") if line.startswith(gift.JSON_PREFIX))
    saved = json.loads(head[len(gift.JSON_PREFIX) :])
    saved["question"].update(question)
    return f"{gift.JSON_PREFIX} {json.dumps(saved)}\n{body}\n".encode()


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE quiz [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<quiz><question type="category"><category><text>&b;</text></category></question></quiz>"""
RANDOM_BYTES = bytes(random.Random(7).randrange(256) for _ in range(2000))


MALFORMED = [
    (moodle_xml, b"just some text, not XML", "file", "The file is not valid XML"),
    (moodle_xml, b"<quiz><question type='truefalse'>", "file", "The file is not valid XML"),
    (moodle_xml, b"<html><body/></html>", "file", "its root element is <html>, not <quiz>"),
    (moodle_xml, BILLION_LAUGHS, "file", "declares a DOCTYPE or entities"),
    (moodle_xml, RANDOM_BYTES, "file", "The file is not UTF-8 text."),
    (moodle_xml, XML_HEAD + b"</quiz>", "file", "The file contains no questions."),
    (
        moodle_xml,
        mc("NoAnswers", "true"),
        "question 1 (NoAnswers)",
        "A choice question needs at least two options; this one has 0.",
    ),
    (
        moodle_xml,
        mc("NoCorrect", "true", ("0", "a"), ("0", "b")),
        "question 1 (NoCorrect)",
        "A single-choice question needs a correct option",
    ),
    (
        moodle_xml,
        mc("NoneRight", "false", ("0", "a"), ("-50", "b")),
        "question 1 (NoneRight)",
        "A multiple-choice question needs at least one correct option",
    ),
    (
        moodle_xml,
        mc("BadGrade", "true", ("lots", "a"), ("0", "b")),
        "question 1 (BadGrade)",
        "The grade lots of answer 1 is not a number.",
    ),
    (
        moodle_xml,
        xml_file(
            xml_question("shortanswer", "NoFull", '<answer fraction="50"><text>x</text></answer>')
        ),
        "question 1 (NoFull)",
        "A short-answer question needs at least one answer worth 100%.",
    ),
    (
        moodle_xml,
        xml_file(
            xml_question(
                "truefalse",
                "Both",
                '<answer fraction="100"><text>true'
                '</text></answer><answer fraction="100"><text>false'
                "</text></answer>",
            )
        ),
        "question 1 (Both)",
        "Exactly one of the answers true and false must be correct.",
    ),
    (
        moodle_xml,
        xml_file(xml_question("essay", "NoText", "", "")),
        "question 1 (NoText)",
        "The question has no text.",
    ),
    (
        moodle_xml,
        xml_file(xml_question("multianswer", "Gap", "", "a {1:SA:=x} b {2:SA:%50%y}")),
        "question 1 (Gap)",
        "Gap 2 needs at least one answer worth 100%.",
    ),
    (
        moodle_xml,
        xml_file(xml_question("multianswer", "Open", "", "a {1:SA:=x")),
        "question 1 (Open)",
        "A Cloze gap has no closing }.",
    ),
    (
        moodle_xml,
        xml_file(
            xml_question(
                "essay",
                "Img",
                '<graderinfo format="html"><text>x</text>'
                '<file name="a.png">!!notbase64</file></graderinfo>',
            )
        ),
        "question 1 (Img)",
        "The embedded file a.png is not valid base64.",
    ),
    (
        moodle_xml,
        xml_file(
            xml_question("essay", "Tag", "<tags><tag><text>lms-difficulty:9</text></tag></tags>")
        ),
        "question 1 (Tag)",
        "The tag lms-difficulty:9 needs a difficulty from 1 to 5.",
    ),
    (
        moodle_xml,
        xml_file(xml_question("essay", "Pts", "<defaultgrade>-1</defaultgrade>")),
        "question 1 (Pts)",
        "The default mark -1 is not a number of points.",
    ),
    (
        gift,
        b"::Q1:: unclosed {=a ~b\n",
        "question 1 (Q1)",
        "The question has an opening { without a closing }.",
    ),
    (
        gift,
        b"::Q1:: closed } first {=a}\n",
        "question 1 (Q1)",
        "The question has a closing } without an opening {.",
    ),
    (gift, b"::Two:: {=a} and {=b}\n", "question 1 (Two)", "The question has more than one { }"),
    (gift, b"::Empty:: What? {=}\n", "question 1 (Empty)", "The answers have no text."),
    (
        gift,
        b"::Half:: What? {=%50%a}\n",
        "question 1 (Half)",
        "A short-answer question needs at least one answer worth 100%.",
    ),
    (
        gift,
        b"::Lone:: Pick {~only}\n",
        "question 1 (Lone)",
        "A choice question needs at least two options; this one has 1.",
    ),
    (
        gift,
        b"::NoRight:: Pick {~a ~b}\n",
        "question 1 (NoRight)",
        "A multiple-choice question needs at least one correct option",
    ),
    (gift, b"{T}\n", "question 1", "The question has no text."),
    (gift, RANDOM_BYTES, "file", "The file is not UTF-8 text."),
    (gift, "测试\x00".encode(), "file", "The file is not UTF-8 text."),
    (gift, b"Hello,\nthis is a letter, not questions.\n", "file", "This is not a GIFT file"),
    (gift, b"", "file", "This is not a GIFT file"),
    (
        gift,
        lms_json("::J::[html]对吗{FALSE}"),
        "question 1 (J)",
        "The question was edited after it was exported",
    ),
    (
        gift,
        lms_json("::J::[html]对吗{TRUE}", difficulty=9),
        "question 1 (J)",
        "Its // lms-json line has a difficulty outside 1 to 5.",
    ),
    (
        gift,
        lms_json("::J::[html]对吗{TRUE}", qtype="essay"),
        "question 1 (J)",
        "Its // lms-json line has an unknown type or status.",
    ),
    (
        gift,
        lms_json("::J::[html]对吗{TRUE}", files={"a.png": "@@"}),
        "question 1 (J)",
        "Its // lms-json line has a file that is not valid base64.",
    ),
    (
        gift,
        lms_json("::J::[html]对吗{TRUE}", tags="挂失"),
        "question 1 (J)",
        "Its // lms-json line has an invalid field tags.",
    ),
    (
        gift,
        b'// lms-json: {"v": 1, \n::J:: x {T}\n',
        "question 1 (J)",
        "Its // lms-json line is not valid JSON.",
    ),
    (
        gift,
        b"// lms-json: " + b"[" * 100000 + b"\n::J:: x {T}\n",
        "question 1 (J)",
        "Its // lms-json line is not valid JSON.",
    ),
]


@pytest.mark.parametrize(
    ("module", "data", "where", "reason"),
    MALFORMED,
    ids=[
        f"{m.__name__.rsplit('.', 1)[1]}-{i}-{r[:40]}" for i, (m, _d, _w, r) in enumerate(MALFORMED)
    ],
)
def test_malformed_input_gives_one_clear_error_naming_the_question(module, data, where, reason):
    result = parsed(module, data)
    assert len(result.errors) == 1, result.errors
    assert result.errors[0][0] == where
    assert reason in result.errors[0][1]
    assert result.questions == []


@pytest.mark.parametrize("name", ["questions.gift.txt", "nested_categories_with_questions.xml"])
@pytest.mark.parametrize("module", FORMATS)
def test_truncated_or_mangled_files_never_raise(fixtures_dir, module, name):
    data = (fixtures_dir / name).read_bytes()
    rng = random.Random(name)
    for cut in range(0, len(data), 37):
        parsed(module, data[:cut])
    for _ in range(200):
        mangled = bytearray(data)
        for _ in range(5):
            mangled[rng.randrange(len(mangled))] = rng.choice(b"{}~=#:%\\<>/-[]&\n TF")
        parsed(module, bytes(mangled))


def test_random_gift_like_text_never_raises():
    rng = random.Random(1)
    alphabet = ["{", "}", "~", "=", "#", ":", "::", "%50%", "\\", "->", "T", "[html]", "\n", "\n\n"]
    alphabet += [" ", "a", "挂失", "//", "$CATEGORY:", "####", "____", "*", "%-100%"]
    for _ in range(500):
        parsed(gift, "".join(rng.choice(alphabet) for _ in range(rng.randrange(40))).encode())
