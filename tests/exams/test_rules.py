"""The engine's rules as pure functions."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from exams import rules

T0 = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("limit", "extra", "closes", "expected"),
    [
        (60, 0, T0 + 120 * M, T0 + 60 * M),
        (60, 15, T0 + 120 * M, T0 + 75 * M),  # extra time
        (60, 0, T0 + 30 * M, T0 + 30 * M),  # the window closes first
        (60, 90, T0 + 100 * M, T0 + 100 * M),  # extra time never passes the close
    ],
)
def test_deadline(limit, extra, closes, expected):
    assert rules.deadline(T0, limit, extra, closes) == expected


@pytest.mark.parametrize(
    ("now", "used", "allowed", "open_attempt", "expected"),
    [
        (T0, 0, 1, False, rules.StartCheck(True)),
        (T0 - M, 0, 1, False, rules.StartCheck(False, "not_open")),
        (T0 + 60 * M, 0, 1, False, rules.StartCheck(False, "closed")),
        (T0, 1, 1, False, rules.StartCheck(False, "no_attempts_left")),
        (T0, 1, 2, False, rules.StartCheck(True)),
        (T0, 0, 1, True, rules.StartCheck(False, "open_attempt")),
    ],
)
def test_can_start(now, used, allowed, open_attempt, expected):
    assert rules.can_start(now, T0, T0 + 60 * M, used, allowed, open_attempt) == expected


DL = T0 + 30 * M


@pytest.mark.parametrize(
    ("now", "finished", "last", "seq", "expected"),
    [
        (T0, False, 3, 4, rules.SaveCheck(True)),
        (DL + timedelta(seconds=20), False, 3, 4, rules.SaveCheck(True)),  # in flight: grace
        (DL + timedelta(seconds=31), False, 3, 4, rules.SaveCheck(False, "time_over")),
        (T0, False, 4, 4, rules.SaveCheck(False, "stale")),  # replayed
        (T0, False, 5, 4, rules.SaveCheck(False, "stale")),  # older tab
        (T0, True, 3, 4, rules.SaveCheck(False, "finished")),
    ],
)
def test_check_save(now, finished, last, seq, expected):
    assert rules.check_save(now, DL, finished, last, seq) == expected


@pytest.mark.parametrize(
    ("fraction", "points", "expected"),
    [
        (1.0, Decimal(2), (Decimal("2.00"), "gradedright")),
        (0.0, Decimal(2), (Decimal("0.00"), "gradedwrong")),
        (0.5, Decimal(3), (Decimal("1.50"), "gradedpartial")),
        (1 / 3, Decimal(1), (Decimal("0.33"), "gradedpartial")),
        (None, Decimal(5), (None, "needsgrading")),
    ],
)
def test_item_score(fraction, points, expected):
    assert rules.item_score(fraction, points) == expected


def test_totals_sections_pass_and_pending():
    items = [(1, Decimal(2), Decimal(2)), (1, Decimal(0), Decimal(2)), (2, Decimal(1), Decimal(1))]
    t = rules.totals(items, Decimal(3))
    assert (t.score, t.max_score, t.passed) == (Decimal(3), Decimal(5), True)
    assert t.section_scores == [[1, "2", "4"], [2, "1", "1"]]
    pending = rules.totals([*items, (3, None, Decimal(5))], Decimal(3))
    assert pending.score is None and pending.passed is None
    assert pending.section_scores[-1] == [3, None, "5"]


@pytest.mark.parametrize(
    ("policy", "finished", "now", "attempts_left", "expected"),
    [
        ("score_only", True, T0 + 999 * M, False, False),
        ("after_close", True, T0, False, False),
        # Not at the close itself: saves in flight are accepted for the grace period.
        ("after_close", True, T0 + 60 * M, False, False),
        ("after_close", True, T0 + 60 * M + rules.GRACE, False, True),
        ("after_submit", True, T0, False, True),
        # With attempts left, the next attempt would be answered from the key.
        ("after_submit", True, T0, True, False),
        ("after_submit", True, T0 + 61 * M, True, True),
        ("after_submit", False, T0, False, False),
    ],
)
def test_review_allowed(policy, finished, now, attempts_left, expected):
    assert rules.review_allowed(policy, finished, now, T0 + 60 * M, attempts_left) is expected


@pytest.mark.parametrize(
    ("now", "auto", "expected"),
    [
        (T0 - M, False, (T0 - M, "submitted")),
        (T0 - M, True, (T0 - M, "submitted")),  # a page cannot claim time-up a minute early
        (T0 - rules.AUTO_SUBMIT_SLACK, True, (T0 - rules.AUTO_SUBMIT_SLACK, "timeout")),
        (T0, False, (T0, "timeout")),
        # However late it is finalised, it finished at its deadline.
        (T0 + 21 * M, False, (T0, "timeout")),
        (T0 + 21 * M, True, (T0, "timeout")),
    ],
)
def test_finish(now, auto, expected):
    assert rules.finish(now, T0, auto) == expected


@pytest.mark.parametrize(
    ("rule", "attempts", "expected"),
    [
        ("highest", [], (None, False)),
        ("highest", [(1, Decimal(5)), (2, Decimal(8)), (3, Decimal(6))], (2, False)),
        ("highest", [(1, Decimal(8)), (2, Decimal(8))], (1, False)),  # the earlier on a tie
        ("highest", [(1, Decimal(8)), (2, None)], (None, True)),  # the second may be higher
        ("last", [(1, Decimal(8)), (2, Decimal(3))], (2, False)),
        ("last", [(1, Decimal(8)), (2, None)], (2, True)),
        ("last", [(1, None), (2, Decimal(3))], (2, False)),
    ],
)
def test_counted_attempt(rule, attempts, expected):
    assert rules.counted_attempt(rule, attempts) == expected


def test_section_numerals():
    assert [rules.section_numeral(i) for i in (1, 2, 5, 10, 11)] == ["一", "二", "五", "十", "11"]


@pytest.mark.parametrize(
    ("last", "last_digest", "seq", "digest", "expected"),
    [
        (4, "abc", 4, "abc", rules.SaveCheck(True, "retry")),  # the same save again
        (4, "abc", 4, "xyz", rules.SaveCheck(False, "stale")),  # another window, same seq
        (4, None, 4, "abc", rules.SaveCheck(False, "stale")),  # saved before digests
        (4, "abc", 3, "abc", rules.SaveCheck(False, "stale")),  # an older save
        (4, "abc", 5, "xyz", rules.SaveCheck(True)),
    ],
)
def test_check_save_recognises_a_retry(last, last_digest, seq, digest, expected):
    assert rules.check_save(T0, DL, False, last, seq, last_digest, digest) == expected


def test_save_digest_depends_on_writer_and_content_not_key_order():
    a = rules.save_digest("w1", {"1": "A", "2": ["B", "C"]}, {"1": True})
    assert a == rules.save_digest("w1", {"2": ["B", "C"], "1": "A"}, {"1": True})
    assert a != rules.save_digest("w2", {"1": "A", "2": ["B", "C"]}, {"1": True})
    assert a != rules.save_digest("w1", {"1": "A", "2": ["C", "B"]}, {"1": True})
    assert a != rules.save_digest("w1", {"1": "A", "2": ["B", "C"]}, {})
    assert len(a) == rules.DIGEST_LENGTH


@pytest.mark.parametrize(
    ("parts", "want"),
    [
        pytest.param([("passed", True)], ("passed", True), id="paper-only-passed"),
        pytest.param([("passed", True), ("passed", True)], ("passed", True), id="both-passed"),
        pytest.param([("passed", False), ("passed", True)], ("passed", False), id="provisional"),
        pytest.param([("passed", True), ("failed", True)], ("failed", True), id="typing-failed"),
        pytest.param([("failed", True), ("none", False)], ("failed", True), id="failed-is-final"),
        pytest.param([("failed", False), ("none", False)], ("failed", False), id="may-retry"),
        pytest.param([("passed", True), ("none", False)], ("none", False), id="typing-to-take"),
        pytest.param([("passed", True), ("pending", False)], ("pending", False), id="held"),
        pytest.param([("passed", True), ("absent", True)], ("absent", True), id="absent"),
        pytest.param([("pending", False), ("absent", True)], ("absent", True), id="absent-first"),
    ],
)
def test_a_sitting_passes_only_when_every_component_passes(parts, want):
    got = rules.combine([rules.Part(o, f) for o, f in parts])
    assert (got.outcome, got.final) == want
