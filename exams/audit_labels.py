"""Readable forms of what the exams record in the audit log (built when the log is read)."""

import re
from datetime import datetime

from flask_babel import gettext as _

from lms.i18n import datetime_filter
from question_bank import qtypes

_LEGACY_ITEM = re.compile(r"^(?:item )?(\d+)$")
_LEGACY_REMOVED = re.compile(
    r"^(?:section (?P<section>\w+)|question (?P<question>\d+)"
    r"|draw rule (?P<count>\d+) × category (?P<category>\d+))$"
)


def grade_summary(summary: str) -> str:
    """Return "第 41 题" for the position a grade was given to (older rows say "item 41")."""
    match = _LEGACY_ITEM.match(summary.strip())
    return _("Question %(n)d", n=int(match.group(1))) if match else summary


def _moment(value) -> str:
    if not value or value == "None":
        return "—"
    try:
        return datetime_filter(datetime.fromisoformat(str(value)))
    except ValueError:
        return str(value)


def window(value) -> str | None:
    """Return a candidate's own window as "opens – closes" in the centre's zone."""
    if isinstance(value, list) and len(value) == 2:
        return f"{_moment(value[0])} – {_moment(value[1])}"
    return None


def _qtype(key: str) -> str:
    try:
        return str(qtypes.get(key).label)
    except KeyError:
        return key


def removed(value) -> str | None:
    """Return what was removed from a paper: a section, a fixed question or a draw rule."""
    if isinstance(value, str):
        match = _LEGACY_REMOVED.match(value)
        if match is None:
            return None
        value = {k: v for k, v in match.groupdict().items() if v is not None}
        if "count" in value:
            value["draw_rule"] = value.pop("count")
    if not isinstance(value, dict):
        return None
    if "section" in value:
        return _("Section: %(type)s", type=_qtype(value["section"]))
    if "question" in value:
        return _("Fixed question #%(id)s", id=value["question"])
    if "draw_rule" in value:
        return _(
            "Draw rule: %(n)s from category #%(id)s",
            n=value["draw_rule"],
            id=value.get("category"),
        )
    return None
