"""Load a real gunicorn the way a monthly exam does, then check nothing acknowledged was lost.

python -m bench.exam_load --candidates N [--database-url URL] [--workers 5] [--threads 4]
    [--snapshot-workers 8] [--start-window 10] [--save-every 15] [--duration 180] [--ramp]
    [--json PATH]

Seeds a fresh database (SQLite in a temp dir, or the given PostgreSQL URL, wiped) with N
agents, a 26-question paper of the demo bank's types and an open sitting for them all;
starts gunicorn (W workers x T threads) on 127.0.0.1, behind nginx as in production
(bench._proxy; --proxy none: gunicorn alone) with the typing snapshots' own gunicorn beside
it as lms-snapshots.service has it (--snapshot-workers sync workers at its Nice=; 0: none),
and signs every candidate in (its own cookie jar and connection, as a browser). Measured:
each candidate starts the sitting at a random moment within the start window, opens the
exam page, changes one answer and saves it as static/js/exam.js does every save-every
seconds (+-20 %), and after duration seconds submits with its last changes as the page's
final submit does. Then the database, read directly, must hold every item's last
acknowledged answer and one attempt per candidate finalised exactly once: only then does
it print lost=0 (exit status 1 otherwise).

--ramp runs N = 250, 500, 1000, 2000, 3000, 4000 (or --steps) until one misses a target
(start p99 <= 2 s, save p99 <= 150 ms, no errors, nothing lost), then halves the gap
between the last N that met them and the first that did not (--bisect times, default 2),
and reports the largest N that met them all. Load generator, server and database share
the machine: on few cores the generator's own CPU is part of the latency measured.
"""

import asyncio
import contextlib
import json
import os
import random
import re
import resource
import shutil
import ssl
import sys
import tempfile
import time
from pathlib import Path

from bench import _exam_db, _proxy, _typing
from bench._common import p99_by_window, parser, summarise
from bench._exam_client import KINDS, Candidate, Failed, Stats, new_client
from bench.exams import HOST, free_port, server_times, start_server, stop_server
from lms.config import normalise_database_url

DEPLOY = Path(__file__).resolve().parent.parent / "deploy" / "systemd"
#: The load generator's priority while it runs (see generator_priority).
CLIENT_NICE = -10
TARGETS = {"start_p99_ms": 2000, "save_p99_ms": 150}


def unit_nice(unit: str) -> int:
    """Return the Nice= of a systemd unit in deploy/systemd (0 when it sets none)."""
    found = re.search(r"^Nice=(-?\d+)$", (DEPLOY / unit).read_text("utf-8"), re.M)
    return int(found[1]) if found else 0


#: The snapshots' workers' priority over the rest, as lms-snapshots.service sets it (Nice=).
SNAPSHOT_NICE = unit_nice("lms-snapshots.service")
#: The other workers' priority, as lms-web.service sets it (Nice=).
WEB_NICE = unit_nice("lms-web.service")
RAMP_STEPS = [250, 500, 1000, 2000, 3000, 4000]
#: Sign-ins before the measured phase: enough at once to be quick, not a stampede.
SIGN_IN_CONCURRENCY = 20


async def take_exam(cand: Candidate, stats: Stats, sitting_id: int, args) -> None:
    """Start within the window, save every save-every seconds, submit after duration."""
    await asyncio.sleep(cand.rnd.uniform(0, args.start_window))
    began = time.monotonic()
    try:
        await cand.start(stats, sitting_id)
    except Failed:
        return
    wait = cand.rnd.uniform(0.2, 1.0) * args.save_every  # the first answer takes a while
    while time.monotonic() - began + wait < args.duration:
        await asyncio.sleep(wait)
        # A failed save is counted; the next one carries its change again, as exam.js's does.
        with contextlib.suppress(Failed):
            await cand.save(stats)
        wait = args.save_every * cand.rnd.uniform(0.8, 1.2)
    await asyncio.sleep(max(0.0, args.duration - (time.monotonic() - began)))
    with contextlib.suppress(Failed):  # counted; the check then finds it unfinished
        await cand.submit(stats)


async def watch_loop_lag(stats: Stats, every: float = 0.1) -> None:
    """Record how late this client's event loop wakes (ms): every latency it measures
    includes that much of its own delay, the server's share being the rest."""
    while True:
        due = time.perf_counter() + every
        await asyncio.sleep(every)
        stats.loop_lag_ms.append(max(0.0, (time.perf_counter() - due) * 1000))


async def run_clients(base: str, sitting_id: int, usernames: list[str], args, during=None):
    """Sign everyone in, then run the measured phase; return candidates, stats, seconds.

    ``during(stats, candidates)``, if given, is a coroutine run alongside the measured
    phase (bench.exam_faults injects its fault from there).
    """
    ssl_context = ssl.create_default_context()
    kind = _typing.Typist if args.typing else Candidate
    cands = [
        kind(name, new_client(base, ssl_context), random.Random(f"{args.seed}:{name}"))
        for name in usernames
    ]
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    async def sign_in(cand):
        async with gate:
            await cand.sign_in()

    try:
        results = await asyncio.gather(*(sign_in(c) for c in cands), return_exceptions=True)
        stats = Stats(ms={k: [] for k in kinds_of(args)})
        # Whoever could not sign in does not sit the exam: an error, not a lost answer.
        for result in results:
            if result is not None:
                stats.error("sign_in_failed", str(result)[:120] or type(result).__name__)
        sitting = [c for c, r in zip(cands, results, strict=True) if r is None]
        began = time.perf_counter()
        extra = [during(stats, sitting)] if during else []
        lag = asyncio.create_task(watch_loop_lag(stats))
        await asyncio.gather(*(take_exam(c, stats, sitting_id, args) for c in sitting), *extra)
        lag.cancel()
        return sitting, stats, time.perf_counter() - began
    finally:
        await asyncio.gather(*(c.client.aclose() for c in cands))


def raise_open_files_limit() -> None:
    """Allow a socket per candidate on both sides (client here, server in gunicorn)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def p99_by_kind_window(stats: Stats, kind: str, seconds: float) -> list[float]:
    """Return the p99 of ``kind`` in each window of ``seconds`` from its first request: the
    start and finish bursts told apart from the steady part."""
    sent = stats.sent_at.get(kind, [])
    return p99_by_window(list(zip(sent, stats.ms[kind], strict=True)), seconds)


def figures_of(args, n: int, cands, stats: Stats, seconds: float, verdict, url: str) -> dict:
    """Return one run's figures, snake_case with units."""
    figures: dict = {"candidates": n, "signed_in": len(cands)}
    figures["database"] = url.split(":", 1)[0].split("+")[0]
    figures["gunicorn"] = f"{args.workers}x{args.threads}"
    if args.web_nice:
        figures["gunicorn"] += f" (nice {args.web_nice:+d})"
    if snapshots_split(args):
        figures["gunicorn"] += f" + snapshots {args.snapshot_workers}x1 (nice {args.snapshot_nice})"
    figures["proxy"] = proxy_of(args)
    figures["web_nice"] = args.web_nice
    figures["client_nice"] = args.client_nice
    for kind in kinds_of(args):
        figures.update(summarise(kind, stats.ms[kind] or [0.0]))
        figures[f"{kind}_requests"] = len(stats.ms[kind])
    if args.typing:  # the table and the targets read the exam's names: the same roles
        figures["mode"] = "typing"
        for exam, typing in (
            ("exam_page", "typing_page"),
            ("save", "snapshot"),
            ("submit", "finish"),
        ):
            for suffix in ("p50_ms", "p99_ms"):
                figures[f"{exam}_{suffix}"] = figures[f"{typing}_{suffix}"]
    figures["save_p99_ms_by_30s"] = p99_by_kind_window(
        stats, "snapshot" if args.typing else "save", seconds=30
    )
    figures.update(summarise("client_loop_lag", stats.loop_lag_ms or [0.0]))
    figures["throughput_rps"] = round(stats.requests / max(seconds, 1e-9), 1)
    figures["reconnects"] = stats.reconnects
    figures["measured_s"] = round(seconds, 1)
    figures["errors"] = sum(stats.errors.values())
    figures["errors_by_kind"] = dict(stats.errors.most_common())
    figures["saves_acknowledged"] = sum(
        s["acked"] for c in cands for s in c.sends if not s.get("final")
    )
    figures["lost"] = verdict.lost
    figures["lost_answers"] = verdict.lost_answers
    figures["attempts_not_finalised_once"] = verdict.bad_attempts
    return figures


@contextlib.contextmanager
def generator_priority(nice: int):
    """Run the load generator (this process, once the servers are started) at ``nice``
    added to its niceness, and back after: the browsers of a real exam are not on the
    server, so their pages must not wait behind it for the CPU; the generator's own delay
    left is reported apart (client_loop_lag). Raising a priority needs root: without it,
    the generator runs as it is."""
    before = os.nice(0)
    if nice > 0 or (nice < 0 and os.geteuid() == 0):
        os.nice(nice)
    try:
        yield
    finally:
        changed = os.nice(0) - before
        if changed < 0 or (changed > 0 and os.geteuid() == 0):
            os.nice(-changed)


def priorities(split: bool, nice: int) -> tuple[int, int]:
    """Return the niceness to add to the snapshots' server and to the other one: ``nice``
    for the snapshots, or (without the right to raise a priority) its opposite for the
    rest, the same difference."""
    if not split or nice >= 0:
        return (nice if split else 0), 0
    return (nice, 0) if os.geteuid() == 0 else (0, -nice)


def snapshots_split(args) -> bool:
    """Tell whether the snapshots had gunicorn workers of their own (behind nginx only)."""
    return proxy_of(args) == "nginx" and args.snapshot_workers > 0


def proxy_of(args) -> str:
    """Return what is in front of gunicorn: "nginx" (as in production) or "none"."""
    if args.proxy == "auto":
        return "nginx" if _proxy.binary() else "none"
    if args.proxy == "nginx" and not _proxy.binary():
        raise SystemExit("--proxy nginx: nginx is not installed (apt-get install nginx)")
    return args.proxy


def kinds_of(args) -> tuple[str, ...]:
    """Return the kinds of request measured: the business exam's, or the typing test's."""
    return _typing.KINDS if args.typing else KINDS


def meets_targets(f: dict) -> bool:
    """Tell whether one run met every target of the exam day."""
    return (
        f["start_p99_ms"] <= TARGETS["start_p99_ms"]
        and f["save_p99_ms"] <= TARGETS["save_p99_ms"]
        and f["errors"] == 0
        and f["lost"] == 0
    )


def run_once(args, n: int, workdir: Path, during=None) -> dict:
    """Seed, serve, load and check one run of n candidates; return its figures.

    ``during(server, stats, candidates)``: see run_clients (server: the gunicorn process).
    """
    url = normalise_database_url(args.database_url or f"sqlite:///{workdir}/bench.db")
    minutes = (args.start_window + args.duration) / 60 + 10
    sitting_id, usernames = _exam_db.seed(url, str(workdir), n, minutes, typing=args.typing)
    port = free_port()
    proxied = proxy_of(args) == "nginx"
    # The snapshots' priority over the rest: theirs raised (root only), or the rest's lowered.
    snap_nice, web_nice = priorities(snapshots_split(args), args.snapshot_nice)
    web_nice += args.web_nice
    server = start_server(
        url, str(workdir), port, args.workers, args.threads, proxied, nice=web_nice
    )
    nginx = snapshots = None
    try:
        if proxied:
            upstreams = {"lms_web": port}
            if args.snapshot_workers:  # as lms-snapshots.service: its own sync workers
                upstreams["lms_snapshots"] = free_port()
                snapshots = start_server(
                    url,
                    str(workdir),
                    upstreams["lms_snapshots"],
                    args.snapshot_workers,
                    1,
                    proxied,
                    name="gunicorn-snapshots",
                    nice=snap_nice,
                )
            front = free_port()
            nginx = _proxy.start(str(workdir), front, upstreams)
            port = front
        base = f"http://{HOST}:{port}"
        hook = (lambda stats, cands: during(server, stats, cands)) if during else None
        with generator_priority(args.client_nice):
            cands, stats, seconds = asyncio.run(
                run_clients(base, sitting_id, usernames, args, hook)
            )
    finally:
        if nginx is not None:
            _proxy.stop(nginx)
        if snapshots is not None:
            stop_server(snapshots)
        stop_server(server)
    log = {c.username: c.sends for c in cands}
    (workdir / "sends.json").write_text(
        json.dumps(
            {
                "database_url": url,
                "sitting_id": sitting_id,
                "typing": args.typing,
                "candidates": log,
            }
        ),
        encoding="utf-8",
    )
    verdict = _exam_db.check(url, str(workdir), sitting_id, log, typing=args.typing)
    figures = figures_of(args, n, cands, stats, seconds, verdict, url)
    suffix = "/snapshot" if args.typing else "/save"
    inside = server_times(str(workdir), suffix)
    figures.update(summarise("server_save", inside or [0.0]))
    figures["server_save_p99_ms_by_30s"] = server_times(str(workdir), suffix, by_seconds=30)
    figures["proxy_wait_p99_ms_by_30s"] = _proxy.waits(str(workdir), suffix, by_seconds=30)
    print_run(args, figures, stats, verdict)
    return figures


def print_run(args, f: dict, stats: Stats, verdict) -> None:
    """Print one run: percentiles, throughput, errors, a table line and lost=."""
    print(
        f"bench.exam_load: {f['candidates']} candidates, {f['database']}, gunicorn {f['gunicorn']}"
        f"{' behind nginx' if f['proxy'] == 'nginx' else ''} on {HOST};"
        f" start within {args.start_window:g} s, a save every {args.save_every:g} s,"
        f" submit after {args.duration:g} s; the load generator at nice {f['client_nice']:+d}"
    )
    for kind in kinds_of(args):
        print(
            f"  {kind:<10} p50 {f[f'{kind}_p50_ms']:>8.1f} ms   p99 {f[f'{kind}_p99_ms']:>8.1f} ms"
            f"   ({f[f'{kind}_requests']} requests)"
        )
    print(f"  save p99 by 30 s: {' '.join(f'{ms:g}' for ms in f['save_p99_ms_by_30s'])} ms")
    print(
        f"  inside the server, {'snapshot' if args.typing else 'save'}"
        f" p50 {f['server_save_p50_ms']:.1f} ms   p99 {f['server_save_p99_ms']:.1f} ms;"
        f" p99 by 30 s: {' '.join(f'{ms:g}' for ms in f['server_save_p99_ms_by_30s'])} ms"
    )
    if f.get("proxy_wait_p99_ms_by_30s"):
        print(
            "  nginx waiting for gunicorn (its queue and the app), p99 by 30 s:"
            f" {' '.join(f'{ms:g}' for ms in f['proxy_wait_p99_ms_by_30s'])} ms"
        )
    print(
        f"  the client's own delay (event loop lag) p50 {f['client_loop_lag_p50_ms']:.1f} ms"
        f"   p99 {f['client_loop_lag_p99_ms']:.1f} ms"
    )
    print(f"  throughput {f['throughput_rps']} requests/s over {f['measured_s']} s")
    print(f"  errors {f['errors']}  (sent again after a closed keep-alive: {f['reconnects']})")
    for key, n in f["errors_by_kind"].items():
        print(f"    {n} x {key}  (e.g. {stats.examples[key]})")
    print(TABLE_HEAD)
    print(table_row(f))
    for line in verdict.details[:10]:
        print(f"  not as acknowledged: {line}")
    print(f"lost={f['lost']}")


TABLE_HEAD = (
    "  | N | db | start p99 ms | page p99 ms | save p50/p99 ms | submit p99 ms | req/s"
    " | errors | lost |"
)


def table_row(f: dict) -> str:
    """Return one run as a line of the table under TABLE_HEAD."""
    return (
        f"  | {f['candidates']} | {f['database']} | {f['start_p99_ms']:.0f}"
        f" | {f['exam_page_p99_ms']:.0f} | {f['save_p50_ms']:.0f}/{f['save_p99_ms']:.0f}"
        f" | {f['submit_p99_ms']:.0f} | {f['throughput_rps']} | {f['errors']} | {f['lost']} |"
    )


def ramp(args, workdir: Path) -> dict:
    """Run increasing N until one misses a target, then halve the gap ``--bisect`` times;
    return the figures of every run and the largest N that met the targets."""
    steps: list[dict] = []
    best, worst = 0, None

    def run(n: int) -> bool:
        step_dir = workdir / f"n{n}"
        step_dir.mkdir()
        figures = run_once(args, n, step_dir)
        figures["meets_targets"] = meets_targets(figures)
        steps.append(figures)
        return figures["meets_targets"]

    for n in args.steps:
        if not run(n):
            worst = n
            break
        best = n
    for _ in range(args.bisect if worst else 0):
        n = bisect_next(best, worst)
        if n is None:
            break
        if run(n):
            best = n
        else:
            worst = n
    print(TABLE_HEAD)
    print("\n".join(table_row(f) for f in sorted(steps, key=lambda f: f["candidates"])))
    print(
        f"ramp: largest N meeting the targets = {best} (start p99 <= "
        f"{TARGETS['start_p99_ms']} ms, save p99 <= {TARGETS['save_p99_ms']} ms, 0 errors, 0 lost)"
        + (f"; {worst} missed them" if worst else "")
    )
    return {"ramp_max_candidates": best, "ramp_first_missed": worst, "ramp_steps": steps}


def bisect_next(best: int, worst: int) -> int | None:
    """Return the N halfway between a passing and a failing N (to 50), or None when close."""
    n = (best + worst) // 2 // 50 * 50
    return n if best < n < worst else None


def arguments(argv=None):
    """Parse the command line."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--database-url", help="PostgreSQL URL to wipe and use (default: SQLite)")
    p.add_argument("--workers", type=int, default=5, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    p.add_argument(
        "--proxy",
        choices=("auto", "nginx", "none"),
        default="auto",
        help="in front of gunicorn: nginx as deploy/nginx/lms.conf has it (auto: if installed)",
    )
    p.add_argument(
        "--snapshot-workers",
        type=int,
        default=8,
        help="behind nginx: gunicorn sync workers of the typing snapshots' own"
        " (lms-snapshots.service); 0: the snapshots go to the other workers",
    )
    p.add_argument(
        "--snapshot-nice",
        type=int,
        default=SNAPSHOT_NICE,
        help="niceness added to the snapshots' workers (default: lms-snapshots.service's Nice=)",
    )
    p.add_argument(
        "--web-nice",
        type=int,
        default=WEB_NICE,
        help="niceness added to the other workers (default: lms-web.service's Nice=)",
    )
    p.add_argument(
        "--client-nice",
        type=int,
        default=CLIENT_NICE,
        help="niceness added to the load generator while it runs (root: negative allowed)",
    )
    p.add_argument("--start-window", type=float, default=10, help="seconds over which all start")
    p.add_argument("--save-every", type=float, default=15, help="seconds between saves")
    p.add_argument(
        "--typing",
        action="store_true",
        help="a typing test instead of the paper: a snapshot every --save-every s (use 5)",
    )
    p.add_argument("--duration", type=float, default=180, help="seconds from start to submit")
    p.add_argument("--ramp", action="store_true", help="increase N until a target is missed")
    p.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")], default=RAMP_STEPS)
    p.add_argument(
        "--bisect", type=int, default=2, help="runs halving the gap after the first miss"
    )
    p.add_argument("--seed", type=int, default=1, help="seed of the candidates' choices")
    p.add_argument("--workdir", help="keep the database, server log and sends.json here")
    return p.parse_args(argv)


def main(argv=None) -> int:
    """Run the benchmark; return 1 if anything acknowledged was lost."""
    args = arguments(argv)
    raise_open_files_limit()
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="bench-exam-load-"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.ramp:
        figures = ramp(args, workdir)
        lost = any(s["lost"] for s in figures["ramp_steps"])
    else:
        figures = run_once(args, args.candidates, workdir)
        lost = figures["lost"] > 0
    report_json(figures, args.json)
    if lost:
        print(f"  (database, server log and sends.json kept in {workdir})")
    elif not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if lost else 0


def report_json(figures: dict, path: str | None) -> None:
    """Write the figures as one JSON object (the contract's benchmark format)."""
    if path:
        Path(path).write_text(json.dumps(figures, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
