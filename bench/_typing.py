"""The typing mode of bench.exam_load: candidates typing at 60-120 字/分钟 with snapshots.

Each candidate starts the sitting's typing test, reads the passage off the page, and
every snapshot-every seconds (+-20 %) sends the whole text typed so far, as typing.js
does, with the input counters a pinyin input method produces; after duration seconds it
finishes with its last text and opens the result page the finish leads to, as a browser
follows its redirect. The check then reads the database: every snapshot the server
acknowledged must be on record with its exact text (rebuilt from the kept deltas), and
every attempt finished exactly once with the last text acknowledged (or a later one).
"""

import html
import json
import re
import time
from dataclasses import dataclass, field

from yarl import URL

from bench._exam_client import Candidate, Failed, Stats, bad_status, csrf, send

KINDS = ("start", "typing_page", "snapshot", "finish", "result")
SPAN_RE = re.compile(r"<span>([^<]*)</span>")
SEQ_RE = re.compile(r'data-seq="(\d+)"')
PASSAGES = 24
#: Text of the benchmark's passages, built from phrases an agent types every day.
PHRASES = [
    "您好，这里是客户服务中心，请问有什么可以帮您？",
    "请您提供银行卡号和预留手机号码，我们为您核实身份。",
    "挂失后二十四小时内生效，补卡需要三个工作日。",
    "为了您的资金安全，请不要向任何人透露密码和验证码。",
    "您的转账已经受理，预计两小时内到账，请留意短信通知。",
    "信用卡账单日为每月五日，还款日为每月二十三日。",
]


def passage_text(n: int) -> str:
    """Return the n-th benchmark passage: the phrases, rotated, about 140 characters."""
    k = n % len(PHRASES)
    return "".join(PHRASES[k:] + PHRASES[:k])


@dataclass
class Typist(Candidate):
    """A candidate at the typing test: the passage, the pace, and every snapshot sent."""

    passage: str = ""
    cpm: float = 90.0
    typed: str = ""
    began: float = 0.0
    evidence: dict = field(default_factory=dict)

    async def start(self, stats: Stats, sitting_id: int) -> None:
        """Press the start button, then load the typing page and read the passage."""
        url = f"/exam/typing/sittings/{sitting_id}/start"
        resp = await send(self.client, stats, "start", "POST", url, data={"csrf_token": self.token})
        location = resp.headers.get("location", "")
        if resp.status_code != 302 or "/exam/typing/attempts/" not in location:
            raise bad_status(stats, "start", resp, location or "no redirect")
        self.attempt = URL(location).path
        resp = await send(self.client, stats, "typing_page", "GET", self.attempt)
        if resp.status_code != 200:
            raise bad_status(stats, "typing_page", resp)
        page = resp.text
        try:
            self.token = csrf(page)
        except Failed as exc:
            raise bad_status(stats, "typing_page", resp, str(exc)) from exc
        self.passage = "".join(html.unescape(c) for c in SPAN_RE.findall(page))
        self.seq = int(SEQ_RE.search(page).group(1))
        self.cpm = self.rnd.uniform(60, 120)
        self.began = time.monotonic()
        self.evidence = {"keys": 0, "compositions": 0, "deletions": 0, "pastes": 0}

    def advance(self) -> None:
        """Type what the pace allows by now, as a pinyin typist does (a few keys per char)."""
        due = int(self.cpm * (time.monotonic() - self.began) / 60)
        new = self.passage[len(self.typed) : due]
        if new:
            self.typed += new
            self.evidence["keys"] += 4 * len(new)
            self.evidence["compositions"] += max(1, len(new) // 2)

    async def snapshot(self, stats: Stats) -> None:
        """Send the whole text typed so far (typing.js's snapshot)."""
        self.advance()
        self.seq += 1
        record = {"seq": self.seq, "text": self.typed, "status": None, "acked": False}
        self.sends.append(record)
        ms = int((time.monotonic() - self.began) * 1000)
        body = json.dumps(
            {"seq": self.seq, "text": self.typed, "client_ms": ms, "evidence": self.evidence}
        )
        await self.post_tracked(stats, "snapshot", f"{self.attempt}/snapshot", body, record)

    async def submit(self, stats: Stats) -> None:
        """Finish with the last text in ``final``, as the page's finish does, then open the
        result page it leads to (scored again there, with the errors in place)."""
        self.advance()
        self.seq += 1
        record = {
            "seq": self.seq,
            "text": self.typed,
            "status": None,
            "acked": False,
            "final": True,
        }
        self.sends.append(record)
        ms = int((time.monotonic() - self.began) * 1000)
        final = json.dumps(
            {"seq": self.seq, "text": self.typed, "client_ms": ms, "evidence": self.evidence}
        )
        form = {"csrf_token": self.token, "final": final}
        # As typing.js asks: the result page's address as JSON, then the page itself.
        url, accept = f"{self.attempt}/finish", {"Accept": "application/json"}
        resp = await send(self.client, stats, "finish", "POST", url, data=form, headers=accept)
        record["status"] = resp.status_code
        try:
            location = resp.json().get("location", "") if resp.status_code == 200 else ""
        except ValueError:
            location = ""
        if not location.endswith("/result"):
            raise bad_status(stats, "finish", resp, location or "no result address")
        record["acked"] = True
        resp = await send(self.client, stats, "result", "GET", location)
        if resp.status_code != 200:
            raise bad_status(stats, "result", resp)

    async def save(self, stats: Stats) -> None:
        """The exam loop's periodic request: a snapshot."""
        await self.snapshot(stats)


def seed_typing(minutes_needed: float) -> None:
    """Add the typing test and its passages to the seeded sitting (inside its app context)."""
    import math

    from sqlalchemy import select

    from exams.models import Sitting
    from exams.typing.models import Passage, PassagePurpose, TypingTest
    from lms.extensions import db

    for n in range(PASSAGES):
        db.session.add(
            Passage(title=f"负载文章{n + 1}", text=passage_text(n), purpose=PassagePurpose.EXAM)
        )
    test = TypingTest(title="负载打字测试", duration_minutes=max(3, math.ceil(minutes_needed)))
    sitting = db.session.scalar(select(Sitting))
    sitting.paper = None
    sitting.typing_test = test
    db.session.commit()


def check_typing(sitting_id: int, log: dict[str, list[dict]]):
    """Compare the typing attempts with what the clients were told; return (lost, bad, details)."""
    from sqlalchemy import func, select
    from sqlalchemy.orm import selectinload

    from exams.typing.models import TypingAttempt
    from lms.accounts.models import User
    from lms.audit.models import AuditEvent
    from lms.extensions import db

    finishes = dict(
        db.session.execute(
            select(AuditEvent.target_id, func.count())
            .where(AuditEvent.action == "typing.finish")
            .where(AuditEvent.target_type == "ex_typing_attempts")
            .group_by(AuditEvent.target_id)
        ).all()
    )
    rows = db.session.execute(
        select(User.username, TypingAttempt)
        .join(TypingAttempt, TypingAttempt.user_id == User.id)
        .where(TypingAttempt.sitting_id == sitting_id)
        .options(selectinload(TypingAttempt.snapshots))
    ).all()
    by_user: dict[str, list] = {name: [] for name in log}
    for username, attempt in rows:
        by_user.setdefault(username, []).append(attempt)
    lost, bad, details = 0, 0, []
    for username, attempts in by_user.items():
        if len(attempts) != 1:
            bad += 1
            details.append(f"{username}: {len(attempts)} typing attempts, not 1")
            continue
        a = attempts[0]
        if a.state != "finished" or finishes.get(str(a.id), 0) != 1:
            bad += 1
            details.append(
                f"{username}: attempt {a.id} {a.state}, finished {finishes.get(str(a.id), 0)}x"
            )
        texts, text = {}, ""
        for snap in a.snapshots:
            text = text[: snap.kept] + snap.added
            texts[snap.seq] = text
        sends = log.get(username, [])
        for send_ in sends:
            if (
                send_["acked"]
                and not send_.get("final")
                and texts.get(send_["seq"]) != send_["text"]
            ):
                lost += 1
                details.append(f"{username}: snapshot {send_['seq']} acknowledged, not on record")
        acked = [s for s in sends if s["acked"]]
        later = [s["text"] for s in sends[sends.index(acked[-1]) :]] if acked else [""]
        if a.text not in later:
            lost += 1
            details.append(f"{username}: final text {len(a.text)} chars, not what was sent last")
    return lost, bad, details
