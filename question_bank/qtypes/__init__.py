"""The question-type registry: each type is one module here, registered by its key."""

from question_bank.qtypes.base import QuestionType
from question_bank.qtypes.choice import MultipleChoice, SingleChoice
from question_bank.qtypes.fill_blank import FillBlank
from question_bank.qtypes.short_answer import ShortAnswer
from question_bank.qtypes.true_false import TrueFalse

REGISTRY: dict[str, QuestionType] = {
    t.key: t for t in (SingleChoice(), MultipleChoice(), TrueFalse(), FillBlank(), ShortAnswer())
}


def get(key: str) -> QuestionType:
    """Return the type registered under ``key`` (KeyError when there is none)."""
    return REGISTRY[key]


def choices():
    """Return (key, label) pairs in display order."""
    return [(t.key, t.label) for t in REGISTRY.values()]
