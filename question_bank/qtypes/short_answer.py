"""Short answer 简答题: prose, graded by a trainer against a reference answer and rubric."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from question_bank.qtypes.base import PrintView, QuestionType
from question_bank.sanitize import clean, rich, to_text


class ShortAnswer(QuestionType):
    """Answered in prose; a trainer grades it."""

    key = "short_answer"
    label = _l("Short answer")
    heading = _l("Short-answer questions")
    manual = True

    def _read_response(self, body: dict, raw, order: list | None):
        """Take plain text (kept as typed; shown escaped)."""
        if not isinstance(raw, str):
            raise ValueError("not text")
        return raw[:20000]

    def body_from_form(self, form) -> dict:
        """Read the reference answer and the rubric (rich text)."""
        return {
            "reference": rich(form.get("reference", "")),
            "rubric": rich(form.get("rubric", "")),
        }

    def clean_body(self, body: dict) -> dict:
        """Sanitise both texts."""
        return {
            "reference": clean(body.get("reference", "")),
            "rubric": clean(body.get("rubric", "")),
        }

    def publish_problems(self, body: dict) -> list[str]:
        """Require a reference answer before publishing, so that graders agree.

        A draft may lack one: essays imported from Moodle usually have none yet.
        """
        if not to_text(body.get("reference", "")):
            return [_("A short-answer question needs a reference answer for the graders.")]
        return []

    def grade(self, body: dict, response, *, partial: bool = False) -> None:
        """Leave it to a trainer."""
        return None

    def review_html(self, body: dict) -> list[str]:
        """Return the reference answer (shown in the review); the rubric stays with staff."""
        return [body.get("reference", "")]

    def key_text(self, body: dict, order: list | None = None) -> str:
        """Return the reference answer as text."""
        return to_text(body.get("reference", ""))

    def print_view(self, stem: str, body: dict, with_key: bool) -> PrintView:
        """Leave ruled lines on the paper; print the reference answer and rubric in the key."""
        if not with_key:
            return PrintView(stem, {"answer_lines": 8})
        return PrintView(
            stem,
            {
                "reference": Markup(body.get("reference", "")),  # noqa: S704 (sanitised on save)
                "rubric": Markup(body.get("rubric", "")),  # noqa: S704 (sanitised on save)
            },
        )

    def text_parts(self, body: dict) -> list[tuple[str, str]]:
        """Return the reference answer and the rubric."""
        return [
            (_("Reference answer"), to_text(body.get("reference", ""))),
            (_("Rubric"), to_text(body.get("rubric", ""))),
        ]
