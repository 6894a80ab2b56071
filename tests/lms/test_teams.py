"""Teams: create, rename, delete."""

import pytest
from sqlalchemy import select

from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.people.models import Team
from tests.helpers import count, text, zh


def test_create_rename_and_delete_a_team(admin_client):
    resp = admin_client.submit("/admin/teams", {"name": "信用卡一组", "description": "挂失"})
    assert resp.status_code == 302
    team = db.session.scalar(select(Team))
    resp = admin_client.submit(f"/admin/teams/{team.id}", {"name": "信用卡1组", "description": ""})
    assert resp.status_code == 302
    db.session.refresh(team)
    assert team.name == "信用卡1组"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "team.update"))
    assert event.changes["name"] == ["信用卡一组", "信用卡1组"]
    admin_client.submit(f"/admin/teams/{team.id}/delete")
    assert count(Team) == 0


@pytest.mark.parametrize(
    ("name", "msgid"),
    [
        ("", "Enter a team name."),
        ("   ", "Enter a team name."),
        ("x" * 65, None),
        ("已有组", "A team named %(name)s already exists."),
    ],
)
def test_bad_team_names_are_explained(admin_client, make_team, name, msgid):
    make_team("已有组")
    resp = admin_client.submit("/admin/teams", {"name": name, "description": ""})
    assert resp.status_code == 422
    if msgid:
        assert zh(msgid, name=name) in text(resp)
    assert count(Team) == 1


def test_rename_to_a_taken_name_is_refused(admin_client, make_team):
    make_team("一组")
    team = make_team("二组")
    resp = admin_client.submit(f"/admin/teams/{team.id}", {"name": "一组", "description": ""})
    assert resp.status_code == 422
    db.session.refresh(team)
    assert team.name == "二组"


def test_team_with_agents_cannot_be_deleted(admin_client, make_team, make_agent):
    team = make_team("一组")
    make_agent(team=team)
    admin_client.submit(f"/admin/teams/{team.id}/delete")
    page = text(admin_client.get(f"/admin/teams/{team.id}"))
    assert (
        zh(
            "The team %(name)s still has %(n)d agents: move them to another team first.",
            name="一组",
            n=1,
        )
        in page
    )
    assert count(Team) == 1
