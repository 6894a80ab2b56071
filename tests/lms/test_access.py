"""Every view declares who may open it; everyone else is turned away."""

import pytest

from lms.accounts.access import CHECKED_IN_VIEW, PUBLIC, rule_for
from lms.accounts.models import Role
from tests.helpers import text, zh

PUBLIC_ENDPOINTS = {"main.healthz", "main.set_language", "accounts.login", "accounts.logout"}


def urls(app):
    """Yield (endpoint, url, methods) for every rule, with sample arguments."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        args = {a: 1 for a in rule.arguments}
        yield rule.endpoint, rule.build(args)[1], rule.methods - {"HEAD", "OPTIONS"}


def test_every_endpoint_declares_an_access_rule(app):
    with app.test_request_context():
        missing = [e for e, _, _ in urls(app) if rule_for(e) is None]
    assert missing == []


def test_public_endpoints_are_exactly_the_expected_ones(app):
    with app.test_request_context():
        public = {e for e, _, _ in urls(app) if rule_for(e) == PUBLIC}
    assert public == PUBLIC_ENDPOINTS


def test_only_the_typing_snapshot_checks_the_sign_in_in_its_own_statement(app):
    with app.test_request_context():
        own = {e for e, _, _ in urls(app) if rule_for(e) == CHECKED_IN_VIEW}
    assert own == {"typing.snapshot"}


def test_anonymous_users_reach_no_private_page(client, app):
    for endpoint, url, methods in urls(app):
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        for method in methods:
            data = {"csrf_token": client.csrf_token()} if method == "POST" else None
            resp = client.open(url, method=method, data=data)
            assert resp.status_code == 302, (method, url)
            assert resp.location.startswith("/login"), (method, url)


@pytest.mark.parametrize("prefix", ["/admin/", "/agents/"])
def test_agent_gets_a_friendly_403_on_staff_pages(client, app, make_user, login, prefix):
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    checked = 0
    for _, url, methods in urls(app):
        if not url.startswith(prefix):
            continue
        for method in methods:
            data = {"csrf_token": client.csrf_token()} if method == "POST" else None
            resp = client.open(url, method=method, data=data)
            assert resp.status_code == 403, (method, url)
            assert zh("You cannot open this page") in text(resp)
            checked += 1
    assert checked > 0


def test_trainer_and_hr_see_agents_but_not_admin(client, make_user, login):
    make_user(Role.TRAINER, username="t1")
    make_user(Role.HR, username="h1")
    for name in ("t1", "h1"):
        login(client, name)
        assert client.get("/agents/").status_code == 200
        assert client.get("/admin/users").status_code == 403
        assert client.get("/admin/audit/").status_code == 403
        client.submit("/logout")


def test_navigation_fits_the_role(client, make_user, login):
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    page = text(client.get("/"))
    assert 'href="/admin/users"' not in page and 'href="/agents/"' not in page
    assert 'id="agent-home"' in page
    client.submit("/logout")
    make_user(Role.ADMIN, Role.HR, username="ah")
    login(client, "ah")
    page = text(client.get("/"))
    assert 'href="/admin/users"' in page and 'href="/agents/"' in page
    assert 'id="admin-home"' in page and 'id="staff-home"' in page
