"""A key never reaches a candidate while another open sitting asks the same questions."""

from datetime import timedelta

import pytest

from exams.models import DrawRule, Paper, PaperSection, ReviewPolicy
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams.conftest import SECRETS
from tests.helpers import text


@pytest.fixture
def shared(make_user, make_question, make_paper, make_sitting, make_attempt, login, app):
    """Return (client of a candidate who finished a closed sitting, that result's URL, the
    paper), with the paper's questions carrying secret explanations."""
    questions = [make_question("true_false", explanation=SECRETS[i]) for i in range(3)]
    paper = make_paper(questions, review_policy=ReviewPolicy.AFTER_CLOSE)
    done = make_user(Role.AGENT, username="done")
    closed = make_sitting(paper=paper, candidates=[done])
    attempt = make_attempt(closed, done, score=2)
    closed.closes_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    client = app.test_client()
    login(client, "done")
    return client, f"/exam/attempts/{attempt.id}/result", paper


def shows_key(client, url) -> bool:
    """Tell whether the result page shows the review (explanations)."""
    page = text(client.get(url))
    return 'id="review"' in page or any(s in page for s in SECRETS[:3])


def test_review_waits_while_the_same_paper_is_sat_elsewhere(shared, make_sitting, make_user):
    client, url, paper = shared
    assert shows_key(client, url)  # closed, nobody else: the review is there
    later = make_sitting(paper=paper, candidates=[make_user(Role.AGENT)])
    assert not shows_key(client, url)  # a make-up sitting of the same paper is open
    later.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert shows_key(client, url)


def test_review_waits_while_another_paper_draws_from_the_same_category(
    shared, make_sitting, make_user
):
    client, url, paper = shared
    category_id = paper.sections[0].items[0].question.category_id
    other = Paper(title="下月试卷")
    section = PaperSection(position=1, qtype="true_false")
    section.rules.append(DrawRule(category_id=category_id, count=1))
    other.sections.append(section)
    db.session.add(other)
    db.session.commit()
    make_sitting(paper=other, candidates=[make_user(Role.AGENT)])
    assert not shows_key(client, url)


def test_a_sitting_not_yet_open_does_not_hold_the_review(shared, make_sitting, make_user):
    client, url, paper = shared
    now = utcnow()
    make_sitting(
        paper=paper,
        candidates=[make_user(Role.AGENT)],
        opens_at=now + timedelta(days=1),
        closes_at=now + timedelta(days=2),
    )
    assert shows_key(client, url)
