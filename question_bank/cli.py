"""Commands: import-questions PATH [--check], export-questions PATH [--format F]."""

from pathlib import Path

import click
from flask import Blueprint

from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.i18n import force_user_locale
from question_bank import transfer

bp = Blueprint("qb_cli", __name__, cli_group=None)


def _progress(done, total=None, message=None):
    if message:
        click.echo(f"{message}…", err=True)


def _echo_report(report: dict, err: bool = False) -> None:
    """Print a report's errors, skipped questions and warnings, one a line."""
    for where, message in report["errors"]:
        click.echo(f"错误 {where}: {message}", err=True)
    for where, reason in report["skipped"]:
        click.echo(f"跳过 {where}: {reason}", err=err)
    for where, warning in report["warnings"]:
        click.echo(f"注意 {where}: {warning}", err=err)


@bp.cli.command("import-questions")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--check", is_flag=True, help="Only check the file and print the report.")
def import_questions(path: Path, check: bool) -> None:
    """Import questions from .xlsx, .csv, Moodle XML (.xml) or GIFT (.gift, .txt)."""
    with force_user_locale(None):
        if check:
            _check_only(path)
            return
        progress = _progress
        try:
            report = transfer.import_questions(path.name, path.read_bytes(), None, progress)
        except transfer.ImportRefused as exc:
            db.session.rollback()
            _echo_report(exc.result, err=True)
            raise click.ClickException(exc.messages[0]) from exc
        except ValidationFailed as exc:
            db.session.rollback()
            raise click.ClickException(" ".join(exc.messages)) from exc
        db.session.commit()
        _echo_report(report.as_dict())
        click.echo(f"已导入 {report.created} 道题，跳过 {len(report.skipped)} 道。")


def _check_only(path: Path) -> None:
    """Print what importing the file would do; save nothing."""
    try:
        report = transfer.check_questions(path.name, path.read_bytes(), _progress)
    except ValidationFailed as exc:
        raise click.ClickException(" ".join(exc.messages)) from exc
    finally:
        db.session.rollback()
    _echo_report(report.as_dict())
    for category, qtype, n in report.by_category:
        click.echo(f"{category or '—'} · {qtype}: {n}")
    if report.errors:
        raise click.ClickException(f"无法导入：文件有 {len(report.errors)} 处错误。")
    click.echo(
        f"可导入 {report.ready} 道题，跳过 {len(report.skipped)} 道（检查完毕，未保存任何内容）。"
    )


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


#: The demo bank: Moodle XML, written and read by the bank's own import and export.
DEMO_BANK = Path(__file__).with_name("demo_bank.xml")


def seed_demo_bank() -> str:
    """Add the demo question bank when the bank is empty; return a line for the summary."""
    from sqlalchemy import func, select

    from question_bank.models import Question

    if db.session.scalar(select(func.count(Question.id))):
        return "question bank: kept as it is"
    try:
        report = transfer.import_questions(DEMO_BANK.name, DEMO_BANK.read_bytes(), None)
    except ValidationFailed as exc:
        message = "the demo bank does not import: " + " ".join(exc.messages)
        raise click.ClickException(message) from exc
    if report.warnings or report.skipped:
        problems = [f"{w}: {m}" for w, m in [*report.warnings, *report.skipped]]
        raise click.ClickException("the demo bank imports with changes: " + "; ".join(problems))
    return f"question bank: {report.created} questions"
