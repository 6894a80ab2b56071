"""Moodle's rules that both its formats follow, Moodle XML and GIFT.

Moodle's text formats, category paths, which of Moodle's question types each registered
type reads, why a question type is skipped, and how messages name a question. What a type's
answers mean is the type's own (its ``interchange``).
"""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from question_bank.interchange import Interchange, Malformed, Unsupported, codecs, feedback_lost
from question_bank.sanitize import from_text

__all__ = ["Malformed", "Unsupported", "feedback_lost"]
UNSUPPORTED = {
    "matching": _l("Matching"),
    "match": _l("Matching"),
    "numerical": _l("Numerical"),
    "calculated": _l("Calculated"),
    "calculatedsimple": _l("Simple calculated"),
    "calculatedmulti": _l("Calculated multichoice"),
    "description": _l("Description"),
    "ddwtos": _l("Drag and drop into text"),
    "ddimageortext": _l("Drag and drop onto image"),
    "ddmarker": _l("Drag and drop markers"),
    "gapselect": _l("Select missing words"),
    "randomsamatch": _l("Random short-answer matching"),
    "ordering": _l("Ordering"),
}


def moodle_readers() -> dict[str, Interchange]:
    """Return, by Moodle question type, the registered type's interchange that reads it."""
    readers: dict[str, Interchange] = {}
    for found in codecs().values():
        for kind in found.moodle_types:
            readers.setdefault(kind, found)
    return readers


def where_label(n: int, name: str) -> str:
    """Name the question for a human: its position and, if any, its name."""
    name = " ".join(name.split())
    if not name:
        return _("question %(n)d", n=n)
    short = name if len(name) <= 40 else name[:39] + "…"
    return _("question %(n)d (%(name)s)", n=n, name=short)


def to_html(text: str, fmt: str) -> str:
    """Return Moodle text of format ``fmt`` as HTML."""
    if fmt in ("plain_text", "markdown"):
        # No Markdown renderer in the standard library: show the source as written.
        return from_text(text)
    if fmt == "moodle_auto_format":
        return text.replace("\r\n", "\n").replace("\n", "<br>")
    return text


def parse_category(text: str) -> list[str]:
    """Return the path of a Moodle category, without its context and ``top``."""
    # Moodle writes a "/" inside a category name as "//".
    parts = [p.replace("\0", "/").strip() for p in text.replace("//", "\0").split("/")]
    parts = [p for p in parts if p]
    if parts and parts[0].startswith("$") and parts[0].endswith("$"):
        parts = parts[1:]
    if parts and parts[0] == "top":
        parts = parts[1:]
    return parts


def category_text(path: list[str]) -> str:
    """Write a category path the way Moodle 3.5+ exports it."""
    return "/".join(["$course$", "top", *(p.replace("/", "//") for p in path)])


def unsupported_reason(qtype: str) -> str:
    """Say why a Moodle question type is skipped."""
    label = UNSUPPORTED.get(qtype)
    if label is None:
        return _('Questions of type "%(type)s" are not supported.', type=qtype)
    return _("%(type)s questions are not supported.", type=str(label))
