"""The typing engine: passages drawn unseen, the server's clock, snapshots kept once and in
order, the result computed by the server, impossible results held, and one result per
candidate of a sitting with a paper and a typing test."""

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from exams import engine as exam_engine
from exams.models import Candidate, Outcome
from exams.typing import engine, scoring
from exams.typing.models import Passage, PassageKind, TypingAttempt, TypingReview, TypingState
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams.typing.conftest import SCRIPT, type_steadily


def candidate(sitting, user):
    return db.session.query(Candidate).filter_by(sitting_id=sitting.id, user_id=user.id).one()


def started(sitting, user, now=None):
    now = now or utcnow()
    attempt = engine.start(sitting, user, candidate(sitting, user), now=now)
    engine.deliver(attempt, now)
    db.session.commit()
    return attempt


def test_each_start_draws_a_passage_the_candidate_has_not_had(make_typing_sitting, agent, passages):
    drawn = []
    for n in range(4):
        sitting = make_typing_sitting([agent], title=f"第{n}场")
        attempt = started(sitting, agent)
        assert attempt.passage.purpose == "exam"
        assert attempt.passage_id not in drawn
        drawn.append(attempt.passage_id)
        engine.finish(attempt)
        db.session.commit()
    # The pool of four is used up: the one had longest ago (the first drawn) comes back.
    sitting = make_typing_sitting([agent], title="第五场")
    assert started(sitting, agent).passage_id == drawn[0]


def test_a_second_attempt_of_a_sitting_never_gets_a_passage_it_had_while_another_is_left(
    make_typing_sitting, agent, passages
):
    sitting = make_typing_sitting([agent], attempts_allowed=5)
    earlier = make_typing_sitting([agent], title="十一月技能考试")
    # Passages 1-3 had in another exam (long ago), the 4th in this one: 1-3 are "older", but
    # the draw of this sitting's second attempt goes to one of them, not back to the 4th.
    for p in passages[:3]:
        db.session.add(
            TypingAttempt(
                user_id=agent.id,
                sitting_id=earlier.id,
                number=p.id,
                passage_id=p.id,
                target=p.text,
                state="finished",
                created_at=utcnow() - timedelta(days=40),
            )
        )
    db.session.commit()
    first = started(sitting, agent)
    assert first.passage_id == passages[3].id  # never had
    engine.finish(first)
    db.session.commit()
    second = started(sitting, agent)
    assert second.passage_id in {p.id for p in passages[:3]}
    engine.finish(second)
    db.session.commit()
    # Every exam passage had in this sitting: a passage to read may come back (the oldest).
    for _ in range(2):
        engine.finish(started(sitting, agent))
        db.session.commit()
    fifth = started(sitting, agent)
    assert fifth.passage_id == first.passage_id


def test_a_recording_heard_in_a_sitting_is_never_drawn_again_in_it(
    make_typing_sitting, agent, typing_test
):
    from exams.typing.engine import StartRefused

    typing_test.kind, typing_test.duration_minutes = PassageKind.LISTEN, 3
    items = [
        Passage(
            title=f"录音{i}", kind=PassageKind.LISTEN, text="您好，我的银行卡丢了，请帮我挂失。"
        )
        for i in (1, 2)
    ]
    db.session.add_all(items)
    db.session.commit()
    sitting = make_typing_sitting([agent], attempts_allowed=5)
    drawn = []
    for _ in items:
        attempt = started(sitting, agent)
        drawn.append(attempt.passage_id)
        engine.finish(attempt)
        db.session.commit()
    assert sorted(drawn) == sorted(p.id for p in items)
    with pytest.raises(StartRefused) as refused:
        started(sitting, agent)
    assert refused.value.reason == "all_heard"
    assert "每一段录音" in refused.value.messages[0]


def test_practice_passages_are_never_drawn_for_an_exam_nor_exam_ones_for_practice(
    make_typing_sitting, agent, passages
):
    practice = engine.start_practice(agent)
    assert practice.passage.purpose == "practice" and practice.practice
    engine.finish(practice)
    sitting = make_typing_sitting([agent])
    assert started(sitting, agent).passage.purpose == "exam"


def test_a_timed_passage_repeats_past_the_ceiling_times_the_duration(make_typing_sitting, agent):
    attempt = started(make_typing_sitting([agent]), agent)
    counted = len(scoring.units(attempt.target))
    assert counted > attempt.speed_ceiling * attempt.duration_minutes  # 250 × 10
    assert attempt.target.startswith(attempt.passage.text)


def test_the_clock_starts_on_delivery_and_a_late_snapshot_is_refused(make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    t0 = utcnow()
    attempt = engine.start(sitting, agent, candidate(sitting, agent), now=t0)
    assert attempt.started_at is None
    assert engine.record(attempt, 1, "您好", 0, {}, now=t0).reason == "not_started"
    later = t0 + timedelta(seconds=20)  # the page arrived 20 s after the start
    engine.deliver(attempt, later)
    assert attempt.started_at == later
    assert attempt.deadline_at == later + timedelta(minutes=10)
    late = attempt.deadline_at + engine.GRACE + timedelta(seconds=1)
    result = engine.record(attempt, 1, "您好", 600_000, {}, now=late)
    assert result.reason == "time_over"
    assert attempt.state == TypingState.FINISHED and attempt.finished_at == attempt.deadline_at


def test_snapshots_are_kept_in_order_once_and_reconstruct_the_text(make_typing_sitting, agent):
    attempt = started(make_typing_sitting([agent]), agent)
    t0 = attempt.started_at
    at = lambda s: t0 + timedelta(seconds=s)  # noqa: E731
    assert engine.record(attempt, 1, "您好，欢迎", 5000, {}, now=at(5)).accepted
    assert engine.record(attempt, 1, "您好，欢迎", 5000, {}, now=at(6)).reason == "retry"
    assert engine.record(attempt, 1, "别的内容", 5000, {}, now=at(6)).reason == "stale"
    assert engine.record(attempt, 3, "您好，欢迎致电本行", 10000, {}, now=at(10)).accepted
    assert engine.record(attempt, 2, "您好", 7000, {}, now=at(11)).reason == "stale"
    assert engine.record(attempt, 4, "您好，欢迎致电", 15000, {}, now=at(15)).accepted  # deleted
    db.session.commit()
    text = ""
    for snap in attempt.snapshots:
        text = text[: snap.kept] + snap.added
        assert len(text) == snap.length
    assert text == attempt.text == "您好，欢迎致电"
    assert [s.seq for s in attempt.snapshots] == [1, 3, 4]


def as_read(attempt):
    """Return the attempt as a snapshot request reads it now (engine.snapshot_state's row),
    to be used later, after other requests have changed it."""
    return SimpleNamespace(
        id=attempt.id,
        state=attempt.state,
        started_at=attempt.started_at,
        deadline_at=attempt.deadline_at,
        seq=attempt.seq,
        text=attempt.text,
        whole_passage=attempt.whole_passage,
        target_length=len(attempt.target),
    )


def test_a_snapshot_read_before_a_newer_one_was_written_keeps_nothing(make_typing_sitting, agent):
    """Two requests of one attempt in flight: the one that read the older state loses, on
    the conditional UPDATE (PostgreSQL: inside the one statement), and inserts no row."""
    attempt = started(make_typing_sitting([agent]), agent)
    t0 = attempt.started_at
    assert engine.record(attempt, 1, "您好", 5000, {}, now=t0 + timedelta(seconds=5)).accepted
    db.session.commit()
    # What the slower request read: the attempt at seq 1 ...
    read_before = as_read(attempt)
    # ... while the faster one took seq 3.
    assert engine.record(
        attempt, 3, "您好，欢迎", 15000, {}, now=t0 + timedelta(seconds=15)
    ).accepted
    late = engine.record(read_before, 2, "您好，欢", 10000, {}, now=t0 + timedelta(seconds=16))
    assert (late.accepted, late.reason) == (False, "stale")
    db.session.commit()
    db.session.expire_all()
    assert [s.seq for s in attempt.snapshots] == [1, 3]
    assert (attempt.seq, attempt.text) == (3, "您好，欢迎")


def test_the_server_scores_from_the_text_and_its_own_clock(make_typing_sitting, agent):
    attempt = started(make_typing_sitting([agent]), agent)
    t0 = attempt.started_at
    typed = attempt.target[:640]  # about 630 characters in 10 minutes: 63 字/分钟, all right
    type_steadily(engine, attempt, typed, t0, 600)
    assert engine.finish(attempt, now=t0 + timedelta(minutes=10, seconds=3))
    assert not engine.finish(attempt, now=t0 + timedelta(minutes=11))  # once only
    want = scoring.score(attempt.target, typed, 600, engine.rules_of(attempt))
    assert attempt.correct == want.correct and attempt.net_speed == want.speed
    assert attempt.minutes == Decimal(10) and attempt.finished_at == attempt.deadline_at
    assert attempt.passed is True and attempt.review == TypingReview.NONE
    assert candidate(_sitting(attempt), agent).typing_outcome == Outcome.PASSED


def _sitting(attempt):
    from exams.models import Sitting

    return db.session.get(Sitting, attempt.sitting_id)


def test_text_arriving_in_a_burst_without_compositions_is_held_not_judged(
    make_typing_sitting, agent
):
    sitting = make_typing_sitting([agent])
    attempt = started(sitting, agent)
    t0 = attempt.started_at
    text = (SCRIPT * 20)[:900]
    # Nothing for four minutes, then the whole text at once and no composition at all.
    for k in range(1, 49):
        part = "" if k < 48 else text
        engine.record(attempt, k, part, k * 5000, {"keys": 10}, now=t0 + timedelta(seconds=5 * k))
    engine.finish(attempt, now=t0 + timedelta(minutes=10))
    assert attempt.review == TypingReview.HELD and attempt.passed is None
    assert "burst_without_composition" in attempt.review_reasons
    assert "chinese_without_composition" in attempt.review_reasons
    assert candidate(sitting, agent).typing_outcome == Outcome.PENDING


def test_a_trainer_confirms_or_voids_a_held_result(make_typing_sitting, agent, make_user):
    from lms.accounts.models import Role

    trainer = make_user(Role.TRAINER, username="t1")
    sitting = make_typing_sitting([agent], attempts_allowed=2)
    attempt = started(sitting, agent)
    t0 = attempt.started_at
    engine.record(attempt, 1, (SCRIPT * 20)[:700], 5000, {}, now=t0 + timedelta(seconds=5))
    engine.finish(attempt, now=t0 + timedelta(minutes=10))
    assert attempt.review == TypingReview.HELD
    engine.decide(attempt, trainer, confirm=False, comment="粘贴所得")
    assert attempt.review == TypingReview.VOIDED
    assert candidate(sitting, agent).typing_outcome == Outcome.NONE
    with pytest.raises(ValidationFailed):
        engine.decide(attempt, trainer, confirm=True, comment="再次")


def test_one_result_per_candidate_passed_only_when_both_parts_are(
    make_typing_sitting, agent, make_paper, make_attempt
):
    sitting = make_typing_sitting([agent], paper=make_paper(pass_mark=3))
    exam = make_attempt(sitting, agent, score=5)
    assert exam.passed
    cand = candidate(sitting, agent)
    assert cand.paper_outcome == Outcome.PASSED
    assert cand.outcome == Outcome.NONE  # the typing test is still to take
    attempt = started(sitting, agent)
    t0 = attempt.started_at
    type_steadily(engine, attempt, attempt.target[:300], t0, 600)  # about 30 字/分钟: fails
    engine.finish(attempt, now=t0 + timedelta(minutes=10))
    db.session.commit()
    cand = candidate(sitting, agent)
    assert cand.typing_outcome == Outcome.FAILED and cand.outcome == Outcome.FAILED
    assert cand.result_final_at is not None  # one attempt allowed: final
    assert cand.typing_speed == attempt.net_speed


def test_a_typing_only_sitting_passes_on_the_typing_test(make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    attempt = started(sitting, agent)
    type_steadily(engine, attempt, attempt.target[:660], attempt.started_at, 600)
    engine.finish(attempt, now=attempt.started_at + timedelta(minutes=10))
    cand = candidate(sitting, agent)
    assert cand.outcome == Outcome.PASSED and cand.paper_outcome == Outcome.NONE


def test_a_second_typing_test_cannot_start_while_one_is_open(make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    started(sitting, agent)
    with pytest.raises(engine.StartRefused) as err:
        engine.start_practice(agent)
    assert err.value.reason == "open_attempt"


def test_absent_from_the_typing_test_when_the_sitting_closes(make_typing_sitting, agent):
    now = utcnow()
    sitting = make_typing_sitting(
        [agent], opens_at=now - timedelta(hours=3), closes_at=now - timedelta(hours=1)
    )
    exam_engine.settle_closed(now)
    cand = candidate(sitting, agent)
    assert cand.typing_outcome == Outcome.ABSENT and cand.outcome == Outcome.ABSENT
    assert cand.result_final_at is not None


def test_a_reload_halfway_does_not_look_like_text_without_keys(make_typing_sitting, agent):
    """The page's counters start again at a reload: the server adds up what every page sent."""
    from exams.typing.judging import totals

    rows = totals(
        [{"keys": 400, "compositions": 100}, {"keys": 10, "compositions": 2}, {"keys": 30}]
    )
    assert [r["keys"] for r in rows] == [400, 410, 430]
    assert [r["compositions"] for r in rows] == [100, 102, 102]
    sitting = make_typing_sitting([agent])
    attempt = started(sitting, agent)
    t0 = attempt.started_at
    text = attempt.target[:660]
    for k in range(1, 121):  # 10 minutes; the page reloads after 5 of them
        part = text[: round(len(text) * k / 120)]
        page_k = k if k <= 60 else k - 60
        ev = {"keys": len(part) * 4 if k <= 60 else page_k * 2, "compositions": page_k * 3}
        engine.record(attempt, k, part, k * 5000, ev, now=t0 + timedelta(seconds=5 * k))
    engine.finish(attempt, now=t0 + timedelta(minutes=10))
    assert attempt.review == TypingReview.NONE, attempt.review_reasons
    assert attempt.passed is True


def test_a_typing_test_the_close_would_cut_short_does_not_start(make_typing_sitting, agent):
    now = utcnow()
    sitting = make_typing_sitting([agent], closes_at=now + timedelta(minutes=8))  # test: 10
    with pytest.raises(engine.StartRefused) as err:
        engine.start(sitting, agent, candidate(sitting, agent), now=now)
    assert err.value.reason == "too_late"


def test_practice_is_the_passage_once_timed_by_the_time_used(agent, passages):
    practice = engine.start_practice(agent)
    assert practice.whole_passage and practice.target == practice.passage.text.strip()
    t0 = utcnow()
    engine.deliver(practice, t0)
    type_steadily(engine, practice, practice.target[:40], t0, 60)
    engine.finish(practice, now=t0 + timedelta(seconds=60))
    assert practice.minutes == 1 and practice.speed == practice.correct


def test_a_snapshot_whose_base_changed_under_it_keeps_nothing(make_typing_sitting, agent):
    """Two windows of one attempt: the slower request carries the higher seq, but its
    delta was taken against a text another request has since replaced (characters deleted).
    Taking it would make the kept history rebuild a text nobody typed: it is stale."""
    attempt = started(make_typing_sitting([agent]), agent)
    t0 = attempt.started_at
    assert engine.record(attempt, 1, "您好，欢迎", 5000, {}, now=t0 + timedelta(seconds=5)).accepted
    db.session.commit()
    read_before = as_read(attempt)
    assert engine.record(attempt, 2, "您", 10000, {}, now=t0 + timedelta(seconds=10)).accepted
    late = engine.record(
        read_before, 3, "您好，欢迎致电", 15000, {}, now=t0 + timedelta(seconds=16)
    )
    assert (late.accepted, late.reason) == (False, "stale")
    db.session.commit()
    db.session.expire_all()
    text = ""
    for snap in attempt.snapshots:
        text = text[: snap.kept] + snap.added
    assert text == attempt.text == "您"
    assert [s.seq for s in attempt.snapshots] == [1, 2]


def test_a_start_finishes_overdue_attempts_first_as_the_close_command_would(
    make_typing_sitting, agent
):
    """Starting reads the open attempts once and finishes the overdue ones itself: its test
    of "overdue" must pick exactly what engine.overdue (the close-overdue command) picks."""
    t0 = utcnow()
    first = make_typing_sitting([agent], title="上一场")
    late = started(first, agent, now=t0 - timedelta(minutes=20))  # 10 minutes, long over
    now = t0
    assert engine._is_overdue(late, now) and late in engine.overdue(now)
    # Within the grace: open, not overdue (both agree).
    late.deadline_at = now - engine.GRACE + timedelta(seconds=1)
    db.session.commit()
    assert not engine._is_overdue(late, now) and late not in engine.overdue(now)
    sitting = make_typing_sitting([agent], title="本场")
    with pytest.raises(engine.StartRefused):  # an attempt still open elsewhere
        engine.start(sitting, agent, candidate(sitting, agent), now=now)
    db.session.rollback()
    late = db.session.get(type(late), late.id)
    late.deadline_at = now - engine.GRACE - timedelta(seconds=1)
    db.session.commit()
    assert engine._is_overdue(late, now) and late in engine.overdue(now)
    fresh = engine.start(sitting, agent, candidate(sitting, agent), now=now)
    db.session.commit()
    assert late.state == TypingState.FINISHED and fresh.state == TypingState.IN_PROGRESS
    # Never delivered: overdue only once a day old.
    assert fresh.started_at is None
    assert not engine._is_overdue(fresh, now) and fresh not in engine.overdue(now)
    day_later = now + timedelta(days=1, seconds=1)
    assert engine._is_overdue(fresh, day_later) and fresh in engine.overdue(day_later)
