"""Template helpers that show questions and points; the types do the type-specific part."""

from decimal import Decimal, InvalidOperation

from question_bank import qtypes


def points_text(value) -> str:
    """Return points as a teacher writes them: 1, 0.5, 20 (never 1.00 or 2E+1); "" for None."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        value = round(value, 2)  # points have two decimals; floats (statistics) more
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return f"{number.normalize():f}" if number.is_finite() else str(value)


def qtype_label(key: str) -> str:
    """Return the translated short name of a question type (for lists and filters)."""
    return str(qtypes.get(key).label)


def qtype_heading(key: str) -> str:
    """Return the translated section-heading name of a question type (单项选择题 …)."""
    return str(qtypes.get(key).heading)


def key_text(version, order: list | None = None) -> str:
    """Return a version's answer key as text, lettered in ``order`` when given (only for
    pages allowed to show it)."""
    return qtypes.get(version.qtype).key_text(version.body, order)


def response_text(version, response, order: list | None = None) -> str:
    """Return a stored response as text, lettered in the order the candidate saw."""
    return qtypes.get(version.qtype).response_text(version.body, response, order)


def init_app(app) -> None:
    """Register the template helpers."""
    app.jinja_env.filters["points"] = points_text
    app.jinja_env.filters["qtype_label"] = qtype_label
    app.jinja_env.filters["qtype_heading"] = qtype_heading
    app.jinja_env.globals["question_type"] = qtypes.get
    app.jinja_env.globals["key_text"] = key_text
    app.jinja_env.globals["response_text"] = response_text
