"""Moodle's quiz statistics, checked against tables worked out by hand."""

import math
from dataclasses import replace
from decimal import Decimal

import pytest

from exams.statistics import histogram, item_statistics, paper_statistics, total_scores

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


def test_ungraded_items_are_skipped():
    # A sixth attempt whose c still waits for a marker.
    attempts = [*BASE, {"a": 1, "b": 0, "c": None}]
    items = item_statistics(attempts, ITEMS)
    assert items["c"] == item_statistics(BASE, ITEMS)["c"]
    # a counts the sixth attempt; its rest is b alone: a = 1,1,1,0,0,1; rest = 2,1,0,1,0,0.
    assert items["a"].n == 6
    assert items["a"].facility == approx(400 / 6)
    assert items["a"].discrimination == approx(
        100 * (1 / 3) / math.sqrt((4 / 3) * (10 / 3))  # Σdxdy, Σdx², Σdy²
    )
    paper = paper_statistics(attempts, ITEMS)
    assert (paper.attempts, paper.pending) == (5, 1)
    assert paper == replace(paper_statistics(BASE, ITEMS), pending=1)
    assert total_scores(attempts, ITEMS) == [3, 2, 1, 1, 0]


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
    from decimal import Decimal
    from types import SimpleNamespace as NS

    from exams.results_views import drawn_item_table

    def attempt(scores):
        items = [NS(question_id=q, points=Decimal(1), score=Decimal(s)) for q, s in scores]
        total = sum(Decimal(s) for _, s in scores)
        return NS(score=total, max_score=Decimal(len(scores)), items=items)

    # Question 1 is answered right by the strong candidates, question 9 only by the weak.
    attempts = [
        attempt([(1, 1), (2, 1), (3, 1), (9, 0)]),
        attempt([(1, 1), (2, 1), (4, 1), (9, 0)]),
        attempt([(1, 0), (2, 0), (3, 0), (9, 1)]),
        attempt([(1, 0), (5, 0), (4, 0), (9, 1)]),
        attempt([(1, 1), (2, 1), (5, 1), (9, 0)]),
    ]
    table = drawn_item_table(attempts)
    assert table[1].n == 5 and table[1].facility == 60.0 and table[1].discrimination > 0
    assert table[9].discrimination < 0 and "negative_discrimination" in table[9].flags
    assert table[3].n == 2
