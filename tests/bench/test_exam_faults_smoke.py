"""bench.exam_faults at toy size: recovery is measured as documented, and a killed worker
loses nothing acknowledged."""

import contextlib
import io
import json
from types import SimpleNamespace

import pytest

from bench import exam_faults
from tests.helpers import outside_event_loop

pytestmark = pytest.mark.bench


def _save(sent, answered, acked=True):
    return {"sent_at": sent, "answered_at": answered, "acked": acked}


def test_recovery_counts_from_the_fault_to_the_first_save_after_the_failures():
    cand = SimpleNamespace(
        sends=[
            _save(0.0, 0.01),
            _save(1.0, 1.02),  # before the fault at 10: p99 20 ms
            _save(10.5, 10.6, acked=False),
            _save(11.0, 11.5, acked=False),
            _save(12.0, 12.3),  # acknowledged but slow
            _save(13.0, 13.01),
            _save(14.0, 14.01),
            {"final": True, "acked": True},  # the submit is not a save
        ]
    )
    r = exam_faults.recovery([cand], fault_at=10.0, period=5.0)
    assert r["saves_after_fault"] == 5 and r["saves_after_fault_not_acknowledged"] == 2
    assert r["first_failed_save_s"] == 0.6 and r["last_failed_save_s"] == 1.5
    assert r["first_ack_after_fault_s"] == 2.3
    assert r["back_under_p99_s"] == 3.01
    assert r["save_p99_before_fault_ms"] == 20.0


def test_restart_postgres_on_sqlite_is_skipped_saying_why(capsys):
    assert outside_event_loop(exam_faults.main, ["--fault", "restart-postgres"]) == 0
    assert "needs --database-url postgresql" in capsys.readouterr().out


def test_killing_a_worker_mid_exam_loses_nothing(tmp_path):
    argv = ["--fault", "kill-worker", "--candidates", "3", "--workers", "2", "--threads", "2"]
    argv += ["--start-window", "0.5", "--save-every", "0.5", "--duration", "3"]
    argv += ["--fault-at", "1.5", "--workdir", str(tmp_path), "--json", str(tmp_path / "f.json")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = outside_event_loop(exam_faults.main, argv)
    figures = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert status == 0, out.getvalue()
    assert figures["lost"] == 0 and figures["killed_pid"] > 0
    assert figures.get("worker_respawned_s") is not None
    assert figures["first_ack_after_fault_s"] is not None
    assert "lost=0" in out.getvalue().splitlines()
