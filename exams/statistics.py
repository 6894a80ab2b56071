"""Compute the figures of Moodle's quiz statistics report from finished attempts.

Pure rules: plain values in, plain values out. The formulas are those of Moodle's
``core_question\\statistics\\questions\\calculator`` (per item) and
``quiz_statistics\\calculator`` (per paper). Item figures are percentages (0..100);
paper figures are in points. As Moodle (``quiz_statistics_attempts_sql``: ``sumgrades IS
NOT NULL``), an attempt with an item still waiting for a marker counts in no figure at all.
"""

import math
import statistics
from bisect import bisect_right
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass

#: One attempt: each item's score as a fraction of its maximum (0..1), None while ungraded.
Attempt = Mapping[Hashable, float | None]

#: Flags need this many graded attempts; on fewer, a facility or a correlation is noise.
MIN_ATTEMPTS_FOR_FLAGS = 5
TOO_EASY = 95.0  # facility above this, percent
TOO_HARD = 10.0  # facility below this, percent
LOW_DISCRIMINATION = 10.0  # discrimination index below this (and not negative)


@dataclass(frozen=True)
class ItemStatistics:
    """Hold the figures of one item over the attempts in which it is graded."""

    key: Hashable
    max_points: float
    n: int  #: fully graded attempts that had the item
    facility: float | None  #: mean fraction, percent; None without attempts
    sd: float | None  #: sample standard deviation of the fraction, percent
    #: 100 × correlation of the item with the rest of the attempt; for a drawn question, with
    #: the attempt's whole total (Moodle's figures for a random slot's sub-question)
    discrimination: float | None
    discriminative_efficiency: float | None  #: 100 × covariance / largest possible covariance
    flags: tuple[str, ...]  #: "too_easy", "too_hard", "negative_discrimination", ...


@dataclass(frozen=True)
class PaperStatistics:
    """Hold the figures of the total scores of the fully graded attempts."""

    attempts: int  #: fully graded attempts, the ones counted below
    pending: int  #: attempts left out because an item still waits for grading
    max_score: float
    mean: float | None
    median: float | None
    sd: float | None  #: sample standard deviation
    skewness: float | None
    kurtosis: float | None  #: excess kurtosis: 0 for a normal distribution
    internal_consistency: float | None  #: Cronbach's alpha (KR-20 for right/wrong items), percent
    standard_error: float | None  #: of measurement: sd × sqrt(1 − alpha)


def _number(value, what: str) -> float:
    """Return ``value`` as a float, or raise ValueError naming ``what`` it is."""
    if not isinstance(value, bool | str | bytes):
        try:
            return float(value)  # Decimal from a Numeric column is welcome too
        except (TypeError, ValueError):
            pass
    raise ValueError(f"{what} must be a number, not {value!r}")


def _prepare(
    attempts: Sequence[Attempt], items: Mapping[Hashable, float], every: bool = True
) -> tuple[dict[Hashable, float], list[dict[Hashable, float | None]]]:
    """Check the input; return the maxima and each attempt's points per item (None: ungraded).

    With ``every`` each attempt must give every item; without, the items it had.
    """
    if not items:
        raise ValueError("statistics need at least one item")
    maxima: dict[Hashable, float] = {}
    for key, most in items.items():
        maxima[key] = _number(most, f"maximum points of item {key!r}")
        if not (math.isfinite(maxima[key]) and maxima[key] > 0):
            raise ValueError(f"maximum points of item {key!r} must be positive, not {most!r}")
    rows = []
    for i, attempt in enumerate(attempts):
        unknown = ", ".join(repr(k) for k in attempt if k not in maxima)
        if every and set(attempt) != set(maxima):
            missing = ", ".join(repr(k) for k in maxima if k not in attempt) or "none"
            raise ValueError(
                f"attempts[{i}] must give every item: missing {missing}; "
                f"unknown {unknown or 'none'}"
            )
        if unknown:
            raise ValueError(f"attempts[{i}] gives unknown items: {unknown}")
        row: dict[Hashable, float | None] = {}
        for key, most in maxima.items():
            if key not in attempt:
                continue
            what = f"attempts[{i}][{key!r}]"
            fraction = None if attempt[key] is None else _number(attempt[key], what)
            if fraction is not None and not 0 <= fraction <= 1:
                raise ValueError(f"{what} must be a fraction in 0..1, not {attempt[key]!r}")
            row[key] = None if fraction is None else fraction * most
        rows.append(row)
    return maxima, rows


def _graded(rows: list[dict[Hashable, float | None]]) -> list[dict[Hashable, float]]:
    """Return the attempts with no item waiting for grading (Moodle's non-null sumgrades)."""
    return [row for row in rows if None not in row.values()]


def _flags(n: int, facility: float | None, discrimination: float | None) -> tuple[str, ...]:
    """Return the codes of what looks broken in an item (a wrong key, a giveaway)."""
    if n < MIN_ATTEMPTS_FOR_FLAGS or facility is None:
        return ()
    flags = []
    if facility > TOO_EASY:
        flags.append("too_easy")
    elif facility < TOO_HARD:
        flags.append("too_hard")
    if discrimination is not None and discrimination < 0:
        flags.append("negative_discrimination")
    elif discrimination is not None and discrimination < LOW_DISCRIMINATION:
        flags.append("low_discrimination")
    return tuple(flags)


def _item(key: Hashable, most: float, marks: list[float], other: list[float]) -> ItemStatistics:
    """Return the figures of one item from its marks and the marks it is measured against."""
    n = len(marks)
    facility = 100 * statistics.fmean(marks) / most if n else None
    sd = discrimination = efficiency = None
    if n >= 2:
        sd = 100 * statistics.stdev(marks) / most
        # statistics.variance is exact, so a constant column gives exactly 0 here.
        mark_variance, other_variance = statistics.variance(marks), statistics.variance(other)
        if mark_variance and other_variance:
            covariance = statistics.covariance(marks, other)
            discrimination = 100 * covariance / math.sqrt(mark_variance * other_variance)
            # As Moodle: the largest covariance these marks allow pairs both columns sorted.
            most_covariance = statistics.covariance(sorted(marks), sorted(other))
            efficiency = 100 * covariance / most_covariance
    flags = _flags(n, facility, discrimination)
    return ItemStatistics(key, most, n, facility, sd, discrimination, efficiency, flags)


def _items(
    maxima: dict[Hashable, float], rows: list[dict[Hashable, float | None]], fixed: set
) -> dict[Hashable, ItemStatistics]:
    """Return each item's figures over the graded attempts that had it.

    A ``fixed`` item is measured against the rest of each attempt (Moodle's figures of a
    slot); any other against the attempt's whole total (Moodle's random-slot sub-question).
    """
    graded = _graded(rows)
    result = {}
    for key, most in maxima.items():
        marks: list[float] = []
        other: list[float] = []
        for row in graded:
            if key not in row:
                continue
            marks.append(row[key])
            if key in fixed:
                other.append(math.fsum(p for k, p in row.items() if k != key))
            else:
                other.append(math.fsum(row.values()))
        result[key] = _item(key, most, marks, other)
    return result


def item_statistics(
    attempts: Sequence[Attempt], items: Mapping[Hashable, float]
) -> dict[Hashable, ItemStatistics]:
    """Return each item's figures, in the order of ``items``, over the fully graded attempts."""
    maxima, rows = _prepare(attempts, items)
    return _items(maxima, rows, set(maxima))


def drawn_item_statistics(
    attempts: Sequence[Attempt], items: Mapping[Hashable, float]
) -> dict[Hashable, ItemStatistics]:
    """Return each item's figures when candidates got different items: each gives those it had."""
    maxima, rows = _prepare(attempts, items, every=False)
    # Attempts do not say which slot gave them an item. One that every attempt has is taken
    # as fixed (a draw only puts a question in every attempt if it draws its whole pool).
    fixed = set(maxima).intersection(*rows) if rows else set()
    return _items(maxima, rows, fixed)


def _shape(totals: list[float], mean: float) -> tuple[float | None, float | None]:
    """Return Moodle's sample skewness and excess kurtosis (None under 3 and 4 attempts)."""
    s = len(totals)
    m2, m3, m4 = (math.fsum((t - mean) ** p for t in totals) / s for p in (2, 3, 4))
    k2 = s * m2 / (s - 1)
    skewness = kurtosis = None
    if s > 2:
        k3 = s * s * m3 / ((s - 1) * (s - 2))
        skewness = k3 / k2**1.5
    if s > 3:
        k4 = s * s * ((s + 1) * m4 - 3 * (s - 1) * m2 * m2) / ((s - 1) * (s - 2) * (s - 3))
        kurtosis = k4 / (k2 * k2)
    return skewness, kurtosis


def total_scores(attempts: Sequence[Attempt], items: Mapping[Hashable, float]) -> list[float]:
    """Return the total points of each fully graded attempt, in the given order."""
    _, rows = _prepare(attempts, items)
    return [math.fsum(row.values()) for row in _graded(rows)]


def paper_statistics(
    attempts: Sequence[Attempt], items: Mapping[Hashable, float]
) -> PaperStatistics:
    """Return the figures of the total scores; attempts with an ungraded item are left out."""
    maxima, rows = _prepare(attempts, items)
    # A total with an item still to mark is not a score yet. Item variances come from the
    # same attempts as the total's variance, so alpha stays at most 100.
    graded = _graded(rows)
    totals = [math.fsum(row.values()) for row in graded]
    n, k = len(totals), len(maxima)
    mean = statistics.fmean(totals) if n else None
    median = statistics.median(totals) if n else None
    sd = skewness = kurtosis = alpha = error = None
    if n >= 2:
        variance = statistics.variance(totals)
        sd = math.sqrt(variance)
        if variance:
            skewness, kurtosis = _shape(totals, mean)
            if k >= 2:
                columns = ([row[key] for row in graded] for key in maxima)
                item_variance = math.fsum(statistics.variance(column) for column in columns)
                alpha = 100 * k / (k - 1) * (1 - item_variance / variance)
                # max(): rounding may push alpha a hair above 100 on perfectly parallel items.
                error = sd * math.sqrt(max(0.0, 1 - alpha / 100))
    return PaperStatistics(
        attempts=n,
        pending=len(rows) - n,
        max_score=math.fsum(maxima.values()),
        mean=mean,
        median=median,
        sd=sd,
        skewness=skewness,
        kurtosis=kurtosis,
        internal_consistency=alpha,
        standard_error=error,
    )


def histogram(
    scores: Iterable[float], max_score: float, bins: int = 10
) -> list[tuple[float, float, int]]:
    """Count scores in equal bins over 0..max_score: [low, high), the top bin [low, max_score]."""
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise ValueError(f"bins must be a positive whole number, not {bins!r}")
    if not (math.isfinite(max_score) and max_score > 0):
        raise ValueError(f"max_score must be positive, not {max_score!r}")
    # Bin by the edges themselves, so a score never lands outside the (low, high) shown.
    edges = [max_score * i / bins for i in range(bins)] + [max_score]
    counts = [0] * bins
    for score in scores:
        if not 0 <= score <= max_score:  # NaN fails this too
            raise ValueError(f"score {score!r} lies outside 0..{max_score}")
        counts[min(bisect_right(edges, score) - 1, bins - 1)] += 1
    return [(edges[i], edges[i + 1], counts[i]) for i in range(bins)]
