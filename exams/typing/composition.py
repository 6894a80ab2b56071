"""What a passage is made of, in counted characters: a pure rule (standard library only).

The library shows trainers each passage's length as the scorer counts it (spaces and line
breaks skipped, "..." one character: exams.typing.scoring.units) and its mix: Chinese
characters, punctuation, and digits and letters, because a passage heavy in digits or
letters types at another pace. The caller passes the counted characters' compare keys.
"""

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Mix:
    """A passage's counted characters by kind."""

    total: int
    chinese: int
    punctuation: int
    alphanumeric: int  #: digits and letters, half- or full-width
    other: int  #: anything else (symbols such as ￥ or +)


def is_chinese(char: str) -> bool:
    """Tell whether ``char`` is a CJK ideograph (the ranges exams.typing.plausibility uses)."""
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3134F


def mix(keys: Iterable[str]) -> Mix:
    """Return the counted characters (their compare keys, one per character) by kind."""
    counts = {"chinese": 0, "punctuation": 0, "alphanumeric": 0, "other": 0}
    total = 0
    for key in keys:
        total += 1
        char = key[0]
        if is_chinese(char):
            counts["chinese"] += 1
        elif char.isalnum():
            counts["alphanumeric"] += 1
        elif unicodedata.category(char).startswith("P"):
            counts["punctuation"] += 1
        else:
            counts["other"] += 1
    return Mix(total=total, **counts)
