"""The candidate's typing pages: start, type, snapshots (bad input refused, nothing changed),
finish, the result the server computed (a forged one is not believed), practice, the rules
page, and a recording served only within its plays."""

import json
import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from exams.models import Candidate
from exams.typing import engine, scoring
from exams.typing.models import Passage, PassageKind, PassagePurpose, TypingAttempt, TypingTest
from lms.audit.models import AuditEvent
from lms.extensions import db
from tests.helpers import text, zh, zh_n


def start(client, sitting) -> TypingAttempt:
    resp = client.submit(f"/exam/typing/sittings/{sitting.id}/start")
    assert resp.status_code == 302, text(resp)[:300]
    attempt_id = int(re.search(r"/attempts/(\d+)$", resp.location).group(1))
    page = client.get(resp.location)
    assert page.status_code == 200
    db.session.expire_all()
    return db.session.get(TypingAttempt, attempt_id)


def snap(client, attempt, **body):
    """Post a snapshot as the page does (its clock included unless the test says otherwise)."""
    body.setdefault("client_ms", 5000)
    return client.post(
        f"/exam/typing/attempts/{attempt.id}/snapshot",
        data=json.dumps(body),
        content_type="application/json",
        headers={"X-CSRFToken": client.csrf_token()},
    )


@pytest.fixture
def typing_sitting(make_typing_sitting, agent, other_agent):
    return make_typing_sitting([agent, other_agent])


def test_the_typing_page_shows_the_passage_and_keeps_the_clock_on_the_server(
    agent_client, typing_sitting
):
    attempt = start(agent_client, typing_sitting)
    page = text(agent_client.get(f"/exam/typing/attempts/{attempt.id}"))
    assert attempt.started_at is not None
    assert 'id="typing-input"' in page and 'id="passage"' in page
    assert page.count("<span>") >= len(scoring.units(attempt.passage.text))
    assert 'data-ms-left="' in page and "typing.js" in page
    # Starting again continues the same attempt.
    again = agent_client.submit(f"/exam/typing/sittings/{typing_sitting.id}/start")
    assert again.location.endswith(f"/exam/typing/attempts/{attempt.id}")


def test_another_agents_attempt_does_not_exist_for_me(
    app, agent_client, typing_sitting, login, other_agent
):
    attempt = start(agent_client, typing_sitting)
    other = app.test_client()
    login(other, "a2")
    for url in (
        f"/exam/typing/attempts/{attempt.id}",
        f"/exam/typing/attempts/{attempt.id}/result",
        f"/exam/typing/attempts/{attempt.id}/audio",
    ):
        assert other.get(url).status_code == 404, url
    assert snap(other, attempt, seq=1, text="偷看").status_code == 404


BAD = [
    pytest.param({"seq": 0, "text": "您好"}, "The snapshot's sequence number", id="seq-zero"),
    pytest.param({"seq": "1", "text": "您好"}, "The snapshot's sequence number", id="seq-text"),
    pytest.param({"seq": 1, "text": 5}, "The typed text must be at most", id="text-number"),
    pytest.param({"seq": 1, "text": "x" * 10_001}, "The typed text must be at most", id="too-long"),
    pytest.param({"seq": 1, "text": "您\x00好"}, "cannot be stored", id="nul"),
    pytest.param({"seq": 1, "text": "您好", "client_ms": -1}, "could not be read", id="clock"),
    pytest.param({"seq": 1, "text": "您好", "evidence": []}, "could not be read", id="evidence"),
    pytest.param(
        {"seq": 1, "text": "您好", "evidence": {"keys": "many"}}, "could not be read", id="keys"
    ),
]


@pytest.mark.parametrize(("body", "message"), BAD)
def test_a_bad_snapshot_is_refused_saying_why_and_changes_nothing(
    agent_client, typing_sitting, body, message
):
    attempt = start(agent_client, typing_sitting)
    resp = snap(agent_client, attempt, **body)
    assert resp.status_code == 400
    data = resp.get_json()
    assert data["ok"] is False
    wanted = {
        "The snapshot's sequence number": "The snapshot's sequence number must be a whole "
        "number from 1.",
        "The typed text must be at most": "The typed text must be at most %(n)d characters.",
        "cannot be stored": "The typed text contains a character that cannot be stored.",
        "could not be read": "The typed text could not be read.",
    }[message]
    kwargs = {"n": engine.MAX_TEXT} if "%(n)d" in wanted else {}
    assert data["message"] == zh(wanted, **kwargs)
    db.session.expire_all()
    again = db.session.get(TypingAttempt, attempt.id)
    assert again.seq == 0 and again.text == "" and again.snapshots == []


def test_a_forged_result_is_recomputed_not_believed(agent_client, typing_sitting):
    attempt = start(agent_client, typing_sitting)
    forged = {
        "seq": 1,
        "text": attempt.target[:20],
        "client_ms": 600_000,
        "speed": 999,
        "accuracy": 1,
        "passed": True,
        "correct": 5000,
        "evidence": {"keys": 80, "compositions": 10},
    }
    assert snap(agent_client, attempt, **forged).status_code == 200
    final = json.dumps({**forged, "seq": 2})
    resp = agent_client.submit(f"/exam/typing/attempts/{attempt.id}/finish", {"final": final})
    assert resp.status_code == 302 and resp.location.endswith("/result")
    db.session.expire_all()
    done = db.session.get(TypingAttempt, attempt.id)
    # Seconds after the start: under a minute, so not scored, and certainly not 999.
    assert done.state == "finished" and done.scored is False and done.passed is False
    assert done.correct == 20
    page = text(agent_client.get(resp.location))
    assert zh("Not scored: the test lasted less than a minute.") in page


def test_a_finished_test_refuses_snapshots_and_shows_its_result(agent_client, typing_sitting):
    attempt = start(agent_client, typing_sitting)
    # Ten minutes later as the server counts them (the clock moved back instead).
    db.session.execute(
        TypingAttempt.__table__.update()
        .where(TypingAttempt.id == attempt.id)
        .values(
            started_at=attempt.started_at - timedelta(minutes=9),
            deadline_at=attempt.deadline_at - timedelta(minutes=9),
        )
    )
    db.session.commit()
    body = {"seq": 1, "text": attempt.target[:600], "evidence": {"keys": 2400, "compositions": 300}}
    assert snap(agent_client, attempt, **body).status_code == 200
    resp = agent_client.submit(f"/exam/typing/attempts/{attempt.id}/finish")
    page = text(agent_client.get(resp.location))
    assert 'id="result-speed"' in page
    # The characters typed and the time used, beside the minutes the speed is over.
    typed = len(scoring.units(attempt.target[:600]))
    assert f'<dd id="result-typed">{typed}</dd>' in page
    assert re.search(r'<dd id="result-time">9:0\d</dd>', page), page
    late = snap(agent_client, attempt, seq=2, text="再来")
    assert late.status_code == 409 and late.get_json()["reason"] == "finished"


def test_the_result_marks_each_error_in_place_and_escapes_what_was_typed(
    agent_client, typing_sitting
):
    """A wrong character says what it should be, a skipped one and an extra one are marked,
    and what the candidate typed is shown as text, never as markup."""
    attempt = start(agent_client, typing_sitting)
    target = attempt.target
    # Right, one wrong, one skipped, one extra (markup typed), then right again.
    typed = target[:3] + "错" + target[4:6] + target[7:9] + "<b>" + target[9:40]
    body = {"seq": 1, "text": typed, "evidence": {"keys": 160, "compositions": 20}}
    assert snap(agent_client, attempt, **body).status_code == 200
    resp = agent_client.submit(f"/exam/typing/attempts/{attempt.id}/finish")
    page = text(agent_client.get(resp.location))
    view = re.search(r'<p class="typed-view" lang="zh-CN">(.*?)</p>', page, re.S).group(1)
    should_be = zh("should be %(c)s", c=target[3])
    assert f'<span class="wrong" title="{should_be}">错</span>' in view
    assert f'<span class="missing" title="{zh("missing")}">{target[6]}</span>' in view
    extra = f'<span class="extra" title="{zh("extra")}">'
    assert "".join(f"{extra}{c}</span>" for c in ("&lt;", "b", "&gt;")) in view
    assert "<b>" not in view
    plain = re.sub(r"<[^>]+>", "", view).replace("&lt;", "<").replace("&gt;", ">")
    assert plain == target[:3] + "错" + target[4:9] + "<b>" + target[9:40]


def test_rules_page_example_is_what_the_scorer_computes(agent_client):
    from exams.typing.candidate_views import EXAMPLE

    passage, typed, seconds = EXAMPLE
    want = scoring.score(passage, typed, seconds, scoring.TypingRules(duration_minutes=None))
    page = text(agent_client.get("/exam/typing/rules"))
    example = re.search(r'<p id="rules-example">(.*?)</p>', page, re.S).group(1)
    assert str(want.speed) in example and str(want.correct) in example
    assert format((want.accuracy * 100).normalize(), "f") in example
    assert zh("characters typed correctly ÷ minutes.") in page
    assert "分钟数。分钟数" in page  # no English full stop or space between Chinese sentences


def test_practice_never_counts_and_shows_progress(agent_client, agent, passages):
    page = agent_client.get("/exam/typing/practice")
    assert page.status_code == 200
    resp = agent_client.submit("/exam/typing/practice/start", {"kind": "text"})
    attempt_id = int(resp.location.rsplit("/", 1)[1])
    agent_client.get(resp.location)
    db.session.expire_all()
    attempt = db.session.get(TypingAttempt, attempt_id)
    assert attempt.practice and attempt.sitting_id is None
    assert attempt.passage.purpose == PassagePurpose.PRACTICE


def test_my_exams_shows_the_typing_part(agent_client, typing_sitting):
    page = text(agent_client.get("/exam/"))
    assert zh("Start the typing test") in page
    assert f"/exam/typing/sittings/{typing_sitting.id}/start" in page


@pytest.fixture
def listen_sitting(app, make_typing_sitting, agent, tmp_path):
    from exams.typing import audio

    name, mime = audio.store(b"OggS" + b"\x00" * 200)
    db.session.add(
        Passage(
            title="客户来电录音",
            kind=PassageKind.LISTEN,
            purpose=PassagePurpose.EXAM,
            text="我的银行卡丢了，请帮我挂失。",
            audio_file=name,
            audio_mime=mime,
            max_plays=2,
        )
    )
    test = TypingTest(title="听打测试", kind=PassageKind.LISTEN, duration_minutes=3)
    db.session.add(test)
    db.session.commit()
    sitting = make_typing_sitting([agent], title="听打")
    sitting.typing_test = test
    db.session.commit()
    return sitting


def test_a_recording_plays_only_as_often_as_allowed_and_its_text_stays_hidden(
    agent_client, listen_sitting
):
    attempt = start(agent_client, listen_sitting)
    page = text(agent_client.get(f"/exam/typing/attempts/{attempt.id}"))
    assert "挂失" not in page  # the transcript is the answer: never on the page
    audio_url = f"/exam/typing/attempts/{attempt.id}/audio"
    assert agent_client.get(audio_url).status_code == 404  # not before a play is counted
    play = f"/exam/typing/attempts/{attempt.id}/play"
    headers = {"X-CSRFToken": agent_client.csrf_token()}
    first = agent_client.post(play, headers=headers).get_json()
    assert first["plays_left"] == 1
    served = agent_client.get(f"{audio_url}?token={first['token']}")
    served.close()  # the file it streams
    assert served.status_code == 200 and served.headers["Cache-Control"] == "no-store"
    assert agent_client.get(f"{audio_url}?token=guess").status_code == 404
    second = agent_client.post(play, headers=headers).get_json()
    assert second["plays_left"] == 0
    # The first play's token is spent once the second play starts.
    assert agent_client.get(f"{audio_url}?token={first['token']}").status_code == 404
    third = agent_client.post(play, headers=headers)
    assert third.status_code == 409
    assert third.get_json()["message"] == zh_n(
        "The recording may be played once.", "The recording may be played %(num)d times.", 2
    )


def test_a_state_changing_typing_request_needs_the_csrf_token(app, agent_client, typing_sitting):
    app.config["WTF_CSRF_ENABLED"] = True
    resp = agent_client.post(f"/exam/typing/sittings/{typing_sitting.id}/start")
    assert resp.status_code == 400


def test_a_snapshot_costs_a_few_statements_however_long_the_text(agent_client, typing_sitting):
    """The heaviest traffic of the app (every candidate every 5 s): its budget is pinned."""
    from tests.helpers import count_queries

    attempt = start(agent_client, typing_sitting)
    url, target = f"/exam/typing/attempts/{attempt.id}/snapshot", attempt.target
    headers = {"X-CSRFToken": agent_client.csrf_token()}
    counts, opened = [], open_transactions()
    for seq, length in ((1, 10), (2, 1500)):
        time.sleep(0.55)  # the page's pace is 5 s; closer than 0.5 s is refused
        body = json.dumps({"seq": seq, "text": target[:length], "client_ms": seq * 5000})
        with count_queries() as q, opened:
            resp = agent_client.post(
                url, data=body, content_type="application/json", headers=headers
            )
        assert resp.status_code == 200
        counts.append(q.count)
    # The attempt read with the sign-in check, then one conditional UPDATE and one INSERT:
    # on PostgreSQL as one statement (a data-modifying WITH), and no BEGIN nor COMMIT
    # around them (each is atomic alone).
    postgresql = db.engine.dialect.name == "postgresql"
    per_snapshot = 2 if postgresql else 3
    assert counts == [per_snapshot] * 2, counts
    if postgresql:
        assert opened == [False] * 4, opened


class open_transactions(list):
    """Record, after each statement run inside the block, whether its PostgreSQL
    connection is left inside a transaction (False: autocommit)."""

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        if conn.dialect.name == "postgresql":
            from psycopg.pq import TransactionStatus

            status = conn.connection.dbapi_connection.info.transaction_status
            self.append(status != TransactionStatus.IDLE)

    def __enter__(self):
        from sqlalchemy import event

        event.listen(db.engine, "after_cursor_execute", self._record)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event

        event.remove(db.engine, "after_cursor_execute", self._record)


def test_start_page_and_finish_have_a_statement_budget(agent_client, typing_sitting):
    """A whole centre starts, opens the page and finishes within the same half-minute: each
    costs a fixed number of statements (the sign-in check included), pinned here."""
    from tests.helpers import count_queries

    token, url = agent_client.csrf_token(), f"/exam/typing/sittings/{typing_sitting.id}/start"
    with count_queries() as started:
        resp = agent_client.post(url, data={"csrf_token": token})
    assert resp.status_code == 302
    with count_queries() as opened:
        assert agent_client.get(resp.location).status_code == 200
    final = json.dumps({"seq": 1, "text": "您好", "client_ms": 5000})
    with count_queries() as finished:
        done = agent_client.post(
            f"{resp.location}/finish", data={"csrf_token": token, "final": final}
        )
    assert done.status_code == 302 and done.location.endswith("/result")
    # start: sign-in, sitting with its test, candidate row, the attempts open or of this
    # sitting, the passages with when each was had, INSERT.
    # page: sign-in, attempt with its passage, candidate with its sitting, UPDATE (clock).
    # finish: sign-in, attempt, the final text (two on SQLite), UPDATE read back,
    # snapshots, other attempts, UPDATE (result), audit, candidate with its sitting,
    # its typing attempts, UPDATE (result row).
    final_statements = 11 if db.engine.dialect.name == "postgresql" else 12
    assert (started.count, opened.count, finished.count) == (6, 4, final_statements)


def test_the_last_character_of_a_whole_passage_test_finishes_it(
    agent_client, typing_sitting, typing_test
):
    typing_test.whole_passage = True
    db.session.commit()
    attempt = start(agent_client, typing_sitting)
    assert attempt.whole_passage and attempt.target == attempt.passage.text.strip()
    resp = snap(agent_client, attempt, seq=1, text=attempt.target)
    assert resp.status_code == 200 and resp.get_json()["finished"] is True
    db.session.expire_all()
    done = db.session.get(TypingAttempt, attempt.id)
    assert done.state == "finished" and done.text == attempt.target
    # Scored, audited once and counted in the sitting's result, as a finish is (on
    # PostgreSQL the snapshot itself runs outside a transaction, its finish inside one).
    assert done.correct == len(scoring.units(attempt.target)) and done.wrong == 0
    finishes = db.session.scalars(
        select(AuditEvent.target_id).where(AuditEvent.action == "typing.finish")
    ).all()
    assert finishes == [str(attempt.id)]
    candidate = db.session.scalar(
        select(Candidate).where(
            Candidate.sitting_id == typing_sitting.id, Candidate.user_id == attempt.user_id
        )
    )
    assert candidate.typing_attempt_id == attempt.id and candidate.typing_speed is not None


def test_starting_again_after_my_attempt_ran_out_finishes_it_and_starts_the_next(
    agent_client, typing_sitting
):
    """The attempt of this sitting left open past its time is finished (scored as it
    stood), not continued; with a second attempt allowed, the start gives attempt 2."""
    typing_sitting.attempts_allowed = 2
    db.session.commit()
    first = start(agent_client, typing_sitting)
    first.deadline_at = first.started_at - timedelta(minutes=1)  # ran out long ago
    db.session.commit()
    resp = agent_client.submit(f"/exam/typing/sittings/{typing_sitting.id}/start")
    assert resp.status_code == 302 and f"/attempts/{first.id}" not in resp.location
    db.session.expire_all()
    second = db.session.get(TypingAttempt, int(resp.location.rsplit("/", 1)[1]))
    assert (second.number, second.state) == (2, "in_progress")
    assert db.session.get(TypingAttempt, first.id).state == "finished"


def test_the_page_finishes_by_json_and_goes_to_the_result_itself(agent_client, typing_sitting):
    """typing.js asks for JSON: following a redirect there would load the result page twice
    (once in fetch, once in the tab). A bad final is refused as JSON, and nothing changes."""
    attempt = start(agent_client, typing_sitting)
    url, accept = f"/exam/typing/attempts/{attempt.id}/finish", {"Accept": "application/json"}
    bad = agent_client.submit(url, {"final": "{not json"}, headers=accept)
    assert bad.status_code == 400 and bad.get_json()["reason"] == "bad_request"
    db.session.expire_all()
    assert db.session.get(TypingAttempt, attempt.id).state == "in_progress"
    final = json.dumps({"seq": 1, "text": "您好", "client_ms": 5000})
    done = agent_client.submit(url, {"final": final}, headers=accept)
    assert done.status_code == 200
    assert done.get_json() == {"ok": True, "location": f"/exam/typing/attempts/{attempt.id}/result"}
    db.session.expire_all()
    assert db.session.get(TypingAttempt, attempt.id).text == "您好"
