"""The typing test's scoring rules: alignment, equal characters, time, figures and outcome."""

import random
from decimal import Decimal
from fractions import Fraction

import pytest

from exams.typing.scoring import (
    MAX_CHARS,
    OVER_CEILING,
    Op,
    Step,
    TypingRules,
    align,
    half_up,
    score,
    units,
)

#: A short passage of the call centre's kind (13 counted characters).
GREETING = "您好，请问有什么可以帮您？"
#: A passage of 300 distinct-enough characters, for the timing tables.
LONG = ("您好请问有什么可以帮您" * 30)[:300]
BACKSPACE = "⌫"


def keystrokes(text: str) -> str:
    """Return the final text of keystrokes in which ⌫ deletes the character before it."""
    out: list[str] = []
    for char in text:
        if char == BACKSPACE:
            if out:
                out.pop()
        else:
            out.append(char)
    return "".join(out)


def counts(result) -> tuple[int, int, int, int]:
    """Return (correct, wrong, missing, extra) of a result."""
    return result.correct, result.wrong, result.missing, result.extra


def reference_row(passage: str, typed: str) -> list[int]:
    """Return D[len(typed)][j] for every prefix j of the passage, by the full table."""
    row = list(range(len(passage) + 1))  # D[0][j] = j
    for i, t in enumerate(typed, 1):
        prev, row[0] = row[0], i
        for j, p in enumerate(passage, 1):
            prev, row[j] = row[j], min(prev + (t != p), row[j] + 1, row[j - 1] + 1)
    return row


def reference_distance(passage: str, typed: str) -> int:
    """Return the fewest edits from typed to some prefix of passage, by the full table."""
    return min(reference_row(passage, typed))


@pytest.mark.parametrize(
    ("passage", "typed", "expected"),
    [
        # An IME commits a phrase several characters at once; the scorer sees only the text.
        (GREETING, GREETING, (13, 0, 0, 0)),
        ("我们去银行办理业务", "我去银行办理业务", (8, 0, 1, 0)),
        ("我们去银行办理业务", "我们去银办业务", (7, 0, 2, 0)),
        ("我们去银行办理业务", "我们们去银行办理业务", (9, 0, 0, 1)),
        ("我们去银行办理业务", "我们去很行办理业务", (8, 1, 0, 0)),
        ("我们去银行办理业务", keystrokes("我们去很⌫⌫去银行办理业务⌫务"), (9, 0, 0, 0)),
        ("我们去银行办理业务", "", (0, 0, 0, 0)),
        ("我们去银行办理业务", "我们去银", (4, 0, 0, 0)),
        ("我们去银行", "我们去银行我们去银行", (5, 0, 0, 5)),
        (LONG, LONG[:50] + LONG[51:], (299, 0, 1, 0)),
        ("我们去银行办理业务", "我去很行办理业务业", (7, 1, 1, 1)),
    ],
    ids=[
        "equal-to-passage",
        "one-skipped",
        "several-skipped",
        "one-extra",
        "one-substituted",
        "deleted-and-retyped",
        "empty-answer",
        "stopped-early-rest-not-missing",
        "passage-typed-twice-over",
        "one-skip-does-not-shift-the-rest",
        "skip-substitution-and-extra",
    ],
)
def test_score_counts_correct_wrong_missing_extra(passage, typed, expected):
    result = score(passage, typed, 600)
    assert counts(result) == expected
    assert result.errors == sum(expected[1:])


def test_score_aligns_in_place_with_indexes_of_the_texts_as_given():
    result = score("我们 去银行\n办理", "我去很行办理理", 600)
    assert result.alignment == (
        Step(Op.OK, "我", "我", 0, 0),
        Step(Op.MISSING, "们", "", 1, None),
        Step(Op.OK, "去", "去", 3, 1),
        Step(Op.WRONG, "银", "很", 4, 2),
        Step(Op.OK, "行", "行", 5, 3),
        Step(Op.OK, "办", "办", 7, 4),
        Step(Op.EXTRA, "", "理", None, 5),
        Step(Op.OK, "理", "理", 8, 6),
    )
    # Steps, not bare tuples (a named tuple equals a tuple): the page reads their names.
    assert all(type(s) is Step for s in result.alignment)
    assert result.alignment[3].op == Op.WRONG and result.alignment[3].expected == "银"


@pytest.mark.parametrize("seed", range(40))
def test_align_is_a_fewest_edits_alignment(seed):
    rng = random.Random(seed)
    passage = "".join(rng.choice("银行卡号码") for _ in range(rng.randrange(1, 30)))
    typed = "".join(rng.choice("银行卡号码") for _ in range(rng.randrange(0, 35)))
    steps, _ = align(units(passage), units(typed))
    assert sum(s.op != Op.OK for s in steps) == reference_distance(passage, typed)
    assert "".join(s.typed for s in steps) == typed
    assert passage.startswith("".join(s.expected for s in steps))
    assert all((s.expected == s.typed) == (s.op == Op.OK) for s in steps)


@pytest.mark.parametrize("seed", range(60))
def test_align_matches_the_longest_cheapest_prefix_of_a_much_longer_passage(seed):
    """The scorer looks at no more of the passage than twice the typed text: the prefix it
    picks is still the one the full table picks (a timed test's target is very long)."""
    rng = random.Random(1000 + seed)
    alphabet = "银行卡号码，。"
    passage = "".join(rng.choice(alphabet) for _ in range(rng.randrange(40, 200)))
    typed = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 25)))
    if seed % 3 == 0:  # most of the typed text right, as people type
        typed = passage[: len(typed)] + typed[: seed % 4]
    row = reference_row(passage, typed)
    longest = max(j for j, d in enumerate(row) if d == min(row))
    steps, whole = align(units(passage), units(typed))
    assert sum(s.op != Op.OK for s in steps) == min(row)
    assert sum(s.op != Op.EXTRA for s in steps) == longest
    assert whole is (longest == len(passage))


def test_score_finds_every_edit_in_a_long_passage():
    rng = random.Random(7)
    passage = "".join(chr(rng.randrange(0x4E00, 0x4E00 + 3000)) for _ in range(3000))
    typed = passage[:700] + "错" + passage[701:1500] + passage[1503:2000] + "错错" + passage[2000:]
    result = score(passage, typed, 600)
    assert counts(result) == (2996, 1, 3, 2)
    assert result.finished


@pytest.mark.parametrize(
    ("passage", "typed"),
    [
        ("你好，请问；是：吗？好！（对）", "你好,请问;是:吗?好!(对)"),
        ("卡号ABC123", "卡号ＡＢＣ１２３"),
        ("利率3.5%", "利率3．5％"),
        ("他说“你好”", '他说"你好"'),
        ("他说「你好」", "他说“你好”"),
        ("他说『你好』", "他说‘你好’"),
        ("他说‘你好’", "他说'你好'"),
        ("他说“你好“", "他说”你好”"),
        ("等等……", "等等……"),
        ("等等……", "等等......"),
        ("等等……", "等等．．．．．．"),
        ("等等…", "等等..."),
        ("等等……", "等等⋯⋯"),
        ("我们——客服", "我们——客服"),
        ("我们——客服", "我们――客服"),
        ("您好，\n请问 有什么\r\n可以\t帮您？", "您好，请问有什么可以帮您？"),
        ("您好，请问有什么可以帮您？", "您 好，\u3000请问有什么可以帮您？\n"),
        ("您好", "\ufeff您\u200b好"),
        ("\uf91d杆", "欄杆"),
    ],
    ids=[
        "ascii-marks-equal-chinese-marks",
        "full-width-letters-digits",
        "full-width-period-and-percent",
        "straight-double-quotes",
        "corner-brackets-as-double-quotes",
        "double-corner-brackets-as-single-quotes",
        "straight-single-quotes",
        "quote-direction-not-checked",
        "ellipsis-as-two-u2026",
        "ellipsis-as-six-periods",
        "ellipsis-as-full-width-periods",
        "one-ellipsis-as-three-periods",
        "midline-ellipsis",
        "dash-as-two-u2014",
        "dash-as-u2015",
        "passage-line-breaks-and-spaces-ignored",
        "typed-spaces-and-line-breaks-ignored",
        "invisible-characters-ignored",
        "compatibility-ideograph-equals-unified",
    ],
)
def test_score_treats_as_equal(passage, typed):
    result = score(passage, typed, 600)
    assert result.errors == 0
    assert result.correct == result.passage_chars == result.typed_chars
    assert result.finished


@pytest.mark.parametrize(
    ("passage", "typed", "expected"),
    [
        ("好。", "好.", (1, 1, 0, 0)),
        ("好…", "好。。。", (1, 1, 0, 2)),
        ("好——", "好----", (1, 2, 0, 2)),
        ("好——", "好--", (1, 2, 0, 0)),
        ("卡ABC", "卡abc", (1, 3, 0, 0)),
        ("好、好", "好,好", (2, 1, 0, 0)),
        ("《好》", "<好>", (1, 2, 0, 0)),
    ],
    ids=[
        "full-stop-is-not-period",
        "three-full-stops-are-not-ellipsis",
        "hyphens-are-not-a-dash",
        "two-hyphens-are-two-characters",
        "letters-keep-their-case",
        "enumeration-comma-is-not-comma",
        "book-title-marks-are-not-angle-brackets",
    ],
)
def test_score_treats_as_different(passage, typed, expected):
    assert counts(score(passage, typed, 600)) == expected


@pytest.mark.parametrize(
    ("passage", "expected"),
    [("好……", 3), ("好...", 2), ("好....", 3), ("好——", 3), ("您好，\n请问 ？", 6), ("ＡＢ12", 4)],
    ids=[
        "ellipsis-two",
        "three-periods-one",
        "four-periods-two",
        "dash-two",
        "spaces-and-breaks-not-counted",
        "letters-digits",
    ],
)
def test_units_count_each_character_once(passage, expected):
    assert len(units(passage)) == expected


@pytest.mark.parametrize(
    ("rules", "typed", "seconds", "minutes", "speed", "finished", "scored"),
    [
        (TypingRules(), LONG[:120], 600, "10.00", "12.0", False, True),
        (TypingRules(), LONG[:120], 300, "10.00", "12.0", False, True),
        (TypingRules(), LONG, 240, "4.00", "75.0", True, True),
        (TypingRules(), LONG, 900, "10.00", "30.0", True, True),
        (TypingRules(duration_minutes=3), LONG[:200], 180, "3.00", "66.7", False, True),
        (TypingRules(duration_minutes=None), LONG[:150], 150, "2.50", "60.0", False, True),
        (TypingRules(duration_minutes=None), LONG, 400, "6.67", "45.0", True, True),
        (TypingRules(), LONG[:30], 59.9, "10.00", "3.0", False, False),
        (TypingRules(duration_minutes=None), LONG[:50], 50, "0.83", "60.0", False, False),
        (TypingRules(), LONG, 50, "0.83", "360.0", True, False),
        (TypingRules(), LONG[:60], 60, "10.00", "6.0", False, True),
        (TypingRules(), "", 0, "10.00", "0.0", False, False),
        (TypingRules(duration_minutes=None), "", 0, "0.00", "0.0", False, False),
    ],
    ids=[
        "duration-used-fully",
        "stopped-early-over-the-whole-duration",
        "finished-early-over-the-time-used",
        "finished-late-over-the-duration",
        "three-minute-test",
        "whole-passage-mode-over-the-time-used",
        "whole-passage-mode-finished",
        "under-a-minute-not-scored",
        "whole-passage-mode-under-a-minute-not-scored",
        "finished-in-under-a-minute-not-scored",
        "exactly-a-minute-scored",
        "empty-at-once",
        "empty-at-once-whole-passage-mode",
    ],
)
def test_score_times_over_duration_or_time_used(
    rules, typed, seconds, minutes, speed, finished, scored
):
    result = score(LONG, typed, seconds, rules)
    assert (result.minutes, result.speed) == (Decimal(minutes), Decimal(speed))
    assert (result.finished, result.scored) == (finished, scored)
    if not scored:
        assert result.passed is None


@pytest.mark.parametrize(
    ("seconds", "speed", "implausible", "passed"),
    [(72, "250.0", (), True), (71.98, "250.1", (OVER_CEILING,), None)],
    ids=["at-the-ceiling", "over-the-ceiling"],
)
def test_score_flags_a_speed_over_the_ceiling_implausible(seconds, speed, implausible, passed):
    result = score(LONG, LONG, seconds)
    assert result.speed == Decimal(speed)
    assert result.implausible == implausible
    assert result.passed is passed


@pytest.mark.parametrize(
    ("penalty", "typed", "speed", "net_speed"),
    [
        (0, LONG[:200] + "错" * 10, "20.0", "20.0"),
        (1, LONG[:200] + "错" * 10, "20.0", "19.0"),
        ("2.5", LONG[:200] + "错" * 10, "20.0", "17.5"),
        (5, LONG[:10] + "错" * 10, "1.0", "0.0"),
    ],
    ids=["off", "one-per-error", "fractional", "floored-at-zero"],
)
def test_score_takes_the_penalty_off_the_net_speed(penalty, typed, speed, net_speed):
    result = score(LONG, typed, 600, TypingRules(error_penalty=penalty))
    assert (result.speed, result.net_speed) == (Decimal(speed), Decimal(net_speed))


def test_score_judges_the_net_speed():
    typed = LONG[:100] + "错" * 5 + LONG[105:300]  # 295 right, 5 wrong in 240 s
    assert score(LONG, typed, 240, TypingRules(min_accuracy="0.9")).passed is True
    strict = TypingRules(min_accuracy="0.9", error_penalty=1, pass_speed=73)
    assert score(LONG, typed, 240, strict).net_speed == Decimal("72.5")
    assert score(LONG, typed, 240, strict).passed is False


@pytest.mark.parametrize(
    ("wrong", "accuracy", "passed"),
    [(10, "0.9500", True), (11, "0.9453", False), (0, "1.0000", True)],
    ids=["exactly-95-percent-passes", "just-under-fails", "all-right"],
)
def test_score_accuracy_threshold(wrong, accuracy, passed):
    typed = LONG[:190] + "错" * wrong  # stops after 190 + wrong characters
    result = score(LONG, typed, 60 * 3, TypingRules(duration_minutes=3))
    assert result.accuracy == Decimal(accuracy)
    assert result.passed is passed


@pytest.mark.parametrize(
    ("typed", "seconds", "speed", "passed"),
    [
        (LONG[:180], 180, "60.0", True),
        (LONG[:179], 180, "59.7", False),
        (LONG[:200], 199.9, "60.0", True),
        (LONG[:199], 199.0, "60.0", True),
        (LONG[:201], 201.2, "59.9", False),
    ],
    ids=[
        "exactly-60-passes",
        "just-under-fails",
        "60.03-shown-60.0-passes",
        "199-in-199-seconds-exactly-60",
        "59.94-shown-59.9-fails",
    ],
)
def test_score_speed_threshold(typed, seconds, speed, passed):
    result = score(LONG, typed, seconds, TypingRules(duration_minutes=None))
    assert result.speed == Decimal(speed)
    assert result.passed is passed


def test_score_speed_half_way_rounds_up_and_passes():
    passage = "您好请问有什么可以帮您" * 110
    result = score(passage, passage[:1199], 1200, TypingRules(duration_minutes=20))
    assert result.speed == Decimal("60.0")  # 1199 ÷ 20 = 59.95
    assert result.passed is True


def test_score_accuracy_of_nothing_typed_is_zero():
    result = score(GREETING, "", 600)
    assert result.accuracy == Decimal(0)
    assert result.passed is False


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [("60.05", 1, "60.1"), ("60.04999", 1, "60.0"), ("0.94995", 4, "0.9500"), ("0", 1, "0.0")],
)
def test_half_up_rounds_halves_up(value, places, expected):
    assert str(half_up(Fraction(value), places)) == expected


@pytest.mark.parametrize(
    "kwargs",
    [
        {"duration_minutes": 2},
        {"duration_minutes": 5.5},
        {"duration_minutes": True},
        {"min_accuracy": "1.5"},
        {"min_accuracy": 0},
        {"pass_speed": -1},
        {"error_penalty": -1},
        {"speed_ceiling": 60},
        {"pass_speed": "sixty"},
    ],
    ids=[
        "duration-under-3",
        "duration-not-whole",
        "duration-bool",
        "accuracy-over-1",
        "accuracy-zero",
        "negative-pass-speed",
        "negative-penalty",
        "ceiling-not-above-pass",
        "pass-speed-not-a-number",
    ],
)
def test_typing_rules_refuse_nonsense(kwargs):
    with pytest.raises(ValueError):
        TypingRules(**kwargs)


@pytest.mark.parametrize(
    ("passage", "typed", "seconds"),
    [
        (" \n\u3000", "好", 600),
        ("好", "好", -1),
        ("好", "好", float("nan")),
        ("好", "好", "600"),
        ("好" * (MAX_CHARS + 1), "好", 600),
        ("好", "好" * (MAX_CHARS + 1), 600),
    ],
    ids=[
        "passage-with-nothing-to-type",
        "negative-time",
        "nan-time",
        "time-as-text",
        "passage-too-long",
        "typed-too-long",
    ],
)
def test_score_refuses_bad_input(passage, typed, seconds):
    with pytest.raises(ValueError):
        score(passage, typed, seconds)
