"""The candidates' side of bench.exam_load: a browser's requests, as the exam page sends them.

Each candidate has its own cookie jar and connection; everything it sends to the save and
submit endpoints is recorded (seq, answers, HTTP status, acknowledged or not) for the check.
The client is aiohttp: it shares the machine's cores with the server it measures, and costs
about a sixth of the CPU per request that httpx does (0.7 against 4.1 ms, measured here).
"""

import json
import random
import re
import ssl
import time
from collections import Counter
from dataclasses import dataclass, field

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from bench import _exam_db
from bench.exams import CSRF_RE, ITEM_RE, SEQ_RE

REQUEST_TIMEOUT_S = 30
KINDS = ("start", "exam_page", "save", "submit")


@dataclass
class Stats:
    """What every candidate measured (one event loop: no lock needed)."""

    ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    #: When each timed request was sent (time.monotonic()), in the order of ``ms``.
    sent_at: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    #: Errors by kind, snake_case (``save_http_500``, ``start_timeout``), and one example each.
    errors: Counter = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    requests: int = 0
    #: Requests sent again on a new connection after a kept-alive one was closed under them.
    reconnects: int = 0
    #: How late the client's event loop woke, every 0.1 s of the measured phase (ms).
    loop_lag_ms: list[float] = field(default_factory=list)
    #: (time.monotonic(), kind) of every error, in order: bench.exam_faults tells them apart.
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def error(self, key: str, example: str) -> None:
        """Count one error of kind ``key``."""
        self.errors[key] += 1
        self.timeline.append((time.monotonic(), key))
        self.examples.setdefault(key, example)


class Failed(Exception):
    """A request got no usable answer; the message is its error kind."""


async def send(client: "Browser", stats: Stats | None, kind: str, method: str, path: str, **kw):
    """Send one request; time it under ``kind`` and count its error, if any, by kind.

    ``stats`` is None before the measured phase: nothing is timed or counted then.
    """
    start, sent_at = time.perf_counter(), time.monotonic()
    try:
        try:
            resp = await client.request(method, path, **kw)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError):
            # The server closed a kept-alive connection as it was reused: a browser sends the
            # request again on a new one (every request here is safe to repeat: a save by its
            # seq and digest, a start by the open attempt, a submit by finalising once).
            if stats is not None:
                stats.reconnects += 1
            resp = await client.request(method, path, **kw)
    except TimeoutError as exc:
        raise _failed(stats, f"{kind}_timeout", f"{method} {path}") from exc
    except aiohttp.ClientError as exc:
        raise _failed(stats, f"{kind}_connection_error", f"{type(exc).__name__}: {exc}") from exc
    if stats is not None:
        stats.requests += 1
        stats.ms[kind].append((time.perf_counter() - start) * 1000)
        stats.sent_at.setdefault(kind, []).append(sent_at)
    return resp


def _failed(stats: Stats | None, key: str, example: str) -> "Failed":
    """Count a request that got no answer and return its exception."""
    if stats is not None:
        stats.requests += 1
        stats.error(key, example)
    return Failed(f"{key}: {example}")


def bad_status(stats: Stats | None, kind: str, resp: "Reply", why: str = "") -> Failed:
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
    client: "Browser"
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
        self.attempt = URL(location).path
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
        await self.post_tracked(stats, "save", f"{self.attempt}/save", body, record)
        self.sent.update(answers)

    async def post_tracked(self, stats: Stats, kind: str, path: str, body: str, record: dict):
        """POST a JSON save (or snapshot), noting in ``record`` when it was sent and answered
        (time.monotonic(), for bench.exam_faults' recovery), its status and whether the
        server acknowledged it; raise Failed when it did not."""
        headers = {"Content-Type": "application/json", "X-CSRFToken": self.token}
        record["sent_at"] = time.monotonic()
        try:
            resp = await send(self.client, stats, kind, "POST", path, content=body, headers=headers)
        finally:
            record["answered_at"] = time.monotonic()
        record["status"] = resp.status_code
        try:
            ok = resp.status_code == 200 and resp.json().get("ok") is True
        except ValueError:
            ok = False
        if not ok:
            raise bad_status(stats, kind, resp, "not acknowledged")
        record["acked"] = True

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


@dataclass
class Reply:
    """An answer, read whole: status, headers, body."""

    status_code: int
    headers: CIMultiDict  # read case-insensitively, as HTTP's are
    text: str

    def json(self):
        """Return the body as JSON (ValueError when it is not)."""
        return json.loads(self.text)


class Browser:
    """A browser's side of the exam: its own cookies, at most two connections, no redirects
    followed (the candidate code reads each ``Location``)."""

    def __init__(self, base: str, ssl_context: ssl.SSLContext | None = None):
        self.base = URL(base)
        self.ssl = ssl_context
        self.session: aiohttp.ClientSession | None = None

    def _session(self) -> aiohttp.ClientSession:
        # Made on first use, inside the event loop that will run it.
        if self.session is None:
            self.session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=2, ssl=self.ssl or False),
                # unsafe: keep cookies set by 127.0.0.1 (an IP address, refused by default).
                cookie_jar=aiohttp.CookieJar(unsafe=True),
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_S),
                trust_env=False,
            )
        return self.session

    async def request(self, method: str, path: str, *, data=None, content=None, headers=None):
        """Send one request and read its answer whole."""
        async with self._session().request(
            method,
            self.base.join(URL(path)),
            data=content if content is not None else data,
            headers=headers,
            allow_redirects=False,
        ) as resp:
            text = await resp.text()
            return Reply(resp.status, CIMultiDict(resp.headers), text)

    async def get(self, path: str, **kw) -> Reply:
        """GET ``path``."""
        return await self.request("GET", path, **kw)

    async def post(self, path: str, **kw) -> Reply:
        """POST ``path``."""
        return await self.request("POST", path, **kw)

    async def aclose(self) -> None:
        """Close its connections."""
        if self.session is not None:
            await self.session.close()

    async def __aenter__(self) -> "Browser":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()


def new_client(base: str, ssl_context: ssl.SSLContext) -> Browser:
    """Return a browser-like client: its own cookies and at most two connections."""
    return Browser(base, ssl_context)
