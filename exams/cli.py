"""Commands: close-overdue."""

import click
from flask import Blueprint

from exams import engine
from lms.i18n import force_user_locale

bp = Blueprint("exams_cli", __name__, cli_group=None)


@bp.cli.command("close-overdue")
def close_overdue() -> None:
    """Finalise every attempt past its deadline with its saved answers (safe from cron)."""
    with force_user_locale(None):
        n = engine.close_overdue()
    click.echo(f"Finalised {n} overdue attempts.")
