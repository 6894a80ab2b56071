"""Fill in the blank 填空题: blanks marked in the stem, several accepted answers each."""

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from question_bank.qtypes.base import PrintView, QuestionType, normalise_answer

#: A blank in the stem: a run of three or more underscores (full-width ＿ too).
BLANK = re.compile(r"[_＿]{3,}")
MAX_BLANKS = 10
ALTERNATIVES = re.compile(r"[|｜\n]")
SEPARATORS = re.compile(r"[|｜;；\n]")


def count_blanks(stem_text: str) -> int:
    """Return how many blanks the stem marks."""
    return len(BLANK.findall(stem_text or ""))


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


def gaps(stem: str, answers: list[list[str]] | None) -> str:
    """Replace each blank (____) by an underlined gap, filled with its answers in a key."""
    counter = iter(range(len(BLANK.findall(stem))))

    def replace(_m):
        n = next(counter)
        if answers is None:
            return '<span class="gap"></span>'
        text = " / ".join(answers[n]) if n < len(answers) else ""
        return f'<span class="gap filled">{escape(text)}</span>'

    return BLANK.sub(replace, stem)


class FillBlank(QuestionType):
    """Each blank accepts any of its answers, compared without width, case or spaces."""

    key = "fill_blank"
    label = _l("Fill in the blank")
    heading = _l("Fill-in-the-blank questions")
    answer_kind = "texts"
    stem_help = _l("Mark each blank with ____ (three or more underscores).")

    def _read_response(self, body: dict, raw, order: list | None):
        """Take one short text per blank."""
        values = raw if isinstance(raw, list) else [raw]
        if len(values) > MAX_BLANKS or not all(isinstance(v, str | None) for v in values):
            raise ValueError("bad blanks")
        return [(v or "")[:200] for v in values]

    def body_from_form(self, form) -> dict:
        """Read blank_N: accepted answers separated by | or new lines."""
        blanks = []
        for n in range(1, MAX_BLANKS + 1):
            raw = form.get(f"blank_{n}")
            if raw is None:
                continue
            blanks.append([a.strip() for a in ALTERNATIVES.split(raw) if a.strip()])
        while blanks and not blanks[-1]:
            blanks.pop()
        return {"blanks": blanks}

    def clean_body(self, body: dict) -> dict:
        """Keep lists of non-empty strings."""
        return {
            "blanks": [
                [str(a).strip()[:200] for a in blank if str(a).strip()]
                for blank in body.get("blanks", [])
            ]
        }

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Match the blanks of the stem with the answers given."""
        problems = []
        n = count_blanks(stem_text)
        blanks = body.get("blanks", [])
        if n == 0:
            problems.append(_("Mark each blank in the stem with ____ (three or more underscores)."))
        elif n > MAX_BLANKS:
            problems.append(_("A question may have at most %(n)d blanks.", n=MAX_BLANKS))
        elif len(blanks) > n:
            problems.append(
                _("The stem has %(n)d blanks but answers are given for %(m)d.", n=n, m=len(blanks))
            )
        for i in range(1, min(n, MAX_BLANKS) + 1):
            if i > len(blanks) or not blanks[i - 1]:
                problems.append(_("Blank %(n)d needs at least one accepted answer.", n=i))
        for i, answers in enumerate(blanks, start=1):
            if any(SEPARATORS.search(a) for a in answers):
                # They separate answers in the form and in spreadsheets: inside an answer
                # they would silently turn one answer into two on the next save.
                problems.append(
                    _(
                        "An answer of blank %(n)d contains | or ; which separate "
                        "answers; write it without them.",
                        n=i,
                    )
                )
        return problems

    def is_answered(self, response) -> bool:
        """Answered when any blank is filled."""
        return isinstance(response, list) and any(str(r).strip() for r in response)

    def grade(self, body: dict, response, *, partial: bool = False) -> float:
        """Score the share of blanks answered correctly."""
        blanks = body["blanks"]
        given = list(response or [])
        right = sum(
            1
            for i, answers in enumerate(blanks)
            if i < len(given)
            and normalise_answer(given[i]) in {normalise_answer(a) for a in answers}
        )
        return right / len(blanks) if blanks else 0.0

    def key_text(self, body: dict, order: list | None = None) -> str:
        """Return the answers, blanks separated by ；, alternatives by |."""
        return "；".join("|".join(b) for b in body.get("blanks", []))

    def response_text(self, body: dict, response, order: list | None = None) -> str:
        """Return what was typed in each blank, separated by ；."""
        return "；".join(str(r) for r in response) if isinstance(response, list) else ""

    def exam_stem(self, stem: str, prefix: str, interactive: bool, response=None) -> Markup:
        """Show an input in place of each blank, filled with the saved answers."""
        return stem_with_blanks(stem, prefix, interactive, response)

    def print_view(self, stem: str, body: dict, with_key: bool) -> PrintView:
        """Print each blank as a gap, filled with its answers in the key."""
        key = self.key_text(body) if with_key else ""
        return PrintView(gaps(stem, body.get("blanks", []) if with_key else None), {"key": key})

    def text_parts(self, body: dict) -> list[tuple[str, str]]:
        """Return each blank's accepted answers."""
        return [
            (_("Blank %(n)d", n=i), " | ".join(b))
            for i, b in enumerate(body.get("blanks", []), start=1)
        ]
