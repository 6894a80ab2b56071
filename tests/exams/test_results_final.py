"""A result is final only when no further attempt is possible; closing settles the rest."""

from datetime import timedelta

from exams import engine, events, results
from exams.models import Outcome, SittingKind
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow


class Heard:
    """Collect what a signal sends."""

    def __init__(self):
        self.calls = []

    def __call__(self, sender, **kwargs):
        self.calls.append((sender, kwargs))


def test_a_failed_attempt_with_a_retake_left_is_not_final(make_user, make_sitting, make_attempt):
    agent = make_user(Role.AGENT)
    sitting = make_sitting(candidates=[agent], attempts_allowed=2)
    final, changed = Heard(), Heard()
    with events.result_final.connected_to(final), events.result_changed.connected_to(changed):
        make_attempt(sitting, agent, score=1)
        candidate = sitting.candidates[0]
        # Failed for now, but the candidate may still pass: nobody is told yet.
        assert candidate.outcome == Outcome.FAILED and candidate.result_final_at is None
        assert final.calls == []
        make_attempt(sitting, agent, score=4)
    assert [kw["outcome"] for _s, kw in final.calls] == [Outcome.PASSED]
    assert changed.calls == []
    assert candidate.result_final_at is not None


def test_closing_settles_provisional_results_and_absences(
    make_user, make_sitting, make_attempt, runner
):
    failed, absent, passed = (make_user(Role.AGENT) for _ in range(3))
    sitting = make_sitting(
        candidates=[failed, absent, passed],
        attempts_allowed=2,
        kind=SittingKind.MONTHLY,
        cycle="2026-12",
    )
    make_attempt(sitting, failed, score=1)
    make_attempt(sitting, passed, score=5)
    assert results.failed_in_cycles(SittingKind.MONTHLY, ["2026-12"]) == []  # provisional
    sitting.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    final = Heard()
    with events.result_final.connected_to(final):
        out = runner.invoke(args=["close-overdue"])
        assert out.exit_code == 0, out.output
        assert "3 results of closed sittings final" in out.output
        # Running it again announces nothing more.
        runner.invoke(args=["close-overdue"])
    db.session.expire_all()
    outcomes = {c.user_id: c.outcome for c in sitting.candidates}
    assert outcomes == {
        failed.id: Outcome.FAILED,
        absent.id: Outcome.ABSENT,
        passed.id: Outcome.PASSED,
    }
    assert sorted(kw["outcome"] for _s, kw in final.calls) == sorted(outcomes.values())
    assert results.failed_in_cycles(SittingKind.MONTHLY, ["2026-12"]) == [failed.id]
    assert results.failed_in_cycles(SittingKind.MONTHLY, ["2026-12"], count_absent=True) == sorted(
        [failed.id, absent.id]
    )


def test_settling_waits_for_attempts_still_open(make_user, make_sitting, make_attempt):
    agent = make_user(Role.AGENT)
    sitting = make_sitting(candidates=[agent])
    make_attempt(sitting, agent, finish=False)
    sitting.closes_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    assert engine.settle_closed() == 0
    assert sitting.candidates[0].result_final_at is None
