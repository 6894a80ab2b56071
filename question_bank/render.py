"""Helpers that show questions as a candidate sees them (no answer key ever leaves here)."""

from markupsafe import Markup, escape

from question_bank.qtypes.choice import option_letter
from question_bank.qtypes.fill_blank import BLANK


def stem_with_blanks(stem_html: str, prefix: str, interactive: bool, values=None) -> Markup:
    """Return the (sanitised) stem with an input in place of each blank."""
    values = list(values or [])
    counter = iter(range(1, 1000))

    def replace(_m):
        n = next(counter)
        value = values[n - 1] if n - 1 < len(values) else ""
        disabled = "" if interactive else " disabled"
        return (
            f'<input type="text" class="blank" name="{escape(prefix)}_blank_{n}" '
            f'value="{escape(value)}" aria-label="第{n}空" size="8"{disabled}>'
        )

    return Markup(BLANK.sub(replace, stem_html))  # noqa: S704 (the stem is sanitised HTML)


def options_in_order(body: dict, order: list[str] | None = None) -> list[tuple[str, dict]]:
    """Return (letter, option) pairs, in the candidate's order when one is given."""
    options = body.get("options", [])
    if order:
        by_key = {o["key"]: o for o in options}
        options = [by_key[k] for k in order if k in by_key]
    return [(option_letter(i), o) for i, o in enumerate(options)]


def qtype_label(key: str) -> str:
    """Return the translated name of a question type."""
    from question_bank import qtypes

    return str(qtypes.get(key).label)


def key_text(version) -> str:
    """Return a version's answer key as text (only for pages allowed to show it)."""
    from question_bank import qtypes

    return qtypes.get(version.qtype).key_text(version.body)


def init_app(app) -> None:
    """Register the template helpers."""
    app.jinja_env.filters["qtype_label"] = qtype_label
    app.jinja_env.globals["key_text"] = key_text
    app.jinja_env.globals["stem_with_blanks"] = stem_with_blanks
    app.jinja_env.globals["options_in_order"] = options_in_order
