"""Sign-in, sign-out, sessions, lockout and forced password change."""

from http.cookies import SimpleCookie

from sqlalchemy import select

from lms.accounts.models import Role, User, UserSession
from lms.audit.models import AuditEvent
from lms.extensions import db
from tests.conftest import PASSWORD
from tests.helpers import count, text, zh


def session_cookie(client) -> str:
    """Return the value of the client's session cookie."""
    return client.get_cookie("lms_session").value


def test_login_page_is_chinese_by_default(client):
    resp = client.get("/login")
    assert resp.status_code == 200
    assert 'lang="zh-CN"' in text(resp)
    assert zh("Sign in") in text(resp)


def test_login_without_csrf_token_is_refused(client, make_user):
    make_user(Role.AGENT, username="a1")
    resp = client.post("/login", data={"username": "a1", "password": PASSWORD})
    assert resp.status_code == 400
    assert zh("The form has expired") in text(resp)
    assert count(UserSession) == 0


def test_login_with_wrong_password_says_so_in_chinese(client, make_user):
    make_user(Role.AGENT, username="a1")
    resp = client.submit("/login", {"username": "a1", "password": "wrong-pass1"})
    assert resp.status_code == 422
    assert "用户名或密码错误" in text(resp)
    assert count(UserSession) == 0


def test_login_with_unknown_user_gives_the_same_message(client):
    resp = client.submit("/login", {"username": "nobody", "password": "whatever1"})
    assert "用户名或密码错误" in text(resp)


def test_login_with_empty_fields_names_them(client):
    resp = client.submit("/login", {"username": "", "password": ""})
    assert resp.status_code == 422
    assert zh("Enter your username.") in text(resp)
    assert zh("Enter your password.") in text(resp)


def test_form_fields_name_their_errors_and_never_an_attribute_of_none(client):
    """A field with neither help nor an error had aria-describedby="None" (and
    aria-invalid="None"): screen readers looked for an element of id None."""
    page = client.get("/login").get_data(as_text=True)
    assert '="None"' not in page and "aria-invalid" not in page
    page = client.submit("/login", {"username": "", "password": ""}).get_data(as_text=True)
    assert '="None"' not in page
    assert 'aria-describedby="username-error" aria-invalid="true"' in page.replace(
        'aria-invalid="true" aria-describedby="username-error"',
        'aria-describedby="username-error" aria-invalid="true"',
    )


def test_login_is_case_insensitive_and_records_time(client, make_user, login):
    user = make_user(Role.AGENT, username="a0001")
    login(client, "A0001")
    db.session.refresh(user)
    assert user.last_login_at is not None


def test_login_starts_a_new_session(client, make_user):
    make_user(Role.AGENT, username="a1")
    client.get("/login")
    before = session_cookie(client)
    with client.session_transaction() as s:
        s["planted"] = "by an attacker"
    client.submit("/login", {"username": "a1", "password": PASSWORD})
    assert session_cookie(client) != before
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s["sid"]


def test_login_redirects_only_to_local_next(client, make_user):
    make_user(Role.AGENT, username="a1")
    resp = client.submit(
        "/login?next=https://evil.example/x", {"username": "a1", "password": PASSWORD}
    )
    assert resp.location == "/"
    client.submit("/logout")
    resp = client.submit("/login?next=/account", {"username": "a1", "password": PASSWORD})
    assert resp.location == "/account"


def test_anonymous_is_sent_to_login(client):
    resp = client.get("/")
    assert resp.status_code == 302
    assert resp.location.startswith("/login")


def test_logout_revokes_the_session_on_the_server(app, client, make_user, login):
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    stolen = session_cookie(client)
    assert client.get("/").status_code == 200
    resp = client.submit("/logout")
    assert resp.status_code == 302
    # Replaying the cookie from before the logout no longer reaches a signed-in page.
    replay = app.test_client()
    replay.set_cookie("lms_session", stolen)
    resp = replay.get("/")
    assert resp.status_code == 302 and resp.location.startswith("/login")
    row = db.session.scalar(select(UserSession))
    assert row.revoked_at is not None


def test_logout_without_csrf_is_refused(client, make_user, login):
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200


def test_inactive_account_cannot_sign_in(client, make_user):
    make_user(Role.AGENT, username="a1", active=False)
    resp = client.submit("/login", {"username": "a1", "password": PASSWORD})
    assert resp.status_code == 422
    assert zh("This account is disabled. Ask an administrator.") in text(resp)


def test_disabling_a_signed_in_user_ends_their_access(app, client, make_user, login):
    user = make_user(Role.AGENT, username="a1")
    login(client, "a1")
    user.is_active = False
    db.session.commit()
    assert client.get("/").status_code == 302


def test_eleventh_failed_login_is_locked_even_with_right_password(client, make_user):
    make_user(Role.AGENT, username="a1")
    for _ in range(10):
        resp = client.submit("/login", {"username": "a1", "password": "wrong-pass1"})
        assert resp.status_code == 422
    resp = client.submit("/login", {"username": "a1", "password": PASSWORD})
    assert resp.status_code == 422
    assert "登录失败次数过多" in text(resp)
    assert count(UserSession) == 0
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.lockout"))


def test_nine_failures_then_success_resets_the_count(client, make_user, login):
    make_user(Role.AGENT, username="a1")
    for _ in range(9):
        client.submit("/login", {"username": "a1", "password": "wrong-pass1"})
    login(client, "a1")
    client.submit("/logout")
    for _ in range(9):
        client.submit("/login", {"username": "a1", "password": "wrong-pass1"})
    login(client, "a1")


def test_lockout_is_per_account(client, make_user, login):
    make_user(Role.AGENT, username="a1")
    make_user(Role.AGENT, username="a2")
    for _ in range(10):
        client.submit("/login", {"username": "a1", "password": "wrong-pass1"})
    login(client, "a2")


def test_admin_created_account_must_change_password_first(client, make_user, login):
    make_user(Role.AGENT, username="new1", must_change=True)
    resp = login(client, "new1")
    assert resp.location == "/account/password"
    resp = client.get("/")
    assert resp.status_code == 302 and resp.location == "/account/password"
    resp = client.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "Fresh-pass-42",
            "confirm": "Fresh-pass-42",
        },
    )
    assert resp.status_code == 302
    assert client.get("/").status_code == 200
    user = db.session.scalar(select(User).where(User.username == "new1"))
    assert user.must_change_password is False


def test_password_change_ends_other_sessions(app, make_user, login):
    make_user(Role.AGENT, username="a1")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, "a1")
    login(phone, "a1")
    resp = laptop.submit(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": "Other-pass-77",
            "confirm": "Other-pass-77",
        },
    )
    assert resp.status_code == 302
    assert laptop.get("/").status_code == 200
    assert phone.get("/").status_code == 302
    login(app.test_client(), "a1", "Other-pass-77")


BAD_CHANGES = [
    ({"current_password": "nope-123456"}, "The current password is wrong."),
    (
        {"new_password": "short1", "confirm": "short1"},
        "The password must be at least %(n)d characters long.",
    ),
    (
        {"new_password": "onlyletters", "confirm": "onlyletters"},
        "The password must contain both letters and digits.",
    ),
    ({"confirm": "Different-99"}, "The two new passwords differ."),
    (
        {"new_password": PASSWORD, "confirm": PASSWORD},
        "The new password must differ from the current one.",
    ),
]


def test_bad_password_changes_are_explained_and_change_nothing(client, make_user, login):
    user = make_user(Role.AGENT, username="a1")
    login(client, "a1")
    old_hash = user.password_hash
    for change, msgid in BAD_CHANGES:
        data = {
            "current_password": PASSWORD,
            "new_password": "Good-pass-11",
            "confirm": "Good-pass-11",
            **change,
        }
        resp = client.submit("/account/password", data)
        assert resp.status_code == 422, msgid
        assert zh(msgid, n=8) in text(resp), msgid
        db.session.refresh(user)
        assert user.password_hash == old_hash


def test_account_page_lists_sessions_and_ends_others(app, make_user, login):
    make_user(Role.AGENT, username="a1")
    a, b = app.test_client(), app.test_client()
    login(a, "a1")
    login(b, "a1")
    page = text(a.get("/account"))
    assert page.count("<tr>") >= 3  # header + two sessions
    resp = a.submit("/account/sessions/end-others")
    assert resp.status_code == 302
    assert b.get("/").status_code == 302
    assert a.get("/").status_code == 200


def test_idle_session_expires(app, client, make_user, login):
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    app.config["SESSION_IDLE_TIMEOUT"] = 0
    assert client.get("/").status_code == 302


def test_signed_in_pages_are_not_cached(client, make_user, login):
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    assert client.get("/").headers["Cache-Control"] == "no-store"


def test_security_headers(client):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    cookie = SimpleCookie(resp.headers.get("Set-Cookie", ""))
    if "lms_session" in cookie:
        assert cookie["lms_session"]["httponly"]


def test_temporary_password_expires(client, make_user, app):
    from datetime import timedelta

    from lms.timeutil import utcnow

    user = make_user(Role.AGENT, username="new1", must_change=True)
    user.password_changed_at = utcnow() - timedelta(days=app.config["TEMPORARY_PASSWORD_DAYS"] + 1)
    db.session.commit()
    resp = client.submit("/login", {"username": "new1", "password": PASSWORD})
    assert resp.status_code == 422
    assert zh("Your temporary password has expired. Ask an administrator to reset it.") in text(
        resp
    )
    assert count(UserSession) == 0


def test_guessing_the_current_password_locks_and_signs_out(client, make_user, login):
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    for _ in range(9):
        resp = client.submit(
            "/account/password",
            {
                "current_password": "guess-1234",
                "new_password": "Good-pass-11",
                "confirm": "Good-pass-11",
            },
        )
        assert resp.status_code == 422
    resp = client.submit(
        "/account/password",
        {
            "current_password": "guess-1234",
            "new_password": "Good-pass-11",
            "confirm": "Good-pass-11",
        },
    )
    assert resp.status_code == 302 and resp.location == "/login"
    assert client.get("/").status_code == 302
    resp = client.submit("/login", {"username": "a1", "password": PASSWORD})
    assert "登录失败次数过多" in text(resp)


def test_concurrent_guesses_cannot_pass_the_limit(app, make_user):
    """Thirty simultaneous attempts: at most ten are judged before the lock."""
    from concurrent.futures import ThreadPoolExecutor

    from lms.accounts import throttle

    def one(_):
        with app.app_context():
            state = throttle.attempt("target")
            db.session.remove()
            return state.locked

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(one, range(30)))
    assert results.count(False) <= 10
    assert results.count(True) >= 20


def test_long_or_odd_usernames_are_just_wrong(client):
    for name in ("İ" * 40, "x" * 64):
        resp = client.submit("/login", {"username": name, "password": "whatever1"})
        assert resp.status_code == 422
        assert "用户名或密码错误" in text(resp)


def test_nul_bytes_are_refused_with_a_clear_page(client, make_user, login):
    resp = client.submit("/login", {"username": "boss\x00", "password": "x"})
    assert resp.status_code == 400
    assert zh("The request could not be understood") in text(resp)
    make_user(Role.TRAINER, username="t1")
    login(client, "t1")
    assert client.get("/agents/?q=%00").status_code == 400


def test_logout_by_get_gets_a_clear_page(client):
    resp = client.get("/logout")
    assert resp.status_code == 405
    assert zh("This page cannot be opened that way") in text(resp)


def test_sign_in_prompt_is_translated(client):
    client.get("/")
    page = text(client.get("/login"))
    assert zh("Please sign in to open this page.") in page


def test_sign_in_and_out_are_audited(client, make_user, login):
    from lms.audit.models import AuditEvent

    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    client.submit("/logout")
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["auth.login", "auth.logout"]


def test_every_role_of_a_user_loads_with_the_session(app, make_user, login):
    """The session, the user and the roles load in one statement: no role may be lost."""
    from lms.accounts.models import Role
    from tests.helpers import count_queries

    make_user(Role.TRAINER, Role.HR, Role.ADMIN, username="multi")
    client = app.test_client()
    login(client, "multi")
    with count_queries() as q:
        resp = client.get("/admin/users")
    assert resp.status_code == 200  # an admin page: the third role counts
    first = q.statements[0]
    assert "user_sessions" in first and "users" in first and "user_roles" in first


def test_sign_in_with_redis_down_is_refused_cleanly(app, client, make_user):
    """REDIS_URL set and Redis stopped: sign-in answers 503 (fails closed), never 500."""
    import socket

    import redis

    from lms.accounts.throttle import RedisStore

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there once closed
    down = redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.5)
    app.extensions["lms_throttle_store"] = RedisStore(down)
    make_user(Role.AGENT, username="a1")
    for password in (PASSWORD, "wrong-pass1"):
        resp = client.submit("/login", {"username": "a1", "password": password})
        assert resp.status_code == 503
        assert resp.headers["Retry-After"]
    assert count(UserSession) == 0
