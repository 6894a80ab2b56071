"""Moodle's quiz statistics, checked against tables worked out by hand and Moodle's own."""

import csv
import math
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace as NS

import pytest

from exams.statistics import (
    drawn_item_statistics,
    histogram,
    item_statistics,
    paper_statistics,
    total_scores,
)

approx = pytest.approx


def attempts_of(**columns):
    """Return attempts built from one column of fractions per item."""
    keys = list(columns)
    return [dict(zip(keys, row, strict=True)) for row in zip(*columns.values(), strict=True)]


# Five attempts, three right/wrong items; totals 3, 2, 1, 1, 0.
BASE = attempts_of(a=[1, 1, 1, 0, 0], b=[1, 1, 0, 1, 0], c=[1, 0, 0, 0, 0])
ITEMS = {"a": 1, "b": 1, "c": 1}


@pytest.mark.parametrize(
    ("key", "facility", "sd", "discrimination", "efficiency"),
    [
        # a = 1,1,1,0,0 and rest = 2,1,0,1,0: Σdxdy = 0.6, Σdx² = 1.2, Σdy² = 2.8;
        # sorted pairs give Σ = 1.6, so efficiency = 0.6 / 1.6.
        ("a", 60, 100 * math.sqrt(0.3), 100 * 0.6 / math.sqrt(1.2 * 2.8), 37.5),
        ("b", 60, 100 * math.sqrt(0.3), 100 * 0.6 / math.sqrt(1.2 * 2.8), 37.5),
        # c = 1,0,0,0,0 and rest = 2,2,1,1,0: Σdxdy = 0.8, Σdx² = 0.8, Σdy² = 2.8; sorted Σ = 0.8.
        ("c", 20, 100 * math.sqrt(0.2), 100 * 0.8 / math.sqrt(0.8 * 2.8), 100),
    ],
)
def test_item_statistics_hand_computed(key, facility, sd, discrimination, efficiency):
    stats = item_statistics(BASE, ITEMS)[key]
    assert stats.n == 5
    assert stats.facility == approx(facility)
    assert stats.sd == approx(sd)
    assert stats.discrimination == approx(discrimination)
    assert stats.discriminative_efficiency == approx(efficiency)
    assert stats.flags == ()


def test_item_statistics_keep_the_order_of_items():
    assert list(item_statistics(BASE, {"c": 1, "a": 1, "b": 1})) == ["c", "a", "b"]


@pytest.mark.parametrize(
    ("items", "max_score", "mean", "sd", "alpha", "error", "skewness", "kurtosis"),
    [
        # Totals 3,2,1,1,0: var 1.3; Σ item var 0.8; alpha 1.5 × (1 − 0.8/1.3);
        # error² = 1.3 − 1.3 × alpha = 0.55; k3 = 0.6, k4 = −0.3.
        (ITEMS, 3, 1.4, math.sqrt(1.3), 75 / 1.3, math.sqrt(0.55), 0.6 / 1.3**1.5, -0.3 / 1.69),
        # c worth 2 points: totals 4,2,1,1,0: var 2.3; Σ item var 1.4 (points, not fractions);
        # error² = 2.3 − 1.35 = 0.95; k3 = 3.9, k4 = 7.7.
        (
            {"a": 1, "b": 1, "c": 2},
            4,
            1.6,
            math.sqrt(2.3),
            135 / 2.3,
            math.sqrt(0.95),
            3.9 / 2.3**1.5,
            7.7 / 2.3**2,
        ),
    ],
)
def test_paper_statistics_hand_computed(
    items, max_score, mean, sd, alpha, error, skewness, kurtosis
):
    stats = paper_statistics(BASE, items)
    assert (stats.attempts, stats.pending, stats.max_score) == (5, 0, max_score)
    assert stats.mean == approx(mean)
    assert stats.median == 1
    assert stats.sd == approx(sd)
    assert stats.internal_consistency == approx(alpha)
    assert stats.standard_error == approx(error)
    assert stats.skewness == approx(skewness)
    assert stats.kurtosis == approx(kurtosis)


def test_wrong_key_gives_negative_discrimination():
    # w is keyed wrongly: the three strongest candidates on a, b, c are the ones marked wrong.
    attempts = attempts_of(
        a=[1, 1, 1, 0, 0], b=[1, 1, 0, 1, 0], c=[1, 0, 0, 0, 0], w=[0, 0, 1, 1, 1]
    )
    stats = item_statistics(attempts, {"a": 1, "b": 1, "c": 1, "w": 1})["w"]
    # w = 0,0,1,1,1 and rest = 3,2,1,1,0: Σdxdy = −2.2, Σdx² = 1.2, Σdy² = 5.2.
    assert stats.discrimination == approx(-220 / math.sqrt(1.2 * 5.2))
    assert stats.facility == approx(60)
    assert stats.flags == ("negative_discrimination",)


@pytest.mark.parametrize(
    ("x", "y", "flags"),
    [
        ([1, 1, 0, 0, 0], [1, 1, 1, 0, 0], ()),
        ([1] * 5, [1, 0, 1, 0, 1], ("too_easy",)),
        ([0] * 5, [1, 0, 1, 0, 1], ("too_hard",)),
        ([0, 0, 1, 1, 1], [1, 1, 0, 0, 0], ("negative_discrimination",)),
        # Covariance exactly 0: D = 0 is low, not negative.
        ([1, 0, 1, 0, 1, 0], [1, 1, 0, 0, 0.5, 0.5], ("low_discrimination",)),
        # 20 of 21 right (F = 95.2), and the one who missed it is the strongest candidate.
        ([0] + [1] * 20, [1] + [0] * 20, ("too_easy", "negative_discrimination")),
        # Four attempts are too few to flag anything.
        ([1] * 4, [1, 0, 1, 0], ()),
        ([0, 0, 1, 1], [1, 1, 0, 0], ()),
    ],
)
def test_item_flags(x, y, flags):
    assert item_statistics(attempts_of(x=x, y=y), {"x": 1, "y": 1})["x"].flags == flags


def test_statistics_of_one_attempt_are_undefined_where_they_need_spread():
    item = item_statistics(BASE[:1], ITEMS)["a"]
    assert (item.n, item.facility) == (1, 100)
    assert (item.sd, item.discrimination, item.discriminative_efficiency) == (None, None, None)
    paper = paper_statistics(BASE[:1], ITEMS)
    assert (paper.attempts, paper.mean, paper.median) == (1, 3, 3)
    assert paper.sd is paper.skewness is paper.kurtosis is None
    assert paper.internal_consistency is paper.standard_error is None


def test_statistics_of_no_attempts_are_empty():
    assert item_statistics([], ITEMS)["a"].facility is None
    paper = paper_statistics([], ITEMS)
    assert (paper.attempts, paper.mean, paper.median, paper.sd) == (0, None, None, None)


@pytest.mark.parametrize(
    ("count", "defined"),
    [
        # Defined or not: sd, skewness, kurtosis, alpha, standard error.
        (2, (True, False, False, True, True)),
        (3, (True, True, False, True, True)),
        (4, (True, True, True, True, True)),
    ],
)
def test_paper_statistics_need_enough_attempts(count, defined):
    attempts = attempts_of(a=[1, 0, 1, 0], b=[1, 0, 0, 1])[:count]
    stats = paper_statistics(attempts, {"a": 1, "b": 1})
    figures = (stats.sd, stats.skewness, stats.kurtosis)
    figures += (stats.internal_consistency, stats.standard_error)
    assert tuple(f is not None for f in figures) == defined


def test_zero_variance_leaves_the_ratios_undefined():
    attempts = attempts_of(a=[1] * 5, b=[0.5] * 5)
    item = item_statistics(attempts, {"a": 1, "b": 1})["a"]
    assert (item.facility, item.sd) == (100, 0)
    assert item.discrimination is item.discriminative_efficiency is None
    paper = paper_statistics(attempts, {"a": 1, "b": 1})
    assert (paper.mean, paper.sd) == (1.5, 0)
    assert paper.skewness is paper.kurtosis is None
    assert paper.internal_consistency is paper.standard_error is None


def test_constant_totals_leave_alpha_undefined_though_items_vary():
    stats = paper_statistics(attempts_of(a=[1, 0, 1, 0], b=[0, 1, 0, 1]), {"a": 1, "b": 1})
    assert stats.sd == 0
    assert stats.internal_consistency is None


def test_one_item_has_no_alpha_and_no_rest_to_correlate_with():
    attempts = attempts_of(a=[1, 1, 0, 0, 1])
    assert paper_statistics(attempts, {"a": 1}).internal_consistency is None
    assert item_statistics(attempts, {"a": 1})["a"].discrimination is None


@pytest.mark.parametrize("compute", [item_statistics, drawn_item_statistics])
def test_attempts_waiting_for_grading_count_in_no_item_figure(compute):
    # A sixth attempt whose c still waits for a marker: as Moodle, it counts nowhere.
    attempts = [*BASE, {"a": 1, "b": 0, "c": None}]
    items = compute(attempts, ITEMS)
    assert items == compute(BASE, ITEMS)
    assert items["a"].n == 5
    assert items["a"].facility == approx(60)  # not 4 of 6


def test_paper_statistics_leave_out_attempts_waiting_for_grading():
    attempts = [*BASE, {"a": 1, "b": 0, "c": None}]
    paper = paper_statistics(attempts, ITEMS)
    assert (paper.attempts, paper.pending) == (5, 1)
    assert paper == replace(paper_statistics(BASE, ITEMS), pending=1)
    assert total_scores(attempts, ITEMS) == [3, 2, 1, 1, 0]


# f is on every paper; x and y are drawn, each by three candidates. Totals 2,1,0,2,1,0.
DRAWN = [
    {"f": 1, "x": 1},
    {"f": 1, "x": 0},
    {"f": 0, "x": 0},
    {"f": 1, "y": 1},
    {"f": 0, "y": 1},
    {"f": 0, "y": 0},
]


@pytest.mark.parametrize(
    ("key", "n", "facility", "discrimination", "efficiency"),
    [
        # A drawn question goes with the whole total, as Moodle's random-slot sub-questions:
        # x = 1,0,0 and totals 2,1,0: Σdxdy = 1, Σdx² = 2/3, Σdy² = 2; sorted Σ = 1.
        # (Against the rest 1,1,0 it would be 50.)
        ("x", 3, 100 / 3, 100 / math.sqrt(4 / 3), 100),
        # y = 1,1,0 and totals 2,1,0: Σdxdy = 1, Σdx² = 2/3, Σdy² = 2; sorted Σ = 1.
        ("y", 3, 200 / 3, 100 / math.sqrt(4 / 3), 100),
        # f, on every paper, goes with the rest as a fixed slot: f = 1,1,0,1,0,0 and rest =
        # 1,0,0,1,1,0: Σdxdy = 0.5, Σdx² = Σdy² = 1.5; sorted Σ = 1.5.
        ("f", 6, 50, 100 / 3, 100 / 3),
    ],
)
def test_drawn_item_statistics_hand_computed(key, n, facility, discrimination, efficiency):
    stats = drawn_item_statistics(DRAWN, {"f": 1, "x": 1, "y": 1})[key]
    assert stats.n == n
    assert stats.facility == approx(facility)
    assert stats.discrimination == approx(discrimination)
    assert stats.discriminative_efficiency == approx(efficiency)


def test_drawn_item_statistics_of_a_question_nobody_was_graded_on_are_empty():
    stats = drawn_item_statistics([{"a": 1, "b": 0}, {"a": 0, "c": None}], {"a": 1, "b": 1, "c": 1})
    assert (stats["c"].n, stats["c"].facility, stats["c"].discrimination) == (0, None, None)
    assert stats["a"].n == 1


# --- Moodle's own test data -----------------------------------------------------------------
# Quiz 00 of mod/quiz/report/statistics/tests/stats_from_steps_walkthrough_test.php: 25
# attempts at 7 one-mark slots; slot 1 draws a shortanswer or a numerical question at random.

MOODLE_QUIZ00 = Path(__file__).with_name("moodle_quiz00.csv")


def moodle_quiz00() -> list[tuple[str, list[float]]]:
    """Return each attempt of Moodle's quiz 00: the question slot 1 drew, and each slot's mark."""
    with MOODLE_QUIZ00.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return [(r["randq"], [float(r[f"slot{s}"]) for s in range(1, 8)]) for r in rows]


def moodle_as_fixed() -> list[dict]:
    """Return quiz 00 with slot 1 as one item, whatever it drew (Moodle's figures per slot)."""
    return [{f"slot{s}": m for s, m in enumerate(marks, 1)} for _, marks in moodle_quiz00()]


def moodle_as_drawn() -> list[dict]:
    """Return quiz 00 with slot 1's mark under the question it drew."""
    return [
        {drew: marks[0]} | {f"slot{s}": marks[s - 1] for s in range(2, 8)}
        for drew, marks in moodle_quiz00()
    ]


MOODLE_DRAWN_ITEMS = {"shortanswer": 1, "numerical": 1} | {f"slot{s}": 1 for s in range(2, 8)}

# Moodle's tolerance (assert_stat_equals): 1e-5 of the value for discrimination and
# efficiency, 1e-6 for the others. Moodle gives facility and sd as fractions of the mark.
MOODLE_REL = {"facility": 1e-6, "sd": 1e-6, "discrimination": 1e-5, "efficiency": 1e-5}

# mod/quiz/report/statistics/tests/fixtures/qstats00.csv: facility, sd, discriminationindex,
# discriminativeefficiency of each slot (slot 1 over all 25 attempts, whatever it drew).
MOODLE_QSTATS00 = [
    (1, 0.704, 0.4513682901, -7.0650767526, -9.4550536967),
    (2, 0.48, 0.5099019514, -28.8982125772, -36.7834118938),
    (3, 0.973333332, 0.13333334, -9.1230674268, -21.6545012165),
    (4, 0.68, 0.4760952286, -22.6306444113, -31.4411395613),
    (5, 0.52, 0.3055050463, -17.6997047674, -21.1794802584),
    (6, 0.64, 0.4898979486, -45.3785178421, -56.9365974439),
    (7, 0.62, 0.331662479, -5.6543166602, -6.5043742058),
]


def assert_moodle_figures(stats, facility, sd, discrimination, efficiency):
    """Check figures against Moodle's, to the precision Moodle's own test asks."""
    assert stats.facility == approx(100 * facility, rel=MOODLE_REL["facility"])
    assert stats.sd == approx(100 * sd, rel=MOODLE_REL["sd"])
    assert stats.discrimination == approx(discrimination, rel=MOODLE_REL["discrimination"])
    assert stats.discriminative_efficiency == approx(efficiency, rel=MOODLE_REL["efficiency"])


@pytest.mark.parametrize(
    ("slot", "facility", "sd", "discrimination", "efficiency"), MOODLE_QSTATS00
)
def test_item_statistics_reproduce_moodle_slots(slot, facility, sd, discrimination, efficiency):
    items = {f"slot{s}": 1 for s in range(1, 8)}
    stats = item_statistics(moodle_as_fixed(), items)[f"slot{slot}"]
    assert stats.n == 25
    assert_moodle_figures(stats, facility, sd, discrimination, efficiency)


@pytest.mark.parametrize(
    ("slot", "facility", "sd", "discrimination", "efficiency"), MOODLE_QSTATS00[1:]
)
def test_drawn_item_statistics_measure_questions_on_every_paper_as_moodle_slots(
    slot, facility, sd, discrimination, efficiency
):
    stats = drawn_item_statistics(moodle_as_drawn(), MOODLE_DRAWN_ITEMS)[f"slot{slot}"]
    assert stats.n == 25
    assert_moodle_figures(stats, facility, sd, discrimination, efficiency)


# The walkthrough test's $itemstats for the 'numerical' sub-question of slot 1 (in later
# Moodle versions a row of qstats00.csv): s 12, facility 0.583333333, sd 0.514928651,
# discriminationindex 35.803933, discriminativeefficiency 39.39393939.
MOODLE_NUMERICAL = (0.583333333, 0.514928651, 35.803933, 39.39393939)


def test_drawn_item_statistics_reproduce_moodle_random_question():
    stats = drawn_item_statistics(moodle_as_drawn(), MOODLE_DRAWN_ITEMS)["numerical"]
    assert stats.n == 12
    assert_moodle_figures(stats, *MOODLE_NUMERICAL)


def attempt_of(scores, points=1):
    """Return a stand-in for an Attempt with (question id, score) items; None: to be graded."""
    items = [
        NS(question_id=q, points=Decimal(points), score=None if s is None else Decimal(str(s)))
        for q, s in scores
    ]
    pending = any(i.score is None for i in items)
    total = None if pending else sum(i.score for i in items)
    return NS(score=total, max_score=Decimal(points * len(items)), items=items)


def test_drawn_item_table_reproduces_moodle_random_question(app):
    from exams.results_views import drawn_item_table, item_table

    numerical, shortanswer = 101, 102
    attempts = [
        attempt_of(
            [(numerical if drew == "numerical" else shortanswer, marks[0])]
            + [(s, marks[s - 1]) for s in range(2, 8)]
        )
        for drew, marks in moodle_quiz00()
    ]
    table = drawn_item_table(attempts)
    assert table[numerical].n == 12
    assert_moodle_figures(table[numerical], *MOODLE_NUMERICAL)
    assert_moodle_figures(table[2], *MOODLE_QSTATS00[1][1:])
    assert item_table(attempts) == (table, None)


def test_fractions_may_come_as_decimals():
    attempts = [{"a": Decimal("0.5"), "b": 1}, {"a": Decimal("0"), "b": 1}]
    assert total_scores(attempts, {"a": Decimal(2), "b": 1}) == [2, 1]


@pytest.mark.parametrize(
    ("attempts", "items", "message"),
    [
        ([], {}, "at least one item"),
        ([], {"a": 0}, r"maximum points of item 'a' must be positive"),
        ([], {"a": -1}, r"must be positive"),
        ([], {"a": math.inf}, r"must be positive"),
        ([], {"a": "2"}, r"maximum points of item 'a' must be a number"),
        ([{"a": 1}], {"a": 1, "b": 1}, r"attempts\[0\] must give every item: missing 'b'"),
        ([{"a": 1, "z": 0}], {"a": 1}, r"missing none; unknown 'z'"),
        ([{"a": 1.5}], {"a": 1}, r"attempts\[0\]\['a'\] must be a fraction in 0..1"),
        ([{"a": -0.1}], {"a": 1}, r"must be a fraction in 0..1"),
        ([{"a": math.nan}], {"a": 1}, r"must be a fraction in 0..1"),
        ([{"a": True}], {"a": 1}, r"attempts\[0\]\['a'\] must be a number, not True"),
        ([{"a": "1"}], {"a": 1}, r"must be a number, not '1'"),
    ],
)
def test_bad_input_is_refused_clearly(attempts, items, message):
    for compute in (item_statistics, paper_statistics, total_scores):
        with pytest.raises(ValueError, match=message):
            compute(attempts, items)


@pytest.mark.parametrize(
    ("attempts", "items", "message"),
    [
        ([], {}, "at least one item"),
        ([{"a": 1, "z": 0}], {"a": 1, "b": 1}, r"attempts\[0\] gives unknown items: 'z'"),
        ([{"b": 1.5}], {"a": 1, "b": 1}, r"attempts\[0\]\['b'\] must be a fraction in 0..1"),
        ([{"b": "1"}], {"a": 1, "b": 1}, r"must be a number, not '1'"),
    ],
)
def test_drawn_item_statistics_refuse_bad_input_but_not_missing_items(attempts, items, message):
    with pytest.raises(ValueError, match=message):
        drawn_item_statistics(attempts, items)
    assert drawn_item_statistics([{"b": 1}, {}], {"a": 1, "b": 1})["a"].n == 0


@pytest.mark.parametrize(
    ("scores", "max_score", "bins", "expected"),
    [
        ([], 4, 4, [(0, 1, 0), (1, 2, 0), (2, 3, 0), (3, 4, 0)]),
        # 0 opens the first bin, an inner edge opens the upper bin, max_score closes the top one.
        ([0, 0.99, 1, 2.5, 4, 4], 4, 4, [(0, 1, 2), (1, 2, 1), (2, 3, 1), (3, 4, 2)]),
        ([3, 9.99, 10], 10, 4, [(0, 2.5, 0), (2.5, 5, 1), (5, 7.5, 0), (7.5, 10, 2)]),
        ([5], 5, 1, [(0, 5, 1)]),
    ],
)
def test_histogram(scores, max_score, bins, expected):
    assert histogram(scores, max_score, bins) == expected


def test_histogram_puts_a_score_on_a_float_edge_in_the_bin_it_opens():
    rows = histogram([0.3, 0.7], 1)
    assert len(rows) == 10
    assert [count for _, _, count in rows] == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert rows[-1][1] == 1


@pytest.mark.parametrize(
    ("scores", "max_score", "bins", "message"),
    [
        ([1], 10, 0, "bins must be a positive whole number"),
        ([1], 10, 2.5, "bins must be a positive whole number"),
        ([1], 0, 10, "max_score must be positive"),
        ([-0.5], 10, 10, r"score -0.5 lies outside 0..10"),
        ([10.5], 10, 10, r"score 10.5 lies outside 0..10"),
        ([math.nan], 10, 10, r"score nan lies outside"),
    ],
)
def test_histogram_refuses_bad_input(scores, max_score, bins, message):
    with pytest.raises(ValueError, match=message):
        histogram(scores, max_score, bins)


def test_drawn_papers_get_per_question_statistics(app):
    """Candidates with different drawn questions: each question is measured where it was."""
    from exams.results_views import drawn_item_table

    # Question 1 is answered right by the strong candidates, question 9 only by the weak.
    attempts = [
        attempt_of([(1, 1), (2, 1), (3, 1), (9, 0)]),
        attempt_of([(1, 1), (2, 1), (4, 1), (9, 0)]),
        attempt_of([(1, 0), (2, 0), (3, 0), (9, 1)]),
        attempt_of([(1, 0), (5, 0), (4, 0), (9, 1)]),
        attempt_of([(1, 1), (2, 1), (5, 1), (9, 0)]),
        # Still waiting for a marker on question 7: counted nowhere, as in Moodle.
        attempt_of([(1, 1), (2, 1), (7, None), (9, 1)]),
    ]
    table = drawn_item_table(attempts)
    assert table[1].n == 5 and table[1].facility == 60.0 and table[1].discrimination > 0
    assert table[9].n == 5 and table[9].facility == 40.0
    assert table[9].discrimination < 0 and "negative_discrimination" in table[9].flags
    assert table[3].n == 2
    assert (table[7].n, table[7].facility) == (0, None)


def test_fixed_papers_leave_attempts_waiting_for_grading_out_of_facility(app):
    from exams.results_views import item_table

    attempts = [attempt_of(row.items()) for row in BASE]
    graded, _ = item_table(attempts)
    pending, paper = item_table([*attempts, attempt_of([("a", 1), ("b", 0), ("c", None)])])
    assert pending["a"].facility == graded["a"].facility == approx(60)
    assert pending == graded
    assert (paper.attempts, paper.pending) == (5, 1)
