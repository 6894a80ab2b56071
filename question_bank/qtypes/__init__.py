"""The question-type registry: each type is one module here, registered by its key.

Everything else asks the registry (``get(key)``) and calls the type; nothing outside this
package and ``templates/qtypes`` names a type.
"""

from question_bank.qtypes.base import QuestionType
from question_bank.qtypes.choice import MultipleChoice, SingleChoice
from question_bank.qtypes.fill_blank import FillBlank
from question_bank.qtypes.short_answer import ShortAnswer
from question_bank.qtypes.true_false import TrueFalse

REGISTRY: dict[str, QuestionType] = {}


def register(qtype: QuestionType) -> QuestionType:
    """Add a type under its key (ValueError when the key is taken); return it."""
    if not qtype.key or qtype.key in REGISTRY:
        raise ValueError(f"question type key {qtype.key!r} is empty or taken")
    REGISTRY[qtype.key] = qtype
    return qtype


def unregister(key: str) -> None:
    """Remove the type registered under ``key`` (for tests and plug-ins)."""
    REGISTRY.pop(key, None)


def get(key: str) -> QuestionType:
    """Return the type registered under ``key`` (KeyError when there is none)."""
    return REGISTRY[key]


def default_key() -> str:
    """Return the key of the type offered first (a new question starts as it)."""
    return next(iter(REGISTRY))


def choices():
    """Return (key, label) pairs in display order."""
    return [(t.key, t.label) for t in REGISTRY.values()]


for _type in (SingleChoice(), MultipleChoice(), TrueFalse(), FillBlank(), ShortAnswer()):
    register(_type)
