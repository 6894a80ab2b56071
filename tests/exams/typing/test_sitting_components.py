"""A sitting's typing test attached, switched or removed after candidates have results: every
result is recomputed in the same request, and the change is refused, with the reason on the
sitting's page, once a candidate has begun the typing test or the sitting has closed."""

from datetime import timedelta

import pytest

from exams.models import Outcome
from exams.typing import demo as typing_demo
from exams.typing.models import PassageKind, TypingTest
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams import test_staff_pages as staff_pages
from tests.exams.test_staff_pages import candidate, events, grading_url, item_of, submit_exam
from tests.exams.typing.test_engine import started
from tests.helpers import text, zh

# The staff pages' fixtures, shared.
trainer, trainer_client, staff = staff_pages.trainer, staff_pages.trainer_client, staff_pages.staff
hr_client, graded = staff_pages.hr_client, staff_pages.graded

CHANGED = "Typing test changed; every candidate's result was recomputed."
STARTED = (
    "Candidates have started this sitting's typing test, so it can no longer be "
    "switched or removed."
)


def change(client, sitting, test_id) -> str:
    """Post the sitting's typing test (blank: none); return the sitting page it leads to."""
    resp = client.submit(f"/exams/sittings/{sitting.id}/typing-test", {"typing_test_id": test_id})
    assert resp.status_code == 302 and resp.location.endswith(f"/exams/sittings/{sitting.id}")
    return text(client.get(resp.location))


@pytest.fixture
def other_test(app):
    """Return a second typing test, stricter than the default."""
    test = TypingTest(title="季度打字测试", kind=PassageKind.TEXT, pass_speed=70)
    db.session.add(test)
    db.session.commit()
    return test


def test_attaching_a_typing_test_reopens_a_paper_pass(
    trainer_client, sitting, graded, agent, typing_test
):
    cand = candidate(sitting, agent)
    assert cand.outcome == Outcome.PASSED and cand.result_final_at is not None

    page = change(trainer_client, sitting, str(typing_test.id))
    assert zh(CHANGED) in page and typing_test.title in page
    db.session.expire_all()
    assert sitting.typing_test_id == typing_test.id
    assert (cand.outcome, cand.paper_outcome, cand.typing_outcome) == (
        Outcome.NONE,
        Outcome.PASSED,
        Outcome.NONE,
    )
    assert cand.result_final_at is None and cand.result_score == 11
    results = text(trainer_client.get(f"/exams/sittings/{sitting.id}/results"))
    row = results.split('data-username="a1"')[1].split("</tr>")[0]
    assert zh("Passed") not in row and zh("Not passed") not in row
    assert events("sitting.update") == 1


def test_removing_the_typing_test_lets_the_paper_result_stand(
    trainer_client, make_typing_sitting, paper, bank, agent, agent_client
):
    sitting = make_typing_sitting([agent], paper=paper)
    attempt = submit_exam(agent_client, sitting)
    item = item_of(attempt, "short_answer")
    trainer_client.submit(grading_url(sitting, bank), {f"score_{item.id}": "4"})
    cand = candidate(sitting, agent)
    assert (cand.paper_outcome, cand.outcome) == (Outcome.PASSED, Outcome.NONE)

    assert zh(CHANGED) in change(trainer_client, sitting, "")
    db.session.expire_all()
    assert sitting.typing_test_id is None
    assert cand.outcome == Outcome.PASSED and cand.result_final_at is not None
    assert cand.typing_outcome == Outcome.NONE
    assert zh("Typing test") not in text(agent_client.get("/exam/"))


def test_switching_the_typing_test_before_anyone_typed_keeps_every_result_open(
    trainer_client, make_typing_sitting, agent, other_agent, other_test
):
    sitting = make_typing_sitting([agent, other_agent])
    assert zh(CHANGED) in change(trainer_client, sitting, str(other_test.id))
    db.session.expire_all()
    assert sitting.typing_test_id == other_test.id
    assert {c.outcome for c in sitting.candidates} == {Outcome.NONE}
    assert "70" in text(trainer_client.get(f"/exams/sittings/{sitting.id}"))


def test_the_typing_test_cannot_change_once_a_candidate_has_begun_it(
    trainer_client, make_typing_sitting, paper, agent, typing_test, other_test
):
    sitting = make_typing_sitting([agent], paper=paper)
    started(sitting, agent)
    for value in (str(other_test.id), ""):
        page = change(trainer_client, sitting, value)
        assert zh(STARTED) in page and zh(CHANGED) not in page
    db.session.expire_all()
    assert sitting.typing_test_id == typing_test.id and events("sitting.update") == 0


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Choose a paper, a typing test, or both: a sitting needs at least one."),
        ("999", "Choose a typing test."),
        ("abc", "Choose a typing test."),
    ],
)
def test_a_typing_only_sitting_keeps_its_typing_test(
    trainer_client, make_typing_sitting, agent, typing_test, value, message
):
    sitting = make_typing_sitting([agent])
    assert zh(message) in change(trainer_client, sitting, value)
    db.session.expire_all()
    assert sitting.typing_test_id == typing_test.id and events("sitting.update") == 0


def test_a_closed_sittings_typing_test_cannot_change(trainer_client, sitting, graded, typing_test):
    sitting.closes_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    page = change(trainer_client, sitting, str(typing_test.id))
    assert zh("This sitting has closed, so its typing test can no longer change.") in page
    db.session.expire_all()
    assert sitting.typing_test_id is None and events("sitting.update") == 0
    assert candidate(sitting, graded.user).outcome == Outcome.PASSED


def test_only_trainers_change_a_sittings_typing_test(
    hr_client, agent_client, sitting, typing_test, trainer_client
):
    url = f"/exams/sittings/{sitting.id}/typing-test"
    assert hr_client.submit(url, {"typing_test_id": str(typing_test.id)}).status_code == 403
    assert agent_client.submit(url, {"typing_test_id": str(typing_test.id)}).status_code == 403
    db.session.expire_all()
    assert sitting.typing_test_id is None
    assert 'id="sitting-typing-test"' not in text(hr_client.get(f"/exams/sittings/{sitting.id}"))
    assert 'id="sitting-typing-test"' in text(trainer_client.get(f"/exams/sittings/{sitting.id}"))


def test_seed_demo_attaching_its_typing_test_reopens_paper_passes(app, sitting, graded, agent):
    cand = candidate(sitting, agent)
    assert cand.outcome == Outcome.PASSED
    typing_demo.seed_typing()
    db.session.commit()
    db.session.expire_all()
    assert sitting.typing_test.title == typing_demo.MONTHLY_TEST
    assert cand.outcome == Outcome.NONE and cand.result_final_at is None


def test_the_change_is_audited_in_the_readers_language(
    trainer_client, sitting, typing_test, make_user, login, app
):
    change(trainer_client, sitting, str(typing_test.id))
    make_user(Role.ADMIN, username="admin9")
    admin = app.test_client()
    login(admin, "admin9")
    log = text(admin.get("/admin/audit/"))
    assert zh("Sitting changed") in log and typing_test.title in log
    assert zh("Results changed") in log and "results_changed" not in log


def test_a_switch_waits_for_a_start_in_flight_and_then_refuses(
    app, sitting, agent, typing_test, other_test, trainer, passages
):
    """PostgreSQL, two transactions: a candidate's start holds the sitting's row (as the
    start view reads it) and has drawn its passage, not yet committed; the trainer's switch
    waits for it, then sees the attempt and refuses. Without the lock the switch went
    through, and the attempt ran under a test the sitting no longer had."""
    import threading

    from exams import services
    from exams.models import Sitting
    from exams.typing import engine
    from lms.accounts.models import User
    from lms.accounts.services import ValidationFailed

    if db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL (SQLite writes one at a time)")
    sitting.typing_test = typing_test
    db.session.commit()
    sitting_id, trainer_id, test_id, agent_id = sitting.id, trainer.id, typing_test.id, agent.id
    outcome = {}

    def switch():
        with app.app_context():
            try:
                services.set_typing_test(
                    db.session.get(Sitting, sitting_id),
                    str(other_test_id),
                    db.session.get(User, trainer_id),
                )
                db.session.commit()
                outcome["switched"] = True
            except ValidationFailed as exc:
                db.session.rollback()
                outcome["refused"] = exc.messages[0]
            finally:
                db.session.remove()

    other_test_id = other_test.id
    db.session.remove()
    with app.app_context():
        held = engine.sitting_for_start(sitting_id)
        me = db.session.get(User, agent_id)
        engine.start(held, me, candidate(held, me))
        trainer_thread = threading.Thread(target=switch)
        trainer_thread.start()
        trainer_thread.join(timeout=1.0)
        assert trainer_thread.is_alive(), "the switch did not wait for the start in flight"
        db.session.commit()
        db.session.remove()
    trainer_thread.join(timeout=10)
    assert outcome == {"refused": zh(STARTED)}
    db.session.expire_all()
    assert db.session.get(Sitting, sitting_id).typing_test_id == test_id
