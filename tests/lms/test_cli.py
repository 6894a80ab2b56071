"""The commands of CONTRACT: init-db, seed-demo, create-user."""

from sqlalchemy import func, select

from lms.accounts.models import Role, User
from lms.extensions import db
from lms.people.models import Agent, AgentStatus, Team
from tests.lms.test_migrations import drop_everything


def test_init_db_creates_the_schema_and_is_repeatable(runner):
    drop_everything()
    for _ in range(2):
        result = runner.invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_seed_demo_is_idempotent_and_covers_every_status(runner, login, app):
    result = runner.invoke(args=["seed-demo", "--agents", "18"])
    assert result.exit_code == 0, result.output
    assert "demo12345" in result.output and "trainer1" in result.output and "hr1" in result.output
    users = db.session.scalar(select(func.count(User.id)))
    assert {a.status for a in db.session.scalars(select(Agent))} == set(AgentStatus)
    assert db.session.scalar(select(func.count(Team.id))) >= 3
    names = list(db.session.scalars(select(User.full_name).join(Agent)))
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)  # Chinese names
    again = runner.invoke(args=["seed-demo", "--agents", "18"])
    assert again.exit_code == 0 and "(0 " in again.output
    assert db.session.scalar(select(func.count(User.id))) == users
    # Demo accounts are not forced to change their password.
    for name in ("admin", "trainer1", "hr1", "A0001"):
        resp = login(app.test_client(), name, "demo12345")
        assert resp.location == "/", name


def test_seed_demo_if_empty_leaves_a_used_database_alone(runner, make_user):
    make_user(Role.ADMIN, username="someone")
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0
    assert db.session.scalar(select(User.id).where(User.username == "admin")) is None


def test_seed_demo_refuses_a_weak_password(runner):
    result = runner.invoke(args=["seed-demo", "--password", "123"])
    assert result.exit_code != 0
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_create_user(runner):
    result = runner.invoke(
        args=[
            "create-user",
            "Ops1",
            "--role",
            "admin",
            "--role",
            "hr",
            "--password",
            "Strong-pass-1",
            "--name",
            "运维",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert (user.username, user.full_name, user.roles) == ("ops1", "运维", {Role.ADMIN, Role.HR})
    assert user.must_change_password is False


def test_create_user_errors_change_nothing(runner, make_user):
    make_user(Role.HR, username="taken")
    for args in (
        ["create-user", "taken", "--role", "hr", "--password", "Strong-pass-1"],
        ["create-user", "x1", "--role", "wizard", "--password", "Strong-pass-1"],
        ["create-user", "x1", "--role", "hr", "--password", "weak"],
    ):
        result = runner.invoke(args=args)
        assert result.exit_code != 0, args
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_unlock_command(runner, make_user, app):
    make_user(Role.ADMIN, username="root1")
    client = app.test_client()
    for _ in range(10):
        client.submit("/login", {"username": "root1", "password": "wrong-pass1"})
    result = runner.invoke(args=["unlock", "ROOT1"])
    assert result.exit_code == 0, result.output
    resp = client.submit("/login", {"username": "root1", "password": "Passw0rd-demo"})
    assert resp.status_code == 302
    assert runner.invoke(args=["unlock", "nobody"]).exit_code != 0
