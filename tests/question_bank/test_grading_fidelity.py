"""Grading fidelity: part marks and case-sensitive blanks, single-answer multiple choice,
negative option marks, and how every format carries them."""

import pytest
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from question_bank.formats import gift, moodle_xml, spreadsheet
from question_bank.interchange import QuestionData
from question_bank.qtypes import REGISTRY
from question_bank.qtypes.fill_blank import FillBlank

FB = REGISTRY[FillBlank.key]
NEGATIVE_WARNING = (
    "Options with negative marks (%(marks)s) were imported as wrong options: "
    "negative marks were set to 0."
)


def blank(*answers: tuple[str, float], case: bool = False) -> dict:
    """Return a blank in the rich shape."""
    return {"answers": [{"text": t, "fraction": f} for t, f in answers], "case_sensitive": case}


FROG_TOAD = blank(("frog", 1.0), ("toad", 0.8))


@pytest.mark.parametrize(
    ("blanks", "response", "score"),
    [
        ([FROG_TOAD], ["toad"], 0.8),
        ([FROG_TOAD], ["FROG"], 1.0),
        ([FROG_TOAD], ["newt"], 0.0),
        ([blank(("frog", 1.0), case=True)], ["Frog"], 0.0),
        ([blank(("frog", 1.0), case=True)], ["frog"], 1.0),
        ([blank(("frog", 1.0), case=True)], ["ｆｒｏｇ "], 1.0),  # width and spaces still ignored
        ([blank(("frog", 1.0), case=False)], ["Frog"], 1.0),
        ([["frog"]], ["Frog"], 1.0),
        # The best matching answer counts, whatever the order of the answers.
        ([blank(("蛙", 0.5), ("frog", 1.0), ("Frog", 0.3), case=True)], ["Frog"], 0.3),
        ([FROG_TOAD, ["24", "二十四"]], ["toad", "２４"], 0.9),
        ([FROG_TOAD, ["24"]], ["toad"], 0.4),
    ],
)
def test_fill_blank_grades_part_marks_and_case(blanks, response, score):
    assert FB.grade({"blanks": blanks}, response) == pytest.approx(score)


@pytest.mark.parametrize(
    ("response", "score"),
    [(["24", "挂失"], 1.0), (["二十四", "x"], 0.5), (["ＡＢ", ""], 0.0), ([], 0.0), (None, 0.0)],
)
def test_fill_blank_old_bodies_grade_as_before(response, score):
    assert FB.grade({"blanks": [["24", "二十四"], ["挂失"]]}, response) == score


def test_fill_blank_clean_body_keeps_old_bodies_as_they_are():
    old = {"blanks": [["24", "二十四"], ["挂失"]]}
    assert FB.clean_body(old) == old
    # A rich blank that says nothing more than the old shape is stored in the old shape.
    assert FB.clean_body({"blanks": [blank(("24", 1.0))]}) == {"blanks": [["24"]]}
    assert FB.clean_body({"blanks": [FROG_TOAD]}) == {"blanks": [FROG_TOAD]}


def test_fill_blank_form_reads_part_marks_and_the_case_box():
    form = MultiDict(
        {"blank_1": "frog | toad=80% | 蛙＝50％", "blank_case_1": "1", "blank_2": "24|二十四"}
    )
    body = FB.body_from_form(form)
    assert body == {
        "blanks": [blank(("frog", 1.0), ("toad", 0.8), ("蛙", 0.5), case=True), ["24", "二十四"]]
    }
    assert FB.form_answers(body["blanks"][0]) == "frog | toad=80% | 蛙=50%"
    assert FB.form_case_sensitive(body["blanks"][0]) and not FB.form_case_sensitive(["24"])
    assert FB.key_text(body) == "frog|toad=80%|蛙=50%；24|二十四"


@pytest.mark.parametrize(
    ("field", "problem"),
    [
        ("frog=100% | toad=120%", "The marks of blank %(n)d's answers must be from 0%% to 100%%."),
        ("toad=80% | newt=20%", "Blank %(n)d needs an answer worth 100%%."),
    ],
)
def test_fill_blank_refuses_bad_marks(app, field, problem):
    with app.test_request_context():
        body = FB.clean_body(FB.body_from_form(MultiDict({"blank_1": field})))
        assert FB.validate("挂失后____", body) == [_(problem, n=1)]


def test_fill_blank_accepts_good_marks(app):
    with app.test_request_context():
        assert FB.validate("a ____", {"blanks": [FROG_TOAD]}) == []


def multichoice(single: str, *answers: tuple[str, str]) -> bytes:
    inner = f"<single>{single}</single>" + "".join(
        f'<answer fraction="{f}" format="html"><text>{t}</text></answer>' for f, t in answers
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<quiz><question type="multichoice">'
        "<name><text>mc</text></name>"
        '<questiontext format="html"><text>Q?</text></questiontext>'
        f"{inner}</question></quiz>"
    ).encode()


def test_xml_multiple_answer_question_with_one_correct_option_imports(app):
    result = moodle_xml.parse(multichoice("false", ("100", "a"), ("0", "b"), ("0", "c")))
    assert result.errors == [] and result.skipped == [] and result.warnings == []
    q = result.questions[0][1]
    assert (q.qtype, q.body["correct"]) == ("multiple_choice", ["1"])
    assert REGISTRY[q.qtype].validate("Q?", q.body) == []


@pytest.mark.parametrize(
    ("single", "answers", "warned"),
    [
        ("true", [("100", "a"), ("-50", "b")], True),
        ("false", [("50", "a"), ("50", "b"), ("-33.333", "c")], True),
        # -100 on every wrong option: any wrong option loses the marks, as we grade anyway.
        ("false", [("50", "a"), ("50", "b"), ("-100", "c")], False),
        ("false", [("100", "a"), ("0", "b")], False),
    ],
)
def test_xml_negative_option_marks_import_with_a_warning(app, single, answers, warned):
    result = moodle_xml.parse(multichoice(single, *answers))
    assert result.errors == [] and result.skipped == [] and len(result.questions) == 1
    if warned:
        [(where, message)] = result.warnings
        marks = f"{float(answers[-1][0]):g}%"
        assert "mc" in where and message == _(NEGATIVE_WARNING, marks=marks)
    else:
        assert result.warnings == []
    assert (
        result.questions[0][1].body["correct"]
        == [str(i) for i, (f, _t) in enumerate(answers, start=1) if float(f) > 0][
            : 1 if single == "true" else None
        ]
    )


def test_gift_negative_option_marks_import_with_a_warning(app):
    result = gift.parse(b"::neg:: Q {=a ~%-50%b}\n\n::ok:: R {~%50%a ~%50%b ~%-100%c}\n")
    assert result.errors == [] and len(result.questions) == 2
    [(where, _message)] = result.warnings
    assert "neg" in where


PARTIAL_BANK = [
    QuestionData(
        qtype="fill_blank",
        stem="<p>Which is the best animal? ____</p>",
        body={"blanks": [FROG_TOAD]},
        name="one",
    ),
    QuestionData(
        qtype="fill_blank",
        stem="<p>The ____ sits on a ____.</p>",
        body={
            "blanks": [blank(("Frog", 1.0), ("Toad", 0.3333333), case=True), ["lily pad", "leaf"]]
        },
        name="two",
    ),
    QuestionData(
        qtype="fill_blank",
        stem="<p>Name it ____</p>",
        body={"blanks": [blank(("Frog", 1.0), case=True)]},
        name="three",
    ),
]


@pytest.mark.parametrize("module", [moodle_xml, gift])
def test_part_marks_and_case_survive_a_round_trip(app, module):
    result = module.parse(module.export(PARTIAL_BANK))
    assert result.errors == [] and result.skipped == [] and result.warnings == []
    assert [q.body for _w, q in result.questions] == [q.body for q in PARTIAL_BANK]


def test_part_marks_and_case_survive_a_spreadsheet_round_trip(app):
    result = spreadsheet.parse_xlsx(spreadsheet.export_xlsx(PARTIAL_BANK))
    assert result.errors == []
    assert [q.body for _w, q in result.questions] == [q.body for q in PARTIAL_BANK]


def test_moodle_xml_writes_fractions_and_usecase_as_moodle_does(app):
    data = moodle_xml.export(PARTIAL_BANK).decode()
    assert '<answer fraction="80" format="moodle_auto_format"><text>toad</text>' in data
    assert "<usecase>1</usecase>" in data
    assert "{1:SHORTANSWER_C:=Frog~%33.33333%Toad}" in data


def test_plain_gift_reads_part_marks():
    data = gift.export(PARTIAL_BANK[:1]).decode()
    assert "{=frog =%80%toad}" in data
    plain = "\n".join(line for line in data.split("\n") if not line.startswith("// lms-json:"))
    [(_where, q)] = gift.parse(plain.encode()).questions
    assert q.body == {"blanks": [FROG_TOAD]}


def test_xml_reads_usecase_and_case_sensitive_cloze_gaps(app):
    one = (
        '<question type="shortanswer"><name><text>sa</text></name>'
        '<questiontext format="html"><text>Best?</text></questiontext><usecase>1</usecase>'
        '<answer fraction="100"><text>Frog</text></answer>'
        '<answer fraction="50"><text>Toad</text></answer></question>'
    )
    cloze = (
        '<question type="multianswer"><name><text>cz</text></name>'
        '<questiontext format="html"><text>{1:SAC:=Frog~%20%frog} {1:SA:=x}</text>'
        "</questiontext></question>"
    )
    data = f'<?xml version="1.0" encoding="UTF-8"?>\n<quiz>{one}{cloze}</quiz>'.encode()
    result = moodle_xml.parse(data)
    assert result.errors == []
    bodies = [q.body for _w, q in result.questions]
    assert bodies == [
        {"blanks": [blank(("Frog", 1.0), ("Toad", 0.5), case=True)]},
        {"blanks": [blank(("Frog", 1.0), ("frog", 0.2), case=True), ["x"]]},
    ]


def test_full_mark_answer_of_every_blank_shape():
    from question_bank.qtypes.blanks import full_mark_answer

    assert full_mark_answer(["48", "四十八"]) == "48"
    assert (
        full_mark_answer(
            {"answers": [{"text": "银行", "fraction": 0.5}, {"text": "Bank", "fraction": 1.0}]}
        )
        == "Bank"
    )
