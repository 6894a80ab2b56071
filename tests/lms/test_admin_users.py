"""Administrators manage users: create, edit roles, reset, unlock, disable."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from lms.accounts.models import Role, User, UserSession
from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.people.models import Agent, AgentStatus
from tests.conftest import PASSWORD
from tests.helpers import count, text, zh


def new_user_form(**over):
    """Return a valid create-user form."""
    data = {
        "username": "zhangsan",
        "full_name": "张三",
        "roles": ["trainer"],
        "is_active": "y",
        "password": "Start-pass-1",
        "status": "classroom",
    }
    data.update(over)
    return data


def test_admin_creates_a_user_who_must_change_password(admin_client, app, login):
    resp = admin_client.submit("/admin/users/new", new_user_form())
    assert resp.status_code == 302
    user = db.session.scalar(select(User).where(User.username == "zhangsan"))
    assert user.roles == {Role.TRAINER} and user.must_change_password
    assert user.password_hash.startswith("$argon2id$")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event.actor_name == "boss" and event.changes["roles"] == [None, ["trainer"]]
    other = app.test_client()
    resp = login(other, "zhangsan", "Start-pass-1")
    assert resp.location == "/account/password"


def test_admin_creates_an_agent_with_profile(admin_client, make_team):
    team = make_team("信用卡一组")
    resp = admin_client.submit(
        "/admin/users/new",
        new_user_form(
            username="a0100",
            roles=["agent"],
            employee_no="a0100",
            team_id=str(team.id),
            hire_date="2025-06-01",
            status="shadowing",
        ),
    )
    assert resp.status_code == 302
    agent = db.session.scalar(select(Agent))
    assert (agent.employee_no, agent.team.name, agent.status) == (
        "A0100",
        "信用卡一组",
        AgentStatus.SHADOWING,
    )


FUTURE = (date.today() + timedelta(days=3)).isoformat()
BAD_USERS = [
    ({"username": ""}, "Enter a username."),
    ({"username": "boss"}, "The username %(name)s is taken."),
    (
        {"username": "张三"},
        "A username may contain only letters, digits, dots, hyphens and underscores.",
    ),
    ({"full_name": ""}, "Enter the name."),
    ({"roles": []}, "Choose at least one role."),
    ({"roles": ["wizard"]}, None),  # not a valid choice: WTForms' own message
    ({"password": ""}, "Enter an initial password."),
    ({"password": "abc"}, "The password must be at least %(n)d characters long."),
    ({"roles": ["agent"]}, "An agent needs an employee number and a hire date."),
    (
        {"roles": ["agent"], "employee_no": "A-1", "hire_date": FUTURE},
        "The hire date cannot be in the future.",
    ),
    (
        {"roles": ["agent"], "employee_no": "工号1", "hire_date": "2024-01-01"},
        "An employee number may contain only letters, digits and hyphens.",
    ),
    ({"roles": ["agent"], "employee_no": "X1", "hire_date": "2024-13-45"}, None),
]


@pytest.mark.parametrize(("change", "msgid"), BAD_USERS)
def test_bad_user_forms_explain_and_create_nothing(admin_client, change, msgid):
    users_before, events_before = count(User), count(AuditEvent)
    resp = admin_client.submit("/admin/users/new", new_user_form(**change))
    assert resp.status_code == 422
    page = text(resp)
    assert zh("Nothing was saved. Correct the fields marked below.") in page
    if msgid:
        assert zh(msgid, name="boss", n=8) in page
    assert count(User) == users_before and count(AuditEvent) == events_before


def test_duplicate_employee_number_is_refused(admin_client, make_agent):
    make_agent(employee_no="A0007")
    resp = admin_client.submit(
        "/admin/users/new",
        new_user_form(roles=["agent"], employee_no="a0007", hire_date="2024-01-01"),
    )
    assert resp.status_code == 422
    assert zh("The employee number %(no)s is already in use.", no="A0007") in text(resp)
    assert count(Agent) == 1


def test_role_change_is_audited_with_before_and_after(admin_client, make_user):
    user = make_user(Role.AGENT, username="u1", full_name="李四")
    resp = admin_client.submit(
        f"/admin/users/{user.id}",
        {"username": "u1", "full_name": "李四", "roles": ["trainer", "hr"], "is_active": "y"},
    )
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.roles == {Role.TRAINER, Role.HR}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.update"))
    assert event.changes == {"roles": [["agent"], ["hr", "trainer"]]}
    assert event.target_type == "users" and event.target_id == str(user.id)


def test_admin_cannot_remove_own_admin_role(admin_client, admin):
    resp = admin_client.submit(
        f"/admin/users/{admin.id}",
        {"username": "boss", "full_name": "x", "roles": ["hr"], "is_active": "y"},
    )
    assert resp.status_code == 422
    assert zh("You cannot remove your own administrator role or disable your own account.") in text(
        resp
    )
    db.session.refresh(admin)
    assert admin.roles == {Role.ADMIN}


def test_disabling_a_user_ends_their_sessions(app, admin_client, make_user, login):
    user = make_user(Role.HR, username="u1")
    theirs = app.test_client()
    login(theirs, "u1")
    resp = admin_client.submit(
        f"/admin/users/{user.id}", {"username": "u1", "full_name": user.full_name, "roles": ["hr"]}
    )
    assert resp.status_code == 302
    db.session.refresh(user)
    assert user.is_active is False
    assert theirs.get("/").status_code == 302


def test_password_reset_forces_change_and_ends_sessions(app, admin_client, make_user, login):
    user = make_user(Role.AGENT, username="u1")
    theirs = app.test_client()
    login(theirs, "u1")
    resp = admin_client.submit(f"/admin/users/{user.id}/password", {"password": "Temp-pass-9"})
    assert resp.status_code == 302
    assert theirs.get("/").status_code == 302
    resp = login(app.test_client(), "u1", "Temp-pass-9")
    assert resp.location == "/account/password"


def test_weak_reset_password_is_refused(admin_client, make_user):
    user = make_user(Role.AGENT, username="u1")
    old = user.password_hash
    admin_client.submit(f"/admin/users/{user.id}/password", {"password": "weak"})
    page = text(admin_client.get(f"/admin/users/{user.id}"))
    assert zh("The password must be at least %(n)d characters long.", n=8) in page
    db.session.refresh(user)
    assert user.password_hash == old


def test_admin_unlocks_a_locked_account(app, admin_client, make_user, login):
    user = make_user(Role.AGENT, username="u1")
    other = app.test_client()
    for _ in range(10):
        other.submit("/login", {"username": "u1", "password": "bad-pass-1"})
    assert zh("Unlock sign-in") in text(admin_client.get(f"/admin/users/{user.id}"))
    admin_client.submit(f"/admin/users/{user.id}/unlock")
    login(other, "u1", PASSWORD)


def test_admin_ends_all_sessions_of_a_user(app, admin_client, make_user, login):
    user = make_user(Role.AGENT, username="u1")
    theirs = app.test_client()
    login(theirs, "u1")
    admin_client.submit(f"/admin/users/{user.id}/sessions/end")
    assert theirs.get("/").status_code == 302
    assert db.session.scalar(select(UserSession).where(UserSession.user_id == user.id)).revoked_at


def test_user_list_filters(admin_client, make_user):
    make_user(Role.TRAINER, username="trainer9", full_name="王五")
    make_user(Role.AGENT, username="agent9", full_name="赵六")
    page = text(admin_client.get("/admin/users?role=trainer"))
    assert "trainer9" in page and "agent9" not in page
    page = text(admin_client.get("/admin/users?q=赵"))
    assert "agent9" in page and "trainer9" not in page


def test_unknown_user_gives_404(admin_client):
    assert admin_client.get("/admin/users/9999").status_code == 404


def test_status_change_of_an_agent_is_audited(admin_client, make_agent):
    agent = make_agent(status=AgentStatus.ON_LINE)
    resp = admin_client.submit(
        f"/admin/users/{agent.user_id}",
        {
            "username": agent.user.username,
            "full_name": agent.user.full_name,
            "roles": ["agent"],
            "is_active": "y",
            "employee_no": agent.employee_no,
            "team_id": str(agent.team_id),
            "hire_date": "2024-03-01",
            "status": "retraining",
        },
    )
    assert resp.status_code == 302
    db.session.refresh(agent)
    assert agent.status == AgentStatus.RETRAINING
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "agent.status"))
    assert event.changes == {"status": ["on_line", "retraining"]}
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "agent.update")) is None


@pytest.mark.parametrize(
    "url",
    [
        "/admin/users/2147483648",
        "/admin/users/99999999999999999999",
        "/admin/teams/99999999999999999999",
    ],
)
def test_out_of_range_ids_are_404(admin_client, url):
    assert admin_client.get(url).status_code == 404


def test_out_of_range_filters_are_ignored(admin_client):
    assert admin_client.get("/agents/?team=99999999999999999999").status_code == 200
    assert admin_client.get("/admin/audit/?until=9999-12-31").status_code == 200
    assert admin_client.get("/admin/audit/?since=0001-01-01").status_code == 200


def test_user_created_disabled_is_audited_as_disabled(admin_client):
    admin_client.submit("/admin/users/new", new_user_form(is_active=""))
    user = db.session.scalar(select(User).where(User.username == "zhangsan"))
    assert user.is_active is False
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.create"))
    assert event.changes["is_active"] == [None, False]


def test_hire_date_today_in_shanghai_is_accepted(app):
    from lms.i18n import today_local
    from lms.people.services import check_hire_date

    assert check_hire_date(today_local()) == today_local()
    with pytest.raises(ValueError):
        check_hire_date(today_local() + timedelta(days=1))
