"""Inject one fault into an exam load that passes, then check recovery and that nothing was lost.

python -m bench.exam_faults --fault kill-worker|restart-postgres|stop-redis [--candidates 40]
    [--database-url URL] [--fault-at S] [--outage 10] [--json PATH]
    [any other option of bench.exam_load: --workers, --threads, --duration, --save-every ...]

Runs bench.exam_load's exam (defaults here: 40 candidates, start within 10 s, a save every
5 s, submit after 60 s, gunicorn 3x4) and, fault-at seconds into the measured phase
(default: start window + 40 % of the duration), injects the fault:

  kill-worker       kill -9 one gunicorn worker (a child of the master); the master forks
                    a new one.
  restart-postgres  pg_ctlcluster VERSION CLUSTER restart of the cluster listening on the
                    --database-url's port (pg_lsclusters); PostgreSQL only, skipped otherwise.
                    It restarts every database of that cluster: point it at a cluster of
                    its own (pg_createcluster 15 faults --port 5499 --start), not a shared one.
  stop-redis        the server runs with REDIS_URL on a redis-server of its own (a free port,
                    no persistence), which is shut down (nosave) and started again after
                    --outage seconds; during the outage a few fresh clients sign in (right
                    and wrong passwords): sign-in must work or refuse cleanly, never 500.

Reports the errors seen by kind after the fault, the recovery (seconds from the fault to
the first acknowledged save sent after it, and until every save sent from then on was
acknowledged within the p99 of the saves before the fault) and lost=, which must be 0:
a failed save is sent again with the next one, as the exam page does.
"""

import asyncio
import contextlib
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from bench import exam_load
from bench._common import parser, percentile
from bench._exam_client import new_client
from bench.exams import HOST, free_port

FAULTS = ("kill-worker", "restart-postgres", "stop-redis")
#: exam_load's options as this benchmark sets them; the command line overrides them.
LOAD_DEFAULTS = ["--candidates", "40", "--duration", "60", "--save-every", "5", "--workers", "3"]
#: The faults are measured on gunicorn itself (what a browser sees of a killed worker,
#: unmasked by a proxy's own answers): --proxy none unless the command line says otherwise.
LOAD_DEFAULTS += ["--proxy", "none"]
SIGN_IN_PROBES = 5  # fresh sign-ins during a Redis outage (the last two with a wrong password)


def arguments(argv=None):
    """Parse this benchmark's options; the rest go to bench.exam_load's parser."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--fault", choices=FAULTS, required=True)
    p.add_argument("--fault-at", type=float, help="seconds into the measured phase")
    p.add_argument("--outage", type=float, default=10, help="seconds Redis stays down")
    args, rest = p.parse_known_args(argv)
    load = exam_load.arguments(LOAD_DEFAULTS + rest)
    load.json = args.json
    for name in ("fault", "fault_at", "outage"):
        setattr(load, name, getattr(args, name))
    if load.fault_at is None:
        load.fault_at = load.start_window + 0.4 * load.duration
    return load


# --- the faults ---------------------------------------------------------------------------


def worker_pids(master_pid: int) -> list[int]:
    """Return the pids of gunicorn's workers: the master's children, from /proc."""
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children")
    try:
        return [int(p) for p in children.read_text().split()]
    except OSError:
        return []


async def kill_worker(server, note: dict) -> None:
    """kill -9 one worker; note its pid and how long the master took to fork a new one."""
    before = worker_pids(server.pid)
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    killed_at = time.monotonic()
    note["killed_pid"] = victim
    while time.monotonic() - killed_at < 30:
        now = worker_pids(server.pid)
        if len(now) >= len(before) and victim not in now:
            note["worker_respawned_s"] = round(time.monotonic() - killed_at, 2)
            break
        await asyncio.sleep(0.05)


def pg_cluster(url: str) -> tuple[str, str]:
    """Return (version, cluster) of the local PostgreSQL cluster serving ``url``'s port."""
    from sqlalchemy.engine import make_url

    port = str(make_url(url).port or 5432)
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True)
    for line in out.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == port:
            return fields[0], fields[1]
    versions = sorted(os.listdir("/etc/postgresql"))  # no port matched: as the issue says
    return versions[-1], "main"


async def restart_postgres(url: str, note: dict) -> None:
    """pg_ctlcluster VERSION CLUSTER restart; note how long the restart itself took."""
    version, cluster = pg_cluster(url)
    note["cluster"] = f"{version}/{cluster}"
    began = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        "pg_ctlcluster", version, cluster, "restart", stderr=subprocess.PIPE
    )
    _, err = await proc.communicate()
    if proc.returncode:
        raise RuntimeError(f"pg_ctlcluster failed: {err.decode().strip()}")
    note["postgres_restart_s"] = round(time.monotonic() - began, 2)


class OwnRedis:
    """A redis-server of this run's own on a free port, without persistence."""

    def __init__(self, workdir: Path):
        self.port, self.dir = free_port(), workdir
        self.url = f"redis://{HOST}:{self.port}/0"

    def start(self) -> None:
        """Start it and wait until it answers PING."""
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                HOST,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
                "--daemonize",
                "yes",
                "--logfile",
                str(self.dir / "redis.log"),
            ],
            check=True,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.cli("ping").stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError(f"redis-server on port {self.port} did not answer")

    def stop(self) -> None:
        """Shut it down without saving (as a crash would lose what it held)."""
        self.cli("shutdown", "nosave")

    def cli(self, *words: str) -> subprocess.CompletedProcess:
        """Run redis-cli against it."""
        cmd = ["redis-cli", "-h", HOST, "-p", str(self.port), *words]
        return subprocess.run(cmd, capture_output=True, text=True, check=False)


async def probe_sign_ins(base: str, tries: list[tuple[str, bool]]) -> list[str]:
    """Sign in with a fresh client per (username, right password?); return "right:302"..."""
    from bench import _exam_db
    from bench._exam_client import csrf

    statuses = []
    for name, right in tries:
        password = _exam_db.PASSWORD if right else "wrong-Pass-9"
        async with new_client(base, ssl.create_default_context()) as client:
            try:
                page = await client.get("/login")
                form = {"username": name, "password": password, "csrf_token": csrf(page.text)}
                resp = await client.post("/login", data=form)
                statuses.append(f"{'right' if right else 'wrong'}:{resp.status_code}")
            except Exception as exc:  # what went wrong is the finding
                statuses.append(f"error:{type(exc).__name__}")
        await asyncio.sleep(0.3)
    return statuses


def fails_safe(statuses: list[str]) -> bool:
    """Works (302), refuses on the form (200, 4xx) or cleanly (503): never another 5xx."""
    codes = [s.split(":")[1] for s in statuses]
    return all(c in {"302", "200", "503"} or c.startswith("4") for c in codes)


async def stop_redis(redis: OwnRedis, base: str, usernames: list[str], args, note: dict):
    """Shut Redis down, probe sign-in during the outage, start it again, probe once more."""
    redis.stop()
    down_at = time.monotonic()
    await asyncio.sleep(1)
    # Right passwords, then the last two wrong; other candidates' accounts than the load's.
    tries = [(name, i < SIGN_IN_PROBES - 2) for i, name in enumerate(usernames[:SIGN_IN_PROBES])]
    statuses = await probe_sign_ins(base, tries)
    note["sign_ins_during_outage"] = statuses
    note["sign_in_fails_safe"] = fails_safe(statuses)
    await asyncio.sleep(max(0.0, args.outage - (time.monotonic() - down_at)))
    await asyncio.to_thread(redis.start)
    note["redis_down_s"] = round(time.monotonic() - down_at, 2)
    after = await probe_sign_ins(base, [(usernames[SIGN_IN_PROBES % len(usernames)], True)])
    note["sign_in_after_outage"] = after[0]


# --- the run and its figures --------------------------------------------------------------


def recovery(cands, fault_at: float, period: float) -> dict:
    """Return the saves' recovery after ``fault_at`` (time.monotonic())."""
    saves = [s for c in cands for s in c.sends if "sent_at" in s]
    before = [s["answered_at"] - s["sent_at"] for s in saves if s["answered_at"] < fault_at]
    after = sorted((s for s in saves if s["sent_at"] >= fault_at), key=lambda s: s["sent_at"])
    normal_p99 = percentile(before, 99) if before else float("inf")
    out: dict = {"save_p99_before_fault_ms": round(normal_p99 * 1000, 1)}
    out["saves_during_fault_window"] = sum(
        1 for s in saves if s["sent_at"] < fault_at < s["answered_at"]
    )
    out["saves_after_fault"] = len(after)
    out["saves_after_fault_not_acknowledged"] = sum(not s["acked"] for s in after)
    # The fault bites at its first failed save (a restart takes a moment to go down, say):
    # recovered at the first acknowledged save sent after that, or after the fault if none.
    failed = [s["answered_at"] for s in after if not s["acked"]]
    bit_at = min(failed) if failed else fault_at
    out["first_failed_save_s"] = round(bit_at - fault_at, 2) if failed else None
    out["last_failed_save_s"] = round(max(failed) - fault_at, 2) if failed else None
    acked = [s["answered_at"] for s in after if s["acked"] and s["sent_at"] >= bit_at]
    out["first_ack_after_fault_s"] = round(min(acked) - fault_at, 2) if acked else None
    # The first stretch of one save period after the fault that looks as before it: every
    # save sent in it acknowledged, their p99 within the p99 before the fault.
    back = None
    for i, s in enumerate(after):
        stretch = [t for t in after[i:] if t["sent_at"] < s["sent_at"] + period]
        if (
            all(t["acked"] for t in stretch)
            and percentile([t["answered_at"] - t["sent_at"] for t in stretch], 99) <= normal_p99
        ):
            back = s
            break
    out["back_under_p99_s"] = round(back["answered_at"] - fault_at, 2) if back else None
    out["after_fault_save_p99_ms"] = round(
        percentile([s["answered_at"] - s["sent_at"] for s in after] or [0.0], 99) * 1000, 1
    )
    return out


def run(args, workdir: Path) -> dict:
    """Run the exam with the fault injected; return its figures."""
    note: dict = {"fault": args.fault, "fault_at_s": args.fault_at}
    redis = None
    if args.fault == "stop-redis":
        redis = OwnRedis(workdir)
        redis.start()
        os.environ["REDIS_URL"] = redis.url  # read by start_server's gunicorn (and the seed)

    async def during(server, stats, cands):
        await asyncio.sleep(args.fault_at)
        note["errors_before_fault"] = len(stats.timeline)
        note["fault_at"] = time.monotonic()
        base = f"http://{HOST}:{args.port}"
        if args.fault == "kill-worker":
            await kill_worker(server, note)
        elif args.fault == "restart-postgres":
            await restart_postgres(args.database_url, note)
        else:
            await stop_redis(redis, base, [c.username for c in cands], args, note)
        note["fault_done_s"] = round(time.monotonic() - note["fault_at"], 2)
        note["stats"], note["cands"] = stats, cands

    # exam_load picks the port itself: learn it by wrapping its free_port.
    real_free_port = exam_load.free_port

    def remembered_port():
        args.port = real_free_port()
        return args.port

    exam_load.free_port = remembered_port
    try:
        figures = exam_load.run_once(args, args.candidates, workdir, during)
    finally:
        exam_load.free_port = real_free_port
        if redis is not None:
            redis.stop()
            os.environ.pop("REDIS_URL", None)
    stats, cands, fault_at = note.pop("stats"), note.pop("cands"), note.pop("fault_at")
    after = Counter(k for t, k in stats.timeline if t >= fault_at)
    figures.update(note)
    figures["errors_after_fault"] = sum(after.values())
    figures["errors_after_fault_by_kind"] = dict(after.most_common())
    figures.update(recovery(cands, fault_at, args.save_every))
    print_faults(figures)
    return figures


def print_faults(f: dict) -> None:
    """Print the fault's figures under exam_load's own."""
    print(
        f"bench.exam_faults: {f['fault']} {f['fault_at_s']:g} s into the run"
        f" (the fault itself took {f['fault_done_s']:g} s)"
    )
    for key in ("killed_pid", "worker_respawned_s", "cluster", "postgres_restart_s",
                "redis_down_s", "sign_ins_during_outage", "sign_in_fails_safe",
                "sign_in_after_outage"):  # fmt: skip
        if key in f:
            print(f"  {key}: {f[key]}")
    print(f"  errors before the fault: {f['errors_before_fault']}")
    print(f"  errors after the fault: {f['errors_after_fault']}")
    for key, n in f["errors_after_fault_by_kind"].items():
        print(f"    {n} x {key}")
    print(
        f"  saves after the fault: {f['saves_after_fault']}"
        f" ({f['saves_after_fault_not_acknowledged']} not acknowledged;"
        f" {f['saves_during_fault_window']} in flight at the fault)"
    )
    if f["first_failed_save_s"] is not None:
        print(
            f"  failed saves from {f['first_failed_save_s']} s to {f['last_failed_save_s']} s"
            " after the fault"
        )
    print(
        f"  recovery: first acknowledged save (sent after the first failure)"
        f" {f['first_ack_after_fault_s']} s after the fault;"
        f" saves back under the p99 before it ({f['save_p99_before_fault_ms']} ms)"
        f" {f['back_under_p99_s']} s after"
    )
    print(f"lost={f['lost']}")


def main(argv=None) -> int:
    """Run the benchmark; return 1 if anything acknowledged was lost."""
    args = arguments(argv)
    if args.fault == "restart-postgres" and not (args.database_url or "").startswith("postgres"):
        print("bench.exam_faults: restart-postgres needs --database-url postgresql://...; skipped")
        return 0
    exam_load.raise_open_files_limit()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-exam-faults-"))
    workdir.mkdir(parents=True, exist_ok=True)
    figures = run(args, workdir)
    exam_load.report_json(figures, args.json)
    lost = figures["lost"] > 0
    if lost:
        print(f"  (database, server log and sends.json kept in {workdir})")
    elif not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if lost else 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
