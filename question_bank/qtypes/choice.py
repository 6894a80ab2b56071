"""Single choice 单选题 and multiple choice 多选题."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from question_bank.qtypes.base import QuestionType
from question_bank.sanitize import clean, rich, to_text

MAX_OPTIONS = 10
LETTERS = "ABCDEFGHIJ"


def option_letter(index: int) -> str:
    """Return the letter shown for the option at ``index`` (0-based)."""
    return LETTERS[index]


class _Choice(QuestionType):
    multiple = False

    def body_from_form(self, form) -> dict:
        """Read option_N (rich text) and correct (option keys) from the form."""
        options, correct = [], set(form.getlist("correct"))
        for n in range(1, MAX_OPTIONS + 1):
            html = rich(form.get(f"option_{n}", ""))
            if to_text(html) or "<img" in html:
                options.append({"key": str(n), "html": html})
        keys = {o["key"] for o in options}
        return {"options": options, "correct": sorted(correct & keys, key=int)}

    def clean_body(self, body: dict) -> dict:
        """Sanitise the options; keep only correct keys that exist."""
        options = [
            {"key": str(o.get("key")), "html": clean(o.get("html", ""))}
            for o in body.get("options", [])
        ]
        keys = [o["key"] for o in options]
        correct = [str(k) for k in body.get("correct", []) if str(k) in keys]
        return {"options": options, "correct": correct}

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

    def key_text(self, body: dict) -> str:
        """Return the correct letters, e.g. ACD."""
        keys = [o["key"] for o in body.get("options", [])]
        return "".join(option_letter(keys.index(k)) for k in body.get("correct", []) if k in keys)

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

    def _read_response(self, body: dict, raw):
        """Take one option key."""
        keys = {o["key"] for o in body.get("options", [])}
        if str(raw) not in keys:
            raise ValueError("unknown option")
        return str(raw)

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
    """Two or more options are correct."""

    key = "multiple_choice"
    label = _l("Multiple choice")
    multiple = True

    def _read_response(self, body: dict, raw):
        """Take a list of option keys."""
        keys = [o["key"] for o in body.get("options", [])]
        chosen = {str(r) for r in (raw if isinstance(raw, list) else [raw])}
        if not chosen <= set(keys):
            raise ValueError("unknown option")
        return [k for k in keys if k in chosen]

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Require at least two correct options."""
        problems = super().validate(stem_text, body)
        if len(body.get("correct", [])) < 2:
            problems.append(_("A multiple-choice question needs at least two correct options."))
        return problems

    def grade(self, body: dict, response, *, partial: bool = False) -> float:
        """All or nothing; with ``partial``, 少选得一半分，错选不得分."""
        chosen = {str(r) for r in (response or [])}
        correct = set(body["correct"])
        if chosen == correct:
            return 1.0
        if partial and chosen and chosen < correct:
            return 0.5
        return 0.0
