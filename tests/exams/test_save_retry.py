"""A retried save the server already took is acknowledged, not refused as stale.

Under load a save can time out in the browser after the server committed it; the page
sends the same save again (same seq, same content, same page). That retry must come back
"saved" and change nothing, while a different window with the same seq stays stale.
"""

import json

import pytest
from sqlalchemy.orm.attributes import set_committed_value

from exams import engine
from exams.models import AttemptState
from lms.extensions import db
from tests.exams.test_attempts import letters, start
from tests.helpers import count_queries


def post(client, attempt, body: dict):
    """Post a save's JSON body as the exam page does."""
    return client.post(
        f"/exam/attempts/{attempt.id}/save",
        json=body,
        headers={"X-CSRFToken": client.csrf_token()},
    )


def test_retry_of_a_committed_save_is_acknowledged_and_changes_nothing(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    body = {"seq": 1, "writer": "page-a", "answers": {str(item.id): letters(item, "2")}}
    token, url = agent_client.csrf_token(), f"/exam/attempts/{attempt.id}/save"
    with count_queries() as saved:
        first = agent_client.post(url, json=body, headers={"X-CSRFToken": token})
    assert first.status_code == 200 and first.get_json()["ok"] is True
    # The response was lost on the way: the page sends exactly the same save again.
    with count_queries() as q:
        retry = agent_client.post(url, json=body, headers={"X-CSRFToken": token})
    # The save keeps its budget (tests/exams/test_query_budget.py); the retry costs less.
    assert saved.count <= 5 and q.count < saved.count
    assert retry.status_code == 200, retry.get_json()
    assert retry.get_json()["ok"] is True and retry.get_json()["seq"] == 1
    assert retry.get_json()["saved_at"] == first.get_json()["saved_at"]
    # Acknowledged without writing anything but the sign-in's own bookkeeping.
    assert [s for s in q.writes if "ex_" in s] == []
    db.session.expire_all()
    assert attempt.seq == 1 and attempt.items[0].response == "2"


def test_another_window_with_the_same_seq_is_still_stale(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    answers = {str(item.id): letters(item, "2")}
    assert (
        post(agent_client, attempt, {"seq": 1, "writer": "page-a", "answers": answers}).status_code
        == 200
    )
    # Same seq and same answers, but from another page: not this page's retry.
    other = post(agent_client, attempt, {"seq": 1, "writer": "page-b", "answers": answers})
    assert other.status_code == 409 and other.get_json()["reason"] == "stale"
    # Same page and seq but other answers: not a retry either.
    changed = {str(item.id): letters(item, "1")}
    again = post(agent_client, attempt, {"seq": 1, "writer": "page-a", "answers": changed})
    assert again.status_code == 409 and again.get_json()["reason"] == "stale"
    db.session.expire_all()
    assert attempt.seq == 1 and attempt.items[0].response == "2"


def test_replay_of_an_older_save_is_stale(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    old = {"seq": 1, "writer": "page-a", "answers": {str(item.id): letters(item, "1")}}
    assert post(agent_client, attempt, old).status_code == 200
    newer = {"seq": 2, "writer": "page-a", "answers": {str(item.id): letters(item, "2")}}
    assert post(agent_client, attempt, newer).status_code == 200
    # The older save arriving late (a retry overtaken by a newer save) changes nothing,
    # whether it is the very same body or not.
    for body in (old, {**old, "answers": {str(item.id): letters(item, "3")}}):
        resp = post(agent_client, attempt, body)
        assert resp.status_code == 409 and resp.get_json()["reason"] == "stale"
    db.session.expire_all()
    assert attempt.seq == 2 and attempt.items[0].response == "2"


def test_a_save_without_writer_is_recognised_by_its_content(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    body = {"seq": 1, "answers": {str(item.id): letters(item, "2")}, "flags": {}}
    assert post(agent_client, attempt, body).status_code == 200
    assert post(agent_client, attempt, body).status_code == 200
    other = {**body, "answers": {str(item.id): letters(item, "3")}}
    assert post(agent_client, attempt, other).get_json()["reason"] == "stale"


def test_engine_acknowledges_a_retry_and_refuses_another_writer(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    answers = {str(item.id): letters(item, "2")}
    assert engine.save(attempt, 1, answers, {}, writer="w1") == engine.SaveResult(True)
    assert engine.save(attempt, 1, answers, {}, writer="w1") == engine.SaveResult(True, "retry")
    assert engine.save(attempt, 1, answers, {}, writer="w2") == engine.SaveResult(False, "stale")
    assert engine.save(attempt, 1, {}, {}, writer="w1") == engine.SaveResult(False, "stale")
    db.session.commit()
    db.session.expire_all()
    assert attempt.seq == 1 and attempt.items[0].response == "2"
    assert attempt.state == AttemptState.IN_PROGRESS


def test_engine_recognises_a_retry_that_raced_the_original(agent_client, sitting):
    """The original commits after the retry read the attempt: the UPDATE decides, and the
    loser looks again before calling itself stale."""
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    answers = {str(item.id): letters(item, "2")}
    assert engine.save(attempt, 1, answers, {}, writer="w1").accepted
    db.session.commit()
    # As the retry's request saw the attempt: before the original was stored.
    set_committed_value(attempt, "seq", 0)
    set_committed_value(attempt, "save_digest", None)
    assert engine.save(attempt, 1, answers, {}, writer="w1") == engine.SaveResult(True, "retry")
    set_committed_value(attempt, "seq", 0)
    set_committed_value(attempt, "save_digest", None)
    assert engine.save(attempt, 1, answers, {}, writer="w2") == engine.SaveResult(False, "stale")


@pytest.mark.parametrize("writer", [7, "", "x" * 65, "页面", "a b", ["a"]])
def test_a_writer_id_of_the_wrong_form_is_refused_and_changes_nothing(
    agent_client, sitting, writer
):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    body = {"seq": 1, "writer": writer, "answers": {str(item.id): letters(item, "2")}}
    resp = post(agent_client, attempt, body)
    if writer == "":  # the same as no writer: pages from before writer ids
        assert resp.status_code == 200
        return
    assert resp.status_code == 400 and resp.get_json()["reason"] == "bad_request"
    db.session.expire_all()
    assert attempt.seq == 0 and attempt.items[0].response is None


def test_a_submit_whose_response_was_lost_is_sent_again_harmlessly(agent_client, sitting):
    attempt = start(agent_client, sitting)
    item = attempt.items[0]
    final = json.dumps({"seq": 1, "writer": "p", "answers": {str(item.id): letters(item, "2")}})
    first = agent_client.submit(f"/exam/attempts/{attempt.id}/submit", data={"final": final})
    again = agent_client.submit(f"/exam/attempts/{attempt.id}/submit", data={"final": final})
    assert first.status_code == again.status_code == 302
    assert again.location.endswith("/result")
    db.session.expire_all()
    assert attempt.state == AttemptState.FINISHED and attempt.items[0].response == "2"
