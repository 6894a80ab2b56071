"""Results of a sitting: every candidate's standing and result, the .xlsx export, the
score distribution and the item statistics.
"""

import io
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from zoneinfo import ZoneInfo

from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from exams import results as standings
from exams import statistics
from exams.models import (
    Attempt,
    AttemptItem,
    AttemptState,
    Candidate,
    FinishReason,
    Outcome,
    Sitting,
)
from exams.printing import points_text
from exams.results import CandidateResult, CandidateStatus
from exams.staff_views import STAFF_READ, bp
from lms.accounts.access import roles_required
from lms.extensions import db
from lms.people.models import Agent, Team
from lms.tabular import append_row
from lms.timeutil import utcnow

FINISH_LABELS = {
    FinishReason.SUBMITTED: _l("Submitted"),
    FinishReason.TIMEOUT: _l("Time ran out"),
}
#: What ?outcome= may ask for, and how the filter names it.
OUTCOME_LABELS = {
    Outcome.PASSED: _l("Passed"),
    Outcome.FAILED: _l("Not passed"),
    Outcome.PENDING: _l("Being graded"),
    Outcome.NONE: _l("No result yet"),
    Outcome.ABSENT: _l("Absent"),
}
#: A typing test's result: pending means held for a trainer's review, never "being graded".
TYPING_OUTCOME_LABELS = OUTCOME_LABELS | {Outcome.PENDING: _l("Held for review")}


def outcome_labels(sitting: Sitting) -> dict:
    """Return the labels of a sitting's result: what "pending" waits for depends on its
    components (a paper's short answers are graded, a typing result is reviewed)."""
    if sitting.typing_test_id is None:
        return OUTCOME_LABELS
    if sitting.paper_id is None:
        return TYPING_OUTCOME_LABELS
    return OUTCOME_LABELS | {Outcome.PENDING: _l("Being graded or held for review")}


def sitting_outcome_text(result: CandidateResult) -> str:
    """Return one candidate's result of the sitting in words."""
    if result.outcome == Outcome.PENDING and not result.paper_pending:
        return str(TYPING_OUTCOME_LABELS[Outcome.PENDING])
    return str(OUTCOME_LABELS[result.outcome])


def local(value):
    """Return an aware UTC time as the centre's naive local time (what Excel shows)."""
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["LMS_TIMEZONE"])).replace(tzinfo=None)


def finished_attempts(sitting: Sitting) -> list[Attempt]:
    """Return the finished attempts of a sitting with their items and users."""
    return list(
        db.session.scalars(
            select(Attempt)
            .where(Attempt.sitting_id == sitting.id, Attempt.state == AttemptState.FINISHED)
            .options(
                selectinload(Attempt.items).selectinload(AttemptItem.version),
                selectinload(Attempt.user),
            )
            .order_by(Attempt.user_id, Attempt.number)
        )
    )


def _fractions(attempts: list[Attempt]) -> tuple[dict[int, float], list[dict]]:
    """Return each question's points and each attempt's fraction per question (None: ungraded)."""
    items: dict[int, float] = {}
    rows = []
    for a in attempts:
        row = {}
        for i in a.items:
            items[i.question_id] = float(i.points)
            row[i.question_id] = None if i.score is None else float(i.score / i.points)
        rows.append(row)
    return items, rows


def item_table(attempts: list[Attempt]):
    """Return per-question statistics over the attempts (keyed by question id)."""
    items, rows = _fractions(attempts)
    if not rows:
        return {}, None
    if all(set(r) == set(items) for r in rows):
        return statistics.item_statistics(rows, items), statistics.paper_statistics(rows, items)
    return drawn_item_table(attempts), None


def drawn_item_table(attempts: list[Attempt]) -> dict:
    """Return per-question statistics when candidates got different (drawn) questions."""
    items, rows = _fractions(attempts)
    return dict(sorted(statistics.drawn_item_statistics(rows, items).items()))


@dataclass
class ResultRow:
    """One candidate's line of the results: standing, result, team."""

    result: CandidateResult
    agent: Agent | None

    @property
    def team(self) -> Team | None:
        """Return the candidate's team (their current one)."""
        return self.agent.team if self.agent else None

    @property
    def attempt(self) -> Attempt | None:
        """Return the counted attempt, else the latest finished one (a result still pending)."""
        r = self.result
        return r.counted or next(
            (a for a in reversed(r.attempts) if a.state == AttemptState.FINISHED), None
        )

    @property
    def minutes(self) -> float | None:
        """Return the minutes the attempt took, never more than its time allowed."""
        a = self.attempt
        if a is None or a.finished_at is None:
            return None
        return (min(a.finished_at, a.deadline_at) - a.started_at).total_seconds() / 60

    @property
    def score_text(self) -> str:
        """Return e.g. 11 / 12, "being graded", or a dash."""
        if self.result.paper_pending:
            return _("being graded")
        if self.result.score is None or self.attempt is None:
            return "—"
        return f"{points_text(self.result.score)} / {points_text(self.attempt.max_score)}"

    @property
    def finish_text(self) -> str:
        """Return how the attempt ended (submitted, or time ran out), or nothing."""
        reason = self.result.finish_reason
        return str(FINISH_LABELS[reason]) if reason else ""


@dataclass
class ResultFilters:
    """The results' filters; a value that matches nothing is dropped, not an error."""

    team: Team | None = None
    outcome: Outcome | None = None
    status: CandidateStatus | None = None

    @classmethod
    def read(cls, args, teams: list[Team]) -> "ResultFilters":
        """Read ``?team=<id>&outcome=…&status=…`` (unknown values are ignored)."""
        by_id = {str(t.id): t for t in teams}
        outcome = args.get("outcome", "")
        status = args.get("status", "")
        return cls(
            by_id.get(args.get("team", "").strip()),
            Outcome(outcome) if outcome in Outcome._value2member_map_ else None,
            CandidateStatus(status) if status in CandidateStatus._value2member_map_ else None,
        )

    def keep(self, row: ResultRow) -> bool:
        """Tell whether the row passes every filter."""
        return (
            (self.team is None or (row.team is not None and row.team.id == self.team.id))
            and (self.outcome is None or row.result.outcome == self.outcome)
            and (self.status is None or row.result.status == self.status)
        )

    def args(self) -> dict[str, str]:
        """Return the filters as query arguments (for the .xlsx link)."""
        args = {
            "team": str(self.team.id) if self.team else "",
            "outcome": self.outcome.value if self.outcome else "",
            "status": self.status.value if self.status else "",
        }
        return {k: v for k, v in args.items() if v}


def result_rows(sitting: Sitting, now: datetime) -> list[ResultRow]:
    """Return every candidate's row, by username (not started and absent ones too)."""
    agents = {
        a.user_id: a
        for a in db.session.scalars(
            select(Agent)
            .join(Candidate, Candidate.user_id == Agent.user_id)
            .where(Candidate.sitting_id == sitting.id)
            .options(selectinload(Agent.team))
        )
    }
    return [ResultRow(r, agents.get(r.user.id)) for r in standings.sitting_results(sitting, now)]


def filtered_rows(
    sitting: Sitting, teams: list[Team]
) -> tuple[list[ResultRow], list[ResultRow], ResultFilters]:
    """Return all rows, those the request's filters keep, and the filters."""
    filters = ResultFilters.read(request.args, teams)
    rows = result_rows(sitting, utcnow())
    return rows, [r for r in rows if filters.keep(r)], filters


def typing_cells(result: CandidateResult) -> list:
    """Return the typing columns of a candidate's .xlsx row: speed, accuracy, results."""
    t = result.typing_attempt
    return [
        float(t.net_speed) if t is not None and t.scored else None,
        float(t.accuracy) if t is not None and t.accuracy is not None else None,
        str(TYPING_OUTCOME_LABELS[result.typing_outcome]),
        sitting_outcome_text(result),
    ]


def typing_distribution(rows: list[ResultRow]) -> tuple[list, dict]:
    """Return the counted typing speeds in ten bins up to the ceiling, and a summary."""
    counted = [r.result.typing_attempt for r in rows if r.result.typing_attempt is not None]
    judged = [a for a in counted if a.scored and a.review in ("none", "confirmed")]
    speeds = sorted(float(a.net_speed) for a in judged)
    held = sum(1 for r in rows for a in r.result.typing_attempts if a.review == "held")
    if not speeds:
        return [], {}
    top = max(max(speeds), max(float(a.speed_ceiling) for a in judged) / 2, 1.0)
    # Bins of a round width (5, 10, 15 ... 字/分钟), so that every edge is a whole number
    # and the pass speed (60 by default) falls on an edge, not inside a bin.
    width = next((w for w in SPEED_BIN_WIDTHS if 10 * w >= top), math.ceil(top / 10))
    pass_speed = Counter(a.pass_speed for a in judged).most_common(1)[0][0]
    summary = {
        "n": len(speeds),
        "passed": sum(1 for a in judged if a.passed),
        "held": held,
        "median": round(median(speeds), 1),
        "pass_speed": pass_speed,
        "pass_x": 10 + 48 * min(pass_speed / width, 10),
    }
    return statistics.histogram(speeds, 10 * width, 10), summary


#: The widths a typing-speed bin may have, in 字/分钟 (the narrowest that holds the speeds).
SPEED_BIN_WIDTHS = (5, 10, 15, 20, 30, 50, 60, 100)


@bp.get("/sittings/<id:sitting_id>/results")
@roles_required(*STAFF_READ)
def results(sitting_id: int):
    """Show every candidate's standing and result, the distribution and item statistics."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    # Held for the whole view: the session keeps loaded rows only while they are referenced,
    # so the statistics below read these items instead of one query per candidate.
    loaded = finished_attempts(sitting)  # noqa: F841
    teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    rows, shown, filters = filtered_rows(sitting, teams)
    counted = [r.result.counted for r in rows if r.result.counted is not None]
    scores = [float(a.score) for a in counted if a.score is not None]
    # The attempts' own full marks: the paper may have changed since they were taken.
    max_score = max([float(a.max_score) for a in counted] + [1.0])
    bins = statistics.histogram(scores, max_score, 10) if scores else []
    items, paper_stats = item_table(counted)
    versions = {i.question_id: i.version for a in counted for i in a.items}
    typing_bins, typing_summary = typing_distribution(rows)
    return render_template(
        "exams/results.html",
        sitting=sitting,
        typing_bins=typing_bins,
        typing_peak=max((b[2] for b in typing_bins), default=0),
        typing_summary=typing_summary,
        typing_labels=TYPING_OUTCOME_LABELS,
        rows=shown,
        total=len(rows),
        finished=sum(
            1
            for r in rows
            if r.result.status in (CandidateStatus.FINISHED, CandidateStatus.TIMED_OUT)
        ),
        passed=sum(1 for r in rows if r.result.outcome == Outcome.PASSED),
        pending=sum(1 for r in rows if r.result.paper_pending),
        filters=filters,
        teams=teams,
        outcomes=outcome_labels(sitting),
        statuses=list(CandidateStatus),
        bins=bins,
        peak=max((b[2] for b in bins), default=0),
        items=items,
        paper_stats=paper_stats,
        versions=versions,
    )


@bp.get("/sittings/<id:sitting_id>/results.xlsx")
@roles_required(*STAFF_READ)
def results_xlsx(sitting_id: int):
    """Download the results as .xlsx: one row per candidate, with the page's filters."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    teams = list(db.session.scalars(select(Team).order_by(Team.name)))
    _rows, shown, _filters = filtered_rows(sitting, teams)
    wb = Workbook()
    ws = wb.active
    ws.title = _("Results")
    with_typing = sitting.typing_test_id is not None
    typing_heads = (
        [_("Typing speed"), _("Typing accuracy (%)"), _("Typing result"), _("Sitting result")]
        if with_typing
        else []
    )
    append_row(
        ws,
        [
            _("Username"),
            _("Name"),
            _("Employee number"),
            _("Team"),
            _("Attempt"),
            _("Score"),
            _("Full marks"),
            _("Passed"),
            _("Started"),
            _("Finished"),
            _("Minutes taken"),
            _("Attempt status"),
            _("How it ended"),
            *typing_heads,
        ],
    )
    for row in shown:
        r, a = row.result, row.attempt
        minutes = row.minutes
        cells = [
            r.user.username,
            r.user.full_name,
            row.agent.employee_no if row.agent else "",
            row.team.name if row.team else "",
            a.number if a else None,
            _("being graded")
            if r.paper_pending
            else (float(r.score) if r.score is not None else None),
            float(a.max_score) if a else None,
            "" if r.passed is None else (_("yes") if r.passed else _("no")),
            local(a.started_at) if a else None,
            local(min(a.finished_at, a.deadline_at)) if a and a.finished_at else None,
            round(minutes, 1) if minutes is not None else None,
            r.status.label,
            row.finish_text,
            *(typing_cells(r) if with_typing else []),
        ]
        # Names and team names are typed by people: none may become a live formula.
        append_row(ws, cells)
    out = io.BytesIO()
    wb.save(out)
    return (
        out.getvalue(),
        200,
        {
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f"attachment; filename=results-{sitting.id}.xlsx",
        },
    )
