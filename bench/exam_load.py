"""Load a real gunicorn the way a monthly exam does, then check nothing acknowledged was lost.

python -m bench.exam_load --candidates N [--database-url URL] [--workers 5] [--threads 4]
    [--start-window 10] [--save-every 15] [--duration 180] [--ramp] [--json PATH]

Seeds a fresh database (SQLite in a temp dir, or the given PostgreSQL URL, wiped) with N
agents, a 26-question paper of the demo bank's types and an open sitting for them all;
starts gunicorn (W workers x T threads) on 127.0.0.1 and signs every candidate in (its
own cookie jar and connection, as a browser). Measured: each candidate starts the sitting
at a random moment within the start window, opens the exam page, changes one answer and
saves it as static/js/exam.js does every save-every seconds (+-20 %), and after duration
seconds submits with its last changes as the page's final submit does. Then the database,
read directly, must hold every item's last acknowledged answer and one attempt per
candidate finalised exactly once: only then does it print lost=0 (exit status 1 otherwise).

--ramp runs N = 250, 500, 1000, 2000, 3000, 4000 (or --steps) until one misses a target
(start p99 <= 2 s, save p99 <= 150 ms, no errors, nothing lost) and reports the largest
that met them all. Load generator, server and database share the machine: on few cores
the generator's own CPU is part of the latency measured.
"""

import asyncio
import contextlib
import json
import random
import re
import resource
import shutil
import ssl
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import _exam_db
from bench._common import parser, summarise
from bench.exams import CSRF_RE, HOST, ITEM_RE, SEQ_RE, free_port, start_server, stop_server
from lms.config import normalise_database_url

TARGETS = {"start_p99_ms": 2000, "save_p99_ms": 150}
RAMP_STEPS = [250, 500, 1000, 2000, 3000, 4000]
REQUEST_TIMEOUT_S = 30
#: Sign-ins before the measured phase: enough at once to be quick, not a stampede.
SIGN_IN_CONCURRENCY = 20
KINDS = ("start", "exam_page", "save", "submit")


@dataclass
class Stats:
    """What every candidate measured (one event loop: no lock needed)."""

    ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    #: Errors by kind, snake_case (``save_http_500``, ``start_timeout``), and one example each.
    errors: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    requests: int = 0

    def error(self, key: str, example: str) -> None:
        """Count one error of kind ``key``."""
        self.errors[key] += 1
        self.examples.setdefault(key, example)


class Failed(Exception):
    """A request got no usable answer; the message is its error kind."""


async def send(
    client: httpx.AsyncClient, stats: Stats | None, kind: str, method: str, path: str, **kw
):
    """Send one request; time it under ``kind`` and count its error, if any, by kind.

    ``stats`` is None before the measured phase: nothing is timed or counted then.
    """
    start = time.perf_counter()
    try:
        resp = await client.request(method, path, **kw)
    except httpx.TimeoutException as exc:
        raise _failed(stats, f"{kind}_timeout", f"{method} {path}") from exc
    except httpx.TransportError as exc:
        raise _failed(stats, f"{kind}_connection_error", f"{type(exc).__name__}: {exc}") from exc
    if stats is not None:
        stats.requests += 1
        stats.ms[kind].append((time.perf_counter() - start) * 1000)
    return resp


def _failed(stats: Stats | None, key: str, example: str) -> "Failed":
    """Count a request that got no answer and return its exception."""
    if stats is not None:
        stats.requests += 1
        stats.error(key, example)
    return Failed(f"{key}: {example}")


def bad_status(stats: Stats | None, kind: str, resp: httpx.Response, why: str = "") -> Failed:
    """Count and return the error of an answer that is not the one expected."""
    body = " ".join(resp.text[:120].split())
    key, example = f"{kind}_http_{resp.status_code}", f"{why}: {body}" if why else body
    if stats is not None:
        stats.error(key, example)
    return Failed(f"{key}: {example}")


def csrf(page: str) -> str:
    """Return the CSRF token of a page's form."""
    found = CSRF_RE.search(page)
    if not found:
        raise Failed("no csrf_token on the page")
    return found.group(1)


@dataclass
class Item:
    """One question on the exam page: how the page reads its answer, and its inputs."""

    id: str
    kind: str  # data-answer: choice, choices, texts or text
    options: list[str]
    blanks: int


def read_exam_page(page: str) -> tuple[str, int, list[Item]]:
    """Return the page's CSRF token, its seq and its items."""
    items = []
    for item_id, kind in ITEM_RE.findall(page):
        options = _options(page, item_id)
        blanks = page.count(f'name="q{item_id}_blank_')
        items.append(Item(item_id, kind, options, blanks))
    seq = SEQ_RE.search(page)
    if seq is None or not items:
        raise Failed("no exam on the page")
    return csrf(page), int(seq.group(1)), items


def _options(page: str, item_id: str) -> list[str]:
    """Return the values of an item's option inputs, in the order shown."""
    return re.findall(rf'name="q{item_id}" value="([^"]*)"', page)


def changed_answer(item: Item, current, rnd: random.Random, n: int):
    """Return a new answer to ``item``, different from ``current``, as exam.js reads it."""
    if item.kind == "choice":
        return rnd.choice([o for o in item.options if o != current] or item.options)
    if item.kind == "choices":
        while True:
            picked = [o for o in item.options if rnd.random() < 0.5] or item.options[:1]
            if picked != current:
                return picked
    if item.kind == "texts":
        return [f"答{n}-{b}" for b in range(1, item.blanks + 1)]
    return f"先核实客户身份，再按流程办理（第{n}次修改）。"


@dataclass
class Candidate:
    """One exam-taker's browser: a cookie jar, one connection, and what it sent."""

    username: str
    client: httpx.AsyncClient
    rnd: random.Random
    token: str = ""
    attempt: str = ""
    seq: int = 0
    items: list = field(default_factory=list)
    #: What the page shows now, and what the server acknowledged (exam.js's ``sent``).
    shown: dict = field(default_factory=dict)
    sent: dict = field(default_factory=dict)
    #: Every save and the final submit, in order: {seq, answers, status, acked}.
    sends: list = field(default_factory=list)

    async def sign_in(self) -> None:
        """Sign in and open "my exams" (not measured): the candidate waits there."""
        page = (await send(self.client, None, "sign-in", "GET", "/login")).text
        form = {"username": self.username, "password": _exam_db.PASSWORD, "csrf_token": csrf(page)}
        resp = await send(self.client, None, "sign-in", "POST", "/login", data=form)
        if resp.status_code != 302:
            raise Failed(f"sign-in answered {resp.status_code}")
        self.token = csrf((await send(self.client, None, "sign-in", "GET", "/exam/")).text)

    async def start(self, stats: Stats, sitting_id: int) -> None:
        """Press the start button, then load the exam page it leads to."""
        resp = await send(
            self.client,
            stats,
            "start",
            "POST",
            f"/exam/sittings/{sitting_id}/start",
            data={"csrf_token": self.token},
        )
        location = resp.headers.get("location", "")
        if resp.status_code != 302 or "/exam/attempts/" not in location:
            raise bad_status(stats, "start", resp, location or "no redirect")
        self.attempt = httpx.URL(location).path
        resp = await send(self.client, stats, "exam_page", "GET", self.attempt)
        if resp.status_code != 200:
            raise bad_status(stats, "exam_page", resp)
        try:
            self.token, self.seq, self.items = read_exam_page(resp.text)
        except Failed as exc:
            raise bad_status(stats, "exam_page", resp, str(exc)) from exc

    def changes(self) -> dict:
        """Return the answers that differ from what the server acknowledged (exam.js)."""
        return {k: v for k, v in self.shown.items() if self.sent.get(k) != v}

    async def save(self, stats: Stats) -> None:
        """Change one answer and save what changed, as exam.js's autosave does."""
        item = self.rnd.choice(self.items)
        self.shown[item.id] = changed_answer(item, self.shown.get(item.id), self.rnd, self.seq)
        answers = self.changes()
        self.seq += 1
        record = {"seq": self.seq, "answers": answers, "status": None, "acked": False}
        self.sends.append(record)
        body = json.dumps({"seq": self.seq, "answers": answers, "flags": {}})
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.token}
        resp = await send(
            self.client,
            stats,
            "save",
            "POST",
            f"{self.attempt}/save",
            content=body,
            headers=headers,
        )
        record["status"] = resp.status_code
        try:
            ok = resp.status_code == 200 and resp.json().get("ok") is True
        except ValueError:
            ok = False
        if not ok:
            raise bad_status(stats, "save", resp, "not acknowledged")
        record["acked"] = True
        self.sent.update(answers)

    async def submit(self, stats: Stats) -> None:
        """Submit with the last changes in ``final``, as the page's submit button does."""
        answers = self.changes()
        self.seq += 1
        record = {
            "seq": self.seq,
            "answers": answers,
            "status": None,
            "acked": False,
            "final": True,
        }
        self.sends.append(record)
        final = json.dumps({"seq": self.seq, "answers": answers, "flags": {}})
        form = {"csrf_token": self.token, "final": final, "auto": ""}
        resp = await send(self.client, stats, "submit", "POST", f"{self.attempt}/submit", data=form)
        record["status"] = resp.status_code
        if resp.status_code != 302 or not resp.headers.get("location", "").endswith("/result"):
            raise bad_status(stats, "submit", resp, resp.headers.get("location", "no redirect"))
        record["acked"] = True


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


def new_client(base: str, ssl_context: ssl.SSLContext) -> httpx.AsyncClient:
    """Return a browser-like client: its own cookies and at most two connections."""
    transport = httpx.AsyncHTTPTransport(
        # One SSL context for all: httpx builds one per transport otherwise (slow, large).
        verify=ssl_context,
        limits=httpx.Limits(max_connections=2, max_keepalive_connections=1),
    )
    return httpx.AsyncClient(
        base_url=base, transport=transport, timeout=REQUEST_TIMEOUT_S, trust_env=False
    )


async def run_clients(base: str, sitting_id: int, usernames: list[str], args):
    """Sign everyone in, then run the measured phase; return candidates, stats, seconds."""
    ssl_context = ssl.create_default_context()
    cands = [
        Candidate(name, new_client(base, ssl_context), random.Random(f"{args.seed}:{name}"))
        for name in usernames
    ]
    gate = asyncio.Semaphore(SIGN_IN_CONCURRENCY)

    async def sign_in(cand):
        async with gate:
            await cand.sign_in()

    try:
        results = await asyncio.gather(*(sign_in(c) for c in cands), return_exceptions=True)
        stats = Stats()
        # Whoever could not sign in does not sit the exam: an error, not a lost answer.
        for result in results:
            if result is not None:
                stats.error("sign_in_failed", str(result)[:120] or type(result).__name__)
        sitting = [c for c, r in zip(cands, results, strict=True) if r is None]
        began = time.perf_counter()
        await asyncio.gather(*(take_exam(c, stats, sitting_id, args) for c in sitting))
        return sitting, stats, time.perf_counter() - began
    finally:
        await asyncio.gather(*(c.client.aclose() for c in cands))


def raise_open_files_limit() -> None:
    """Allow a socket per candidate on both sides (client here, server in gunicorn)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def figures_of(args, n: int, cands, stats: Stats, seconds: float, verdict, url: str) -> dict:
    """Return one run's figures, snake_case with units."""
    figures: dict = {"candidates": n, "signed_in": len(cands)}
    figures["database"] = url.split(":", 1)[0].split("+")[0]
    figures["gunicorn"] = f"{args.workers}x{args.threads}"
    for kind in KINDS:
        figures.update(summarise(kind, stats.ms[kind] or [0.0]))
        figures[f"{kind}_requests"] = len(stats.ms[kind])
    figures["throughput_rps"] = round(stats.requests / max(seconds, 1e-9), 1)
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


def meets_targets(f: dict) -> bool:
    """Tell whether one run met every target of the exam day."""
    return (
        f["start_p99_ms"] <= TARGETS["start_p99_ms"]
        and f["save_p99_ms"] <= TARGETS["save_p99_ms"]
        and f["errors"] == 0
        and f["lost"] == 0
    )


def run_once(args, n: int, workdir: Path) -> dict:
    """Seed, serve, load and check one run of n candidates; return its figures."""
    url = normalise_database_url(args.database_url or f"sqlite:///{workdir}/bench.db")
    minutes = (args.start_window + args.duration) / 60 + 10
    sitting_id, usernames = _exam_db.seed(url, str(workdir), n, minutes)
    port = free_port()
    server = start_server(url, str(workdir), port, args.workers, args.threads)
    try:
        base = f"http://{HOST}:{port}"
        cands, stats, seconds = asyncio.run(run_clients(base, sitting_id, usernames, args))
    finally:
        stop_server(server)
    log = {c.username: c.sends for c in cands}
    (workdir / "sends.json").write_text(
        json.dumps({"database_url": url, "sitting_id": sitting_id, "candidates": log}),
        encoding="utf-8",
    )
    verdict = _exam_db.check(url, str(workdir), sitting_id, log)
    figures = figures_of(args, n, cands, stats, seconds, verdict, url)
    print_run(args, figures, stats, verdict)
    return figures


def print_run(args, f: dict, stats: Stats, verdict) -> None:
    """Print one run: percentiles, throughput, errors, a table line and lost=."""
    print(
        f"bench.exam_load: {f['candidates']} candidates, {f['database']}, gunicorn {f['gunicorn']}"
        f" on {HOST}; start within {args.start_window:g} s, a save every {args.save_every:g} s,"
        f" submit after {args.duration:g} s"
    )
    for kind in KINDS:
        print(
            f"  {kind:<10} p50 {f[f'{kind}_p50_ms']:>8.1f} ms   p99 {f[f'{kind}_p99_ms']:>8.1f} ms"
            f"   ({f[f'{kind}_requests']} requests)"
        )
    print(f"  throughput {f['throughput_rps']} requests/s over {f['measured_s']} s")
    print(f"  errors {f['errors']}")
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
    """Run increasing N until one misses a target; return the figures of the ramp."""
    steps, best = [], None
    for n in args.steps:
        step_dir = workdir / f"n{n}"
        step_dir.mkdir()
        figures = run_once(args, n, step_dir)
        figures["meets_targets"] = meets_targets(figures)
        steps.append(figures)
        if not figures["meets_targets"]:
            break
        best = n
    print(TABLE_HEAD)
    print("\n".join(table_row(f) for f in steps))
    print(
        f"ramp: largest N meeting the targets = {best or 0} (start p99 <= "
        f"{TARGETS['start_p99_ms']} ms, save p99 <= {TARGETS['save_p99_ms']} ms, 0 errors, 0 lost)"
    )
    return {"ramp_max_candidates": best or 0, "ramp_steps": steps}


def arguments(argv=None):
    """Parse the command line."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=100)
    p.add_argument("--database-url", help="PostgreSQL URL to wipe and use (default: SQLite)")
    p.add_argument("--workers", type=int, default=5, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    p.add_argument("--start-window", type=float, default=10, help="seconds over which all start")
    p.add_argument("--save-every", type=float, default=15, help="seconds between saves")
    p.add_argument("--duration", type=float, default=180, help="seconds from start to submit")
    p.add_argument("--ramp", action="store_true", help="increase N until a target is missed")
    p.add_argument("--steps", type=lambda s: [int(x) for x in s.split(",")], default=RAMP_STEPS)
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
