"""The typing engine: the one module that starts, records, finishes and scores typing attempts.

The server keeps the clock: an attempt starts when its page is first delivered, and its
deadline is the start plus the allowed minutes (and the candidate's extra time), capped by
the window's close. The page sends the whole typed text with a snapshot at least every five
seconds; each is one conditional UPDATE (``WHERE seq < new``), so a replayed or late
snapshot changes nothing, and finishing is one conditional UPDATE on the state, so an
attempt finishes exactly once however many requests race. The result is computed here from
the received text and the server's times (exams.typing.scoring), and held for a trainer
when it looks impossible (exams.typing.plausibility).
"""

import functools
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, bindparam, func, or_, select, update
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from exams import events, results, rules
from exams.models import Candidate, Sitting
from exams.typing import judging, scoring
from exams.typing.judging import rules_of, seconds_used  # noqa: F401 (the pages use them)
from exams.typing.models import (
    Passage,
    PassageKind,
    PassagePurpose,
    TypingAttempt,
    TypingReview,
    TypingSnapshot,
    TypingState,
    TypingTest,
)
from lms import audit
from lms.accounts import sessions
from lms.accounts.models import User, UserSession
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.timeutil import utcnow

#: Snapshots still accepted this long after the deadline (already in flight at time-up).
GRACE = timedelta(seconds=10)
#: Longest text a snapshot may carry (the scorer's limit).
MAX_TEXT = scoring.MAX_CHARS

START_MESSAGES = {
    "open_attempt": _l("You already have a typing test in progress."),
    "not_open": _l("This exam has not opened yet."),
    "closed": _l("This exam has closed."),
    "no_attempts_left": _l("You have used all your attempts."),
    "no_passage": _l("There is no passage for this test yet. Ask a trainer to add one."),
    "all_heard": _l(
        "You have had every recording of this test in this exam already. Ask a trainer "
        "to add one before you sit it again."
    ),
    "too_late": _l(
        "Too little time is left before this exam closes for the typing test's minutes."
    ),
}


class StartRefused(ValidationFailed):
    """Raise when a typing attempt may not start; ``reason`` is the rule's code."""

    def __init__(self, reason: str):
        super().__init__(str(START_MESSAGES[reason]))
        self.reason = reason


#: The rules a practice run uses, and the defaults of a new typing test (DOMAIN 第四条).
DEFAULT_RULES = {
    "duration_minutes": 10,
    "whole_passage": False,
    "pass_speed": 60,
    "min_accuracy": Decimal(95),
    "error_penalty": Decimal(0),
    "speed_ceiling": 250,
}


def target_text(passage: Passage, whole: bool, minutes: int, ceiling: int) -> str:
    """Return what must be typed: a timed passage repeats until nobody can run out of it."""
    text = passage.text.strip()
    if passage.kind == PassageKind.LISTEN or whole:
        return text
    wanted = ceiling * minutes
    counted = len(scoring.units(text)) or 1
    repeats = -(-(wanted + 1) // counted)  # more than the ceiling × the duration
    return "\n".join([text] * max(1, repeats))[: max(len(text), MAX_TEXT)]


def _seen_by(user_id: int):
    """Return, as a subquery, each passage the user had in any typing attempt and when
    they last had it (``passage_id``, ``last``)."""
    return (
        select(TypingAttempt.passage_id, func.max(TypingAttempt.created_at).label("last"))
        .where(TypingAttempt.user_id == user_id)
        .group_by(TypingAttempt.passage_id)
        .subquery()
    )


def draw_passage(
    user_id: int,
    kind: PassageKind,
    purpose: PassagePurpose,
    rnd: random.Random,
    had_here: frozenset[int] = frozenset(),
) -> Passage | None:
    """Draw an active passage the user has never had; when the pool is used up, the one
    they had longest ago (a random one among equals). One statement: the pool with when
    the user last had each.

    ``had_here``: the passages of the user's earlier attempts in this sitting. None of them
    comes back while another is left; a recording never does (heard, perhaps saved, within
    the same sitting: its transcript could be typed at leisure), so then there is none."""
    seen = _seen_by(user_id)
    rows = db.session.execute(
        select(Passage, seen.c.last)
        .outerjoin(seen, seen.c.passage_id == Passage.id)
        .where(Passage.active.is_(True), Passage.kind == kind, Passage.purpose == purpose)
        .order_by(Passage.id)
    ).all()
    # A passage with nothing the scorer counts (invisible characters only) cannot be scored.
    pool = [(p, last) for p, last in rows if scoring.has_characters(p.text)]
    fresh_here = [(p, last) for p, last in pool if p.id not in had_here]
    if fresh_here or kind == PassageKind.LISTEN:
        pool = fresh_here
    if not pool:
        return None
    unseen = [p for p, last in pool if last is None]
    if unseen:
        return rnd.choice(unseen)
    oldest = min(last for _, last in pool)
    return rnd.choice([p for p, last in pool if last == oldest])


def open_attempt_of(user_id: int) -> TypingAttempt | None:
    """Return the user's typing attempt in progress (exam or practice), if any."""
    return db.session.scalar(
        select(TypingAttempt).where(
            TypingAttempt.user_id == user_id, TypingAttempt.state == TypingState.IN_PROGRESS
        )
    )


def _is_overdue(attempt: TypingAttempt, now: datetime) -> bool:
    """Tell whether an attempt in progress is past its deadline and the grace, or was never
    delivered and is older than a day (what :func:`overdue` selects)."""
    if attempt.deadline_at is not None:
        return attempt.deadline_at < now - GRACE
    return attempt.started_at is None and attempt.created_at < now - timedelta(days=1)


def _open_after_finishing_overdue(
    user_id: int, now: datetime, attempts: list[TypingAttempt] | None = None
) -> bool:
    """Finish the user's overdue attempts; tell whether one in progress is left (one
    statement for both, where finalise_overdue_of and open_attempt_of take two; none when
    ``attempts``, the user's attempts as :func:`attempts_for_start` read them, is given).
    """
    if attempts is None:
        attempts = db.session.scalars(
            select(TypingAttempt).where(
                TypingAttempt.user_id == user_id, TypingAttempt.state == TypingState.IN_PROGRESS
            )
        ).all()
    left = False
    for attempt in attempts:
        if attempt.state != TypingState.IN_PROGRESS:
            continue
        if _is_overdue(attempt, now):
            finish(attempt, now=now)
        else:
            left = True
    return left


def attempts_for_start(user_id: int, sitting_id: int) -> list[TypingAttempt]:
    """Return what a start of the sitting's typing test reads of the user's attempts, in
    one statement: every one in progress (exam or practice) and every one of this sitting."""
    return list(
        db.session.scalars(
            select(TypingAttempt)
            .where(
                TypingAttempt.user_id == user_id,
                or_(
                    TypingAttempt.state == TypingState.IN_PROGRESS,
                    TypingAttempt.sitting_id == sitting_id,
                ),
            )
            .order_by(TypingAttempt.id)
        )
    )


def current_of_sitting(
    attempts: list[TypingAttempt], sitting_id: int, now: datetime
) -> TypingAttempt | None:
    """Return the attempt of the sitting still in progress and in time, from
    :func:`attempts_for_start`'s list: a start goes on with it."""
    for attempt in attempts:
        in_progress = attempt.state == TypingState.IN_PROGRESS
        if in_progress and attempt.sitting_id == sitting_id and not _is_overdue(attempt, now):
            return attempt
    return None


def sitting_for_start(sitting_id: int) -> Sitting | None:
    """Return the sitting a candidate starts the typing test of, with the test, its row
    held KEY SHARE to the end of the request: a trainer switching the test (set_typing_test
    locks the row FOR UPDATE) waits for this start and then sees its attempt, or this start
    waits for the switch and draws under the new test (PostgreSQL; SQLite writes one at a
    time anyway)."""
    return db.session.get(
        Sitting,
        sitting_id,
        options=[joinedload(Sitting.typing_test)],
        with_for_update={"read": True, "key_share": True, "of": Sitting},
    )


def start(
    sitting: Sitting,
    user,
    candidate: Candidate,
    now: datetime | None = None,
    rnd: random.Random | None = None,
    attempts: list[TypingAttempt] | None = None,
) -> TypingAttempt:
    """Start the sitting's typing test for ``candidate``: draw a passage, freeze the rules.

    ``attempts``: :func:`attempts_for_start`'s list, when the caller has read it already.
    """
    now = now or utcnow()
    rnd = rnd or random.SystemRandom()
    test = sitting.typing_test
    if test is None:
        raise ValidationFailed(_("This exam has no typing test."))
    if attempts is None:
        attempts = attempts_for_start(user.id, sitting.id)
    still_open = _open_after_finishing_overdue(user.id, now, attempts)
    mine = [a for a in attempts if a.sitting_id == sitting.id]
    opens, closes = results.window(sitting, candidate)
    used = [a for a in mine if a.review != TypingReview.VOIDED]
    check = rules.can_start(
        now,
        opens,
        closes,
        len(used),
        sitting.attempts_allowed,
        still_open,
    )
    if not check.allowed:
        raise StartRefused(check.reason)
    # The speed is over the minutes allowed: a test the close would cut short is not fair.
    minutes = test.duration_minutes + candidate.extra_minutes
    if closes - now < timedelta(minutes=minutes, seconds=30):
        raise StartRefused("too_late")
    had_here = frozenset(a.passage_id for a in mine)
    passage = draw_passage(user.id, test.kind, PassagePurpose.EXAM, rnd, had_here)
    if passage is None:
        raise StartRefused("all_heard" if had_here else "no_passage")
    frozen = rules_dict(test)
    frozen["duration_minutes"] += candidate.extra_minutes
    attempt = _new_attempt(user.id, passage, frozen, now)
    attempt.sitting_id = sitting.id
    attempt.number = max((a.number for a in mine), default=0) + 1
    db.session.add(attempt)
    db.session.flush()  # the unique (sitting, user, number) stops a double start
    return attempt


def start_practice(
    user, kind: PassageKind = PassageKind.TEXT, now=None, rnd=None, passage=None
) -> TypingAttempt:
    """Start a practice run on a practice passage (never counted): the passage once, at most
    10 minutes, the speed over the time used."""
    now = now or utcnow()
    if _open_after_finishing_overdue(user.id, now):
        raise StartRefused("open_attempt")
    rnd = rnd or random.SystemRandom()
    passage = passage or draw_passage(user.id, kind, PassagePurpose.PRACTICE, rnd)
    if passage is None:
        raise StartRefused("no_passage")
    # Practice is over the passage once, timed by the time used: stop whenever you like.
    attempt = _new_attempt(user.id, passage, {**DEFAULT_RULES, "whole_passage": True}, now)
    attempt.practice = True
    db.session.add(attempt)
    db.session.flush()
    return attempt


def _new_attempt(user_id: int, passage: Passage, rules_: dict, now: datetime) -> TypingAttempt:
    """Return an attempt on ``passage`` with the rules ``rules_`` (see RULES) frozen."""
    return TypingAttempt(
        user_id=user_id,
        passage_id=passage.id,
        created_at=now,
        **rules_,
        target=target_text(
            passage, rules_["whole_passage"], rules_["duration_minutes"], rules_["speed_ceiling"]
        ),
        text="",
    )


def rules_dict(test: TypingTest) -> dict:
    """Return the rules of ``test`` as the attempt freezes them."""
    return {name: getattr(test, name) for name in DEFAULT_RULES}


def deliver(attempt: TypingAttempt, now: datetime | None = None) -> bool:
    """Start the clock when the typing page first reaches the candidate; True the first time."""
    now = now or utcnow()
    if attempt.started_at is not None or attempt.state != TypingState.IN_PROGRESS:
        return False
    deadline = now + timedelta(minutes=attempt.duration_minutes)
    if attempt.sitting_id is not None:
        candidate = _candidate_of(attempt)
        sitting = candidate.sitting if candidate else db.session.get(Sitting, attempt.sitting_id)
        deadline = min(deadline, results.window(sitting, candidate)[1])
    won = db.session.execute(
        update(TypingAttempt)
        .where(TypingAttempt.id == attempt.id, TypingAttempt.started_at.is_(None))
        .values(started_at=now, deadline_at=deadline)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        set_committed_value(attempt, "started_at", now)
        set_committed_value(attempt, "deadline_at", deadline)
    else:
        db.session.refresh(attempt)
    return bool(won)


@dataclass
class SnapshotResult:
    """What came of a snapshot: accepted, or refused with a reason code; and whether the
    attempt is finished now (a whole passage typed, or the time over)."""

    accepted: bool
    reason: str = ""
    finished: bool = False


_cols = TypingAttempt.__table__.c
#: The snapshot's statements, built once on the tables (Core, not the ORM): a whole centre
#: sends one every 5 s each, so nothing is built, coerced or keyed per request, and the
#: attempt is read as one row.
SNAPSHOT_STATE = (
    select(
        _cols.id,
        _cols.state,
        _cols.started_at,
        _cols.deadline_at,
        _cols.seq,
        _cols.text,
        _cols.whole_passage,
        _cols.last_snapshot_at,
        func.length(_cols.target).label("target_length"),
        UserSession.__table__.c.last_seen_at.label("session_seen_at"),
    )
    .select_from(TypingAttempt.__table__)
    .join(UserSession.__table__, UserSession.__table__.c.user_id == _cols.user_id)
    .join(User.__table__, User.__table__.c.id == _cols.user_id)
    .where(_cols.id == bindparam("aid"), *sessions.live_session_clauses(_cols.user_id))
)
TAKE_SNAPSHOT = (
    TypingAttempt.__table__.update()
    .where(
        _cols.id == bindparam("aid"),
        _cols.state == TypingState.IN_PROGRESS,
        # Still at the seq the delta (kept, added) was taken against: one taken since by
        # another request (another window) makes this one stale, or the history kept
        # would rebuild a text nobody typed.
        _cols.seq == bindparam("old_seq"),
    )
    .values(
        text=bindparam("new_text"),
        seq=bindparam("new_seq"),
        last_snapshot_at=bindparam("at", type_=_cols.last_snapshot_at.type),
        evidence=bindparam("ev", type_=_cols.evidence.type),
    )
)
_snap = TypingSnapshot.__table__.c
#: The snapshot's row, from the same binds as TAKE_SNAPSHOT.
SNAPSHOT_ROW = {
    "seq": bindparam("new_seq", type_=_snap.seq.type),
    "received_at": bindparam("at", type_=_snap.received_at.type),
    "client_ms": bindparam("client_ms", type_=_snap.client_ms.type),
    "kept": bindparam("kept", type_=_snap.kept.type),
    "added": bindparam("added", type_=_snap.added.type),
    "length": bindparam("length", type_=_snap.length.type),
    "evidence": bindparam("ev", type_=_snap.evidence.type),
}
KEEP_SNAPSHOT = TypingSnapshot.__table__.insert().values(
    attempt_id=bindparam("aid"), **SNAPSHOT_ROW
)
_taken = TAKE_SNAPSHOT.returning(_cols.id).cte("taken")
#: PostgreSQL: the conditional UPDATE and the INSERT of the snapshot as one statement (a
#: data-modifying WITH), one round trip fewer on the heaviest request; it inserts nothing
#: when the UPDATE took nothing. SQLite has no such WITH: it runs the two in turn.
TAKE_AND_KEEP = (
    TypingSnapshot.__table__.insert()
    .from_select(["attempt_id", *SNAPSHOT_ROW], select(_taken.c.id, *SNAPSHOT_ROW.values()))
    .returning(_snap.id)  # the driver's row count of such a statement is -1
)


def snapshot_state(attempt_id: int, now: datetime):
    """Return the attempt's state as a snapshot needs it, read in the statement that checks
    the cookie's session (None: not signed in, not the user's attempt, or no such one).

    PostgreSQL: the snapshot's statements run outside a transaction (autocommit), two
    round trips fewer (BEGIN, COMMIT) on the heaviest request. Each of them is atomic on
    its own: this read, the conditional write of TAKE_AND_KEEP (which re-checks the state
    and the seq read here) and the session's touch. A snapshot that finishes the attempt
    goes on in a transaction of its own (:func:`_transaction`).
    """
    params = sessions.live_session_params(now)
    if params is None:
        return None
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    row = db.session.connection().execute(SNAPSHOT_STATE, {"aid": attempt_id, **params}).first()
    if row is not None:
        sessions.touch_if_due(params["sid"], row.session_seen_at, now)
    return row


def _transaction() -> None:
    """Leave the snapshot's autocommit (what it wrote is kept): what follows runs in a
    transaction, as every other request's work does."""
    if db.session.connection().get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        db.session.commit()


def record(
    attempt,
    seq: int,
    text: str,
    client_ms: int | None,
    evidence: dict,
    now: datetime | None = None,
) -> SnapshotResult:
    """Keep a snapshot of the typed text if it is in time and newer than the last one.

    ``attempt`` is a TypingAttempt or the row of :func:`snapshot_state` (the fast path).
    """
    now = now or utcnow()
    if attempt.state != TypingState.IN_PROGRESS:
        return SnapshotResult(False, "finished", True)
    if attempt.started_at is None:
        return SnapshotResult(False, "not_started")
    if now > attempt.deadline_at + GRACE:
        _transaction()
        finish(_orm(attempt), now=now)
        return SnapshotResult(False, "time_over", True)
    if seq <= attempt.seq:
        same = seq == attempt.seq and text == attempt.text
        return SnapshotResult(same, "retry" if same else "stale")
    taken = take(db.session.connection(), attempt, seq, text, client_ms, evidence, now)
    if not taken:
        if isinstance(attempt, TypingAttempt):
            db.session.refresh(attempt)
        return SnapshotResult(False, "stale")
    if isinstance(attempt, TypingAttempt):
        for name, value in (("text", text), ("seq", seq), ("last_snapshot_at", now)):
            set_committed_value(attempt, name, value)
        set_committed_value(attempt, "evidence", evidence)
    target_length = getattr(attempt, "target_length", None) or len(getattr(attempt, "target", ""))
    if attempt.whole_passage and len(text) >= target_length * 0.9:
        _transaction()
        full = _orm(attempt)
        if _finished(full) and finish(full, now=now):
            return SnapshotResult(True, finished=True)
    return SnapshotResult(True)


def take(conn, attempt, seq: int, text: str, client_ms, evidence: dict, now) -> bool:
    """Write the snapshot on ``conn`` if the attempt is still in progress at the seq read
    (``attempt``: a TypingAttempt or a SNAPSHOT_STATE row); tell whether it was taken.
    Used by :func:`record` and by the snapshot's fast path (exams.typing.fast_snapshot)."""
    kept = _common_prefix(attempt.text, text)
    params = {
        "aid": attempt.id,
        "old_seq": attempt.seq,
        "new_seq": seq,
        "new_text": text,
        "at": now,
        "ev": evidence,
        "client_ms": client_ms,
        "kept": kept,
        "added": text[kept:],
        "length": len(text),
    }
    if conn.dialect.name == "postgresql":
        return conn.execute(TAKE_AND_KEEP, params).first() is not None
    taken = conn.execute(TAKE_SNAPSHOT, params).rowcount == 1
    if taken:
        conn.execute(KEEP_SNAPSHOT, params)
    return taken


def plainly_taken(state, seq: int, text: str, now, min_interval) -> bool:
    """Tell whether a snapshot on the SNAPSHOT_STATE row ``state`` is one the view would
    take with nothing else to do: in progress, in time, newer, not within ``min_interval``
    of the last (its 429) and not the end of a whole passage (which :func:`record`
    finishes). The snapshot's fast path takes only these; every other goes to the view."""
    last = state.last_snapshot_at
    return (
        state.state == TypingState.IN_PROGRESS
        and state.started_at is not None
        and state.deadline_at is not None
        and now <= state.deadline_at + GRACE
        and seq > state.seq
        and (last is None or now - last >= min_interval)
        and not (state.whole_passage and len(text) >= (state.target_length or 0) * 0.9)
    )


def _orm(attempt) -> TypingAttempt:
    """Return the TypingAttempt itself for a snapshot-state row (loading it), or as given."""
    if isinstance(attempt, TypingAttempt):
        return attempt
    full = db.session.get(TypingAttempt, attempt.id)
    db.session.refresh(full)  # the snapshot just written
    return full


def _common_prefix(a: str, b: str) -> int:
    """Return the length of the longest common prefix of a and b (slices compare in C)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        mid = (low + high + 1) // 2
        if a[low:mid] == b[low:mid]:
            low = mid
        else:
            high = mid - 1
    return low


def _finished(attempt: TypingAttempt) -> bool:
    """Tell whether the typed text reaches the passage's last character."""
    return scoring.align(scoring.passage_units(attempt.target), scoring.units(attempt.text))[1]


@functools.cache
def _attempt_columns() -> dict:
    """Return the attempt's attributes and their columns, as finish reads them back (once
    the mappers are configured: not at import)."""
    return {p.key: p.columns[0] for p in sa_inspect(TypingAttempt).column_attrs}


def finish(attempt: TypingAttempt, now: datetime | None = None) -> bool:
    """Finish and score the attempt from its last text; True only for the caller that did."""
    now = now or utcnow()
    # Never past the deadline; a page never delivered had nothing typed on it.
    finished_at = now if attempt.started_at is None else min(now, attempt.deadline_at)
    # RETURNING the row reads back, in the same statement, whatever a request that ran
    # meanwhile wrote (the last snapshot's text) into ``attempt``.
    # Its columns only: the passage loaded with it stays loaded. Its snapshots are read
    # again when judged (record() writes them without the ORM, past a loaded list).
    columns = _attempt_columns()
    row = db.session.execute(
        update(TypingAttempt)
        .where(TypingAttempt.id == attempt.id, TypingAttempt.state == TypingState.IN_PROGRESS)
        .values(state=TypingState.FINISHED, finished_at=finished_at)
        .returning(*columns.values())
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        db.session.refresh(attempt)  # another request finished it: show what it wrote
        return False
    for key, column in columns.items():
        set_committed_value(attempt, key, row._mapping[column])
    db.session.expire(attempt, ["snapshots"])
    judging.judge(attempt)
    db.session.flush()
    if not attempt.practice:
        audit.record(
            "typing.finish",
            attempt,
            summary=f"{attempt.passage.title} #{attempt.number}",
            after={"speed": _num(attempt.net_speed), "accuracy": _num(attempt.accuracy)},
            actor=attempt.user,
        )
        events.typing_finished.send(attempt)
        refresh_result(attempt, now)
    return True


def _num(value):
    return None if value is None else str(value)


def refresh_result(attempt: TypingAttempt, now: datetime | None = None) -> None:
    """Update the candidate's result of the sitting after a typing attempt changed."""
    from exams import engine

    candidate = _candidate_of(attempt)
    if candidate is None:
        return
    engine._announce(attempt, candidate, *results.refresh(candidate, now), cause="typing")


def _candidate_of(attempt: TypingAttempt) -> Candidate | None:
    """Return the candidate row of the attempt's sitting, with the sitting (one statement)."""
    return db.session.scalar(
        select(Candidate)
        .where(Candidate.sitting_id == attempt.sitting_id, Candidate.user_id == attempt.user_id)
        .options(joinedload(Candidate.sitting))
    )


def decide(attempt: TypingAttempt, reviewer, confirm: bool, comment: str, now=None) -> None:
    """A trainer's decision on a held result: let the score stand, or void the attempt."""
    if attempt.review != TypingReview.HELD:
        raise ValidationFailed(_("This result is not waiting for a review."))
    now = now or utcnow()
    before = attempt.review
    if confirm:
        attempt.review = TypingReview.CONFIRMED
        attempt.passed = bool(
            attempt.scored
            and attempt.net_speed >= attempt.pass_speed
            and attempt.accuracy >= attempt.min_accuracy
        )
    else:
        attempt.review, attempt.passed = TypingReview.VOIDED, None
    attempt.reviewed_by_id, attempt.reviewed_at = reviewer.id, now
    attempt.review_comment = comment
    audit.record(
        "typing.review",
        attempt,
        summary=f"{attempt.passage.title} #{attempt.number}",
        before={"review": before.value},
        after={"review": attempt.review.value, "comment": comment},
    )
    if attempt.sitting_id is not None:
        refresh_result(attempt, now)


def overdue(now: datetime | None = None, user_id: int | None = None) -> list[TypingAttempt]:
    """Return attempts in progress past their deadline (and the grace), or never delivered
    and older than a day (of ``user_id`` only, when given)."""
    now = now or utcnow()
    mine = TypingAttempt.user_id == user_id if user_id is not None else True
    return list(
        db.session.scalars(
            select(TypingAttempt).where(
                mine,
                TypingAttempt.state == TypingState.IN_PROGRESS,
                or_(
                    TypingAttempt.deadline_at < now - GRACE,
                    and_(
                        TypingAttempt.started_at.is_(None),
                        TypingAttempt.created_at < now - timedelta(days=1),
                    ),
                ),
            )
        )
    )


def finalise_overdue_of(user_id: int, now: datetime | None = None) -> int:
    """Finish the user's overdue typing attempts (before they start another); return how many."""
    now = now or utcnow()
    return sum(finish(a, now=now) for a in overdue(now, user_id))


def finalise_overdue(now: datetime | None = None) -> int:
    """Finish every overdue typing attempt (the close-overdue command); return how many."""
    now = now or utcnow()
    return sum(finish(a, now=now) for a in overdue(now))
