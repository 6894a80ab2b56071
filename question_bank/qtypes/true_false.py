"""True/false 判断题."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from question_bank.interchange import Interchange, Malformed, RowCells
from question_bank.qtypes.base import PrintView, QuestionType
from question_bank.qtypes.layout import with_answer_bracket

TRUE_WORDS = {"对", "正确", "是", "t", "true", "√", "✓", "y", "yes"}
FALSE_WORDS = {"错", "错误", "否", "f", "false", "×", "✗", "n", "no"}


class TrueFalseInterchange(Interchange):
    """Moodle's truefalse; 对/错 in spreadsheets."""

    moodle_types = ("truefalse",)
    sheet_names = ("判断题", "判断")
    sheet_help = ("判断题：答案填 对 或 错。",)

    def from_moodle_xml(self, kind: str, src) -> tuple[str, str, dict]:
        """Read which of the answers true and false has a positive grade."""
        right: dict[str, bool] = {}
        for i, (fraction, a) in enumerate(src.answers()):
            word = src.text("text", a).lower()
            if word not in ("true", "false"):
                # Old Moodle files name the answers in the site's language, "true" first.
                word = "true" if i == 0 else "false"
            right[word] = fraction > 0
        if set(right) == {"true", "false"} and right["true"] == right["false"]:
            raise Malformed(_("Exactly one of the answers true and false must be correct."))
        if not right:
            raise Malformed(_("A true/false question needs the answers true and false."))
        correct = right["true"] if "true" in right else not right["false"]
        return TrueFalse.key, src.stem, {"correct": correct}

    def to_moodle_xml(self, q, out) -> tuple[str, str, list[str]]:
        """Write the answers true and false, the right one worth 100%."""
        correct = bool(q.body["correct"])
        lines = [
            f'    <answer fraction="{100 if value == correct else 0}" format="moodle_auto_format">'
            f"<text>{'true' if value else 'false'}</text></answer>"
            for value in (True, False)
        ]
        return "truefalse", q.stem, lines

    def from_gift(self, kind: str, stem: str, answer: str, src) -> tuple[str, str, dict]:
        """Read ``{T}``, ``{TRUE}``, ``{F}`` or ``{FALSE}``."""
        return TrueFalse.key, stem, {"correct": src.word(answer) in ("T", "TRUE")}

    def to_gift(self, q, out) -> list[str]:
        """Write ``{TRUE}`` or ``{FALSE}``."""
        word = "TRUE" if q.body["correct"] else "FALSE"
        return [f"{out.head}{out.escape(q.stem)}{{{word}{out.feedback}}}"]

    def from_row(self, answer: str, src) -> dict:
        """Read 对 or 错 (and their usual synonyms)."""
        word = answer.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise ValueError(
                _("答案 of a true/false question must be 对 or 错, not %(v)s.", v=answer or "—")
            )
        return {"correct": word in TRUE_WORDS}

    def to_row(self, q, out) -> RowCells:
        """Write 对 or 错."""
        return RowCells(answer="对" if q.body["correct"] else "错")


class TrueFalse(QuestionType):
    """The statement in the stem is right or wrong."""

    key = "true_false"
    label = _l("True/false")
    heading = _l("True/false questions")
    answer_kind = "choice"
    interchange = TrueFalseInterchange()

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
