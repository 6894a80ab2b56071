"""bench.exam_load at toy size: it runs end to end, and its check can fail.

A check that cannot fail proves nothing, so after a clean run the database is damaged
on purpose (an acknowledged answer erased, an attempt reopened) and the check must say so.
"""

import contextlib
import io
import json
import re
import subprocess

import pytest
from sqlalchemy import create_engine, text

from bench import _exam_db, _proxy, exam_load
from bench._exam_client import Stats
from tests.helpers import outside_event_loop

pytestmark = pytest.mark.bench


def test_expected_answers_later_acknowledged_save_overwrites():
    sends = [
        {"answers": {"1": "A", "2": "B"}, "acked": True},
        {"answers": {"1": "C"}, "acked": True},
        {"answers": {"2": "D"}, "acked": False},  # may or may not be stored
        {"answers": {"3": "E"}, "acked": False},  # never acknowledged: nothing owed
    ]
    assert _exam_db.expected_answers(sends) == {"1": ("C", []), "2": ("B", ["D"])}


@pytest.mark.parametrize(
    ("best", "worst", "then"),
    [
        (1000, 2000, 1500),
        (1000, 1500, 1250),
        (1000, 1250, 1100),
        (1000, 1100, 1050),
        (1000, 1050, None),
        (0, 250, 100),
    ],
)
def test_ramp_halves_the_gap_to_the_first_n_that_missed(best, worst, then):
    assert exam_load.bisect_next(best, worst) == then


def test_ramp_bisects_after_the_first_miss(monkeypatch, tmp_path):
    """With the runs replaced by a known capacity, the ramp finds it to within the steps."""
    capacity = 1300

    def fake_run(args, n, workdir, during=None):
        ok = n <= capacity
        return {
            "candidates": n,
            "database": "sqlite",
            "start_p99_ms": 100 if ok else 9000,
            "exam_page_p99_ms": 1,
            "save_p50_ms": 1,
            "save_p99_ms": 1,
            "submit_p99_ms": 1,
            "throughput_rps": 1,
            "errors": 0,
            "lost": 0,
        }

    monkeypatch.setattr(exam_load, "run_once", fake_run)
    args = exam_load.arguments(["--ramp", "--steps", "250,500,1000,2000", "--bisect", "3"])
    figures = exam_load.ramp(args, tmp_path)
    assert [f["candidates"] for f in figures["ramp_steps"]] == [
        250,
        500,
        1000,
        2000,
        1500,
        1250,
        1350,
    ]
    assert figures["ramp_max_candidates"] == 1250 and figures["ramp_first_missed"] == 1350


needs_nginx = pytest.mark.skipif(
    _proxy.binary() is None,
    reason="nginx is not installed (scripts/system-packages.sh test installs it)",
)


def toy_run(workdir, *extra: str):
    """Run the benchmark with 3 candidates for a few seconds on SQLite; (status, output)."""
    argv = ["--candidates", "3", "--workers", "1", "--threads", "4", "--start-window", "0.5"]
    argv += ["--save-every", "0.5", "--duration", "2.5", "--workdir", str(workdir)]
    argv += ["--json", str(workdir / "figures.json"), *extra]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = outside_event_loop(exam_load.main, argv)
    return status, out.getvalue()


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory):
    """Run the benchmark once as it runs by default (behind nginx where it is installed)."""
    workdir = tmp_path_factory.mktemp("exam-load")
    return workdir, *toy_run(workdir)


def _sends(workdir):
    return json.loads((workdir / "sends.json").read_text(encoding="utf-8"))


def _recheck(workdir):
    sends = _sends(workdir)
    return _exam_db.check(
        sends["database_url"], str(workdir), sends["sitting_id"], sends["candidates"]
    )


def test_exam_load_clean_run_prints_lost_0(clean_run):
    workdir, status, out = clean_run
    figures = json.loads((workdir / "figures.json").read_text(encoding="utf-8"))
    assert status == 0, out
    assert "lost=0" in out.splitlines()
    assert figures["lost"] == 0 and figures["errors"] == 0
    assert figures["saves_acknowledged"] >= 3 and figures["submit_requests"] == 3
    assert {"start_p99_ms", "save_p99_ms", "throughput_rps"} <= figures.keys()
    assert figures["proxy"] == ("nginx" if _proxy.binary() else "none")


def test_exam_load_runs_against_gunicorn_alone_too(tmp_path):
    status, out = toy_run(tmp_path, "--proxy", "none")
    figures = json.loads((tmp_path / "figures.json").read_text(encoding="utf-8"))
    assert status == 0 and "lost=0" in out.splitlines(), out
    assert figures["proxy"] == "none" and figures["errors"] == 0
    assert "behind nginx" not in out


@needs_nginx
def test_the_benchmarks_nginx_forwards_what_the_deploy_file_does(tmp_path):
    """Every proxy_ directive of production's ``location /`` is in the benchmark's nginx
    (the Host with its port), and nginx itself accepts the file."""
    conf = _proxy.config(str(tmp_path), 18080, {"lms_web": 18000, "lms_snapshots": 18001})
    deploy = _proxy.DEPLOY_CONF.read_text(encoding="utf-8")
    wanted = re.findall(r"^\s*(proxy_[^;]*;)", deploy, re.MULTILINE)
    assert len(wanted) >= 8
    for line in wanted:
        assert line.replace("$host", "$http_host") in conf
    assert "keepalive 32;" in conf and "keepalive_timeout 1s;" in conf
    assert "listen 127.0.0.1:18080;" in conf
    # Each upstream to its server, the snapshots' location to theirs.
    assert "upstream lms_web {\n        server 127.0.0.1:18000;" in conf
    assert "upstream lms_snapshots {\n        server 127.0.0.1:18001;" in conf
    assert (
        "location ~ ^/exam/typing/attempts/[0-9]+/snapshot$ {\n        proxy_pass http://lms_snapshots;"
        in conf
    )
    (tmp_path / "nginx.conf").write_text(conf, encoding="utf-8")
    checked = subprocess.run(
        [_proxy.binary(), "-t", "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert checked.returncode == 0, checked.stderr


def test_exam_load_check_finds_an_erased_answer(clean_run):
    workdir, _, _ = clean_run
    sends = _sends(workdir)["candidates"]
    username, log = next(iter(sends.items()))
    item_id = next(iter(log[0]["answers"]))  # acknowledged, and on the page till the end
    engine = create_engine(_sends(workdir)["database_url"])
    with engine.begin() as conn:
        before = conn.execute(
            text("SELECT response FROM ex_attempt_items WHERE id = :id"), {"id": int(item_id)}
        ).scalar_one()
        conn.execute(
            text("UPDATE ex_attempt_items SET response = NULL WHERE id = :id"), {"id": int(item_id)}
        )
    try:
        verdict = _recheck(workdir)
        assert (verdict.lost, verdict.lost_answers) == (1, 1)
        assert verdict.details[0].startswith(f"{username}: item {item_id} holds None")
    finally:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE ex_attempt_items SET response = :r WHERE id = :id"),
                {"r": before, "id": int(item_id)},
            )
        engine.dispose()
    assert _recheck(workdir).lost == 0


def test_exam_load_check_finds_an_attempt_not_finalised(clean_run):
    workdir, _, _ = clean_run
    engine = create_engine(_sends(workdir)["database_url"])
    with engine.begin() as conn:
        attempt_id = conn.execute(text("SELECT min(id) FROM ex_attempts")).scalar_one()
        conn.execute(
            text("UPDATE ex_attempts SET finished_at = NULL WHERE id = :id"), {"id": attempt_id}
        )
    engine.dispose()
    verdict = _recheck(workdir)
    assert (verdict.lost, verdict.bad_attempts) == (1, 1)


@pytest.fixture(scope="module")
def typing_run(tmp_path_factory):
    """Run the typing mode once with 3 typists for a few seconds on SQLite."""
    workdir = tmp_path_factory.mktemp("typing-load")
    argv = ["--typing", "--candidates", "3", "--workers", "1", "--threads", "4"]
    # The server refuses snapshots closer than 0.5 s (the page sends one every 5 s).
    argv += ["--start-window", "0.5", "--save-every", "1", "--duration", "4"]
    argv += ["--workdir", str(workdir), "--json", str(workdir / "figures.json")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = outside_event_loop(exam_load.main, argv)
    return workdir, status, out.getvalue()


def test_typing_mode_clean_run_prints_lost_0(typing_run):
    workdir, status, out = typing_run
    assert status == 0 and out.rstrip().endswith("lost=0"), out
    figures = json.loads((workdir / "figures.json").read_text(encoding="utf-8"))
    assert figures["mode"] == "typing" and figures["snapshot_requests"] >= 6, figures
    assert figures["errors"] == 0
    # Each typist opened its result page after finishing, as a browser follows the redirect.
    assert figures["finish_requests"] == figures["result_requests"] == 3
    if figures["proxy"] == "nginx":  # nginx's own timings were read, window by window
        assert figures["proxy_wait_p99_ms_by_30s"], figures


def test_typing_check_finds_an_acknowledged_snapshot_erased(typing_run):
    workdir, _status, _out = typing_run
    sends = _sends(workdir)
    assert (
        _exam_db.check(
            sends["database_url"],
            str(workdir),
            sends["sitting_id"],
            sends["candidates"],
            typing=True,
        ).lost
        == 0
    )
    engine = create_engine(sends["database_url"])
    with engine.begin() as conn:
        conn.execute(
            text(
                "DELETE FROM ex_typing_snapshots WHERE seq = (SELECT min(seq) FROM ex_typing_snapshots)"
            )
        )
    engine.dispose()
    verdict = _exam_db.check(
        sends["database_url"], str(workdir), sends["sitting_id"], sends["candidates"], typing=True
    )
    assert verdict.lost >= 1 and "not on record" in " ".join(verdict.details)


def test_server_times_by_window_reads_the_access_logs_clock(tmp_path):
    """The time inside the server per 30 s, from the access log's own clock: the bursts
    (start, finish) told apart from the steady part, as the client's figures are."""
    from bench.exams import ACCESS_LOG, server_times

    lines = [
        "/exam/typing/attempts/1/snapshot 200 5000 [02/Dec/2026:22:13:20 +0000]",
        "/exam/typing/attempts/2/snapshot 200 90000 [02/Dec/2026:22:13:49 +0000]",
        "/exam/typing/attempts/1/finish 302 700000 [02/Dec/2026:22:13:50 +0000]",
        "/exam/typing/attempts/2/snapshot 200 7000 [02/Dec/2026:22:14:21 +0000]",
    ]
    (tmp_path / ACCESS_LOG).write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert server_times(str(tmp_path), "/snapshot") == [5.0, 90.0, 7.0]
    assert server_times(str(tmp_path), "/snapshot", by_seconds=30) == [90.0, 0.0, 7.0]


def test_proxy_waits_by_window_read_nginxs_log(tmp_path):
    """How long nginx waited for gunicorn per 30 s, from nginx's own log, windows by when it
    took each request: other paths are left out; one nginx sent twice waited the tries
    together; one the client gave up on (499, no answer) waited as long as nginx held it."""
    lines = [
        "/exam/typing/attempts/1/snapshot 200 0.005 0.006 1764713600.100",
        "/exam/typing/attempts/2/snapshot 200 0.090 0.091 1764713629.000",
        "/exam/typing/attempts/1/finish 302 0.700 0.701 1764713630.000",
        "/exam/typing/attempts/2/snapshot 200 0.007 0.008 1764713661.000",
        "/exam/typing/attempts/4/snapshot 200 0.001, 0.004 0.006 1764713662.000",
        "/exam/typing/attempts/5/snapshot 200 -, 0.003 0.004 1764713663.000",
        "/exam/typing/attempts/6/snapshot 200 0.002 : 0.001 0.004 1764713664.000",
        "/exam/typing/attempts/3/snapshot 499 - 2.500 1764713699.000",
    ]
    (tmp_path / _proxy.ACCESS_LOG).write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert _proxy.waits(str(tmp_path), "/snapshot", by_seconds=30) == [90.0, 0.0, 7.0, 2500.0]
    # Taken at 1764713600.094 first: 1764713661 - 0.008 is 60.898 s later, and so on.
    assert _proxy.waits(str(tmp_path), "/snapshot", by_seconds=1)[60:65] == [
        7.0,
        5.0,
        3.0,
        3.0,
        0.0,
    ]
    assert _proxy.waits(str(tmp_path / "none"), "/snapshot", by_seconds=30) == []


def test_p99_by_window_counts_from_the_earliest_point_and_fills_empty_windows():
    """The one windowing every per-30 s figure uses (client, gunicorn's log, nginx's log)."""
    from bench._common import p99_by_window

    points = [(130.0, 4.0), (100.5, 1.0), (100.0, 9.0), (191.0, 2.0)]
    assert p99_by_window(points, 30) == [9.0, 4.0, 0.0, 2.0]
    assert p99_by_window([], 30) == []
    # The client's own series: its requests' send times against their latencies.
    stats = Stats(ms={"snapshot": [5.0, 80.0, 6.0]})
    stats.sent_at["snapshot"] = [10.0, 12.0, 45.0]
    assert exam_load.p99_by_kind_window(stats, "snapshot", 30) == [80.0, 6.0]
