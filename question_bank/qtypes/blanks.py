"""A blank's accepted answers: their shapes, their marks and how a typed answer scores.

A blank is either a list of answers, each worth full marks and compared caselessly (the
original shape, still what plain blanks are stored as), or
``{"answers": [{"text": "toad", "fraction": 0.8}, ...], "case_sensitive": true}``.
Pure rules: plain values in, plain values out.
"""

import re

from question_bank.qtypes.base import normalise_answer

#: An alternative worth part of the marks, as the form and spreadsheets write it: toad=80%.
_PART_MARK = re.compile(r"^(.*?)\s*[=＝]\s*(-?\d+(?:\.\d*)?)\s*[%％]$")
#: Starts a spreadsheet blank whose answers are compared case-sensitively.
SHEET_CASE_MARK = "【区分大小写】"


def blank_answers(blank) -> list[tuple[str, float]]:
    """Return (text, fraction of the marks) for each accepted answer of a blank."""
    if isinstance(blank, dict):
        return [(str(a.get("text", "")), float(a.get("fraction", 1.0))) for a in blank["answers"]]
    return [(str(a), 1.0) for a in blank]


def is_case_sensitive(blank) -> bool:
    """Tell whether a blank's answers must match in case too."""
    return isinstance(blank, dict) and bool(blank.get("case_sensitive"))


def make_blank(answers: list[tuple[str, float]], case_sensitive: bool = False):
    """Return a blank in its stored shape: the plain list when nothing needs the richer one."""
    if not case_sensitive and all(f == 1.0 for _t, f in answers):
        return [t for t, _f in answers]
    return {
        "answers": [{"text": t, "fraction": f} for t, f in answers],
        "case_sensitive": case_sensitive,
    }


def percent(fraction: float) -> str:
    """Write a fraction of the marks as a percentage without needless decimals (80, 33.33333)."""
    return f"{fraction * 100:.5f}".rstrip("0").rstrip(".")


def answer_label(text: str, fraction: float) -> str:
    """Write an answer as the form shows it: ``toad=80%`` when worth part of the marks."""
    return text if fraction == 1.0 else f"{text}={percent(fraction)}%"


def parse_label(label: str) -> tuple[str, float]:
    """Read ``toad=80%`` as ("toad", 0.8); any other text is worth full marks."""
    label = label.strip()
    if m := _PART_MARK.match(label):
        return m.group(1).strip(), round(float(m.group(2)) / 100, 7)
    return label, 1.0


def blank_score(blank, typed) -> float:
    """Return the best fraction among the blank's answers that ``typed`` matches."""
    case = is_case_sensitive(blank)
    given = normalise_answer(typed, case_sensitive=case)
    return max(
        (
            min(max(f, 0.0), 1.0)
            for t, f in blank_answers(blank)
            if normalise_answer(t, case_sensitive=case) == given
        ),
        default=0.0,
    )


def labels(blank) -> list[str]:
    """Return a blank's answers as the form writes them (``toad=80%``)."""
    return [answer_label(t, f) for t, f in blank_answers(blank)]


def full_mark_answer(blank) -> str:
    """Return the first answer of a blank that earns its full marks."""
    return next(text for text, fraction in blank_answers(blank) if fraction >= 1.0)
