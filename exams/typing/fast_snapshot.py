"""The typing snapshot's common case, answered before Flask builds a request.

A whole centre typing sends a snapshot every 5 s each: 200 requests a second for 1,000
typists, the app's heaviest traffic. Flask's request machinery (context, session, CSRF
hook, access hook, the ORM session, the response object) costs about as much as the
snapshot's own work. This WSGI layer in front of the app takes a snapshot only when
everything about it is ordinary: the page's JSON, a valid session cookie with its CSRF
token, the user's live session and own attempt in progress, in time, newer than the last
one, not too soon after it, not the end of a whole passage. It runs the view's own
statements (exams.typing.engine: SNAPSHOT_STATE, TAKE_AND_KEEP) and answers as the view
does.

Anything else, down to a query string or the token in a form field, goes on to Flask
unchanged (the body put back): the view answers every refusal and error as before, in
the user's language. Nothing is written before the fast path has decided to take the
snapshot, and the write itself is the view's conditional one; when it takes nothing (a
newer snapshot meanwhile) Flask answers.

The checks are Flask's own, done on the environ: the session cookie through the app's
session interface's serializer, Flask-WTF's token check (its serializer, salt, header
names, time limit, and the referrer of an HTTPS request under WTF_CSRF_SSL_STRICT),
the overload shedding of lms.overload, the NUL refusal of lms.web (no query string is
taken), and the live-session conditions of lms.accounts.sessions inside the statement.
Configurations it does not reproduce (CSRF off, TRUSTED_HOSTS, another session
interface, debug mode, the view at another address, TYPING_FAST_SNAPSHOT = False) send
every snapshot to Flask.
"""

import hmac
import io
import json
import logging
import re
import time
from datetime import timedelta

from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSessionInterface, session_json_serializer
from flask_wtf.csrf import same_origin
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from werkzeug.http import parse_cookie
from werkzeug.wsgi import get_host

from lms import overload, security
from lms.errors import UNAVAILABLE
from lms.timeutil import utcnow

log = logging.getLogger(__name__)

#: The snapshot's address (typing.snapshot), with an id as lms.web.IdConverter takes it.
PATH = re.compile(r"/exam/typing/attempts/([1-9][0-9]{0,9})/snapshot")
#: The view's rule PATH stands for: the fast path is off if the view moves.
RULE = ("typing.snapshot", "/exam/typing/attempts/<id:attempt_id>/snapshot", "POST")
MAX_ID = 2**31 - 1
#: The environ key under which a database failure met here is handed to Flask (see
#: :func:`raise_if_unavailable`), which answers it 503 as lms.errors does.
UNAVAILABLE_KEY = "lms.fast_snapshot.unavailable"
DIGITS = re.compile(r"[0-9]{1,9}")
#: What typing.js sends; any other type goes to Flask.
CONTENT_TYPE = "application/json"
#: The view's headers on an accepted snapshot (lms.security.set_headers and the view's).
HEADERS = [
    ("Content-Type", "application/json"),
    ("Cache-Control", "no-store"),
    ("Content-Security-Policy", security.CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    ("Vary", "Cookie"),
]


class SnapshotFastPath:
    """WSGI middleware: ordinary typing snapshots here, every other request to ``wsgi_app``."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._engine = None
        self._serializers: dict = {}
        self._routed: bool | None = None

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("CONTENT_TYPE") == CONTENT_TYPE:
            match = PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match and self.enabled():
                answer = self._try(environ, int(match.group(1)))
                if answer is not None:
                    start_response("200 OK", [*HEADERS, ("Content-Length", str(len(answer)))])
                    return [answer]
        return self.wsgi_app(environ, start_response)

    def enabled(self) -> bool:
        """Tell whether this configuration is one the fast path reproduces."""
        config = self.app.config
        return bool(
            config.get("TYPING_FAST_SNAPSHOT", True)
            and not self.app.debug  # jsonify indents its JSON then
            and config.get("WTF_CSRF_ENABLED", True)
            and config.get("WTF_CSRF_CHECK_DEFAULT", True)
            and "POST" in config.get("WTF_CSRF_METHODS", ("POST",))
            and config.get("TRUSTED_HOSTS") is None
            and type(self.app.session_interface) is SecureCookieSessionInterface
            and self.app.session_interface.serializer is session_json_serializer
            and self.routed()
        )

    def routed(self) -> bool:
        """Tell whether PATH is still the snapshot view's address (read once)."""
        if self._routed is None:
            endpoint, rule, method = RULE
            self._routed = any(
                r.endpoint == endpoint and r.rule == rule and method in (r.methods or ())
                for r in self.app.url_map.iter_rules()
            )
        return self._routed

    def _try(self, environ, attempt_id: int) -> bytes | None:
        """Take the snapshot and return the answer's body, or None for Flask to answer."""
        if attempt_id > MAX_ID or environ.get("QUERY_STRING"):
            return None
        limit = self.app.config.get("SHED_QUEUED_SECONDS") or 0
        if limit > 0:
            waited = overload.queued_seconds(environ.get("HTTP_X_REQUEST_START"), time.time())
            if waited is not None and waited > limit:
                return None  # Flask sheds it (503 Retry-After)
        raw = _read_body(environ)
        if raw is None:
            return None
        session = self._session(environ)
        if session is None or not self._csrf_ok(environ, session):
            return None
        from exams.typing.candidate_views import parse_snapshot

        data, _why = parse_snapshot(raw)
        if data is None:
            return None
        try:
            return self._take(attempt_id, session, data)
        except SQLAlchemyError as exc:
            if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                return None  # a connection that died under it: the view tries another
            if isinstance(exc, UNAVAILABLE):
                # The database down, locked or its pool exhausted: Flask answers 503
                # Retry-After as for any request (lms.errors), not trying a second time.
                environ[UNAVAILABLE_KEY] = exc
                return None
            # Anything else: the view runs the snapshot again and answers as it answers any.
            log.warning("typing snapshot fast path: database error, left to Flask", exc_info=True)
            return None

    def _session(self, environ) -> dict | None:
        """Return the signed session cookie's contents, as Flask would open them."""
        app = self.app
        value = parse_cookie(environ).get(app.config["SESSION_COOKIE_NAME"])
        if not value:
            return None
        serializer = self._serializer("session", app.secret_key)
        if serializer is None:
            return None
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data = serializer.loads(value, max_age=max_age)
        except BadData:
            return None
        return data if isinstance(data, dict) else None

    def _serializer(self, kind: str, secret):
        """Return the session cookie's serializer (Flask's: its keys with the fallbacks, salt,
        tags and signer) or the CSRF token's (Flask-WTF's) for ``secret``."""
        if not secret:
            return None
        fallbacks = tuple(self.app.config.get("SECRET_KEY_FALLBACKS") or ())
        key = (kind, secret, fallbacks)
        if key not in self._serializers:
            if kind == "session":
                iface = self.app.session_interface
                made = URLSafeTimedSerializer(
                    [*fallbacks, secret],  # the current key last, as Flask gives it
                    salt=iface.salt,
                    serializer=_TaggedJSON(),
                    signer_kwargs={
                        "key_derivation": iface.key_derivation,
                        "digest_method": iface.digest_method,
                    },
                )
            else:
                made = URLSafeTimedSerializer(secret, salt="wtf-csrf-token")
            self._serializers[key] = made
        return self._serializers[key]

    def _csrf_ok(self, environ, session: dict) -> bool:
        """Tell whether Flask-WTF's check would pass (flask_wtf.csrf.validate_csrf, protect)."""
        config = self.app.config
        token = None
        for name in config.get("WTF_CSRF_HEADERS", ["X-CSRFToken", "X-CSRF-Token"]):
            token = environ.get("HTTP_" + name.upper().replace("-", "_"))
            if token:
                break
        field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
        expected = session.get(field)
        if not token or not isinstance(expected, str):
            return False
        secret = config.get("WTF_CSRF_SECRET_KEY") or self.app.secret_key
        serializer = self._serializer("csrf", secret)
        if serializer is None:
            return False
        try:
            signed = serializer.loads(token, max_age=config.get("WTF_CSRF_TIME_LIMIT", 3600))
        except BadData:
            return False
        if not isinstance(signed, str) or not hmac.compare_digest(expected, signed):
            return False
        if environ.get("wsgi.url_scheme") == "https" and config.get("WTF_CSRF_SSL_STRICT", True):
            referrer = environ.get("HTTP_REFERER")
            if not referrer or not same_origin(referrer, f"https://{get_host(environ)}/"):
                return False
        return True

    def _take(self, attempt_id: int, session: dict, data: dict) -> bytes | None:
        """Run the view's statements; return the answer, or None when it is not ordinary."""
        from exams import rules
        from exams.typing import candidate_views, engine
        from lms.accounts import sessions

        sid, uid = session.get("sid"), session.get("_user_id")
        if not sid or not isinstance(uid, str) or not uid.isdigit():
            return None
        now = utcnow()
        idle = timedelta(seconds=self.app.config["SESSION_IDLE_TIMEOUT"])
        params = {"aid": attempt_id, "sid": sid, "uid": int(uid), "idle_since": now - idle}
        engine_ = self.engine()
        postgres = engine_.dialect.name == "postgresql"
        with engine_.connect() as conn:
            if postgres:  # each statement atomic on its own, as the view's (engine.snapshot_state)
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            row = conn.execute(engine.SNAPSHOT_STATE, params).first()
            if row is None:
                return None
            text, seq = data["text"], data["seq"]
            if not engine.plainly_taken(row, seq, text, now, candidate_views.SNAPSHOT_MIN_INTERVAL):
                return None
            sessions.touch_if_due(sid, row.session_seen_at, now, conn)
            taken = engine.take(conn, row, seq, text, data["client_ms"], data["evidence"], now)
            if not postgres:
                conn.commit()
            if not taken:
                return None  # a newer snapshot meanwhile: the view says "stale"
        left = rules.ms_left(now, row.deadline_at)
        body = {"finished": False, "ms_left": left, "ok": True, "seq": seq}  # jsonify's order
        return json.dumps(body, separators=(",", ":")).encode() + b"\n"

    def engine(self):
        """Return the app's database engine (Flask-SQLAlchemy's, so its pool and settings)."""
        if self._engine is None:
            from lms.extensions import db

            with self.app.app_context():
                self._engine = db.engine
        return self._engine


class _TaggedJSON(TaggedJSONSerializer):
    """Flask's session serializer reading JSON without an app context (flask.json looks
    for one; the cookie's JSON is plain either way)."""

    def loads(self, value):
        return json.loads(value, object_hook=self.untag)

    def dumps(self, value):
        return json.dumps(self.tag(value), separators=(",", ":"))


def _read_body(environ) -> bytes | None:
    """Read the body when its length is given (ASCII digits, no Transfer-Encoding) and
    small; put what was read back for Flask either way. A body cut short keeps its declared
    length, so that Flask sees it cut short too (400)."""
    from exams.typing.candidate_views import MAX_SNAPSHOT_BYTES

    length = environ.get("CONTENT_LENGTH", "")
    if environ.get("HTTP_TRANSFER_ENCODING") or not DIGITS.fullmatch(length):
        return None
    if not 0 < int(length) <= MAX_SNAPSHOT_BYTES:
        return None
    raw = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw if len(raw) == int(length) else None


def raise_if_unavailable() -> None:
    """Raise again, in Flask, the database failure the fast path met on this request (a
    before_request hook: lms.errors answers it 503 Retry-After, nothing tried twice)."""
    from flask import request

    error = request.environ.pop(UNAVAILABLE_KEY, None)
    if error is not None:
        raise error


def install(app) -> None:
    """Put the fast path in front of ``app``'s WSGI callable."""
    app.wsgi_app = SnapshotFastPath(app, app.wsgi_app)
    app.before_request_funcs.setdefault(None, []).insert(0, raise_if_unavailable)
