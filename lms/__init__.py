"""The training and examination system of a telephone-banking centre."""

import importlib
import os
from pathlib import Path

from flask import Flask
from flask_babel import lazy_gettext
from sqlalchemy import event
from sqlalchemy.engine import Engine

from lms import config as config_module
from lms.extensions import babel, csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
SUPPORTED_LOCALES = ("zh_CN", "en")
#: Packages that extend the app (each has init_app); later capabilities append theirs.
CAPABILITIES = ("question_bank", "exams")


def create_app(test_config: dict | None = None) -> Flask:
    """Build the application; ``test_config`` overrides the environment."""
    from lms.transaction import TransactionalFlask

    app = TransactionalFlask(
        __name__,
        instance_path=os.environ.get("LMS_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(config_module.from_environment(app.instance_path))
    if test_config:
        app.config.from_mapping(test_config)
    if app.config["LMS_ENV"] == "production":
        config_module.check_secret_key(app.config["SECRET_KEY"])
    if app.config["LMS_LOCALE"] not in SUPPORTED_LOCALES:
        raise config_module.ConfigError(f"LMS_LOCALE must be one of {', '.join(SUPPORTED_LOCALES)}")

    from lms import web

    app.url_map.converters["id"] = web.IdConverter
    configure_extensions(app)
    configure_blueprints(app)
    configure_hooks(app)
    if app.config.get("PROXY_HOPS"):
        # Behind a reverse proxy: take the client address and scheme from its headers
        # (outermost, so that what a capability puts in front of the app sees them too).
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def configure_extensions(app: Flask) -> None:
    """Bind the extensions to ``app``."""
    from lms import i18n
    from lms.accounts import throttle

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = lazy_gettext("Please sign in to open this page.")
    login_manager.login_message_category = "info"
    babel.init_app(
        app,
        locale_selector=i18n.select_locale,
        timezone_selector=i18n.select_timezone,
        default_translation_directories=str(ROOT / "lms" / "translations"),
    )
    i18n.init_app(app)
    throttle.init_app(app)
    # Importing the models registers them with the metadata (and the session loader).
    import lms.models  # noqa: F401


def configure_blueprints(app: Flask) -> None:
    """Register every blueprint and the CLI."""
    from lms import cli, errors, main
    from lms.accounts.views import bp as accounts_bp
    from lms.admin.views import bp as admin_bp
    from lms.audit.views import bp as audit_bp
    from lms.job_views import bp as jobs_bp
    from lms.people.views import bp as people_bp

    app.register_blueprint(main.bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(people_bp)
    app.register_blueprint(jobs_bp)
    app.register_blueprint(cli.bp)
    errors.init_app(app)
    # The capabilities built on this foundation plug themselves in; lms imports none of them.
    for name in CAPABILITIES:
        importlib.import_module(name).init_app(app)


def configure_hooks(app: Flask) -> None:
    """Install access checks and security headers."""
    from lms import overload, security, web
    from lms.accounts import access
    from lms.accounts.models import Role
    from lms.people.models import AgentStatus

    app.before_request(web.refuse_nul_bytes)
    app.before_request(access.enforce)
    overload.init_app(app)  # first of all: a shed request loads nothing
    app.after_request(security.set_headers)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(Role=Role, AgentStatus=AgentStatus)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """Turn on WAL, a busy timeout and foreign keys for every SQLite connection."""
    import sqlite3

    if isinstance(dbapi_connection, sqlite3.Connection):
        cur = dbapi_connection.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=10000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()
