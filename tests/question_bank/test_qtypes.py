"""The question types as pure rules: validation and grading tables."""

import pytest

from question_bank import qtypes
from question_bank.qtypes.base import normalise_answer
from question_bank.qtypes.fill_blank import count_blanks

OPTS = [{"key": str(i), "html": t} for i, t in enumerate(["甲", "乙", "丙", "丁"], start=1)]


@pytest.mark.parametrize(
    ("qtype", "stem", "body", "expected"),
    [
        ("single_choice", "x", {"options": OPTS, "correct": ["2"]}, []),
        (
            "single_choice",
            "x",
            {"options": OPTS[:1], "correct": ["1"]},
            ["A choice question needs at least two options."],
        ),
        (
            "single_choice",
            "x",
            {"options": OPTS, "correct": []},
            ["A single-choice question needs exactly one correct option."],
        ),
        (
            "single_choice",
            "x",
            {"options": OPTS, "correct": ["1", "2"]},
            ["A single-choice question needs exactly one correct option."],
        ),
        (
            "single_choice",
            "x",
            {"options": [*OPTS[:2], {"key": "3", "html": "甲"}], "correct": ["1"]},
            ["Two options have the same text."],
        ),
        ("multiple_choice", "x", {"options": OPTS, "correct": ["1", "3"]}, []),
        (
            "multiple_choice",
            "x",
            {"options": OPTS, "correct": []},
            ["A multiple-choice question needs at least one correct option."],
        ),
        # Moodle lets a multiple-answer question have a single correct option.
        ("multiple_choice", "x", {"options": OPTS, "correct": ["1"]}, []),
        ("true_false", "x", {"correct": True}, []),
        ("true_false", "x", {"correct": None}, ["Choose whether the statement is true or false."]),
        ("fill_blank", "挂失后____小时内", {"blanks": [["24"]]}, []),
        (
            "fill_blank",
            "没有空",
            {"blanks": [["24"]]},
            ["Mark each blank in the stem with ____ (three or more underscores)."],
        ),
        (
            "fill_blank",
            "a ____ b ____",
            {"blanks": [["1"]]},
            ["Blank 2 needs at least one accepted answer."],
        ),
        (
            "fill_blank",
            "a ____",
            {"blanks": [["1"], ["2"]]},
            ["The stem has 1 blanks but answers are given for 2."],
        ),
        ("fill_blank", "a ____", {"blanks": [[]]}, ["Blank 1 needs at least one accepted answer."]),
        ("short_answer", "x", {"reference": "<p>要点</p>", "rubric": ""}, []),
    ],
)
def test_validate(english, qtype, stem, body, expected):
    assert qtypes.get(qtype).validate(stem, body) == expected


MC = {"options": [{"key": k, "html": k} for k in ("1", "2", "3")], "correct": ["1", "3"]}


@pytest.mark.parametrize(
    ("qtype", "body", "response", "partial", "expected"),
    [
        ("single_choice", {"correct": ["2"]}, "2", False, 1.0),
        ("single_choice", {"correct": ["2"]}, "3", False, 0.0),
        ("single_choice", {"correct": ["2"]}, None, False, 0.0),
        ("multiple_choice", MC, ["3", "1"], False, 1.0),
        ("multiple_choice", MC, ["1"], False, 0.0),
        ("multiple_choice", MC, ["1"], True, 0.5),  # 少选得一半分
        ("multiple_choice", MC, ["1", "2"], True, 0.0),  # 错选不得分
        ("multiple_choice", MC, ["1", "2", "3"], True, 0.0),
        ("multiple_choice", MC, [], True, 0.0),
        # A chosen option that the graded version no longer has is ignored.
        ("multiple_choice", MC, ["1", "3", "gone"], False, 1.0),
        ("multiple_choice", MC, ["1", "gone"], True, 0.5),
        ("true_false", {"correct": False}, False, False, 1.0),
        ("true_false", {"correct": False}, True, False, 0.0),
        ("true_false", {"correct": False}, None, False, 0.0),
        ("fill_blank", {"blanks": [["24", "二十四"], ["挂失"]]}, ["２４", " 挂失 "], False, 1.0),
        ("fill_blank", {"blanks": [["24", "二十四"], ["挂失"]]}, ["二十四", "冻结"], False, 0.5),
        ("fill_blank", {"blanks": [["ATM"]]}, ["ａｔｍ"], False, 1.0),
        ("fill_blank", {"blanks": [["ATM"]]}, [], False, 0.0),
        ("short_answer", {"reference": "x"}, "任何回答", False, None),
    ],
)
def test_grade(qtype, body, response, partial, expected):
    assert qtypes.get(qtype).grade(body, response, partial=partial) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("ＡＢＣ１２３", "abc123"), ("  a   b ", "a b"), ("（注）", "(注)"), ("Ａ", "a"), (None, "")],
)
def test_normalise_answer(value, expected):
    assert normalise_answer(value) == expected


@pytest.mark.parametrize(
    ("stem", "n"), [("a____b", 1), ("a___b______c", 2), ("a__b", 0), ("全角＿＿＿空", 1)]
)
def test_count_blanks(stem, n):
    assert count_blanks(stem) == n


def test_every_type_is_registered():
    assert list(qtypes.REGISTRY) == [
        "single_choice",
        "multiple_choice",
        "true_false",
        "fill_blank",
        "short_answer",
    ]


def test_short_answer_needs_a_reference_only_to_be_published(english):
    qtype = qtypes.get("short_answer")
    assert qtype.validate("x", {"reference": "", "rubric": ""}) == []
    assert qtype.publish_problems({"reference": "", "rubric": ""}) == [
        "A short-answer question needs a reference answer for the graders."
    ]
    assert qtype.publish_problems({"reference": "<p>要点</p>", "rubric": ""}) == []


@pytest.mark.parametrize(
    ("qtype", "response", "expected"),
    [
        ("single_choice", "2", True),
        ("single_choice", None, False),
        ("multiple_choice", [], False),
        ("multiple_choice", ["1"], True),
        ("true_false", False, True),
        ("true_false", None, False),
        ("fill_blank", ["", " "], False),
        ("fill_blank", ["48"], True),
        ("short_answer", "  ", False),
        ("short_answer", "答", True),
    ],
)
def test_is_answered(qtype, response, expected):
    assert qtypes.get(qtype).is_answered(response) is expected
