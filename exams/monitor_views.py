"""The live monitor of a sitting: the page, and the figures its script polls to update it.

The page never reloads itself: a trainer may be typing a candidate's extra time. Its
script (static/js/monitor.js) asks :func:`sitting_monitor_json` for fresh figures and
rewrites only the status, typing, time-left, saved and score cells and the summary badges.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import abort, jsonify, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from exams import results
from exams.models import Attempt, Sitting
from exams.printing import points_text
from exams.results import CandidateResult, CandidateStatus
from exams.staff_views import STAFF_READ, bp, staff_only
from exams.typing.models import TypingReview, TypingState, TypingTest
from lms.accounts.access import roles_required
from lms.accounts.models import Role
from lms.extensions import db
from lms.i18n import datetime_filter
from lms.timeutil import utcnow

#: How often the monitor's script asks for fresh figures.
POLL_SECONDS = 15

#: The summary badge each status counts in: a timed-out attempt is finished too.
SUMMARY_OF = {
    CandidateStatus.NOT_STARTED: "not_started",
    CandidateStatus.IN_PROGRESS: "in_progress",
    CandidateStatus.TIMED_OUT: "finished",
    CandidateStatus.FINISHED: "finished",
    CandidateStatus.ABSENT: "absent",
}


#: The typing test's state on the monitor, beside the paper's (a sitting with a typing test).
TYPING_STATES = {
    "not_started": _l("Not started"),
    "in_progress": _l("Typing (in progress)"),
    "finished": _l("Finished"),
    "held": _l("Held for review"),
    "absent": _l("Absent"),
}


def typing_state(result: CandidateResult, now: datetime) -> str | None:
    """Return where the candidate stands with the sitting's typing test (None without one).

    Read from the attempts sitting_results loaded with everyone's (no query per candidate).
    A held result shows as held until a trainer decides, even beside a counted pass: it is
    what the trainer has to act on. A voided attempt is as if never taken.
    """
    if result.candidate.sitting.typing_test_id is None:
        return None
    attempts = [a for a in result.typing_attempts if a.review != TypingReview.VOIDED]
    if any(
        a.state == TypingState.IN_PROGRESS and (a.deadline_at is None or now < a.deadline_at)
        for a in attempts
    ):
        return "in_progress"
    if any(a.review == TypingReview.HELD for a in attempts):
        return "held"
    if attempts:  # finished, or past its deadline (close-overdue finishes it)
        return "finished"
    closes = results.window(result.candidate.sitting, result.candidate)[1]
    return "absent" if now >= closes else "not_started"


@dataclass
class MonitorRow:
    """One candidate on the monitor: their standing and the attempt to show."""

    result: CandidateResult
    latest: Attempt | None  #: the attempt in progress, else the latest one
    typing: str | None = None  #: the typing test's state (TYPING_STATES), if the sitting has one

    @property
    def candidate(self):
        """Return the candidate row (for the override form)."""
        return self.result.candidate

    @property
    def status(self) -> CandidateStatus:
        """Return the candidate's status."""
        return self.result.status

    @property
    def typing_label(self) -> str:
        """Return the typing test's state in words (nothing without a typing test)."""
        return str(TYPING_STATES[self.typing]) if self.typing else ""

    @property
    def last_saved(self) -> str:
        """Return when the latest attempt was last saved (HH:mm:ss, centre time)."""
        saved = self.latest.last_saved_at if self.latest else None
        return datetime_filter(saved, "HH:mm:ss")

    @property
    def score(self) -> str:
        """Return the counted score, "being graded", or nothing yet (a typing result held
        for review is shown in the typing column: it is not grading)."""
        if self.result.paper_pending:
            return _("being graded")
        return "" if self.result.score is None else points_text(self.result.score)

    def as_json(self) -> dict:
        """Return the figures the script writes into the row."""
        return {
            "id": self.candidate.id,
            "status": self.status.value,
            "label": self.status.label,
            "seconds_left": self.result.seconds_left,
            "last_saved": self.last_saved,
            "score": self.score,
            "typing": {"state": self.typing, "label": self.typing_label} if self.typing else None,
            "sheet_url": (
                url_for("exams.answer_sheet", attempt_id=self.latest.id) if self.latest else None
            ),
        }


def monitor_rows(sitting: Sitting, now: datetime) -> list[MonitorRow]:
    """Return one row per candidate, by username (an attempt past its deadline timed out)."""
    return [
        MonitorRow(r, r.current or (r.attempts[-1] if r.attempts else None), typing_state(r, now))
        for r in results.sitting_results(sitting, now)
    ]


def summary(rows: list[MonitorRow]) -> dict[str, int]:
    """Return how many candidates have not started, are sitting, have finished, were absent."""
    counts = dict.fromkeys(("not_started", "in_progress", "finished", "absent"), 0)
    for row in rows:
        counts[SUMMARY_OF[row.status]] += 1
    return counts


def summary_text(key: str, n: int) -> str:
    """Return a summary badge's text, e.g. 作答中：3."""
    return {
        "not_started": _("Not started: %(n)d", n=n),
        "in_progress": _("In progress: %(n)d", n=n),
        "finished": _("Finished: %(n)d", n=n),
        "absent": _("Absent: %(n)d", n=n),
    }[key]


def as_of_text(now: datetime) -> str:
    """Return the monitor's "as of" note."""
    return _(
        "as of %(t)s; updates every %(n)d seconds",
        t=datetime_filter(now, "HH:mm:ss"),
        n=POLL_SECONDS,
    )


@bp.get("/sittings/<id:sitting_id>")
@roles_required(*STAFF_READ)
def sitting(sitting_id: int):
    """Show the live monitor of a sitting."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    now = utcnow()
    rows = monitor_rows(sitting, now)
    # Trainers may attach, switch or remove the typing test (exams.services.set_typing_test).
    typing_tests = (
        db.session.scalars(select(TypingTest).order_by(TypingTest.title)).all()
        if current_user.has_role(Role.TRAINER, Role.ADMIN)
        else []
    )
    return render_template(
        "exams/sitting.html",
        sitting=sitting,
        rows=rows,
        typing_tests=typing_tests,
        summary=summary(rows),
        summary_text=summary_text,
        as_of=as_of_text(now),
        poll_seconds=POLL_SECONDS,
    )


@bp.get("/sittings/<id:sitting_id>/monitor.json")
@staff_only
def sitting_monitor_json(sitting_id: int):
    """Return the monitor's figures: each candidate's status, time left, last save, score
    and typing test's state."""
    sitting = db.session.get(Sitting, sitting_id) or abort(404)
    now = utcnow()
    rows = monitor_rows(sitting, now)
    counts = summary(rows)
    response = jsonify(
        as_of=as_of_text(now),
        summary={k: {"n": n, "text": summary_text(k, n)} for k, n in counts.items()},
        candidates=[row.as_json() for row in rows],
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
