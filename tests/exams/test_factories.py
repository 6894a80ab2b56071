"""The shared factories build what they say, through the engine."""

from decimal import Decimal

import pytest

from exams.models import AttemptState, Outcome
from lms.accounts.models import Role


def test_make_attempt_reaches_the_score_asked_for(make_user, make_sitting, make_attempt):
    agent = make_user(Role.AGENT)
    sitting = make_sitting(candidates=[agent])
    attempt = make_attempt(sitting, agent, score=3)
    assert attempt.state == AttemptState.FINISHED
    assert attempt.score == Decimal(3) and attempt.max_score == Decimal(5)
    assert attempt.passed is True  # the factory's pass mark is 60% of 5
    assert sitting.candidates[0].outcome == Outcome.PASSED


def test_make_attempt_refuses_a_score_the_paper_cannot_give(
    make_user, make_paper, make_sitting, make_attempt
):
    agent = make_user(Role.AGENT)
    sitting = make_sitting(paper=make_paper(points=2), candidates=[agent])
    with pytest.raises(ValueError, match="cannot give"):
        make_attempt(sitting, agent, score=3)
