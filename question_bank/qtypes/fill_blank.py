"""Fill in the blank 填空题: blanks marked in the stem, several accepted answers each."""

import html
import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from question_bank.interchange import (
    Interchange,
    Malformed,
    RowCells,
    Unsupported,
    feedback_lost,
)
from question_bank.qtypes.base import PrintView, QuestionType
from question_bank.qtypes.blanks import (
    SHEET_CASE_MARK,
    blank_answers,
    blank_score,
    is_case_sensitive,
    labels,
    make_blank,
    parse_label,
    percent,
)

#: A blank in the stem: a run of three or more underscores (full-width ＿ too).
BLANK = re.compile(r"[_＿]{3,}")
MAX_BLANKS = 10
ALTERNATIVES = re.compile(r"[|｜\n]")
SEPARATORS = re.compile(r"[|｜;；\n]")
BLANK_MARK = "____"
_TRAILING_BLANK = re.compile(r" ____(</p>)?$")
#: Cloze gaps that are short answers (case-insensitive or not), the only ones we take.
SHORT_GAPS = {"SHORTANSWER", "SA", "MW", "SHORTANSWER_C", "SAC", "MWC"}
CASE_GAPS = {"SHORTANSWER_C", "SAC", "MWC"}
_CLOZE_GAP = re.compile(r"\{(\d*):([A-Z_]+):")
_CLOZE_WEIGHT = re.compile(r"%(-?\d+(?:[.,]\d*)?)%")


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


def gaps(stem: str, answers: list | None) -> str:
    """Replace each blank (____) by an underlined gap, filled with its answers in a key."""
    counter = iter(range(len(BLANK.findall(stem))))

    def replace(_m):
        n = next(counter)
        if answers is None:
            return '<span class="gap"></span>'
        text = " / ".join(labels(answers[n])) if n < len(answers) else ""
        return f'<span class="gap filled">{escape(text)}</span>'

    return BLANK.sub(replace, stem)


class FillBlank(QuestionType):
    """Each blank accepts any of its answers, compared without width, spaces or (unless the
    blank says so) case; an answer may be worth part of the marks."""

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
        """Read blank_N (answers separated by | or new lines, ``toad=80%`` for part of the
        marks) and blank_case_N (the blank is case-sensitive)."""
        blanks = []
        for n in range(1, MAX_BLANKS + 1):
            raw = form.get(f"blank_{n}")
            if raw is None:
                continue
            answers = [parse_label(a) for a in ALTERNATIVES.split(raw) if a.strip()]
            blanks.append(make_blank(answers, bool(form.get(f"blank_case_{n}"))))
        while blanks and not blank_answers(blanks[-1]):
            blanks.pop()
        return {"blanks": blanks}

    def form_answers(self, blank) -> str:
        """Return a blank's answers as its form field shows them: ``frog | toad=80%``."""
        return " | ".join(labels(blank))

    def form_case_sensitive(self, blank) -> bool:
        """Tell whether the form ticks the blank's case-sensitive box."""
        return is_case_sensitive(blank)

    def clean_body(self, body: dict) -> dict:
        """Keep non-empty answers with their fractions; plain blanks stay plain lists."""
        blanks = []
        for blank in body.get("blanks", []):
            answers = [(t.strip()[:200], round(f, 7)) for t, f in blank_answers(blank) if t.strip()]
            blanks.append(make_blank(answers, is_case_sensitive(blank)))
        return {"blanks": blanks}

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
            if i > len(blanks) or not blank_answers(blanks[i - 1]):
                problems.append(_("Blank %(n)d needs at least one accepted answer.", n=i))
        for i, blank in enumerate(blanks, start=1):
            answers = blank_answers(blank)
            if any(not 0 <= f <= 1 for _t, f in answers):
                problems.append(
                    _("The marks of blank %(n)d's answers must be from 0%% to 100%%.", n=i)
                )
            elif answers and not any(f == 1 for _t, f in answers):
                problems.append(_("Blank %(n)d needs an answer worth 100%%.", n=i))
            if any(SEPARATORS.search(t) for t, _f in answers):
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
        """Score the mean over the blanks of the best answer each one matches."""
        blanks = body["blanks"]
        given = list(response or [])
        earned = sum(blank_score(b, given[i]) for i, b in enumerate(blanks) if i < len(given))
        return earned / len(blanks) if blanks else 0.0

    def key_text(self, body: dict, order: list | None = None) -> str:
        """Return the answers, blanks separated by ；, alternatives by | (``toad=80%``)."""
        return "；".join("|".join(labels(b)) for b in body.get("blanks", []))

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
            (
                _("Blank %(n)d (case-sensitive)", n=i)
                if is_case_sensitive(b)
                else _("Blank %(n)d", n=i),
                " | ".join(labels(b)),
            )
            for i, b in enumerate(body.get("blanks", []), start=1)
        ]


# Moodle: shortanswer (one blank), multianswer (Cloze, one blank per short-answer gap)


def mark_blank(stem: str) -> str:
    """Mark the blank of a one-answer question whose stem shows none, at its end."""
    if BLANK.search(stem):
        return stem
    if stem.endswith("</p>"):
        return f"{stem[:-4]} {BLANK_MARK}</p>"
    return f"{stem} {BLANK_MARK}"


def unmark_blank(stem: str) -> str:
    """Undo mark_blank so that a re-import gives back the same stem."""
    if len(BLANK.findall(stem)) != 1:
        return stem
    return _TRAILING_BLANK.sub(lambda m: m.group(1) or "", stem)


def literal_answer(text: str) -> str | None:
    """Return a short-answer answer with ``\\*`` unescaped, or None if it has a wildcard."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1 : i + 2] == "*":
            out.append("*")
            i += 2
            continue
        if text[i] == "*":
            return None
        out.append(text[i])
        i += 1
    return "".join(out)


def escape_answer(text: str) -> str:
    """Write a literal answer so that Moodle does not read ``*`` as a wildcard."""
    return text.replace("*", "\\*")


def percent_text(fraction: float) -> str:
    """Write a Moodle grade in % as people read it (80%, 33.3%)."""
    return f"{fraction:g}%"


def accepted_answers(
    answers: list[tuple[float, str]], gap: int | None = None, src=None
) -> list[tuple[str, float]]:
    """Return (text, fraction) of the answers worth marks; Unsupported if a full-mark one is
    a wildcard. A part-mark wildcard is left out, with a warning to ``src``."""
    if not any(text for _f, text in answers):
        raise Malformed(_("The answers have no text."))
    accepted, full = [], False
    for fraction, text in answers:
        if fraction <= 0 or not text:
            continue
        literal = literal_answer(text)
        if literal is None:
            if fraction < 99.99999:
                # A catch-all (*) worth part of the marks has no equivalent here.
                if src is not None:
                    src.warn(
                        _(
                            "The answer %(text)s (worth %(mark)s) has a wildcard (*) and was "
                            "left out: blanks here accept only the answers they list.",
                            text=text,
                            mark=percent_text(fraction),
                        )
                    )
                continue
            raise Unsupported(
                _("Short-answer questions with a wildcard (*) in an answer are not supported.")
            )
        full = full or fraction >= 99.99999
        accepted.append((literal, 1.0 if fraction >= 99.99999 else round(fraction / 100, 7)))
    if not full:
        if gap is None:
            raise Malformed(_("A short-answer question needs at least one answer worth 100%."))
        raise Malformed(_("Gap %(n)d needs at least one answer worth 100%%.", n=gap))
    return accepted


def cloze_gaps(text: str):
    """Yield (start, end, kind, answers) for each {n:KIND:answers} gap."""
    pos = 0
    while m := _CLOZE_GAP.search(text, pos):
        i = m.end()
        while i < len(text) and text[i] != "}":
            i += 2 if text[i] == "\\" else 1
        if i >= len(text):
            raise Malformed(_("A Cloze gap has no closing }."))
        yield m.start(), i + 1, m.group(2), text[m.end() : i]
        pos = i + 1


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def cloze_answers(spec: str, feedback: list | None = None) -> list[tuple[float, str]]:
    """Return (grade in %, text) for each alternative of a gap; each alternative's feedback,
    which the bank does not keep, is added to ``feedback``."""
    out = []
    for alt in _split_unescaped(spec, "~"):
        alt = alt.strip()
        fraction = 0.0
        if alt.startswith("="):
            fraction, alt = 100.0, alt[1:]
        elif m := _CLOZE_WEIGHT.match(alt):
            fraction, alt = float(m.group(1).replace(",", ".")), alt[m.end() :]
        alt, *rest = _split_unescaped(alt, "#")
        if feedback is not None and "#".join(rest).strip():
            feedback.append("#".join(rest))
        # \* stays escaped: literal_answer tells it from a wildcard.
        out.append((fraction, html.unescape(re.sub(r"\\([^*])", r"\1", alt)).strip()))
    return out


def _cloze_escape(answer: str) -> str:
    text = re.sub(r"([\\}~#])", r"\\\1", html.escape(answer, quote=False))
    return escape_answer(text)


def _weight(fraction: float, full: str = "=") -> str:
    """Write an answer's mark as Moodle's Cloze and GIFT do: ``=`` or ``%80%``."""
    return full if fraction == 1.0 else f"%{percent(fraction)}%"


def _cloze_gap(blank) -> str:
    kind = "SHORTANSWER_C" if is_case_sensitive(blank) else "SHORTANSWER"
    answers = "~".join(_weight(f) + _cloze_escape(t) for t, f in blank_answers(blank))
    return "{1:" + kind + ":" + answers + "}"


class FillBlankInterchange(Interchange):
    """Moodle's shortanswer (one blank) and Cloze with short-answer gaps (several)."""

    moodle_types = ("shortanswer", "multianswer")
    sheet_names = ("填空题", "填空")
    sheet_help = (
        "填空题：题干中用 ____（三个或更多下划线）标出每个空，答案按顺序填写；",
        "各空之间用 ；分隔，同一空的多个可接受答案用 | 分隔（如 24|二十四；挂失）。",
        "部分得分的答案写成 答案=80%；区分大小写的空以 【区分大小写】 开头。",
    )

    def from_moodle_xml(self, kind: str, src) -> tuple[str, str, dict]:
        """Read a shortanswer's full-mark answers, or each short-answer gap of a Cloze."""
        if kind == "shortanswer":
            answers = [(fraction, src.text("text", a)) for fraction, a in src.answers()]
            blank = make_blank(accepted_answers(answers, src=src), src.text("usecase") == "1")
            return FillBlank.key, mark_blank(src.stem), {"blanks": [blank]}
        stem = src.stem
        gaps = list(cloze_gaps(stem))
        if not gaps:
            raise Malformed(_("The Cloze question has no gaps such as {1:SHORTANSWER:=answer}."))
        other = sorted({k for _s, _e, k, _spec in gaps if k not in SHORT_GAPS})
        if other:
            raise Unsupported(
                _(
                    "Cloze questions are supported only when every gap is short answer; "
                    "this one has %(kinds)s gaps.",
                    kinds=", ".join(other),
                )
            )
        out, blanks, pos, feedback = [], [], 0, []
        for n, (start, end, gap_kind, spec) in enumerate(gaps, start=1):
            out += [stem[pos:start], BLANK_MARK]
            answers = accepted_answers(cloze_answers(spec, feedback), gap=n, src=src)
            blanks.append(make_blank(answers, gap_kind in CASE_GAPS))
            pos = end
        out.append(stem[pos:])
        if feedback:
            src.warn(feedback_lost(len(feedback)))
        return FillBlank.key, "".join(out), {"blanks": blanks}

    def to_moodle_xml(self, q, out) -> tuple[str, str, list[str]]:
        """Write one blank as shortanswer, several as a Cloze with a gap for each."""
        blanks = q.body["blanks"]
        if len(blanks) <= 1:
            blank = blanks[0] if blanks else []
            lines = [f"    <usecase>{int(is_case_sensitive(blank))}</usecase>"] + [
                f'    <answer fraction="{percent(f)}" format="moodle_auto_format">'
                f"<text>{out.esc(escape_answer(t))}</text></answer>"
                for t, f in blank_answers(blank)
            ]
            return "shortanswer", unmark_blank(q.stem), lines
        gaps = iter(_cloze_gap(b) for b in blanks)
        return "multianswer", BLANK.sub(lambda m: next(gaps, m.group(0)), q.stem), []

    def from_gift(self, kind: str, stem: str, answer: str, src) -> tuple[str, str, dict]:
        """Read ``{=a =b}``: one blank, where the braces were or else at the end."""
        answers = [(w, src.plain(text)) for w, text in src.weighted(answer, "=", 100.0)]
        # Still protected: an escaped backslash before * must not hide a wildcard.
        blank = [(src.restore(t), f) for t, f in accepted_answers(answers, src=src)]
        # GIFT cannot say a blank is case-sensitive (Moodle reads it as not).
        return FillBlank.key, mark_blank(stem), {"blanks": [make_blank(blank)]}

    def to_gift(self, q, out) -> list[str]:
        """Write one blank in place; several, which GIFT cannot express, as an essay."""
        blanks = q.body.get("blanks", [])
        if len(blanks) != 1:
            answers = "; ".join(
                f"{i}. " + " / ".join(html.escape(a) for a in labels(blank))
                for i, blank in enumerate(blanks, start=1)
            )
            return out.essay("<p>" + _("Answers: %(list)s", list=answers) + "</p>")
        found = BLANK.search(q.stem)
        cut = (found.start(), found.end()) if found else (len(q.stem), len(q.stem))
        # escape_answer after escaping: its \* must reach the answer, not be read as \\ and *.
        gap = "{" + " ".join(
            "=" + _weight(f, "") + escape_answer(out.escape(t)) for t, f in blank_answers(blanks[0])
        )
        gap += out.feedback + "}"
        return [out.head + out.escape(q.stem[: cut[0]]) + gap + out.escape(q.stem[cut[1] :])]

    def from_row(self, answer: str, src) -> dict:
        """Read the blanks (separated by ；), their alternatives (separated by |, ``toad=80%``
        for part of the marks) and 【区分大小写】 before a case-sensitive blank."""
        blanks = []
        for text in (b.strip() for b in re.split(r"[;；\n]", answer)):
            if not text:
                continue
            case = text.startswith(SHEET_CASE_MARK)
            text = text.removeprefix(SHEET_CASE_MARK)
            answers = [parse_label(a) for a in re.split(r"[|｜]", text) if a.strip()]
            blanks.append(make_blank(answers, case))
        return {"blanks": blanks}

    def to_row(self, q, out) -> RowCells:
        """Write the blanks separated by ；, alternatives by |."""
        return RowCells(
            answer="；".join(
                (SHEET_CASE_MARK if is_case_sensitive(b) else "") + "|".join(labels(b))
                for b in q.body["blanks"]
            )
        )


FillBlank.interchange = FillBlankInterchange()
