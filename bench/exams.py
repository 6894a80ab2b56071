"""Benchmark answer saves and submits with many simultaneous candidates on a real server.

python -m bench.exams [--json PATH] [--candidates N] [--saves K] [--database URL]

Builds a fresh database (SQLite in a temp dir, or the given URL after drop_all/create_all)
holding a 30-question paper (20 single choice, 5 multiple choice, 5 true/false), a sitting
open now and N agents sharing one password hash; starts gunicorn on 127.0.0.1; then every
candidate, each on its own thread with its own cookie jar, signs in, starts the exam and
opens it, and once all are in (a barrier), saves K times (one answer changed per save) and
submits. Save and submit latencies are per request; saves_per_s is over the save phase.
Afterwards the database must show every attempt finished exactly once with the saves the
clients saw acknowledged; otherwise the exit status is 1.

Argon2 runs at t=1, m=1 MiB here (setup and server alike), not the production cost: sign-in
is not what this measures (bench.accounts does that).
"""

import contextlib
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from http.cookiejar import CookieJar
from pathlib import Path

from bench._common import p99_by_window, parser, report, stop_process, summarise

ROOT = Path(__file__).resolve().parent.parent
#: Fixed so that every gunicorn worker signs and reads the same session cookies.
SECRET_KEY = "bench-exams-fixed-secret-key-not-for-production!"  # noqa: S105
PASSWORD = "Bench-pass-1"  # noqa: S105 (benchmark accounts on a throwaway database)
HOST = "127.0.0.1"
REQUEST_TIMEOUT_S = 30
OPTION_KEYS = ["1", "2", "3", "4"]

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
SEQ_RE = re.compile(r'data-seq="(\d+)"')
#: An exam item and how its type says the page reads the answer (data-answer).
ITEM_RE = re.compile(
    r'<section class="exam-item" id="item-\d+" data-item="(\d+)"[^>]*>\s*'
    r'<div class="question" data-answer="(\w+)"'
)


# --- the exam, built directly with the models -------------------------------------------


def make_questions() -> dict[str, list]:
    """Create 20 single-choice, 5 multiple-choice and 5 true/false published questions."""
    from question_bank import categories
    from question_bank.services import QuestionInput, create_question

    cat = categories.ensure_path(["业务知识", "基准测试"])
    options = [{"key": k, "html": f"做法{k}"} for k in OPTION_KEYS]
    made: dict[str, list] = {"single_choice": [], "multiple_choice": [], "true_false": []}
    for i in range(20):
        body = {"options": options, "correct": [OPTION_KEYS[i % 4]]}
        inp = QuestionInput("single_choice", cat.id, f"第{i + 1}题：客户来电挂失时应当？", body)
        made["single_choice"].append(create_question(inp, None, "published"))
    for i in range(5):
        body = {"options": options, "correct": ["1", OPTION_KEYS[1 + i % 3]]}
        inp = QuestionInput("multiple_choice", cat.id, f"多选{i + 1}：敏感信息包括？", body)
        made["multiple_choice"].append(create_question(inp, None, "published"))
    for i in range(5):
        inp = QuestionInput(
            "true_false", cat.id, f"判断{i + 1}：可以索要密码。", {"correct": i % 2 == 0}
        )
        made["true_false"].append(create_question(inp, None, "published"))
    return made


def build_exam(n_candidates: int) -> tuple[int, list[str]]:
    """Create the paper, an open sitting and its candidates; return the sitting id and users."""
    from exams.models import Candidate, Paper, PaperSection, SectionQuestion, Sitting, SittingKind
    from lms.accounts import passwords
    from lms.accounts.models import Role
    from lms.accounts.services import create_user
    from lms.extensions import db
    from lms.timeutil import utcnow

    points = {"single_choice": 2, "multiple_choice": 4, "true_false": 2}
    paper = Paper(title="基准月度考试", time_limit_minutes=60, pass_mark=Decimal(42))
    paper.shuffle_options = True
    for n, (qtype, questions) in enumerate(make_questions().items(), start=1):
        section = PaperSection(position=n, qtype=qtype, points_per_question=Decimal(points[qtype]))
        for pos, q in enumerate(questions, start=1):
            section.items.append(SectionQuestion(question_id=q.id, position=pos))
        paper.sections.append(section)
    # One shared hash, as lms.demo does: hashing each account apart is wasted setup time.
    shared_hash = passwords.hash_password(PASSWORD)
    usernames = [f"b{i:04d}" for i in range(1, n_candidates + 1)]
    users = [
        create_user(
            name,
            f"考生{name}",
            [Role.AGENT],
            "",
            password_hash=shared_hash,
            must_change_password=False,
        )
        for name in usernames
    ]
    now = utcnow()
    sitting = Sitting(
        title="基准考试场次",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=now - timedelta(minutes=10),
        closes_at=now + timedelta(hours=3),
    )
    sitting.candidates = [Candidate(user_id=u.id) for u in users]
    db.session.add(sitting)
    db.session.commit()
    return sitting.id, usernames


def recreate_tables() -> None:
    """Empty the benchmark's database and create the current tables.

    On PostgreSQL the schema is dropped whole: drop_all with today's models cannot drop a
    database an older version of the app created (a constraint it no longer knows of).
    """
    from sqlalchemy import text

    from lms.extensions import db

    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        db.drop_all()
    db.create_all()


def refuse_if_in_use() -> None:
    """Stop before drop_all if others use the PostgreSQL database (a test run, say): wiping it
    under them breaks their run, and their drop_all would break this one."""
    from sqlalchemy import text

    from lms.extensions import db

    if db.engine.dialect.name != "postgresql":
        return
    others = db.session.scalar(
        text(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    db.session.rollback()
    if others:
        sys.exit(
            f"{others} other connection(s) use this database: give the benchmark a database of "
            "its own (createdb bench), or pass --shared-database to wipe it anyway"
        )


# --- the server ---------------------------------------------------------------------------


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


ACCESS_LOG = "access.log"


def server_times(tmp: str, path_suffix: str, by_seconds: float | None = None):
    """Return the time (ms) the server spent on each request whose path ends so, as its
    access log says: from reading the request to sending the answer, without the time the
    request waited for a worker thread nor the client's own delays.

    ``by_seconds``: return instead the p99 of each window of that many seconds from the
    first such request (the access log's clock has whole seconds).
    """
    out, at = [], []
    log = Path(tmp) / ACCESS_LOG
    if not log.exists():
        return out
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(" ")
        if len(parts) >= 3 and parts[0].endswith(path_suffix) and parts[2].isdigit():
            out.append(int(parts[2]) / 1000)
            at.append(_logged_at(parts[3:]))
    if by_seconds is None:
        return out
    points = [(when, ms) for when, ms in zip(at, out, strict=True) if when is not None]
    return p99_by_window(points, by_seconds)


def _logged_at(fields: list[str]) -> float | None:
    """Return the epoch seconds of an access-log line's ``[02/Dec/2026:22:13:20 +0000]``."""
    try:
        stamp = datetime.strptime(" ".join(fields).strip(), "[%d/%b/%Y:%H:%M:%S %z]")
    except ValueError:
        return None
    return stamp.timestamp()


def start_server(
    url: str,
    tmp: str,
    port: int,
    workers: int,
    threads: int,
    proxied: bool = False,
    name: str = "gunicorn",
    nice: int = 0,
):
    """Start gunicorn on 127.0.0.1:port; return the process once /healthz answers
    (``proxied``: behind one proxy, bench._proxy's nginx, trusted as production trusts it;
    ``name``: of its output's log; ``nice``: added to its CPU niceness, as systemd's Nice=).
    Several servers share the access log (appended a line at a time)."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    cmd = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
    cmd += ["-w", str(workers), "--threads", str(threads), "-b", f"{HOST}:{port}"]
    # Each request's path, status, time inside the server (µs) and when: see server_times().
    cmd += [
        "--access-logfile",
        str(Path(tmp) / ACCESS_LOG),
        "--access-logformat",
        "%(U)s %(s)s %(D)s %(t)s",
    ]
    cmd += ["wsgi:app"]
    env = dict(
        os.environ,
        DATABASE_URL=url,
        SECRET_KEY=SECRET_KEY,
        LMS_INSTANCE_PATH=tmp,
        LMS_ARGON2_TIME_COST="1",
        LMS_ARGON2_MEMORY_KIB="1024",
        # Plain HTTP on 127.0.0.1: production's Secure cookies would never be sent back.
        LMS_ENV="development",
    )
    if proxied:
        env["LMS_PROXY_HOPS"] = "1"
    log = open(Path(tmp) / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=(lambda: os.nice(nice)) if nice else None,
    )
    proc.log = log
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {proc.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    stop_server(proc)
    raise RuntimeError(f"gunicorn did not answer /healthz within 60 s; see {log.name}")


def stop_server(proc) -> None:
    """Stop gunicorn gracefully, or kill it if it lingers."""
    stop_process(proc, timeout=30)
    proc.log.close()


# --- the clients --------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPErrorProcessor):
    """Hand every response back as it is: a 302 is measured, not followed."""

    def http_response(self, request, response):
        return response


class RequestFailed(Exception):
    """A request failed: a status other than 2xx/3xx, a timeout or a refused connection."""


@dataclass
class Stats:
    """What all candidates measured, under one lock."""

    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    save_ms: list = field(default_factory=list)
    submit_ms: list = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    save_phase_start: float = 0.0
    save_phase_end: float = 0.0

    def error(self, what: str) -> None:
        """Count one failed request."""
        with self.lock:
            self.errors[what[:120]] += 1


class Client:
    """One candidate's browser: a cookie jar and the requests it sends."""

    def __init__(self, base: str, stats: Stats):
        self.base = base
        self.stats = stats
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(CookieJar()), _NoRedirect()
        )

    def send(self, path: str, form=None, payload=None, token=None) -> tuple[int, str, str, float]:
        """Send one request; return status, body, Location and milliseconds taken."""
        if time.monotonic() > self.stats.deadline:
            raise RequestFailed("run deadline passed")
        headers, data = {}, None
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
        elif payload is not None:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json", "X-CSRFToken": token}
        # Always http://127.0.0.1:<port>: no other scheme reaches here.
        req = urllib.request.Request(self.base + path, data=data, headers=headers)  # noqa: S310
        start = time.perf_counter()
        try:
            with self.opener.open(req, timeout=REQUEST_TIMEOUT_S) as resp:
                body = resp.read().decode("utf-8", "replace")
                status, location = resp.status, resp.headers.get("Location", "")
        except (OSError, urllib.error.URLError) as exc:
            raise RequestFailed(f"{'POST' if data else 'GET'} {path}: {exc!r}") from exc
        ms = (time.perf_counter() - start) * 1000
        if not 200 <= status < 400:
            raise RequestFailed(f"{status} from {path.split('/')[1:3]}: {body[:80]!r}")
        return status, body, location, ms


@dataclass
class Candidate:
    """One simulated exam-taker and what the server acknowledged to it."""

    username: str
    client: Client
    rnd: random.Random
    attempt_path: str = ""
    token: str = ""
    seq: int = 0
    items: list = field(default_factory=list)
    answers: dict = field(default_factory=dict)
    acked: int = 0
    acked_seq: int = 0
    failed_saves: int = 0
    submitted: bool = False

    def open_exam(self, sitting_id: int) -> None:
        """Sign in, start the attempt and read the exam page as a browser would."""
        c = self.client
        _, page, _, _ = c.send("/login")
        form = {"username": self.username, "password": PASSWORD, "csrf_token": csrf(page)}
        status, _, _, _ = c.send("/login", form=form)
        if status != 302:
            raise RequestFailed(f"sign-in refused ({status})")
        _, page, _, _ = c.send("/exam/")  # the candidate's list, where the start button is
        _, _, location, _ = c.send(
            f"/exam/sittings/{sitting_id}/start", form={"csrf_token": csrf(page)}
        )
        self.attempt_path = urllib.parse.urlsplit(location).path
        _, page, _, _ = c.send(self.attempt_path)
        self.token = csrf(page)
        self.seq = int(SEQ_RE.search(page).group(1))
        self.items = [(item, kind, options_of(page, item)) for item, kind in ITEM_RE.findall(page)]
        if len(self.items) != 30:
            raise RequestFailed(f"exam page shows {len(self.items)} questions, not 30")

    def save(self) -> float:
        """Change one answer and save it; return the end time."""
        item, kind, options = self.rnd.choice(self.items)
        answer = pick_answer(kind, options, self.rnd)
        self.seq += 1
        payload = {"seq": self.seq, "answers": {item: answer}, "flags": {}}
        try:
            status, body, location, ms = self.client.send(
                f"{self.attempt_path}/save", payload=payload, token=self.token
            )
            if status != 200:
                raise RequestFailed(f"save answered {status} to {location!r}")
            if not json.loads(body).get("ok"):
                raise RequestFailed(f"save refused: {body[:80]}")
        except (RequestFailed, ValueError) as exc:
            self.failed_saves += 1
            self.client.stats.error(str(exc))
            return time.perf_counter()
        with self.client.stats.lock:
            self.client.stats.save_ms.append(ms)
        self.answers[item] = answer
        self.acked, self.acked_seq = self.acked + 1, self.seq
        return time.perf_counter()

    def submit(self) -> None:
        """Submit the exam (a form post answered by a redirect to the result)."""
        form = {"csrf_token": self.token}
        _, _, location, ms = self.client.send(f"{self.attempt_path}/submit", form=form)
        if not location.endswith("/result"):
            raise RequestFailed(f"submit went to {location!r}, not the result")
        with self.client.stats.lock:
            self.client.stats.submit_ms.append(ms)
        self.submitted = True


def csrf(page: str) -> str:
    """Return the CSRF token of a page's form."""
    found = CSRF_RE.search(page)
    if not found:
        raise RequestFailed("no csrf_token on the page")
    return found.group(1)


def options_of(page: str, item: str) -> list[str]:
    """Return the option values of one exam item's inputs, in the order shown."""
    return re.findall(rf'name="q{item}" value="([^"]*)"', page)


def pick_answer(kind: str, options: list[str], rnd: random.Random):
    """Return a random answer of the item's kind, as the exam page's script sends it."""
    if kind == "choices":
        return sorted(rnd.sample(options, rnd.randint(1, len(options))))
    return rnd.choice(options)


def run_candidate(cand: Candidate, sitting_id: int, saves: int, gates) -> None:
    """Take the exam: everyone signs in together, then everyone saves and submits together."""
    go, exam = gates
    stats = cand.client.stats
    ready = False
    try:
        go.wait(timeout=60)
        cand.open_exam(sitting_id)
        ready = True
    except Exception as exc:  # any failure counts as an error, the run goes on
        stats.error(f"open exam: {exc!r}")
    # If someone got stuck the barrier breaks: the others go on rather than wait for ever.
    with contextlib.suppress(threading.BrokenBarrierError):
        exam.wait(timeout=max(1.0, stats.deadline - time.monotonic()))
    if not ready:
        return
    end = time.perf_counter()
    for _ in range(saves):
        end = cand.save()
    with stats.lock:
        stats.save_phase_end = max(stats.save_phase_end, end)
    try:
        cand.submit()
    except RequestFailed as exc:
        stats.error(str(exc))


def run_all(base: str, sitting_id: int, usernames: list[str], saves: int, budget_s: float):
    """Run every candidate on its own thread; return the candidates and the stats."""
    stats = Stats(deadline=time.monotonic() + budget_s)
    cands = [
        Candidate(name, Client(base, stats), random.Random(n)) for n, name in enumerate(usernames)
    ]

    def saves_begin():
        stats.save_phase_start = time.perf_counter()

    # A barrier needs every party waiting at once, hence one thread per candidate rather
    # than a smaller pool: the server then really sees N simultaneous exam-takers.
    gates = (threading.Barrier(len(cands)), threading.Barrier(len(cands), action=saves_begin))
    with ThreadPoolExecutor(max_workers=len(cands)) as pool:
        for f in [pool.submit(run_candidate, c, sitting_id, saves, gates) for c in cands]:
            f.result()
    return cands, stats


# --- checking the database ----------------------------------------------------------------


def as_shown(item) -> object:
    """Return an item's stored response as the page posts it: option keys as shown letters."""
    response, order = item.response, item.option_order
    if isinstance(response, bool):  # true/false posts "true" or "false"
        return "true" if response else "false"
    if not order or response is None:
        return response
    letter = {key: "ABCDEFGHIJ"[n] for n, key in enumerate(order)}
    return [letter[k] for k in response] if isinstance(response, list) else letter[response]


def same_answer(stored, sent) -> bool:
    """Tell whether a stored response is the answer the client sent."""
    if isinstance(sent, list):
        return isinstance(stored, list) and sorted(stored) == sorted(sent)
    return stored == sent


def verify(sitting_id: int, cands: list[Candidate]) -> list[str]:
    """Return what the database shows wrong against what the clients were told."""
    from sqlalchemy import func, select

    from exams.models import Attempt, AttemptState
    from lms.accounts.models import User
    from lms.audit.models import AuditEvent
    from lms.extensions import db

    problems = []
    finishes = dict(
        db.session.execute(
            select(AuditEvent.target_id, func.count())
            .where(AuditEvent.action == "attempt.finish", AuditEvent.target_type == "ex_attempts")
            .group_by(AuditEvent.target_id)
        ).all()
    )
    rows = db.session.execute(
        select(User.username, Attempt)
        .join(Attempt, Attempt.user_id == User.id)
        .where(Attempt.sitting_id == sitting_id)
    ).all()
    by_user: dict[str, list] = {}
    for username, attempt in rows:
        by_user.setdefault(username, []).append(attempt)
    for cand in cands:
        attempts = by_user.get(cand.username, [])
        if len(attempts) != 1:
            problems.append(f"{cand.username}: {len(attempts)} attempts")
            continue
        a = attempts[0]
        if a.state != AttemptState.FINISHED or a.finish_reason != "submitted":
            problems.append(f"{cand.username}: attempt {a.state} ({a.finish_reason})")
        if finishes.get(str(a.id), 0) != 1:
            problems.append(f"{cand.username}: finished {finishes.get(str(a.id), 0)} times")
        # Every save acknowledged moved seq by one; a failed save still used up its number.
        expected = cand.acked if not cand.failed_saves else cand.acked_seq
        if a.seq != expected:
            problems.append(
                f"{cand.username}: seq {a.seq} in the database, {expected} acknowledged"
            )
        stored = {str(i.id): as_shown(i) for i in a.items}
        wrong = [k for k, v in cand.answers.items() if not same_answer(stored.get(k), v)]
        if wrong:
            problems.append(f"{cand.username}: {len(wrong)} answers differ from the last save")
    return problems


# --- main ---------------------------------------------------------------------------------


def figures_of(args, stats: Stats, cands: list[Candidate], url: str) -> dict:
    """Return the benchmark's figures."""
    save_ms, submit_ms = stats.save_ms or [0.0], stats.submit_ms or [0.0]
    phase_s = max(stats.save_phase_end - stats.save_phase_start, 1e-9)
    return {
        "candidates": args.candidates,
        "saves_total": len(stats.save_ms),
        **summarise("save", save_ms),
        **summarise("submit", submit_ms),
        "save_mean_ms": round(statistics.fmean(save_ms), 3),
        "saves_per_s": round(len(stats.save_ms) / phase_s, 1),
        "save_phase_s": round(phase_s, 2),
        "submits_total": sum(c.submitted for c in cands),
        "errors": sum(stats.errors.values()),
        "database": url.split(":", 1)[0],
        "workers": f"{args.workers}x{args.threads}",
    }


def main() -> None:
    """Run the benchmark."""
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--candidates", type=int, default=200)
    p.add_argument("--saves", type=int, default=10, help="saves per candidate")
    p.add_argument("--database", default=None, help="database URL (default: SQLite in a temp dir)")
    p.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=8, help="threads per gunicorn worker")
    p.add_argument("--budget", type=float, default=150, help="seconds the clients may run")
    p.add_argument(
        "--shared-database",
        action="store_true",
        help="wipe the PostgreSQL database even while other clients are connected to it",
    )
    args = p.parse_args()

    tmp = tempfile.mkdtemp(prefix="bench-exams-")
    os.environ["LMS_INSTANCE_PATH"] = tmp
    from lms import create_app
    from lms.extensions import db

    url = args.database or f"sqlite:///{tmp}/bench.db"
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": SECRET_KEY,
            # Same cost as the server's, so sign-in does not re-hash every account.
            "PASSWORD_HASH_TIME_COST": 1,
            "PASSWORD_HASH_MEMORY_COST": 1024,
        }
    )
    with app.app_context():
        if not args.shared_database:
            refuse_if_in_use()
        recreate_tables()
        sitting_id, usernames = build_exam(args.candidates)
        db.session.remove()
        db.engine.dispose()  # the server's workers open their own connections

    port = free_port()
    server = start_server(url, tmp, port, args.workers, args.threads)
    try:
        cands, stats = run_all(
            f"http://{HOST}:{port}", sitting_id, usernames, args.saves, args.budget
        )
    finally:
        stop_server(server)

    with app.app_context():
        problems = verify(sitting_id, cands)
        db.session.remove()
        db.engine.dispose()
    figures = figures_of(args, stats, cands, url)
    print(
        f"bench.exams ({figures['database']}, gunicorn {figures['workers']} on {HOST}, "
        f"{args.candidates} simultaneous candidates, {args.saves} saves each)"
    )
    report(figures, args.json)
    for what, n in stats.errors.most_common(5):
        print(f"  error x{n}: {what}")
    if problems:
        print(f"FAILED: the database disagrees with the clients in {len(problems)} ways, e.g.:")
        for line in problems[:10]:
            print(f"  {line}")
        print(f"  (server log kept in {tmp}/gunicorn.log)")
        sys.exit(1)
    acked = sum(c.acked for c in cands)
    print(
        f"verified: {len(cands)}/{len(cands)} attempts finished exactly once (one attempt.finish "
        f"each); Attempt.seq matches the {acked} saves acknowledged, and the stored answers "
        "match the last ones saved"
    )
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
