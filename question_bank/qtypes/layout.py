"""Layout helpers that several types share when printing: answer brackets and columns."""

import re
import unicodedata

from question_bank.sanitize import to_text

#: Widest option (in half-width characters) that still fits four, or two, to a line.
FOUR_PER_LINE, TWO_PER_LINE = 16, 38
_TRAILING_CLOSE = re.compile(r"(?:\s*</(?:p|div)>)+\s*$")
_SPACE = r"(?:\s|&nbsp;|&#160;|&ensp;|&emsp;|&#12288;)"
#: An answer bracket the author already typed: （ ）, （　　）, （）, ( ) …
ANSWER_BRACKET = re.compile(rf"（{_SPACE}*）|\({_SPACE}+\)")


def text_width(text: str) -> int:
    """Return the printed width of ``text`` in half-width characters (CJK counts two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def option_columns(options: list[dict]) -> int:
    """Return how many options fit on a line: 4 short ones, 2 medium ones, else 1."""
    if any("<img" in o.get("html", "") for o in options):
        return 1
    widest = max((text_width(to_text(o.get("html", ""))) for o in options), default=0)
    if widest <= FOUR_PER_LINE:
        return 4
    return 2 if widest <= TWO_PER_LINE else 1


def append_inline(html: str, suffix: str) -> str:
    """Put ``suffix`` at the end of the stem's last line, not on a line of its own."""
    found = _TRAILING_CLOSE.search(html)
    if found:
        return html[: found.start()] + suffix + html[found.start() :]
    return html + suffix


def with_answer_bracket(stem: str, inside: str) -> str:
    """Return the stem with one answer bracket holding ``inside`` (HTML).

    A stem that already has an empty bracket (as most of the bank's do: 应（ ）。) gets the
    answer in its last one; any other stem gets a bracket at the end of its last line.
    """
    bracket = f'<span class="bracket">（{inside}）</span>'
    found = None
    for found in ANSWER_BRACKET.finditer(stem):  # noqa: B007 (the last one is wanted)
        pass
    if found is None:
        return append_inline(stem, bracket)
    return stem[: found.start()] + bracket + stem[found.end() :]
