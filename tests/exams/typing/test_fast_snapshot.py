"""The typing snapshot's fast path (exams.typing.fast_snapshot): an ordinary snapshot is
answered before Flask, exactly as the view answers it, and everything else reaches Flask
with its body intact, to be answered (or refused) as before."""

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from exams.typing import candidate_views, fast_snapshot
from exams.typing.fast_snapshot import SnapshotFastPath
from exams.typing.models import TypingAttempt, TypingSnapshot, TypingState
from lms.extensions import db
from tests.exams.typing.test_typing_pages import start

SNAPSHOT = "/exam/typing/attempts/{}/snapshot"


@pytest.fixture
def typing_sitting(make_typing_sitting, agent, other_agent):
    return make_typing_sitting([agent, other_agent])


@pytest.fixture
def other_agent_client(app, other_agent, login):
    c = app.test_client()
    login(c, "a2")
    return c


@pytest.fixture
def to_flask(app):
    """List the snapshots the fast path hands on to Flask."""
    fast = app.wsgi_app
    assert isinstance(fast, SnapshotFastPath)
    inner, calls = fast.wsgi_app, []

    def counting(environ, start_response):
        if environ["PATH_INFO"].endswith("/snapshot"):
            calls.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    fast.wsgi_app = counting
    yield calls
    fast.wsgi_app = inner


def post(client, attempt, seq, text, token=None, **kw):
    headers = kw.pop("headers", {})
    headers.setdefault("X-CSRFToken", token or client.csrf_token())
    return client.post(
        kw.pop("path", SNAPSHOT.format(attempt.id)),
        data=kw.pop("data", None)
        or json.dumps({"seq": seq, "text": text, "client_ms": seq * 5000, "evidence": {"keys": 9}}),
        content_type=kw.pop("content_type", "application/json"),
        headers=headers,
        **kw,
    )


def kept(attempt):
    """Return the attempt's (seq, text) and its snapshots' rows, read afresh."""
    db.session.expire_all()
    row = db.session.get(TypingAttempt, attempt.id)
    snaps = db.session.execute(
        select(
            TypingSnapshot.seq,
            TypingSnapshot.kept,
            TypingSnapshot.added,
            TypingSnapshot.length,
            TypingSnapshot.client_ms,
            TypingSnapshot.evidence,
        )
        .where(TypingSnapshot.attempt_id == attempt.id)
        .order_by(TypingSnapshot.seq)
    ).all()
    return (row.seq, row.text, row.evidence), [tuple(s) for s in snaps]


def headers_of(resp):
    return {k: v for k, v in resp.headers.items() if k not in ("Content-Length",)}


def test_an_ordinary_snapshot_is_answered_before_flask_exactly_as_the_view_does(
    app, agent_client, other_agent_client, typing_sitting, to_flask
):
    mine = start(agent_client, typing_sitting)
    theirs = start(other_agent_client, typing_sitting)
    first = mine.seq + 1
    fast = post(agent_client, mine, first, "您好，这里是")
    assert to_flask == []  # answered by the fast path
    app.config["TYPING_FAST_SNAPSHOT"] = False
    slow = post(other_agent_client, theirs, theirs.seq + 1, "您好，这里是")
    assert to_flask == [SNAPSHOT.format(theirs.id)]
    assert fast.status_code == slow.status_code == 200
    assert headers_of(fast) == headers_of(slow)
    a, b = fast.get_json(), slow.get_json()
    assert abs(a.pop("ms_left") - b.pop("ms_left")) < 5000
    assert a == b == {"ok": True, "seq": first, "finished": False}
    assert fast.get_data().endswith(b"\n") and slow.get_data().endswith(b"\n")
    # The same rows written, the history rebuilt from them the same.
    assert kept(mine) == kept(theirs)
    (seq, text_, evidence), snaps = kept(mine)
    assert (seq, text_, evidence) == (first, "您好，这里是", {"keys": 9})
    assert snaps[-1][:4] == (first, 0, "您好，这里是", 6)


def test_the_fast_path_keeps_a_whole_attempt_of_snapshots_as_the_view_would(
    app, agent_client, typing_sitting, to_flask, monkeypatch
):
    monkeypatch.setattr(candidate_views, "SNAPSHOT_MIN_INTERVAL", timedelta(0))
    attempt = start(agent_client, typing_sitting)
    token = agent_client.csrf_token()
    texts = ["您", "您好，", "您好，这里", "您好，那里是", "您好，那里是客服中心"]  # a deletion too
    base = attempt.seq
    for seq, typed in enumerate(texts, start=base + 1):
        assert post(agent_client, attempt, seq, typed, token).status_code == 200
    assert to_flask == []
    (seq, text_, _), snaps = kept(attempt)
    assert (seq, text_) == (base + len(texts), texts[-1])
    rebuilt, text_ = [], ""
    for _seq, keep, added, length, _ms, _ev in snaps:
        text_ = text_[:keep] + added
        rebuilt.append(text_)
        assert len(text_) == length
    assert rebuilt == texts


CASES = [
    # (id, how the snapshot is sent or what is changed first, status Flask answers, kept)
    pytest.param({"headers": {"X-CSRFToken": ""}}, 400, False, id="no-csrf-token"),
    pytest.param({"headers": {"X-CSRFToken": "forged.token.value"}}, 400, False, id="bad-token"),
    pytest.param({"other_token": True}, 400, False, id="another-sessions-token"),
    pytest.param({"query": True}, 200, True, id="query-string"),
    pytest.param({"content_type": "text/plain"}, 200, True, id="other-content-type"),
    pytest.param({"data": b'{"seq": "x"}'}, 400, False, id="malformed-body"),
    pytest.param({"same_seq": True}, 409, False, id="not-newer"),
    pytest.param({"too_soon": True}, 429, False, id="too-soon"),
    pytest.param({"late": True}, 409, False, id="past-the-deadline"),
    pytest.param({"queued": True}, 503, False, id="queued-too-long"),
    pytest.param({"https_no_referrer": True}, 400, False, id="https-without-referrer"),
    pytest.param({"tampered_cookie": True}, 400, False, id="tampered-cookie"),
]


@pytest.mark.parametrize("how, status, stored", CASES)
def test_anything_not_ordinary_reaches_flask_and_is_answered_as_before(
    app, agent_client, other_agent_client, typing_sitting, to_flask, how, status, stored
):
    attempt = start(agent_client, typing_sitting)
    token, base = agent_client.csrf_token(), attempt.seq
    assert post(agent_client, attempt, base + 1, "您好", token).status_code == 200
    to_flask.clear()
    before = kept(attempt)
    seq, kw = base + 2, {}
    if "headers" in how:
        kw["headers"] = dict(how["headers"])
    if how.get("other_token"):
        token = other_agent_client.csrf_token()
    if how.get("query"):
        kw["path"] = SNAPSHOT.format(attempt.id) + "?x=1"
    if "content_type" in how:
        kw["content_type"] = how["content_type"]
    if "data" in how:
        kw["data"] = how["data"]
    if how.get("same_seq"):
        seq -= 1  # the seq already kept, with another text: stale
    if not how.get("too_soon"):
        time.sleep(candidate_views.SNAPSHOT_MIN_INTERVAL.total_seconds())
    if how.get("late"):
        db.session.execute(
            TypingAttempt.__table__.update()
            .where(TypingAttempt.id == attempt.id)
            .values(deadline_at=attempt.deadline_at - timedelta(hours=1))
        )
        db.session.commit()
    if how.get("queued"):
        kw.setdefault("headers", {})["X-Request-Start"] = f"t={time.time() - 60:.3f}"
    if how.get("https_no_referrer"):
        kw["base_url"] = "https://localhost"
    if how.get("tampered_cookie"):
        cookie = agent_client.get_cookie("lms_session")
        agent_client.set_cookie("lms_session", cookie.value[:-2] + "xx")
    resp = post(agent_client, attempt, seq, "您好，这里", token, **kw)
    assert to_flask == [SNAPSHOT.format(attempt.id)], "handed on to Flask"
    assert resp.status_code == status, resp.get_data(as_text=True)[:300]
    after = kept(attempt)
    if stored:
        assert after[0][:2] == (seq, "您好，这里")  # the view read the body put back
    else:
        assert after == before


def test_https_with_the_sites_referrer_takes_the_fast_path(
    app, agent_client, typing_sitting, to_flask
):
    attempt = start(agent_client, typing_sitting)
    base = attempt.seq
    resp = post(
        agent_client,
        attempt,
        base + 1,
        "您好",
        base_url="https://localhost",
        headers={"Referer": f"https://localhost/exam/typing/attempts/{attempt.id}"},
    )
    assert resp.status_code == 200 and to_flask == []
    elsewhere = post(
        agent_client,
        attempt,
        base + 2,
        "您好，这",
        base_url="https://localhost",
        headers={"Referer": "https://evil.example/"},
    )
    assert elsewhere.status_code == 400 and to_flask == [SNAPSHOT.format(attempt.id)]


def test_the_end_of_a_whole_passage_is_left_to_the_view_which_finishes_it(
    app, agent_client, typing_sitting, to_flask
):
    from exams.typing.models import TypingTest

    test = db.session.get(TypingTest, typing_sitting.typing_test_id)
    test.whole_passage = True
    db.session.commit()
    attempt = start(agent_client, typing_sitting)
    resp = post(agent_client, attempt, attempt.seq + 1, attempt.target)
    assert to_flask == [SNAPSHOT.format(attempt.id)]
    assert resp.status_code == 200 and resp.get_json()["finished"] is True
    db.session.expire_all()
    assert db.session.get(TypingAttempt, attempt.id).state == TypingState.FINISHED


def test_another_agents_attempt_reaches_flask_and_is_not_found(
    app, agent_client, other_agent_client, typing_sitting, to_flask
):
    attempt = start(agent_client, typing_sitting)
    before = kept(attempt)
    resp = post(other_agent_client, attempt, attempt.seq + 1, "代打")
    assert resp.status_code == 404 and to_flask == [SNAPSHOT.format(attempt.id)]
    assert kept(attempt) == before


def test_a_chunked_body_or_an_odd_length_is_left_to_flask(
    app, agent_client, typing_sitting, to_flask
):
    attempt = start(agent_client, typing_sitting)
    before = kept(attempt)
    resp = post(
        agent_client, attempt, attempt.seq + 1, "您好", headers={"Transfer-Encoding": "chunked"}
    )
    assert to_flask == [SNAPSHOT.format(attempt.id)]
    assert resp.status_code < 500
    # A length of digits that are not ASCII ("²".isdigit() is True): Flask answers, not a 500.
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(
        path=SNAPSHOT.format(attempt.id),
        method="POST",
        data=json.dumps({"seq": attempt.seq + 1, "text": "您好", "client_ms": 1}),
        content_type="application/json",
        headers={"X-CSRFToken": agent_client.csrf_token()},
    ).get_environ()
    environ["CONTENT_LENGTH"] = "²"
    statuses = []
    b"".join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert len(to_flask) == 2 and not statuses[0].startswith("5"), statuses
    if resp.status_code != 200:
        assert kept(attempt) == before


def test_in_debug_mode_every_snapshot_goes_to_the_view(app, agent_client, typing_sitting, to_flask):
    attempt = start(agent_client, typing_sitting)
    app.debug = True  # jsonify indents then: the fast path would answer otherwise
    try:
        resp = post(agent_client, attempt, attempt.seq + 1, "您好")
    finally:
        app.debug = False
    assert resp.status_code == 200 and to_flask == [SNAPSHOT.format(attempt.id)]


def test_the_database_down_is_answered_503_once_not_tried_twice(
    app, agent_client, typing_sitting, to_flask
):
    """The fast path's database unreachable (its own engine pointed at a closed port): the
    answer is lms.errors' 503 with Retry-After, through Flask, which does not try again."""
    from sqlalchemy import create_engine

    attempt = start(agent_client, typing_sitting)
    before = kept(attempt)
    fast = app.wsgi_app
    dead = create_engine(f"postgresql+psycopg://nobody@127.0.0.1:{web_free_port()}/none")
    saved, fast._engine = fast._engine, dead
    views_run = []
    view = app.view_functions["typing.snapshot"]
    app.view_functions["typing.snapshot"] = lambda **kw: views_run.append(kw) or view(**kw)
    try:
        resp = post(agent_client, attempt, attempt.seq + 1, "您好")
    finally:
        fast._engine = saved
        app.view_functions["typing.snapshot"] = view
        dead.dispose()
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert to_flask == [SNAPSHOT.format(attempt.id)] and views_run == []
    assert kept(attempt) == before


def web_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_fast_path_knows_the_views_address(app):
    """PATH stands for the view's rule: were the view to move, the fast path turns itself
    off rather than answer for an address that is no longer the snapshot's."""
    fast = app.wsgi_app
    assert fast.routed() and fast.enabled()
    fast._routed = None
    saved = fast_snapshot.RULE
    fast_snapshot.RULE = ("typing.snapshot", "/exam/typing/attempts/<id:attempt_id>/keep", "POST")
    try:
        assert not fast.enabled()
    finally:
        fast_snapshot.RULE = saved
        fast._routed = None
