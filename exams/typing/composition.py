"""What a passage is made of, in counted characters: a pure rule (no Flask, no database).

The library shows trainers each passage's length as the scorer counts it (spaces and line
breaks skipped, "..." one character) and its mix: Chinese characters, punctuation, and
digits and letters, because a passage heavy in digits or letters types at another pace.
"""

import unicodedata
from dataclasses import dataclass

from exams.typing.plausibility import is_chinese
from exams.typing.scoring import units


@dataclass(frozen=True)
class Mix:
    """A passage's counted characters by kind."""

    total: int
    chinese: int
    punctuation: int
    alphanumeric: int  #: digits and letters, half- or full-width
    other: int  #: anything else (symbols such as ￥ or %)


def mix(text: str) -> Mix:
    """Return the counted characters of ``text`` by kind."""
    counts = {"chinese": 0, "punctuation": 0, "alphanumeric": 0, "other": 0}
    counted = units(text)
    for unit in counted:
        char = unit.key[0]
        if is_chinese(char):
            counts["chinese"] += 1
        elif char.isalnum():
            counts["alphanumeric"] += 1
        elif unicodedata.category(char).startswith("P") or char == "\u2026":
            counts["punctuation"] += 1
        else:
            counts["other"] += 1
    return Mix(total=len(counted), **counts)
