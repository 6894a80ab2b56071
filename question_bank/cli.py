"""Commands: import-questions PATH, export-questions PATH [--format F]."""

from pathlib import Path

import click
from flask import Blueprint

from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.i18n import force_user_locale
from question_bank import transfer

bp = Blueprint("qb_cli", __name__, cli_group=None)


@bp.cli.command("import-questions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_questions(path: Path) -> None:
    """Import questions from .xlsx, .csv, Moodle XML (.xml) or GIFT (.gift, .txt)."""

    def progress(done, total=None, message=None):
        if message:
            click.echo(f"{message}…", err=True)

    with force_user_locale(None):
        try:
            report = transfer.import_questions(path.name, path.read_bytes(), None, progress)
        except transfer.ImportRefused as exc:
            db.session.rollback()
            for where, message in exc.result["errors"]:
                click.echo(f"错误 {where}: {message}", err=True)
            for where, reason in exc.result["skipped"]:
                click.echo(f"跳过 {where}: {reason}", err=True)
            for where, warning in exc.result["warnings"]:
                click.echo(f"注意 {where}: {warning}", err=True)
            raise click.ClickException(exc.messages[0]) from exc
        except ValidationFailed as exc:
            db.session.rollback()
            raise click.ClickException(" ".join(exc.messages)) from exc
        db.session.commit()
        for where, reason in report.skipped:
            click.echo(f"跳过 {where}: {reason}")
        for where, warning in report.warnings:
            click.echo(f"注意 {where}: {warning}")
        click.echo(f"已导入 {report.created} 道题，跳过 {len(report.skipped)} 道。")


@bp.cli.command("export-questions")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(list(transfer.FORMATS)),
    default=None,
    help="xlsx, csv, moodle-xml or gift (default: from the file name).",
)
def export_questions(path: Path, fmt: str | None) -> None:
    """Export the whole bank (every status) to PATH."""
    with force_user_locale(None):
        if fmt is None:
            try:
                fmt = transfer.format_for(path.name)
            except ValidationFailed as exc:
                raise click.ClickException(" ".join(exc.messages)) from exc
        data = transfer.export_questions(fmt)
        skipped = transfer.left_out()
        for where, reason in skipped:
            click.echo(f"Left out {where}: {reason}", err=True)
    path.write_bytes(data)
    count = len(transfer.bank_data()) - len(skipped)
    click.echo(f"Exported {count} questions to {path} ({fmt}).")


def seed_demo_bank() -> str:
    """Add the demo question bank when the bank is empty; return a line for the summary."""
    from sqlalchemy import func, select

    from question_bank.demo_bank import demo_questions
    from question_bank.models import Question
    from question_bank.transfer import import_data

    if db.session.scalar(select(func.count(Question.id))):
        return "question bank: kept as it is"
    report = import_data(demo_questions(), None, "demo")
    return f"question bank: {report.created} questions"
