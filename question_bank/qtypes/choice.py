"""Single choice 单选题 and multiple choice 多选题.

Option keys are opaque strings that identify an option across versions: editing its text
keeps its key, removing another option never renumbers it, and a new option gets a key the
question never used. Keys never reach a candidate's browser: the exam page shows and posts
each option's letter in the candidate's order, and ``read_response`` maps letters back to
keys through that order.
"""

import re
import secrets

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from question_bank.interchange import Interchange, Malformed, RowCells
from question_bank.qtypes.base import PrintView, QuestionType
from question_bank.qtypes.layout import option_columns, with_answer_bracket
from question_bank.sanitize import clean, rich, to_text

MAX_OPTIONS = 10
LETTERS = "ABCDEFGHIJ"
#: What an option key posted back by the authoring form may look like.
KEY_SHAPE = re.compile(r"[A-Za-z0-9_-]{1,32}")


def option_letter(index: int) -> str:
    """Return the letter shown for the option at ``index`` (0-based)."""
    return LETTERS[index]


def new_key(taken) -> str:
    """Return an option key unlike any in ``taken`` (random, so no history is needed)."""
    while True:
        key = secrets.token_hex(4)
        if key not in taken:
            return key


def shown_keys(body: dict, order: list | None = None) -> list[str]:
    """Return the option keys in the order shown: ``order`` when given, else as authored."""
    keys = [o["key"] for o in body.get("options", [])]
    if order:
        return [k for k in order if k in keys]
    return keys


class _Choice(QuestionType):
    multiple = False
    template_folder = "choice"

    @property
    def input_type(self) -> str:
        """Return the HTML input type of the options: radio or checkbox."""
        return "checkbox" if self.multiple else "radio"

    def body_from_form(self, form) -> dict:
        """Read option_N (rich text), option_key_N (its key) and correct (row numbers).

        A row keeps the key it was shown with; a row without one (a new option) gets a
        fresh key. ``correct`` names rows, so it maps to the keys of the rows kept.
        """
        rows = set(form.getlist("correct"))
        posted = {form.get(f"option_key_{n}", "").strip() for n in range(1, MAX_OPTIONS + 1)}
        options, correct, taken = [], [], set()
        for n in range(1, MAX_OPTIONS + 1):
            html = rich(form.get(f"option_{n}", ""))
            if not (to_text(html) or "<img" in html):
                continue
            key = form.get(f"option_key_{n}", "").strip()
            if not KEY_SHAPE.fullmatch(key) or key in taken:
                key = new_key(taken | posted)
            taken.add(key)
            options.append({"key": key, "html": html})
            if str(n) in rows:
                correct.append(key)
        return {"options": options, "correct": correct}

    def clean_body(self, body: dict) -> dict:
        """Sanitise the options; give keyless or repeated options a fresh key; keep only
        correct keys that exist, in the options' order."""
        options, taken = [], set()
        for o in body.get("options", []):
            key = str(o.get("key") or "").strip()
            if not key or key in taken:
                key = new_key(taken)
            taken.add(key)
            options.append({"key": key, "html": clean(o.get("html", ""))})
        chosen = {str(k) for k in body.get("correct", [])}
        return {"options": options, "correct": [o["key"] for o in options if o["key"] in chosen]}

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Check the number of options and of correct ones."""
        problems = []
        options = body.get("options", [])
        if len(options) < 2:
            problems.append(_("A choice question needs at least two options."))
        if len(options) > MAX_OPTIONS:
            problems.append(_("A question may have at most %(n)d options.", n=MAX_OPTIONS))
        texts = [to_text(o["html"]) for o in options]
        if len({t for t in texts if t}) < len([t for t in texts if t]):
            problems.append(_("Two options have the same text."))
        return problems

    def exam_html(self, body: dict) -> list[str]:
        """Return the options' HTML (shown while answering)."""
        return [o.get("html", "") for o in body.get("options", [])]

    def option_order(self, body: dict, shuffle: bool, rnd) -> list[str]:
        """Freeze the option keys in the order this candidate sees them."""
        order = [o["key"] for o in body.get("options", [])]
        if shuffle:
            rnd.shuffle(order)
        return order

    def _key_of(self, body: dict, letter, order: list | None) -> str:
        """Return the key of the option shown at ``letter``; ValueError for anything else."""
        keys = shown_keys(body, order)
        if not isinstance(letter, str) or len(letter) != 1 or letter not in LETTERS[: len(keys)]:
            raise ValueError("not a shown option")
        return keys[LETTERS.index(letter)]

    def _letters(self, body: dict, keys, order: list | None) -> str:
        shown = shown_keys(body, order)
        return "".join(option_letter(i) for i, k in enumerate(shown) if k in set(keys))

    def key_text(self, body: dict, order: list | None = None) -> str:
        """Return the correct letters as shown in ``order``, e.g. ACD."""
        return self._letters(body, body.get("correct", []), order)

    def response_text(self, body: dict, response, order: list | None = None) -> str:
        """Return the chosen letters as the candidate saw them."""
        if response is None:
            return ""
        return self._letters(body, response if isinstance(response, list) else [response], order)

    def shown_options(self, body: dict, order: list | None = None, response=None) -> list[dict]:
        """Return the options as shown: letter, html and whether the response chose it.

        Nothing here is derived from the keys' values or from which options are correct.
        """
        by_key = {o["key"]: o for o in body.get("options", [])}
        chosen = set(response if isinstance(response, list) else [response])
        return [
            {"letter": option_letter(i), "html": Markup(by_key[k]["html"]), "chosen": k in chosen}  # noqa: S704 (sanitised on save)
            for i, k in enumerate(shown_keys(body, order))
        ]

    def print_view(self, stem: str, body: dict, with_key: bool) -> PrintView:
        """Print the options lettered, the answer in the stem's bracket."""
        key = self.key_text(body) if with_key else ""
        inside = f"&nbsp;{key}&nbsp;" if with_key else "&emsp;&emsp;"
        options = body.get("options", [])
        return PrintView(
            with_answer_bracket(stem, inside),
            {
                "options": [(option_letter(i), Markup(o["html"])) for i, o in enumerate(options)],  # noqa: S704 (sanitised on save)
                "columns": option_columns(options),
                "key": key,
            },
        )

    def text_parts(self, body: dict) -> list[tuple[str, str]]:
        """Return each option with its letter, and the key."""
        parts = [
            (_("Option %(letter)s", letter=option_letter(i)), to_text(o["html"]))
            for i, o in enumerate(body.get("options", []))
        ]
        parts.append((_("Answer"), self.key_text(body)))
        return parts


class SingleChoice(_Choice):
    """Exactly one option is correct."""

    key = "single_choice"
    label = _l("Single choice")
    heading = _l("Single-choice questions")
    answer_kind = "choice"

    def _read_response(self, body: dict, raw, order: list | None):
        """Take the letter of one shown option; store its key."""
        return self._key_of(body, raw, order)

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Require exactly one correct option."""
        problems = super().validate(stem_text, body)
        if len(body.get("correct", [])) != 1:
            problems.append(_("A single-choice question needs exactly one correct option."))
        return problems

    def grade(self, body: dict, response, *, partial: bool = False) -> float:
        """Score 1 for the correct option, else 0."""
        return 1.0 if response is not None and [str(response)] == body["correct"] else 0.0


class MultipleChoice(_Choice):
    """Any number of options are correct, at least one; the candidate ticks every one."""

    key = "multiple_choice"
    label = _l("Multiple choice")
    heading = _l("Multiple-choice questions")
    answer_kind = "choices"
    multiple = True

    def _read_response(self, body: dict, raw, order: list | None):
        """Take the letters of the shown options ticked; store their keys as authored."""
        chosen = {self._key_of(body, r, order) for r in (raw if isinstance(raw, list) else [raw])}
        return [o["key"] for o in body.get("options", []) if o["key"] in chosen]

    def is_answered(self, response) -> bool:
        """Answered when at least one option is ticked."""
        return isinstance(response, list) and any(str(r).strip() for r in response)

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Require at least one correct option (Moodle allows a single one too)."""
        problems = super().validate(stem_text, body)
        if not body.get("correct"):
            problems.append(_("A multiple-choice question needs at least one correct option."))
        return problems

    def grade(self, body: dict, response, *, partial: bool = False) -> float:
        """All or nothing; with ``partial``, 少选得一半分，错选不得分.

        Chosen keys that the graded version no longer has (a removed option) are ignored.
        """
        keys = {o["key"] for o in body.get("options", [])}
        chosen = {str(r) for r in (response or [])} & keys
        correct = set(body["correct"])
        if chosen == correct:
            return 1.0
        if partial and chosen and chosen < correct:
            return 0.5
        return 0.0


def positive_weight(n: int) -> str:
    """Return the percentage each of ``n`` correct options is worth, as Moodle lists it."""
    # Moodle matches fractions against its own list, which holds 1/n to seven decimals.
    return f"{100 / n:.5f}".rstrip("0").rstrip(".")


def choice_body(single: bool, options: list[dict], fractions: list[float], src) -> tuple[str, dict]:
    """Return the type and body of a Moodle choice question, checking its correct options.

    Options have no marks of their own here: a wrong option is one with no positive mark. A
    negative mark is therefore set to 0, with a warning (``src.warn``), except -100 in a
    multiple-answer question: any wrong option then loses the question's marks in Moodle,
    which is how this system grades every multiple-choice question.
    """
    negative = sorted({f for f in fractions if f < 0})
    if negative and (single or negative != [-100.0]):
        src.warn(
            _(
                "Options with negative marks (%(marks)s) were imported as wrong options: "
                "negative marks were set to 0.",
                marks=", ".join(f"{f:g}%" for f in negative),
            )
        )
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
        part = sorted({f for f in fractions if 0 < f < best}, reverse=True)
        if part:
            src.warn(
                _(
                    "Options worth part of the marks (%(marks)s) were imported as wrong: a "
                    "single-choice question here gives full marks or none.",
                    marks=", ".join(f"{f:g}%" for f in part),
                )
            )
        return SingleChoice.key, {"options": options, "correct": correct}
    correct = [o["key"] for o, f in zip(options, fractions, strict=True) if f > 0]
    weights = sorted({round(f, 3) for f in fractions if f > 0}, reverse=True)
    if len(weights) > 1:
        src.warn(
            _(
                "The correct options carry different weights (%(marks)s); here every correct "
                "option counts the same.",
                marks=", ".join(f"{f:g}%" for f in weights),
            )
        )
    if not correct:
        raise Malformed(
            _(
                "A multiple-choice question needs at least one correct option "
                "(one with a positive grade)."
            )
        )
    return MultipleChoice.key, {"options": options, "correct": correct}


def _numbered(options: list[tuple[float, str]]) -> tuple[list[dict], list[float]]:
    """Key the non-blank options 1..n (Moodle drops blank choices too)."""
    kept = [(fraction, html) for fraction, html in options if html]
    numbered = [{"key": str(n), "html": html} for n, (_f, html) in enumerate(kept, start=1)]
    return numbered, [fraction for fraction, _html in kept]


class ChoiceInterchange(Interchange):
    """Moodle's multichoice (single or not); lettered option columns in spreadsheets."""

    moodle_types = ("multichoice",)

    def __init__(self, multiple: bool):
        self.multiple = multiple
        self.sheet_names = ("多选题", "多选") if multiple else ("单选题", "单选")
        self.sheet_help = (
            ("多选题：答案填全部正确选项的字母（如 ACD）。",)
            if multiple
            else ("单选题：选项写在 选项A…选项J，答案填正确选项的字母（如 B）。",)
        )

    def map_html(self, body: dict, fn) -> dict:
        """Apply ``fn`` to each option's HTML."""
        return {**body, "options": [{**o, "html": fn(o["html"])} for o in body["options"]]}

    def from_moodle_xml(self, kind: str, src) -> tuple[str, str, dict]:
        """Read <single> and each <answer>'s HTML and grade."""
        single = src.text("single").lower() not in ("false", "0")
        options, fractions = _numbered([(f, src.rich_node(a)) for f, a in src.answers()])
        key, body = choice_body(single, options, fractions, src)
        return key, src.stem, body

    def _weights(self, body: dict) -> tuple[str, str]:
        # Moodle adds up a multiple choice's grades: wrong options must cost all for picking
        # every option not to score.
        if self.multiple:
            return positive_weight(len(body["correct"]) or 1), "-100"
        return "100", "0"

    def to_moodle_xml(self, q, out) -> tuple[str, str, list[str]]:
        """Write multichoice with its options in order (options like "all of the above")."""
        right, wrong = self._weights(q.body)
        correct = set(q.body["correct"])
        lines = [
            f"    <single>{'false' if self.multiple else 'true'}</single>",
            "    <shuffleanswers>false</shuffleanswers>",
            "    <answernumbering>ABCD</answernumbering>",
        ]
        for option in q.body["options"]:
            fraction = right if option["key"] in correct else wrong
            lines.append(out.rich("answer", option["html"], f' fraction="{fraction}"'))
        return "multichoice", q.stem, lines

    def from_gift(self, kind: str, stem: str, answer: str, src) -> tuple[str, str, dict]:
        """Read ``{=right ~wrong}`` (single) or ``{~%50%a ~%-100%b}`` (multiple)."""
        weighted = src.weighted(answer.replace("=", "~="), "~", 0.0)
        options, fractions = _numbered([(w, src.html(text)) for w, text in weighted])
        # As in Moodle: any "=" answer makes it single choice, weights alone multiple choice.
        key, body = choice_body("=" in answer, options, fractions, src)
        return key, stem, body

    def to_gift(self, q, out) -> list[str]:
        """Write ``=`` for the right option, or each option's weight for multiple choice."""
        right, wrong = self._weights(q.body)
        right, wrong = (f"~%{right}%", f"~%{wrong}%") if self.multiple else ("=", "~")
        correct = set(q.body["correct"])
        options = [
            (right if o["key"] in correct else wrong) + out.escape(o["html"])
            for o in q.body["options"]
        ]
        return [out.head + out.escape(q.stem) + "{", *options, out.feedback, "}"]

    def from_row(self, answer: str, src) -> dict:
        """Read the filled option columns and the letters in 答案."""
        options, letters = [], []
        for n, (letter, text) in enumerate(src.options(), start=1):
            if text:
                options.append({"key": str(n), "html": src.html(text)})
                letters.append(letter)
        wanted = [c for c in answer.upper() if c.isalpha()]
        if any(c not in letters for c in wanted):
            raise ValueError(
                _("答案 %(v)s names options that are empty or do not exist.", v=answer or "—")
            )
        keys = {letter: o["key"] for letter, o in zip(letters, options, strict=True)}
        chosen = {keys[c] for c in wanted}
        return {"options": options, "correct": [o["key"] for o in options if o["key"] in chosen]}

    def to_row(self, q, out) -> RowCells:
        """Write each option in its column and the correct letters."""
        keys = [o["key"] for o in q.body["options"]]
        return RowCells(
            options=[out.cell(o["html"]) for o in q.body["options"]],
            answer="".join(option_letter(keys.index(k)) for k in q.body["correct"]),
        )


SingleChoice.interchange = ChoiceInterchange(multiple=False)
MultipleChoice.interchange = ChoiceInterchange(multiple=True)
