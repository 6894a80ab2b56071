"""What every question type provides."""

import unicodedata
from abc import ABC, abstractmethod


class QuestionType(ABC):
    """A question type: how it is authored, checked, shown and graded."""

    key = ""
    #: Chinese section heading used on papers, e.g. 单项选择题.
    label = ""
    #: True when a trainer must grade answers by hand.
    manual = False

    @abstractmethod
    def body_from_form(self, form) -> dict:
        """Build the body from the authoring form's fields."""

    def clean_body(self, body: dict) -> dict:
        """Return the body with its rich text sanitised and its shape normalised."""
        return body

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Return what is wrong with the question, in the user's language."""
        return []

    def publish_problems(self, body: dict) -> list[str]:
        """Return what a draft still lacks before it may be published (it may be saved)."""
        return []

    def read_response(self, body: dict, raw):
        """Return a candidate's raw answer in its stored shape; ValueError if it has none."""
        if raw is None or raw == "" or raw == []:
            return None
        return self._read_response(body, raw)

    def _read_response(self, body: dict, raw):
        raise ValueError("no response shape")

    @abstractmethod
    def grade(self, body: dict, response, *, partial: bool = False) -> float | None:
        """Return the fraction of the points earned (0..1), or None if graded by hand."""

    def exam_html(self, body: dict) -> list[str]:
        """Return the HTML of the body that a candidate sees while answering (not the key)."""
        return []

    def review_html(self, body: dict) -> list[str]:
        """Return the HTML of the body a candidate sees only once review is allowed."""
        return []

    def key_text(self, body: dict) -> str:
        """Return the answer key as short plain text (for trainers and printed keys)."""
        return ""

    def text_parts(self, body: dict) -> list[tuple[str, str]]:
        """Return (label, plain text) pairs of the body, for history diffs and search."""
        return []


def normalise_answer(value) -> str:
    """Normalise a typed answer: full-width to half-width, trimmed, spaces collapsed, caseless.

    NFKC maps full-width letters, digits and punctuation (ＡＢＣ１２３，) to their ordinary
    forms, which is how Chinese input methods most often differ from the key.
    """
    text = unicodedata.normalize("NFKC", str(value or ""))
    return " ".join(text.split()).casefold()
