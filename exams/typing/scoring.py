"""Score a Chinese typing-speed test: the typed text against the passage (issue 10, point 5).

Plain values in, plain values out: no Flask, no database, standard library only.

The rules, in plain words:

Counting. Spaces and line breaks (and the invisible U+200B, U+FEFF) are skipped on both
sides: they count neither as characters nor as errors, because a passage's line breaks are
layout. Every other character counts one: a Chinese character, a punctuation mark, a digit
or a letter alike.

Alignment. The typed text is aligned with the start of the passage by the fewest edits
(Levenshtein: each substituted, missing or extra character costs one), so a skipped or an
extra character is one error, not the rest of the line. Where the candidate stopped, the
rest of the passage is simply not typed; it is not "missing". C is the characters typed
right; the errors E are the wrong (substituted), missing (skipped) and extra (inserted)
characters, counted apart. Only the final text counts: what was deleted and retyped is not
seen here.

Equal characters. Full-width letters, digits and signs equal their half-width forms
(ＡＢＣ１２３ = ABC123, ． = .). The ASCII marks typed in an IME's half-width mode equal the
Chinese marks it types in full-width mode: , ; : ? ! ( ) = ， ； ： ？ ！ （ ）. The full stop 。 is
a mark of its own and does not equal . (nor do 、《》【】 equal any ASCII mark). Letters keep
their case. Quotes: all double quotes " “ ” ＂ 「 」 〝 〞 are equal, and all single quotes ' ‘ ’
＇ 『 』 are equal; which way a quote faces is not checked, because the ASCII quote faces
neither way (「」 and 『』 are the double and single quotes of traditional usage).
Ellipsis: …… is two characters (two U+2026), each counting one; three periods ... (half- or
full-width) are read as one …, on either side, as Unicode itself gives ... as the
compatibility form of …; so ...... equals ……, and ⋯ (U+22EF) equals …. 。。。 is three full
stops, not an ellipsis. Dash: —— is two characters (two U+2014), each counting one; ―
(U+2015, which some GB fonts and converters give for the dash) equals —. Hyphens are not
dashes: - is a mark of its own (account numbers, dates), and reading -- as a dash would make
--- ambiguous. Each character is put in Unicode NFC (a compatibility ideograph equals its
unified form); NFKC is not used, because it turns … into three characters and would change
the counts.

Time. With a set duration (at least 3 minutes, 10 by default) the speed is over the whole
duration, however early the candidate stopped, unless the whole passage was typed before
time ran out: then over the time used. In whole-passage mode (no duration) it is over the
time used. An attempt that used less than 60 seconds is not scored, even one that finished
the passage: under a minute is too short a sample (and such a passage too short a test).

Figures. speed = C ÷ minutes; net speed = (C − penalty × E) ÷ minutes, never below 0 (the
penalty per error is 0, off, by default, and then net speed equals speed); accuracy =
C ÷ (C + E), and 0 when nothing was typed. Speeds are rounded half up to 0.1 字/分钟 and
accuracy half up to four decimals (0.01 %); pass and fail are judged on these rounded
figures, the ones the candidate is shown.

Outcome. Passed when net speed ≥ the pass speed (60 字/分钟) and accuracy ≥ the minimum
(95 %). A speed (before any penalty) over the ceiling (250 字/分钟) is implausible: the
result is flagged and passed is None, for a person to decide. A result not scored also has
passed None.
"""

import functools
import math
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from fractions import Fraction
from typing import NamedTuple

#: The most characters either text may hold: the alignment keeps one bit per cell.
MAX_CHARS = 10_000
#: Fewer seconds than this and an attempt is not scored.
MIN_SECONDS = 60
#: Invisible characters skipped like spaces.
INVISIBLE = frozenset("\u200b\ufeff")
#: Reason code of a speed over the ceiling.
OVER_CEILING = "speed_over_ceiling"


def _equivalents() -> dict[str, str]:
    """Build the table of characters compared as another (see the module's rules)."""
    keys = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}  # ＡＢＣ１２３． → ABC123.
    for ascii_mark, chinese in zip(",;:?!()", "，；：？！（）", strict=True):
        keys[ascii_mark] = keys[chinese] = chinese
    keys.update(dict.fromkeys('"“”＂「」〝〞', '"'))
    keys.update(dict.fromkeys("'‘’＇『』", "'"))
    keys.update({"\u2015": "\u2014", "\u22ef": "\u2026"})
    return keys


#: Character → what it is compared as; characters not listed are compared as themselves.
EQUIVALENT = _equivalents()


@functools.lru_cache(maxsize=8192)
def key_of(char: str) -> str:
    """Return what one character is compared as (cached: a passage repeats its characters)."""
    nfc = unicodedata.normalize("NFC", char)
    if len(nfc) == 1:
        char = nfc
    return EQUIVALENT.get(char, char)


class Unit(NamedTuple):
    """One counted character of a text: where it starts, as written, and as compared.

    A named tuple, not a dataclass: a text is split into one per character on every
    finish and result page, and a tuple is made several times faster.
    """

    at: int  #: index of its first character in the original text
    text: str  #: as written ("..." for an ellipsis typed as three periods)
    key: str  #: as compared


def has_characters(text: str) -> bool:
    """Tell whether a text has anything to type (not only spaces and invisible characters)."""
    return any(not c.isspace() and c not in INVISIBLE for c in text)


def units(text: str) -> list[Unit]:
    """Split a text into counted characters: skip spaces, read three periods as one …."""
    out = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace() or char in INVISIBLE:
            i += 1
            continue
        key = key_of(char)
        if key == "." and [key_of(c) for c in text[i + 1 : i + 3]] == [".", "."]:
            out.append(Unit(i, text[i : i + 3], "\u2026"))
            i += 3
            continue
        out.append(Unit(i, char, key))
        i += 1
    return out


@functools.lru_cache(maxsize=32)
def passage_units(passage: str) -> tuple[Unit, ...]:
    """Return the units of a passage, cached: every candidate drawn the same passage for
    the same minutes has the same (long) target, and finishing reads it whole."""
    return tuple(units(passage))


class Op(StrEnum):
    """What happened to one passage or typed character."""

    OK = "ok"
    WRONG = "wrong"  #: typed, but a different character
    MISSING = "missing"  #: a passage character skipped
    EXTRA = "extra"  #: a typed character the passage does not have there


class Step(NamedTuple):
    """One step of the alignment, with the characters and their places in the two texts
    (a named tuple, as Unit: an attempt's alignment has one per character)."""

    op: Op
    expected: str  #: the passage's character ("" for an extra)
    typed: str  #: the typed character ("" for a missing one)
    passage_at: int | None  #: index in the passage as given
    typed_at: int | None  #: index in the typed text as given


def _columns(typed: list[str], passage: list[str]) -> tuple[list[tuple], list[int]]:
    """Compute the edit-distance table column by column, a column per passage character.

    Myers' bit-parallel algorithm (Hyyrö's form for whole-string distance): a column of
    the table D[i][j] (typed[:i] against passage[:j]) is kept as two integers with a bit
    per typed character, whether each cell is one more (vp) or one less (vn) than the one
    above it; hp and hn are the same against the cell to the left. Return each column's
    (vp, vn, hp, hn) and the last row D[len(typed)][j] for every j computed.

    The columns stop once no later prefix can win or tie: D[m][j] >= j - m, so past
    j = m + (the least D[m][.] so far) every prefix costs more. A careful typist's text is
    aligned in about m columns rather than the 2m that could otherwise win.
    """
    m = len(typed)
    mask, top = (1 << m) - 1, 1 << (m - 1)
    peq: dict[str, int] = {}
    for i, key in enumerate(typed):
        peq[key] = peq.get(key, 0) | (1 << i)
    vp, vn, last = mask, 0, m
    best = m
    columns, last_row = [(vp, vn, 0, 0)], [m]
    for j, key in enumerate(passage, start=1):
        if j - m > best:
            break
        eq = peq.get(key, 0)
        d0 = ((((eq & vp) + vp) ^ vp) | eq | vn) & mask
        hp = vn | (~(d0 | vp) & mask)
        hn = d0 & vp
        if hp & top:
            last += 1
        elif hn & top:
            last -= 1
        hp_in, hn_in = ((hp << 1) | 1) & mask, (hn << 1) & mask
        vp, vn = hn_in | (~(d0 | hp_in) & mask), hp_in & d0
        columns.append((vp, vn, hp, hn))
        last_row.append(last)
        if last < best:
            best = last
    return columns, last_row


def _backtrace(
    typed: Sequence[Unit], passage: Sequence[Unit], columns: list[tuple], end: int, value: int
) -> list[Step]:
    """Walk back from (len(typed), end) to (0, 0) along cheapest steps; return them in order.

    At a tie a match comes first, then a substitution, then a skip, then an extra. A cell's
    neighbours are read off the column's delta bits: D[i-1][j] = D[i][j] - (vp - vn at bit
    i-1), D[i][j-1] = D[i][j] - (hp - hn at bit i-1), and D[i-1][j-1] from D[i-1][j] the
    same way at bit i-2 (D[0][j-1] = D[0][j] - 1).
    """
    steps = []
    i, j = len(typed), end
    while i and j:
        vp, vn, hp, hn = columns[j]
        bit = i - 1
        up = value - ((vp >> bit) & 1) + ((vn >> bit) & 1)  # D[i-1][j]
        step_up = ((hp >> (bit - 1)) & 1) - ((hn >> (bit - 1)) & 1) if bit else 1
        diag = up - step_up  # D[i-1][j-1]
        t, p = typed[bit], passage[j - 1]
        if diag == value and t.key == p.key:
            steps.append(Step(Op.OK, p.text, t.text, p.at, t.at))
            i, j = bit, j - 1
            continue
        if diag == value - 1:
            steps.append(Step(Op.WRONG, p.text, t.text, p.at, t.at))
            i, j = bit, j - 1
        elif value - ((hp >> bit) & 1) + ((hn >> bit) & 1) == value - 1:  # D[i][j-1]
            steps.append(Step(Op.MISSING, p.text, "", p.at, None))
            j -= 1
        else:
            steps.append(Step(Op.EXTRA, "", t.text, None, t.at))
            i = bit
        value -= 1
    while j:
        p = passage[j - 1]
        steps.append(Step(Op.MISSING, p.text, "", p.at, None))
        j -= 1
    while i:
        t = typed[i - 1]
        steps.append(Step(Op.EXTRA, "", t.text, None, t.at))
        i -= 1
    steps.reverse()
    return steps


def align(passage: Sequence[Unit], typed: Sequence[Unit]) -> tuple[list[Step], bool]:
    """Align the typed characters with the start of the passage by the fewest edits.

    The passage's end is free: the typed text is matched against whichever prefix of the
    passage costs least (the longest such prefix at a tie). Return the steps and whether
    that prefix is the whole passage.
    """
    if not typed:
        return [], False
    # No prefix longer than twice the typed text can win or tie: D[m][j] >= j - m, which
    # is over m for j > 2m, while D[m][m] <= m. The rest of the passage is not looked at.
    considered = passage[: 2 * len(typed)]
    columns, last_row = _columns([u.key for u in typed], [u.key for u in considered])
    best = min(last_row)
    end = max(j for j, d in enumerate(last_row) if d == best)
    return _backtrace(typed, passage, columns, end, best), end == len(passage)


def _decimal(value: object, name: str) -> Decimal:
    """Return a rule's figure as a Decimal, or raise ValueError naming the rule."""
    try:
        return Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"{name} must be a number, not {value!r}") from None


@dataclass(frozen=True)
class TypingRules:
    """The rules of one typing test; figures may be given as int, str or Decimal."""

    duration_minutes: int | None = 10  #: None: whole-passage mode, timed by the time used
    pass_speed: Decimal = Decimal(60)  #: 字/分钟
    min_accuracy: Decimal = Decimal("0.95")
    error_penalty: Decimal = Decimal(0)  #: characters taken off per error; 0 is off
    speed_ceiling: Decimal = Decimal(250)  #: 字/分钟; above it a result is implausible

    def __post_init__(self):
        """Turn the figures into Decimals and refuse rules that make no sense."""
        for name in ("pass_speed", "min_accuracy", "error_penalty", "speed_ceiling"):
            object.__setattr__(self, name, _decimal(getattr(self, name), name))
        d = self.duration_minutes
        if d is not None and (isinstance(d, bool) or not isinstance(d, int) or d < 3):
            raise ValueError("duration_minutes must be a whole number of at least 3, or None")
        if not 0 < self.min_accuracy <= 1:
            raise ValueError("min_accuracy must be above 0 and at most 1")
        if self.pass_speed < 0 or self.error_penalty < 0:
            raise ValueError("pass_speed and error_penalty must not be negative")
        if self.speed_ceiling <= self.pass_speed:
            raise ValueError("speed_ceiling must be above pass_speed")


DEFAULT_RULES = TypingRules()


@dataclass(frozen=True)
class TypingResult:
    """The scored attempt: counts, time, figures and outcome, and the alignment to show."""

    correct: int
    wrong: int
    missing: int
    extra: int
    errors: int  #: wrong + missing + extra
    typed_chars: int  #: counted characters typed (spaces and line breaks left out)
    passage_chars: int  #: counted characters of the passage
    minutes: Decimal  #: the minutes the speed is over, rounded half up to 0.01
    speed: Decimal  #: 字/分钟, rounded half up to 0.1
    net_speed: Decimal  #: after the error penalty, never below 0
    accuracy: Decimal  #: 0 to 1, rounded half up to four decimals
    finished: bool  #: the typed text reached the passage's last character
    scored: bool  #: False under a minute
    passed: bool | None  #: None when not scored or implausible
    implausible: tuple[str, ...]  #: reason codes, empty when plausible
    alignment: tuple[Step, ...]


def half_up(value: Fraction, places: int) -> Decimal:
    """Round a non-negative value half up to ``places`` decimals, exactly."""
    scale = 10**places
    return Decimal(math.floor(value * scale + Fraction(1, 2))).scaleb(-places)


def _seconds(value: int | float | Decimal) -> Fraction:
    """Return the seconds used as an exact fraction, or raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f"seconds_used must be a number, not {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"seconds_used must be a finite number of seconds ≥ 0, not {value}")
    return Fraction(str(value))


def _minutes(rules: TypingRules, seconds: Fraction, finished: bool) -> Fraction:
    """Return the minutes the speed is over: the duration, or the time used (see the rules)."""
    used = seconds / 60
    if rules.duration_minutes is None or (finished and used < rules.duration_minutes):
        return used
    return Fraction(rules.duration_minutes)


def _per_minute(chars: Fraction, minutes: Fraction) -> Decimal:
    """Return characters per minute rounded half up to 0.1 (0 over no time at all)."""
    return half_up(chars / minutes if minutes else Fraction(0), 1)


def _verdict(
    rules: TypingRules, scored: bool, implausible: tuple, net_speed: Decimal, accuracy: Decimal
) -> bool | None:
    """Return passed, failed, or None when not scored or implausible."""
    if not scored or implausible:
        return None
    return net_speed >= rules.pass_speed and accuracy >= rules.min_accuracy


def score(
    passage: str,
    typed: str,
    seconds_used: int | float | Decimal,
    rules: TypingRules = DEFAULT_RULES,
) -> TypingResult:
    """Score one attempt: align the typed text with the passage, count, time and judge it.

    ``seconds_used`` is the time from the start to the submission (int, float or Decimal).
    Raise ValueError for a passage with nothing to type, a text over MAX_CHARS characters or
    a time that is not a number of seconds.
    """
    p_units, t_units = passage_units(passage), units(typed)
    if not p_units:
        raise ValueError("the passage has no characters to type")
    if max(len(p_units), len(t_units)) > MAX_CHARS:
        raise ValueError(f"a text may hold at most {MAX_CHARS} characters")
    seconds = _seconds(seconds_used)
    steps, finished = align(p_units, t_units)
    counts = Counter(s.op for s in steps)
    correct, errors = counts[Op.OK], counts.total() - counts[Op.OK]
    minutes = _minutes(rules, seconds, finished)
    speed = _per_minute(Fraction(correct), minutes)
    net = _per_minute(max(Fraction(0), correct - Fraction(rules.error_penalty) * errors), minutes)
    accuracy = half_up(Fraction(correct, correct + errors) if steps else Fraction(0), 4)
    scored = seconds >= MIN_SECONDS
    implausible = (OVER_CEILING,) if speed > rules.speed_ceiling else ()
    return TypingResult(
        correct=correct,
        wrong=counts[Op.WRONG],
        missing=counts[Op.MISSING],
        extra=counts[Op.EXTRA],
        errors=errors,
        typed_chars=len(t_units),
        passage_chars=len(p_units),
        minutes=half_up(minutes, 2),
        speed=speed,
        net_speed=net,
        accuracy=accuracy,
        finished=finished,
        scored=scored,
        passed=_verdict(rules, scored, implausible, net, accuracy),
        implausible=implausible,
        alignment=tuple(steps),
    )
