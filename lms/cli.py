"""Command-line interface: flask --app wsgi init-db | seed-demo | create-user | worker."""

import click
from flask import Blueprint
from flask_migrate import upgrade
from sqlalchemy import select

from lms.accounts import services as accounts
from lms.accounts.models import Role
from lms.accounts.passwords import password_problems
from lms.extensions import db

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("init-db")
def init_db() -> None:
    """Create or upgrade the database schema by applying the migrations."""
    upgrade()
    click.echo("Database schema is up to date.")


@bp.cli.command("seed-demo")
@click.option(
    "--agents",
    "n_agents",
    default=40,
    show_default=True,
    type=click.IntRange(1, 5000),
    help="How many demo agents.",
)
@click.option(
    "--password", default="demo12345", show_default=True, help="Password of every demo account."
)
@click.option("--if-empty", is_flag=True, help="Do nothing when the database has any user.")
def seed_demo(n_agents: int, password: str, if_empty: bool) -> None:
    """Load demo data (idempotent): accounts, teams, agents in every lifecycle status."""
    from lms.accounts.models import User
    from lms.demo import seed

    if if_empty and db.session.scalar(select(User.id).limit(1)) is not None:
        click.echo("The database already holds data: demo data not loaded.")
        click.echo(
            "Demo accounts, if loaded earlier: admin, trainer1, hr1, A0001… "
            "(password demo12345 unless changed)."
        )
        return

    problems = password_problems(password)
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--password")
    summary = seed(n_agents=n_agents, password=password)
    db.session.commit()
    click.echo(f"Demo data ready ({summary['created']} new accounts).")
    click.echo(f"  password for every demo account: {password}")
    for username, role in summary["accounts"]:
        click.echo(f"  {username:<10} {role}")
    click.echo(f"  agents     {summary['first_agent']} … {summary['last_agent']}")
    for line in summary["extra"]:
        click.echo(f"  {line}")


@bp.cli.command("unlock")
@click.argument("username")
def unlock(username: str) -> None:
    """Clear the sign-in lock of USERNAME (e.g. an administrator locked out)."""
    from lms.accounts.models import User

    user = db.session.scalar(
        select(User).where(User.username == accounts.normalise_username(username))
    )
    if user is None:
        raise click.ClickException(f"No user named {username}.")
    accounts.unlock(user)
    db.session.commit()
    click.echo(f"{user.username} can sign in again.")


@bp.cli.command("create-user")
@click.argument("username")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([r.value for r in Role]),
    help="Role; repeat for several.",
)
@click.option("--name", "full_name", default=None, help="Full name (default: the username).")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Password (asked for when not given).",
)
@click.option(
    "--must-change/--no-must-change",
    default=False,
    show_default=True,
    help="Make the user choose a new password at first sign-in.",
)
def create_user(username, roles, full_name, password, must_change) -> None:
    """Create a user with one or more roles."""
    try:
        user = accounts.create_user(
            username, full_name or username, roles, password, must_change_password=must_change
        )
    except accounts.ValidationFailed as exc:
        db.session.rollback()
        raise click.ClickException(" ".join(exc.messages)) from exc
    db.session.commit()
    click.echo(f"Created {user.username} ({', '.join(sorted(r.value for r in user.roles))}).")


@bp.cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop once the queue is empty.")
def worker(burst: bool) -> None:
    """Run background jobs from the Redis queue (REDIS_URL) with this app's database."""
    from flask import current_app
    from rq import Worker

    from lms import jobs

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        raise click.ClickException(
            "REDIS_URL is not set: without Redis, jobs run inside the web process "
            "and no worker is needed."
        )
    queue = jobs.queue(app, worker=True)
    click.echo(f"Worker on queue {queue.name!r}.")
    # Each job runs in a forked child (RQ's work horse), inside this command's app context.
    Worker([queue], connection=queue.connection).work(burst=burst)
