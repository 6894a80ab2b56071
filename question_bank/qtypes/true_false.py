"""True/false 判断题."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from question_bank.qtypes.base import PrintView, QuestionType
from question_bank.qtypes.layout import with_answer_bracket


class TrueFalse(QuestionType):
    """The statement in the stem is right or wrong."""

    key = "true_false"
    label = _l("True/false")
    heading = _l("True/false questions")
    answer_kind = "choice"

    def _read_response(self, body: dict, raw, order: list | None):
        """Take true or false."""
        if isinstance(raw, bool):
            return raw
        if raw in ("true", "false"):
            return raw == "true"
        raise ValueError("not a boolean")

    def body_from_form(self, form) -> dict:
        """Read correct = true/false."""
        value = form.get("correct", "")
        return {"correct": {"true": True, "false": False}.get(value)}

    def clean_body(self, body: dict) -> dict:
        """Keep only the boolean."""
        value = body.get("correct")
        return {"correct": value if isinstance(value, bool) else None}

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Require the answer to be chosen."""
        if body.get("correct") is None:
            return [_("Choose whether the statement is true or false.")]
        return []

    def is_answered(self, response) -> bool:
        """Answered when true or false is chosen."""
        return isinstance(response, bool)

    def grade(self, body: dict, response, *, partial: bool = False) -> float:
        """Score 1 when the response matches."""
        return 1.0 if response is not None and bool(response) == body["correct"] else 0.0

    def key_text(self, body: dict, order: list | None = None) -> str:
        """Return 对 or 错 (in the user's language)."""
        return _("True") if body.get("correct") else _("False")

    def response_text(self, body: dict, response, order: list | None = None) -> str:
        """Return 对 or 错 as chosen, or nothing."""
        if not isinstance(response, bool):
            return ""
        return _("True") if response else _("False")

    def print_view(self, stem: str, body: dict, with_key: bool) -> PrintView:
        """Print the answer in the stem's bracket."""
        key = self.key_text(body) if with_key else ""
        inside = f"&nbsp;{key}&nbsp;" if with_key else "&emsp;&emsp;"
        return PrintView(with_answer_bracket(stem, inside), {"key": key})

    def text_parts(self, body: dict) -> list[tuple[str, str]]:
        """Return the key."""
        return [(_("Answer"), self.key_text(body))]
