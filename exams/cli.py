"""Commands: close-overdue."""

import click
from flask import Blueprint

from exams import engine
from exams.typing import engine as typing_engine
from lms.extensions import db
from lms.i18n import force_user_locale
from lms.timeutil import utcnow

bp = Blueprint("exams_cli", __name__, cli_group=None)


@bp.cli.command("close-overdue")
def close_overdue() -> None:
    """Finalise every attempt past its deadline with its saved answers (typing tests with
    their last text), then make the results of closed sittings final (safe from cron, any
    number of times)."""
    now, n = utcnow(), 0
    with force_user_locale(None):
        # One transaction per attempt: a failure leaves the others finalised.
        for attempt_id in engine.overdue_ids(now):
            n += engine.finalise_overdue(attempt_id, now)
            db.session.commit()
        for attempt in typing_engine.overdue(now):
            n += typing_engine.finish(attempt, now=now)
            db.session.commit()
        settled = engine.settle_closed(now)
        db.session.commit()
    click.echo(f"Finalised {n} overdue attempts; {settled} results of closed sittings final.")
