"""Does a typing attempt look like a person typing? Pure rules over what the server saw.

Nothing the page computes is believed: the server keeps its own clock and the text it
received at every snapshot, and the page's input counters (keys, IME compositions,
deletions, blocked pastes) are only evidence. A result that looks impossible is held for
a trainer's review with the reasons below, never passed or failed automatically.

Chinese is typed through an input method: pinyin or wubi keys are composed, then a word or
phrase is committed. So typed Chinese arrives with compositions, a few keys per character
and at a human pace. Text that arrives in bursts with no composition, Chinese with no
composition or almost no keys at all, speeds over the ceiling, snapshots that stop while
the text keeps growing, a page clock that runs backwards or ahead of the server's, and two
attempts of one person at once are what a paste, a script or a second device looks like.
"""

from dataclasses import dataclass, field

#: Reason codes, in the order a trainer reads them.
OVER_CEILING = "speed_over_ceiling"
BURST = "burst_without_composition"
NO_COMPOSITION = "chinese_without_composition"
FEW_KEYS = "too_few_keys"
SNAPSHOTS_MISSING = "snapshots_missing"
CLOCK = "page_clock_inconsistent"
OVERLAP = "overlapping_attempts"

REASONS = (OVER_CEILING, BURST, NO_COMPOSITION, FEW_KEYS, SNAPSHOTS_MISSING, CLOCK, OVERLAP)

#: A burst: this many characters or more arriving between two snapshots with no composition.
BURST_CHARS = 30
#: Or characters arriving faster than this many times the ceiling over one interval.
BURST_RATE_FACTOR = 2
#: Chinese characters typed before the composition and key checks apply.
MIN_CHINESE = 20
#: Fewer keys per Chinese character than this is not an input method (pinyin is ~3-6).
MIN_KEYS_PER_CHAR = 0.5
#: The page sends a snapshot every 5 s; a gap longer than this while the text grew is lost.
MAX_GAP_SECONDS = 20
#: How far the page's clock may run ahead of the server's (network delay, timer jitter).
CLOCK_SLACK_SECONDS = 10
CLOCK_SLACK_RATIO = 0.1


@dataclass(frozen=True)
class Snap:
    """One snapshot as the server received it."""

    seconds: float  #: server time since the attempt started
    client_ms: int | None  #: the page's own elapsed milliseconds
    length: int  #: characters of the text then (spaces included: only growth is compared)
    added: int  #: characters newer than the previous snapshot's text
    compositions: int  #: the page's composition count then (cumulative)


@dataclass
class Evidence:
    """The page's final input counters for the attempt (cumulative; all optional)."""

    keys: int = 0
    compositions: int = 0
    deletions: int = 0
    pastes: int = 0  #: paste, drop and undo attempts the page blocked
    longest_commit: int = 0
    idle_ms: int = 0
    key_gap_mean_ms: float = 0.0
    key_gap_sd_ms: float = 0.0
    extra: dict = field(default_factory=dict)


def is_chinese(char: str) -> bool:
    """Tell whether ``char`` is a CJK ideograph (typed through an input method)."""
    code = ord(char)
    return 0x3400 <= code <= 0x9FFF or 0xF900 <= code <= 0xFAFF or 0x20000 <= code <= 0x3134F


def reasons(
    snaps: list[Snap],
    evidence: Evidence,
    final_text: str,
    speed: float,
    ceiling: float,
    overlapping: bool = False,
) -> list[str]:
    """Return why the attempt looks impossible (reason codes), or [] when it looks typed."""
    found = []
    if speed > ceiling:
        found.append(OVER_CEILING)
    if any(_burst(prev, snap, ceiling) for prev, snap in zip([None, *snaps], snaps, strict=False)):
        found.append(BURST)
    chinese = sum(1 for c in final_text if is_chinese(c))
    if chinese >= MIN_CHINESE and evidence.compositions == 0:
        found.append(NO_COMPOSITION)
    if chinese >= MIN_CHINESE and evidence.keys < MIN_KEYS_PER_CHAR * chinese:
        found.append(FEW_KEYS)
    if _missing(snaps, final_text):
        found.append(SNAPSHOTS_MISSING)
    if _clock_inconsistent(snaps):
        found.append(CLOCK)
    if overlapping:
        found.append(OVERLAP)
    return found


def _burst(prev: Snap | None, snap: Snap, ceiling: float) -> bool:
    """Tell whether ``snap`` brought many characters with no composition, or inhumanly fast."""
    seconds = snap.seconds - (prev.seconds if prev else 0.0)
    composed = snap.compositions - (prev.compositions if prev else 0)
    if snap.added >= BURST_CHARS and composed <= 0:
        return True
    allowed = BURST_RATE_FACTOR * ceiling / 60 * max(seconds, 1.0)
    return snap.added > max(allowed, BURST_CHARS)


def _missing(snaps: list[Snap], final_text: str) -> bool:
    """Tell whether the text grew across a gap without snapshots (or had none at all)."""
    typed = len(final_text.strip())
    if not snaps:
        return typed > 0
    previous_seconds = 0.0
    for snap in snaps:
        if snap.seconds - previous_seconds > MAX_GAP_SECONDS and snap.added > 0:
            return True
        previous_seconds = snap.seconds
    return False


def _clock_inconsistent(snaps: list[Snap]) -> bool:
    """Tell whether the page's clock ran backwards, or ahead of the server's beyond slack."""
    last = -1
    for snap in snaps:
        if snap.client_ms is None:
            continue
        if snap.client_ms < last:
            return True
        last = snap.client_ms
        client_seconds = snap.client_ms / 1000
        slack = CLOCK_SLACK_SECONDS + CLOCK_SLACK_RATIO * snap.seconds
        if client_seconds > snap.seconds + slack:
            return True
    return False
