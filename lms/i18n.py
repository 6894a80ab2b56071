"""Language and time-zone choice, and the template filters that show times."""

from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context, session
from flask_babel import force_locale, format_date, format_datetime, get_locale
from flask_login import current_user

LANGUAGE_NAMES = {"zh_CN": "中文", "en": "English"}


def select_locale() -> str:
    """Use the user's choice, else the visitor's session choice, else LMS_LOCALE."""
    if has_request_context():
        if current_user and current_user.is_authenticated and current_user.locale:
            return current_user.locale
        lang = session.get("lang")
        if lang in LANGUAGE_NAMES:
            return lang
    return current_app.config["LMS_LOCALE"]


def select_timezone() -> str:
    """Show every time in the centre's zone."""
    return current_app.config["LMS_TIMEZONE"]


def datetime_filter(value: datetime | None, fmt: str = "yyyy-MM-dd HH:mm") -> str:
    """Format an aware UTC datetime in the centre's zone."""
    return "" if value is None else format_datetime(value, fmt)


def date_filter(value: date | None) -> str:
    """Format a date as yyyy-MM-dd (the form every user here reads)."""
    return "" if value is None else format_date(value, "yyyy-MM-dd")


def current_language() -> str:
    """Return the code (a key of LANGUAGE_NAMES) of the language in use."""
    # Babel expands zh_CN to zh_Hans_CN (which is why the catalogue lives there).
    return "zh_CN" if get_locale().language == "zh" else "en"


def html_lang() -> str:
    """Return the BCP 47 tag for the page's lang attribute."""
    return current_language().replace("_", "-")


@contextmanager
def force_user_locale(user):
    """Speak ``user``'s language outside a request (in a job or a command)."""
    g.lms_locale_forced = True  # Flask-Babel ignores an empty g
    with force_locale(getattr(user, "locale", None) or current_app.config["LMS_LOCALE"]):
        yield


def number_filter(value) -> str:
    """Show a decimal without trailing zeros and never in exponent form (10, not 1E+1)."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return "0" if text in ("-0", "") else text
    return str(value)


def today_local() -> date:
    """Return today's date in the centre's zone (not the server's)."""
    return datetime.now(ZoneInfo(current_app.config["LMS_TIMEZONE"])).date()


def init_app(app) -> None:
    """Register the filters and template globals."""
    app.jinja_env.filters["dt"] = datetime_filter
    app.jinja_env.filters["d"] = date_filter
    app.jinja_env.filters["num"] = number_filter
    app.jinja_env.globals["html_lang"] = html_lang
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.jinja_env.add_extension("jinja2.ext.i18n")
    from lms.audit import labels

    app.jinja_env.filters["action_label"] = labels.action_label
    app.jinja_env.filters["target_label"] = labels.target_label
    app.jinja_env.filters["field_label"] = labels.field_label
    app.jinja_env.globals["value_label"] = labels.value_label
    app.jinja_env.filters["audit_summary"] = labels.summary_label
