"""The attempt engine: the one module that starts, saves, finalises and grades attempts.

Concurrency: a save and a finalisation are each one conditional UPDATE (``WHERE seq < new``,
``WHERE state = 'in_progress'``), so on SQLite (which ignores SELECT … FOR UPDATE) and on
PostgreSQL alike, replayed saves are refused and a submit finalises exactly once however
many requests race.

Two tabs or two devices on one attempt: every save carries the sequence number the page
was given plus one per save; the first tab to save wins, and the other's next save is
refused as stale, so that page tells the candidate to reload (and reloading shows every
saved answer). Nothing is lost and no tab silently overwrites the other.

A save whose response was lost (it timed out in the browser after the server stored it)
is sent again with the same number by the same page: the attempt keeps a digest of its
last accepted save (the page's id and the content), so that retry is acknowledged as
saved and writes nothing, while another tab's save with the same number stays stale.
"""

import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from exams import events, results, rules
from exams.models import (
    Attempt,
    AttemptItem,
    AttemptState,
    Candidate,
    FinishReason,
    GradeState,
    MultipleChoiceRule,
    Paper,
    PaperSection,
    Sitting,
)
from lms import audit
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.timeutil import utcnow
from lms.web import parse_id
from question_bank import categories, qtypes
from question_bank.models import Category, Question, QuestionStatus, Tag, question_tags
from question_bank.render import points_text

START_MESSAGES = {
    "open_attempt": _l("You already have an attempt in progress."),
    "not_open": _l("This exam has not opened yet."),
    "closed": _l("This exam has closed."),
    "no_attempts_left": _l("You have used all your attempts."),
}


class StartRefused(ValidationFailed):
    """Raise when a candidate may not start an attempt; ``reason`` is the rule's code."""

    def __init__(self, reason: str):
        super().__init__(str(START_MESSAGES[reason]))
        self.reason = reason


window = results.window


def candidate_of(sitting: Sitting, user) -> Candidate | None:
    """Return the user's candidate row in the sitting, or None when not a candidate."""
    return db.session.scalar(
        select(Candidate).where(Candidate.sitting_id == sitting.id, Candidate.user_id == user.id)
    )


def rule_pools(rules: list) -> list[list[int]]:
    """Return, for each (section, draw rule), the published questions it may draw from, in
    id order.

    Three statements at most however many rules there are: the category tree, the
    candidate questions of every rule at once, and their tags when a rule asks for one.
    """
    if not rules:
        return []
    children: dict = {}
    for cid, pid in db.session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(pid, []).append(cid)

    def below(category_id: int) -> set[int]:
        out, stack = set(), [category_id]
        while stack:
            cid = stack.pop()
            out.add(cid)
            stack.extend(children.get(cid, []))
        return out

    cats = [
        below(rule.category_id) if rule.include_subcategories else {rule.category_id}
        for _section, rule in rules
    ]
    rows = db.session.execute(
        select(Question.id, Question.category_id, Question.qtype, Question.difficulty)
        .where(
            Question.status == QuestionStatus.PUBLISHED,
            Question.qtype.in_({section.qtype for section, _rule in rules}),
            Question.category_id.in_(set().union(*cats)),
        )
        .order_by(Question.id)
    ).all()
    wanted_tags = {rule.tag for _section, rule in rules if rule.tag}
    tagged: dict[str, set[int]] = {}
    if wanted_tags and rows:
        for qid, name in db.session.execute(
            select(question_tags.c.question_id, Tag.name)
            .join(Tag)
            .where(Tag.name.in_(wanted_tags), question_tags.c.question_id.in_([r[0] for r in rows]))
        ):
            tagged.setdefault(name, set()).add(qid)
    return [
        [
            qid
            for qid, category_id, qtype, difficulty in rows
            if qtype == section.qtype
            and category_id in in_rule
            and (not rule.difficulty or difficulty == rule.difficulty)
            and (not rule.tag or qid in tagged.get(rule.tag, ()))
        ]
        for (section, rule), in_rule in zip(rules, cats, strict=True)
    ]


def eligible(section, rule, exclude: set[int]) -> list[int]:
    """Return the questions ``rule`` of ``section`` may draw, leaving out ``exclude``."""
    return [i for i in rule_pools([(section, rule)])[0] if i not in exclude]


def draw_questions(paper, rnd: random.Random) -> list[tuple[int, list[int]]]:
    """Return, per section, the question ids a new attempt gets (fixed ones, then drawn)."""
    chosen: set[int] = set()
    out = []
    pairs = [(section, rule) for section in paper.sections for rule in section.rules]
    pools = {id(rule): pool for (_s, rule), pool in zip(pairs, rule_pools(pairs), strict=True)}
    for section in paper.sections:
        ids = [item.question_id for item in section.items]
        chosen.update(ids)
        for rule in section.rules:
            pool = [i for i in pools[id(rule)] if i not in chosen]
            if len(pool) < rule.count:
                raise ValidationFailed(
                    _(
                        "The paper asks for %(n)d questions from %(cat)s but only %(m)d are "
                        "published there. Ask a trainer to fix the paper.",
                        n=rule.count,
                        cat=categories.path_label(rule.category),
                        m=len(pool),
                    )
                )
            picked = rnd.sample(pool, rule.count)
            chosen.update(picked)
            ids.extend(picked)
        if paper.shuffle_questions:
            rnd.shuffle(ids)
        out.append((section.position, ids))
    return out


def start(
    sitting: Sitting,
    user,
    now: datetime | None = None,
    rnd: random.Random | None = None,
    candidate: Candidate | None = None,
) -> Attempt:
    """Start an attempt: freeze its questions, their versions and the option order.

    ``candidate`` is the user's candidate row when the caller has it already.
    """
    now = now or utcnow()
    rnd = rnd or random.SystemRandom()
    candidate = candidate or candidate_of(sitting, user)
    if candidate is None:
        raise ValidationFailed(_("You are not a candidate of this exam."))
    # One query for the attempts at this sitting and the user's overdue ones elsewhere,
    # which are finalised first (one open attempt at a time).
    mine = list(
        db.session.scalars(
            select(Attempt).where(
                Attempt.user_id == user.id,
                or_(
                    Attempt.sitting_id == sitting.id,
                    and_(
                        Attempt.state == AttemptState.IN_PROGRESS,
                        Attempt.deadline_at < now - rules.GRACE,
                    ),
                ),
            )
        )
    )
    for overdue in mine:
        if overdue.state == AttemptState.IN_PROGRESS and overdue.deadline_at < now - rules.GRACE:
            finalise(overdue, FinishReason.TIMEOUT, now)
    attempts = [a for a in mine if a.sitting_id == sitting.id]
    opens, closes = window(sitting, candidate)
    check = rules.can_start(
        now,
        opens,
        closes,
        len(attempts),
        sitting.attempts_allowed,
        any(a.state == AttemptState.IN_PROGRESS for a in attempts),
    )
    if not check.allowed:
        raise StartRefused(check.reason)
    # One query each for the paper's parts and for the questions, however many there are.
    paper = db.session.scalar(
        select(Paper)
        .where(Paper.id == sitting.paper_id)
        .options(
            selectinload(Paper.sections).selectinload(PaperSection.items),
            selectinload(Paper.sections).selectinload(PaperSection.rules),
        )
    )
    drawn = draw_questions(paper, rnd)
    questions = {
        q.id: q
        for q in db.session.scalars(
            select(Question)
            .where(Question.id.in_([i for _, ids in drawn for i in ids]))
            .options(joinedload(Question.current))
        )
    }
    attempt = Attempt(
        sitting=sitting,
        user_id=user.id,
        number=len(attempts) + 1,
        started_at=now,
        deadline_at=rules.deadline(now, paper.time_limit_minutes, candidate.extra_minutes, closes),
        max_score=paper.total_points,
        # Everything that decides the result is frozen here (the paper may change later).
        time_limit_minutes=paper.time_limit_minutes,
        pass_mark=paper.pass_mark,
        multiple_choice_rule=paper.multiple_choice_rule,
        review_policy=paper.review_policy,
    )
    position, rows = 0, []
    sections = {s.position: s for s in paper.sections}
    for section_pos, ids in drawn:
        for qid in ids:
            position += 1
            version = questions[qid].current
            version.frozen = True  # used in an exam: never edited in place again
            order = qtypes.get(version.qtype).option_order(version.body, paper.shuffle_options, rnd)
            rows.append(
                {
                    "position": position,
                    "section": section_pos,
                    "question_id": qid,
                    "version_id": version.id,
                    "points": sections[section_pos].points_per_question,
                    "option_order": order,
                }
            )
    db.session.add(attempt)
    # Two starts at once (a double click): the unique (sitting, user, number) lets only one
    # insert succeed; the caller rolls back the other and shows the winner's attempt.
    db.session.flush()
    # One statement for all the items, however many questions the paper has.
    db.session.execute(insert(AttemptItem), [{**r, "attempt_id": attempt.id} for r in rows])
    db.session.expire(attempt, ["items"])
    return attempt


@dataclass
class SaveResult:
    """What came of a save; an accepted save's reason is "retry" when it was already stored."""

    accepted: bool
    reason: str = ""


def save(
    attempt: Attempt,
    seq: int,
    answers: dict,
    flags: dict,
    now: datetime | None = None,
    writer: str = "",
) -> SaveResult:
    """Store answers and flags if the save is in time and newer than the last one.

    ``writer`` names the page that sent it (a random id per page): with the content it
    makes the save's digest, so the same save sent again after a lost response is
    acknowledged as stored, while another window's save with the same seq stays stale.
    """
    now = now or utcnow()
    if attempt.state == AttemptState.IN_PROGRESS and rules.is_overdue(now, attempt.deadline_at):
        finalise(attempt, "timeout", now)
        return SaveResult(False, "time_over")
    digest = rules.save_digest(writer, answers or {}, flags or {})
    check = rules.check_save(
        now,
        attempt.deadline_at,
        attempt.state == AttemptState.FINISHED,
        attempt.seq,
        seq,
        attempt.save_digest,
        digest,
    )
    if not check.accepted or check.reason == "retry":
        return SaveResult(check.accepted, check.reason)
    items = _items_saved(attempt, answers, flags)
    parsed = _parsed(items, answers)
    # One conditional UPDATE decides: a replayed or stale save changes nothing.
    won = db.session.execute(
        update(Attempt)
        .where(
            Attempt.id == attempt.id, Attempt.state == AttemptState.IN_PROGRESS, Attempt.seq < seq
        )
        .values(seq=seq, save_digest=digest, last_saved_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won != 1:
        return _lost(attempt, seq, digest)
    for key, value in parsed.items():
        item = items[str(key)]
        item.response = value
        answered = qtypes.get(item.version.qtype).is_answered(value)
        item.grade_state = GradeState.COMPLETE if answered else GradeState.TODO
    for key, flagged in (flags or {}).items():
        if str(key) in items:
            items[str(key)].flagged = bool(flagged)
    db.session.flush()
    # The UPDATE above set these; record them without another query.
    set_committed_value(attempt, "seq", seq)
    set_committed_value(attempt, "save_digest", digest)
    set_committed_value(attempt, "last_saved_at", now)
    return SaveResult(True)


def _items_saved(attempt: Attempt, answers: dict, flags: dict) -> dict[str, AttemptItem]:
    """Load only the items a save touches (the page sends what changed), by id as text."""
    wanted = {parse_id(k) for k in [*(answers or {}), *(flags or {})]}
    if None in wanted:
        raise ValidationFailed(_("The answer is for a question that is not in this exam."))
    if not wanted:
        return {}
    return {
        str(i.id): i
        for i in db.session.scalars(
            select(AttemptItem)
            .where(AttemptItem.attempt_id == attempt.id, AttemptItem.id.in_(wanted))
            .options(joinedload(AttemptItem.version))
        )
    }


def _parsed(items: dict[str, AttemptItem], answers: dict) -> dict:
    """Return the answers as each question type stores them; raise on a foreign or bad one."""
    parsed = {}
    for key, raw in (answers or {}).items():
        item = items.get(str(key))
        if item is None:
            raise ValidationFailed(_("The answer is for a question that is not in this exam."))
        try:
            parsed[key] = qtypes.get(item.version.qtype).read_response(
                item.version.body, raw, item.option_order
            )
        except (ValueError, TypeError) as exc:
            raise ValidationFailed(_("An answer has the wrong form.")) from exc
    return parsed


def _lost(attempt: Attempt, seq: int, digest: str) -> SaveResult:
    """Tell a save that lost the UPDATE whether the winner was itself (a retry that raced
    its original, which committed after this request read the attempt) or another save.

    Only this losing path reads the attempt again; an accepted save never pays for it.
    """
    row = db.session.execute(
        select(Attempt.seq, Attempt.save_digest, Attempt.last_saved_at, Attempt.state).where(
            Attempt.id == attempt.id
        )
    ).one()
    if row.state == AttemptState.IN_PROGRESS and row.seq == seq and row.save_digest == digest:
        set_committed_value(attempt, "seq", row.seq)
        set_committed_value(attempt, "save_digest", row.save_digest)
        set_committed_value(attempt, "last_saved_at", row.last_saved_at)
        return SaveResult(True, "retry")
    return SaveResult(False, "finished" if row.state == AttemptState.FINISHED else "stale")


def finalise(attempt: Attempt, reason: str = "submitted", now: datetime | None = None) -> bool:
    """Finish the attempt with its saved answers and grade it; True only for the caller that
    finished it (a double click, a second tab or a retry gets False and changes nothing).

    ``reason`` is what the caller asks for: "submitted", or "timeout" when time ran out
    (the exam page's automatic submit, an overdue attempt). Past the deadline the attempt
    times out and finishes at its deadline whatever was asked.
    """
    now = now or utcnow()
    finished_at, why = rules.finish(now, attempt.deadline_at, reason == FinishReason.TIMEOUT)
    won = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.state == AttemptState.IN_PROGRESS)
        .values(
            state=AttemptState.FINISHED, finished_at=finished_at, finish_reason=FinishReason(why)
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(attempt)
    if won != 1:
        return False
    grade(attempt)
    audit.record(
        "attempt.finish",
        attempt,
        summary=f"{attempt.sitting.title} #{attempt.number}",
        after={"reason": why, "score": _num(attempt.score)},
        actor=attempt.user,
    )
    events.attempt_finished.send(attempt, reason=FinishReason(why))
    _refresh_result(attempt, cause="finish", now=now)
    return True


def _num(value: Decimal | None):
    return None if value is None else str(value)


def _refresh_result(attempt: Attempt, cause: str, now: datetime | None = None) -> None:
    """Update the candidate's counted result; announce it once final, or when a final result
    changes. A provisional result (the candidate may still take another attempt) is not
    announced: nobody should act on it."""
    candidate = candidate_of(attempt.sitting, attempt.user)
    if candidate is None:  # removed from the sitting after starting: nothing to keep
        return
    _announce(attempt, candidate, *results.refresh(candidate, now), cause=cause)


def _announce(sender, candidate: Candidate, before: tuple, after: tuple, cause: str) -> None:
    """Send result_final or result_changed for a (before, after) pair of results.refresh."""
    if before == after or not after[3]:
        return
    if before[3]:
        events.result_changed.send(
            sender, candidate=candidate, before=before[:2], after=after[:2], cause=cause
        )
    else:
        events.result_final.send(sender, candidate=candidate, outcome=after[0], score=after[1])


def refresh_sitting(sitting: Sitting, cause: str, now: datetime | None = None) -> int:
    """Recompute every candidate's result of the sitting after its components changed (a
    typing test attached, switched or removed); announce each change; return how many
    results changed.

    A result that was final and is provisional again (a typing test to take after the
    paper) is not announced: nothing final is left to announce until it settles.
    """
    now = now or utcnow()
    changed = 0
    for candidate in db.session.scalars(
        select(Candidate).where(Candidate.sitting_id == sitting.id).order_by(Candidate.id)
    ).all():
        before, after = results.refresh(candidate, now)
        if before != after:
            changed += 1
            _announce(candidate.result_attempt or candidate, candidate, before, after, cause)
    return changed


def settle_closed(now: datetime | None = None) -> int:
    """Make the results of closed sittings final: a provisional pass or fail stands, and a
    candidate who finished no attempt is absent. Announce each; return how many."""
    now = now or utcnow()
    done = 0
    for candidate in results.closed_unsettled(now):
        if results.has_open_attempt(candidate):
            continue  # finalised first by close-overdue; settled on its next run
        before = results.state_of(candidate)
        after = results.refresh(candidate, now, closed=True)[1]
        if after[3]:
            _announce(candidate.result_attempt or candidate, candidate, before, after, "close")
            done += 1
    return done


def _graded_items(attempt: Attempt, bodies: dict[int, dict] | None = None) -> dict[int, tuple]:
    """Return {item id: (score, state)} for the attempt's items; compute only, change nothing.

    Objective items are graded with ``bodies[item id]`` when given (a regrade), else with
    their own key; hand-graded items keep what the trainer gave them.
    """
    partial = attempt.multiple_choice_rule == MultipleChoiceRule.PARTIAL_HALF
    out = {}
    for item in attempt.items:
        qtype = qtypes.get(item.version.qtype)
        if qtype.manual:
            if item.graded_at is None:
                out[item.id] = (None, GradeState.NEEDS_GRADING)
            else:
                out[item.id] = (item.score, item.grade_state)
            continue
        body = (bodies or {}).get(item.id, item.grading_body)
        fraction = qtype.grade(body, item.response, partial=partial)
        score, state = rules.item_score(fraction, item.points)
        out[item.id] = (score, GradeState(state))
    return out


def grade(attempt: Attempt) -> None:
    """Grade every objective item with its key and recompute the attempt's totals."""
    graded = _graded_items(attempt)
    for item in attempt.items:
        item.score, item.grade_state = graded[item.id]
    update_totals(attempt)


def _totals(attempt: Attempt, graded: dict[int, tuple] | None = None) -> rules.Totals:
    scores = {i.id: (graded[i.id][0] if graded else i.score) for i in attempt.items}
    return rules.totals(
        [(i.section, scores[i.id], i.points) for i in attempt.items], attempt.pass_mark
    )


def update_totals(attempt: Attempt) -> None:
    """Recompute the attempt's score, pass or fail and section scores from its items."""
    result = _totals(attempt)
    attempt.score, attempt.max_score = result.score, result.max_score
    attempt.section_scores, attempt.passed = result.section_scores, result.passed
    attempt.needs_grading = result.score is None
    db.session.flush()


def deliver(attempt: Attempt, now: datetime | None = None) -> bool:
    """Start the clock when the exam page first reaches the candidate; True the first time.

    A start whose page never arrived (a timeout under load, a dropped connection) costs
    the candidate nothing if they come back before its deadline: the time between the start
    and the first delivery is given back, up to the window's close.
    """
    now = now or utcnow()
    if attempt.delivered_at is not None or attempt.state != AttemptState.IN_PROGRESS:
        return False
    if rules.is_overdue(now, attempt.deadline_at):
        return False  # too late: it is finalised as it stands
    candidate = db.session.scalar(
        select(Candidate).where(
            Candidate.sitting_id == attempt.sitting_id, Candidate.user_id == attempt.user_id
        )
    )
    closes = window(attempt.sitting, candidate)[1] if candidate is not None else now
    started_at, deadline_at = rules.delivered_clock(
        attempt.started_at, attempt.deadline_at, now, closes
    )
    won = db.session.execute(
        update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.delivered_at.is_(None))
        .values(delivered_at=now, started_at=started_at, deadline_at=deadline_at)
        .execution_options(synchronize_session=False)
    ).rowcount
    if won:
        set_committed_value(attempt, "delivered_at", now)
        set_committed_value(attempt, "started_at", started_at)
        set_committed_value(attempt, "deadline_at", deadline_at)
    return bool(won)


def finalise_if_overdue(attempt: Attempt, now: datetime | None = None) -> bool:
    """Finalise an open attempt past its deadline (lazily, on any access)."""
    now = now or utcnow()
    if attempt.state == AttemptState.IN_PROGRESS and rules.is_overdue(now, attempt.deadline_at):
        return finalise(attempt, FinishReason.TIMEOUT, now)
    return False


def finalise_overdue_of(user, now: datetime | None = None) -> int:
    """Finalise the user's overdue attempts; return how many."""
    now = now or utcnow()
    open_ = db.session.scalars(
        select(Attempt).where(
            Attempt.user_id == user.id,
            Attempt.state == AttemptState.IN_PROGRESS,
            Attempt.deadline_at < now - rules.GRACE,
        )
    )
    return sum(finalise(a, FinishReason.TIMEOUT, now) for a in list(open_))


def extend_open_attempts(candidate: Candidate, now: datetime | None = None) -> int:
    """Give the candidate's attempts in progress the deadline their new extra time or window
    gives (a trainer's override during the exam); return how many changed.

    An attempt already past its deadline stays as it is: time that ran out is not given back.
    """
    now = now or utcnow()
    _opens, closes = window(candidate.sitting, candidate)
    changed = 0
    for attempt in db.session.scalars(
        select(Attempt).where(
            Attempt.sitting_id == candidate.sitting_id,
            Attempt.user_id == candidate.user_id,
            Attempt.state == AttemptState.IN_PROGRESS,
        )
    ):
        if attempt.deadline_at <= now:
            continue
        new = rules.deadline(
            attempt.started_at, attempt.time_limit_minutes, candidate.extra_minutes, closes
        )
        if new != attempt.deadline_at:
            attempt.deadline_at = max(new, now)
            changed += 1
    db.session.flush()
    return changed


def overdue_ids(now: datetime | None = None, sitting: Sitting | None = None) -> list[int]:
    """Return the ids of open attempts past their deadline and its grace."""
    now = now or utcnow()
    stmt = select(Attempt.id).where(
        Attempt.state == AttemptState.IN_PROGRESS, Attempt.deadline_at < now - rules.GRACE
    )
    if sitting is not None:
        stmt = stmt.where(Attempt.sitting_id == sitting.id)
    return list(db.session.scalars(stmt.order_by(Attempt.id)))


def finalise_overdue(attempt_id: int, now: datetime | None = None) -> bool:
    """Finalise one overdue attempt by id (the caller commits each, e.g. close-overdue)."""
    attempt = db.session.get(Attempt, attempt_id)
    return attempt is not None and finalise(attempt, FinishReason.TIMEOUT, now or utcnow())


def record_manual_grade(item: AttemptItem, score, comment: str, grader) -> None:
    """Store a trainer's score and comment for a hand-graded item; update the attempt.

    Items the system grades (choice, true/false, fill-in) are refused: their scores change
    only through a regrade, which shows its dry run first and is audited.
    """
    if not qtypes.get(item.version.qtype).manual:
        raise ValidationFailed(
            _(
                "Question %(n)d is graded automatically; correct its key and regrade the "
                "sitting instead.",
                n=item.position,
            )
        )
    if item.attempt.state != AttemptState.FINISHED:
        raise ValidationFailed(_("The attempt has not been submitted yet."))
    try:
        value = Decimal(str(score).strip())
        if not value.is_finite():
            raise ArithmeticError
        value = rules.round_points(value)
    except ArithmeticError as exc:
        raise ValidationFailed(_("Enter the score as a number.")) from exc
    if not Decimal(0) <= value <= item.points:
        raise ValidationFailed(
            _("The score must be between 0 and %(max)s.", max=points_text(item.points))
        )
    comment = (comment or "").strip()[:2000]
    if value == item.score and comment == item.grader_comment and item.graded_at is not None:
        return  # nothing changed: no new grading time, no audit entry
    before = {"score": _num(item.score)}
    item.score = value
    item.grader_comment = comment
    item.grader_id = grader.id
    item.graded_at = utcnow()
    item.grade_state = GradeState(rules.item_score(value / item.points, item.points)[1])
    update_totals(item.attempt)
    audit.record(
        "attempt.grade",
        item.attempt,
        summary=str(item.position),  # read as "第 41 题" (exams.audit_labels)
        before=before,
        after={"score": _num(value)},
        actor=grader,
    )
    _refresh_result(item.attempt, cause="manual_grade")


@dataclass
class RegradePlan:
    """What a regrade would change (a dry run) or changed (applied)."""

    changes: list[dict]  #: one entry per item whose score changes
    skipped: list[dict]  #: items that cannot be regraded (their question changed type)
    updated: int = 0  #: items that get a newer answer key (scores may stay the same)


def regrade(sitting: Sitting, apply: bool, actor=None) -> RegradePlan:
    """Regrade the sitting's attempts with each question's current answer key.

    Answers are matched to the new key by option identity (keys survive edits). With
    ``apply`` False it is a dry run: it computes every change and writes nothing. Applied,
    each item remembers the version that graded it (attempts still in progress are graded
    with it when they finish) and every changed result is announced.
    """
    attempts = list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.sitting_id == sitting.id)
            .options(joinedload(Attempt.user))
            .order_by(Attempt.id)
        ).unique()
    )
    qids = {i.question_id for a in attempts for i in a.items}
    current = {
        q.id: q.current
        for q in db.session.scalars(select(Question).where(Question.id.in_(qids)))
        if q.current is not None
    }
    plan = RegradePlan([], [])
    regraded: dict[int, Attempt] = {}
    for attempt in attempts:
        bodies, new_keys = {}, {}
        for i in attempt.items:
            v = current.get(i.question_id)
            if v is None or v.id == (i.key_version_id or i.version_id):
                continue
            if v.qtype != i.version.qtype:
                plan.skipped.append({"attempt": attempt.id, "position": i.position})
                continue
            bodies[i.id], new_keys[i.id] = v.body, v
        if not bodies:
            continue
        plan.updated += len(bodies)
        finished = attempt.state == AttemptState.FINISHED
        graded = _graded_items(attempt, bodies) if finished else {}
        total_after = _totals(attempt, graded).score if finished else None
        for i in attempt.items:
            if finished and graded[i.id][0] != i.score:
                plan.changes.append(
                    {
                        "attempt": attempt.id,
                        "user": attempt.user.full_name,
                        "position": i.position,
                        "before": _num(i.score),
                        "after": _num(graded[i.id][0]),
                        "total_before": _num(attempt.score),
                        "total_after": _num(total_after),
                    }
                )
        if not apply:
            continue
        for i in attempt.items:
            if i.id in new_keys:
                i.key_version_id = new_keys[i.id].id
                new_keys[i.id].frozen = True
        if finished:
            for i in attempt.items:
                i.score, i.grade_state = graded[i.id]
            update_totals(attempt)
            regraded.setdefault(attempt.user_id, attempt)
    # Each candidate's result once, after all their attempts are regraded: under "highest"
    # a half-done regrade would announce changes that are not real.
    for attempt in regraded.values():
        _refresh_result(attempt, cause="regrade")
    if apply:
        db.session.flush()
        audit.record(
            "sitting.regrade",
            sitting,
            summary=sitting.title,
            after={"changes": len(plan.changes)},
            actor=actor,
        )
    return plan
