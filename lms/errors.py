"""Friendly error pages, in the user's language."""

from flask import current_app, g, jsonify, render_template, request, session
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from sqlalchemy import inspect

from lms.extensions import db
from lms.overload import Overloaded

#: Seconds a client is asked to wait before trying again when the database cannot answer
#: (the exam page adds its own random jitter, so candidates do not all return at once).
RETRY_AFTER_SECONDS = 5

#: The database is locked, unreachable or gone (OperationalError, DisconnectionError), or
#: every pooled connection is busy (TimeoutError): the server is overloaded, not broken.
UNAVAILABLE: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
)
try:  # Redis (REDIS_URL: sign-in lockout, the job queue) down: refuse cleanly, not 500.
    from redis import exceptions as redis_exc

    UNAVAILABLE += (redis_exc.ConnectionError, redis_exc.TimeoutError)
except ImportError:  # pragma: no cover (redis is optional without REDIS_URL)
    pass


def wants_json() -> bool:
    """Tell whether the request came from a script that reads JSON (a save, a .json poll)."""
    return (
        request.is_json
        or request.path.endswith(".json")
        or request.accept_mimetypes.best == "application/json"
    )


def safe_locale() -> str:
    """Return the language to answer in without asking the database (it may be down).

    The signed-in user's choice is used only if it is already loaded in this request.
    """
    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    locale = state.dict.get("locale") if state is not None else None
    return locale or session.get("lang") or current_app.config["LMS_LOCALE"]


def unavailable(error):
    """Answer 503 with Retry-After: the client should try again, nothing is lost."""
    if isinstance(error, Overloaded):
        current_app.logger.warning("shed: %s %s %s", request.method, request.path, error)
    else:
        current_app.logger.error("database or Redis unavailable: %s", error, exc_info=error)
    locale = safe_locale()
    if g.get("_login_user") is None:
        # Templates get current_user; loading it would ask the database again and fail.
        g._login_user = current_app.login_manager.anonymous_user()
    try:
        db.session.rollback()
    except Exception:  # the connection is already gone; the pool discards it
        current_app.logger.warning("rollback after a database failure failed", exc_info=True)
    with force_locale(locale):
        message = _("The server is busy or cannot reach its database. Try again shortly.")
        if wants_json():
            resp = jsonify(ok=False, reason="unavailable", message=message)
        else:
            resp = current_app.make_response(
                render_template(
                    "errors/unavailable.html",
                    title=_("The service is temporarily unavailable"),
                    message=message,
                    advice=_("Your saved answers are safe. Wait a moment, then reload this page."),
                    lang=locale.replace("_", "-"),
                )
            )
    resp.status_code = 503
    resp.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return resp


def init_app(app) -> None:
    """Register the error handlers."""
    for error in UNAVAILABLE:
        app.register_error_handler(error, unavailable)
    app.register_error_handler(Overloaded, unavailable)

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template(
            "errors/error.html",
            code=400,
            title=_("The form has expired"),
            message=_(
                "Your session has changed since the page was opened (for example you signed "
                "out or in again), or the form came from elsewhere. Go back, reload the page "
                "and send the form again."
            ),
        ), 400

    @app.errorhandler(400)
    def bad_request(error):
        return render_template(
            "errors/error.html",
            code=400,
            title=_("The request could not be understood"),
            message=_(
                "It contains characters or values that cannot be accepted. Go back and "
                "check what you entered."
            ),
        ), 400

    @app.errorhandler(405)
    def method_not_allowed(error):
        return render_template(
            "errors/error.html",
            code=405,
            title=_("This page cannot be opened that way"),
            message=_("Use the buttons and links on the pages instead of typing the address."),
        ), 405

    @app.errorhandler(403)
    def forbidden(error):
        return render_template(
            "errors/error.html",
            code=403,
            title=_("You cannot open this page"),
            message=_(
                "Your account does not have the role this page needs. If you think it should, "
                "ask an administrator."
            ),
        ), 403

    @app.errorhandler(404)
    def not_found(error):
        return render_template(
            "errors/error.html",
            code=404,
            title=_("Page not found"),
            message=_("There is no such page, or it is no longer there."),
        ), 404

    @app.errorhandler(413)
    def too_large(error):
        return render_template(
            "errors/error.html",
            code=413,
            title=_("The file is too large"),
            message=_("Files up to %(mb)d MB can be uploaded.", mb=20),
        ), 413

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_template(
            "errors/error.html",
            code=500,
            title=_("Something went wrong"),
            message=_("The error has been logged. Nothing you saved before was lost."),
        ), 500
