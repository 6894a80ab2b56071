"""Reading the question authoring form (its fields depend on the type, so it is not WTForms)."""

from lms.web import MAX_ID
from question_bank import qtypes
from question_bank.render import points_text
from question_bank.sanitize import rich
from question_bank.services import QuestionInput, split_tags


def read_input(form) -> QuestionInput:
    """Build a QuestionInput from a submitted authoring form."""
    qtype_key = form.get("qtype", "")
    body = qtypes.get(qtype_key).body_from_form(form) if qtype_key in qtypes.REGISTRY else {}
    try:
        category_id = int(form.get("category_id") or 0)
    except ValueError:
        category_id = 0
    return QuestionInput(
        qtype=qtype_key,
        category_id=category_id if 0 < category_id <= MAX_ID else None,
        stem=rich(form.get("stem")),
        body=body,
        explanation=rich(form.get("explanation")),
        source=form.get("source", ""),
        default_points=form.get("default_points", "1"),
        difficulty=form.get("difficulty", "3"),
        tags=split_tags(form.get("tags", "")),
        name=form.get("name", ""),
    )


def input_from_version(question) -> QuestionInput:
    """Return the stored question as form input (to fill the edit form)."""
    v = question.current
    return QuestionInput(
        qtype=v.qtype,
        category_id=question.category_id,
        stem=v.stem,
        body=v.body,
        explanation=v.explanation,
        source=v.source,
        default_points=points_text(v.default_points),
        difficulty=question.difficulty,
        tags=[t.name for t in question.tags],
        name=question.name,
    )
