"""The audit helper and the audit log page."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lms import audit
from lms.accounts.models import Role
from lms.audit.models import AuditEvent
from lms.extensions import db
from tests.helpers import text, zh


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ({"score": 58}, {"score": 62}, {"score": [58, 62]}),
        ({"a": 1, "b": 2}, {"a": 1, "b": 3}, {"b": [2, 3]}),
        (None, {"name": "x"}, {"name": [None, "x"]}),
        ({"name": "x"}, None, {"name": ["x", None]}),
        ({"a": 1}, {"a": 1}, {}),
    ],
)
def test_diff_keeps_only_changed_fields(before, after, expected):
    assert audit.diff(before, after) == expected


def test_record_outside_a_request_has_no_actor(app, make_user):
    user = make_user(Role.AGENT)
    event = audit.record(
        "score.regrade", user, summary="试卷 1", before={"score": 58}, after={"score": 62}
    )
    db.session.commit()
    stored = db.session.get(AuditEvent, event.id)
    assert stored.actor_id is None and stored.changes == {"score": [58, 62]}
    assert stored.target_type == "users" and stored.target_id == str(user.id)


def test_record_in_a_request_names_the_signed_in_user(admin_client, make_team):
    admin_client.submit("/admin/teams", {"name": "一组", "description": ""})
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "team.create"))
    assert event.actor_name == "boss" and event.ip == "127.0.0.1"


def test_audit_page_filters(admin_client, make_user):
    admin_client.submit("/admin/teams", {"name": "一组", "description": ""})
    user = make_user(Role.AGENT, username="u77")
    audit.record(
        "user.update", user, summary="u77", before={"roles": ["agent"]}, after={"roles": ["hr"]}
    )
    db.session.commit()
    page = text(admin_client.get("/admin/audit/?action=team.create"))
    assert "一组" in page and "u77" not in page
    page = text(admin_client.get("/admin/audit/?target_type=users"))
    assert "u77" in page and "<del>客服代表</del>" in page
    page = text(admin_client.get("/admin/audit/?actor=BOSS"))
    assert "一组" in page and "u77" not in page


def test_audit_page_shows_times_in_shanghai(admin_client):
    event = audit.record("test.event", summary="时区")
    event.at = datetime(2026, 1, 31, 17, 30, 5, tzinfo=UTC)
    db.session.commit()
    page = text(admin_client.get("/admin/audit/?action=test.event"))
    assert "2026-02-01 01:30:05" in page


def test_audit_page_date_filter(admin_client):
    event = audit.record("test.event", summary="一月底")
    event.at = datetime(2026, 1, 31, 17, 30, tzinfo=UTC)  # 2026-02-01 in Shanghai
    db.session.commit()
    assert "一月底" in text(admin_client.get("/admin/audit/?since=2026-02-01&until=2026-02-01"))
    assert "一月底" not in text(admin_client.get("/admin/audit/?until=2026-01-31"))


def test_audit_page_bad_date_is_explained(admin_client):
    resp = admin_client.get("/admin/audit/?since=2026-13-01")
    assert resp.status_code == 200
    assert zh("Enter a date such as 2026-01-31.") in text(resp)


def test_audit_log_escapes_what_it_shows(admin_client):
    audit.record("test.event", summary="<script>alert(1)</script>")
    db.session.commit()
    page = text(admin_client.get("/admin/audit/"))
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
