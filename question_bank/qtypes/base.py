"""What every question type provides.

A type owns everything that differs between types: its names, its authoring form, how it
is shown in an exam, a review and on paper, how an answer is read, checked and graded.
Nothing outside ``question_bank/qtypes`` and ``templates/qtypes`` names a type.

Templates: a type's templates live in ``templates/qtypes/<template_folder>/``:

- ``form.html``: the answer fields of the authoring form (``inp``, ``errors``, ``rich``);
- ``exam.html``: the answer area on the exam page and in previews (``qt``, ``v``,
  ``prefix``, ``interactive``, ``response``, ``order``); what the page posts is read by
  ``read_response``;
- ``review.html``: the same, read-only with the candidate's answer (defaults to exam.html);
- ``print.html``: the answer area on the printed paper (``q``, ``doc``);
- ``print_key.html``: the key block of the printed answer key (defaults to one line);
- ``answer.html``: the key as trainers see it beside a question (defaults to one line).
"""

import unicodedata
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from markupsafe import Markup

#: Modes whose own template may be missing, and what stands in for it.
FALLBACK_MODES = {"review": "exam"}


@dataclass
class PrintView:
    """A question as the printed paper shows it: the stem and what the type template needs."""

    stem: str  #: sanitised HTML, with the type's answer bracket or gaps in it
    data: dict = field(default_factory=dict)  #: what print.html / print_key.html read


class QuestionType(ABC):
    """A question type: how it is authored, checked, shown and graded."""

    key = ""
    #: Short name for lists, filters and buttons, e.g. 单选题 / "Single choice".
    label = ""
    #: Name in section headings of papers and exam pages, e.g. 单项选择题.
    heading = ""
    #: True when a trainer must grade answers by hand.
    manual = False
    #: How the exam page's script reads the answer: "choice" (the checked input named
    #: after the item), "choices" (every checked one), "text" (the field named after the
    #: item) or "texts" (every field whose name starts with the item's name and "_").
    answer_kind = "text"
    #: Help shown under the stem in the authoring form (e.g. how to mark blanks).
    stem_help = ""
    #: The folder of the type's templates under templates/qtypes/ (default: the key).
    template_folder = ""
    #: How the type is imported and exported (question_bank.interchange.Interchange);
    #: None: its questions are skipped by every format, with the reason.
    interchange = None

    def templates(self, mode: str) -> list[str]:
        """Return the templates that show this type in ``mode``, the first that exists wins."""
        folder = f"qtypes/{self.template_folder or self.key}"
        names = [f"{folder}/{mode}.html"]
        if mode in FALLBACK_MODES:
            names.append(f"{folder}/{FALLBACK_MODES[mode]}.html")
        names.append(f"qtypes/_default/{mode}.html")
        return names

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

    def option_order(self, body: dict, shuffle: bool, rnd) -> list | None:
        """Return what an attempt freezes about the presentation (e.g. the option order)."""
        return None

    def read_response(self, body: dict, raw, order: list | None = None):
        """Return a posted answer in its stored shape; ValueError if it has the wrong form.

        ``order`` is what ``option_order`` froze for this attempt item: the page posts
        positions in that order, never anything derived from the key.
        """
        if raw is None or raw == "" or raw == []:
            return None
        return self._read_response(body, raw, order)

    def _read_response(self, body: dict, raw, order: list | None):
        raise ValueError("no response shape")

    def is_answered(self, response) -> bool:
        """Tell whether a stored response counts as an answer (navigator, monitor)."""
        return response is not None and bool(str(response).strip())

    @abstractmethod
    def grade(self, body: dict, response, *, partial: bool = False) -> float | None:
        """Return the fraction of the points earned (0..1), or None if graded by hand."""

    def exam_html(self, body: dict) -> list[str]:
        """Return the HTML of the body that a candidate sees while answering (not the key)."""
        return []

    def review_html(self, body: dict) -> list[str]:
        """Return the HTML of the body a candidate sees only once review is allowed."""
        return []

    def key_text(self, body: dict, order: list | None = None) -> str:
        """Return the answer key as short plain text, as shown in ``order`` when given."""
        return ""

    def response_text(self, body: dict, response, order: list | None = None) -> str:
        """Return a stored response as short plain text, as the candidate saw it."""
        return "" if response is None else str(response)

    def exam_stem(self, stem: str, prefix: str, interactive: bool, response=None) -> Markup:
        """Return the (sanitised) stem as the exam page shows it."""
        return Markup(stem)  # noqa: S704 (the stem is sanitised HTML)

    def print_view(self, stem: str, body: dict, with_key: bool) -> PrintView:
        """Return the stem and the data of the printed question (the key only ``with_key``)."""
        return PrintView(stem)

    def text_parts(self, body: dict) -> list[tuple[str, str]]:
        """Return (label, plain text) pairs of the body, for history diffs and search."""
        return []


def normalise_answer(value, case_sensitive: bool = False) -> str:
    """Normalise a typed answer: full-width to half-width, trimmed, spaces collapsed, caseless
    unless ``case_sensitive``.

    NFKC maps full-width letters, digits and punctuation (ＡＢＣ１２３，) to their ordinary
    forms, which is how Chinese input methods most often differ from the key.
    """
    text = " ".join(unicodedata.normalize("NFKC", str(value or "")).split())
    return text if case_sensitive else text.casefold()
