"""Moodle's rules that both its formats follow, Moodle XML and GIFT.

Marking the blank of a one-answer fill-in, Moodle's text formats, category paths, the checks
on choice and short-answer answers, why a question type is skipped, how messages name a
question, and the two errors a question can raise.
"""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from question_bank.qtypes.fill_blank import BLANK
from question_bank.sanitize import from_text

BLANK_MARK = "____"
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
_TRAILING_BLANK = re.compile(r" ____(</p>)?$")


class Malformed(ValueError):
    """A question that cannot be read; the message says why."""


class Unsupported(Exception):
    """A question of a kind we do not take; the message says which."""


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


def mark_blank(stem: str) -> str:
    """Mark the blank of a one-answer question whose stem shows none, at its end."""
    if BLANK.search(stem):
        return stem
    if stem.endswith("</p>"):
        return f"{stem[:-4]} {BLANK_MARK}</p>"
    return f"{stem} {BLANK_MARK}"


def unmark_blank(stem: str) -> str:
    """Undo mark_blank so that a re-import gives back the same stem."""
    if len(BLANK.findall(stem)) != 1:
        return stem
    return _TRAILING_BLANK.sub(lambda m: m.group(1) or "", stem)


def literal_answer(text: str) -> str | None:
    """Return a short-answer answer with ``\\*`` unescaped, or None if it has a wildcard."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 2] == "*":
            out.append("*")
            i += 2
            continue
        if text[i] == "*":
            return None
        out.append(text[i])
        i += 1
    return "".join(out)


def escape_answer(text: str) -> str:
    """Write a literal answer so that Moodle does not read ``*`` as a wildcard."""
    return text.replace("*", "\\*")


def accepted_answers(answers: list[tuple[float, str]], gap: int | None = None) -> list[str]:
    """Return the answers worth full marks; Unsupported if one of them is a wildcard."""
    if not any(text for _f, text in answers):
        raise Malformed(_("The answers have no text."))
    accepted = []
    for fraction, text in answers:
        # Partial credit and catch-all answers (*) have no equivalent: only full marks count.
        if fraction < 99.99999 or not text:
            continue
        literal = literal_answer(text)
        if literal is None:
            raise Unsupported(
                _("Short-answer questions with a wildcard (*) in an answer are not supported.")
            )
        accepted.append(literal)
    if not accepted:
        if gap is None:
            raise Malformed(_("A short-answer question needs at least one answer worth 100%."))
        raise Malformed(_("Gap %(n)d needs at least one answer worth 100%%.", n=gap))
    return accepted


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


def choice_body(single: bool, options: list[dict], fractions: list[float]) -> tuple[str, dict]:
    """Return the type and body of a choice question, checking its correct options."""
    if len(options) < 2:
        raise Malformed(
            _("A choice question needs at least two options; this one has %(n)d.", n=len(options))
        )
    best = max(fractions)
    if single:
        if best <= 0:
            raise Malformed(
                _("A single-choice question needs a correct option (one with a positive grade).")
            )
        # Moodle lets a single choice give part marks; only the full-mark option is correct.
        correct = [o["key"] for o, f in zip(options, fractions, strict=True) if f == best]
        return "single_choice", {"options": options, "correct": correct}
    correct = [o["key"] for o, f in zip(options, fractions, strict=True) if f > 0]
    if not correct:
        raise Malformed(
            _(
                "A multiple-choice question needs at least one correct option "
                "(one with a positive grade)."
            )
        )
    return "multiple_choice", {"options": options, "correct": correct}


def positive_weight(n: int) -> str:
    """Return the percentage each of ``n`` correct options is worth, as Moodle lists it."""
    # Moodle matches fractions against its own list, which holds 1/n to seven decimals.
    return f"{100 / n:.5f}".rstrip("0").rstrip(".")


def unsupported_reason(qtype: str) -> str:
    """Say why a Moodle question type is skipped."""
    label = UNSUPPORTED.get(qtype)
    if label is None:
        return _('Questions of type "%(type)s" are not supported.', type=qtype)
    return _("%(type)s questions are not supported.", type=str(label))
