"""The plain form of a question that every import and export format reads and writes.

Formats never touch the database: they turn bytes into QuestionData and back. HTML in
QuestionData refers to images as ``@@PLUGINFILE@@/name`` (Moodle's convention) with the
bytes in ``files``; the service layer stores them and rewrites the references.
"""

from dataclasses import dataclass, field

#: The question types, by key. Their bodies (QuestionData.body) are:
#: single_choice / multiple_choice: {"options": [{"key": "1", "html": "..."}, ...],
#:                                   "correct": ["1", ...]}   (keys are opaque strings
#:                 that identify an option across versions; formats number new ones 1, 2 …)
#: true_false:   {"correct": true | false}
#: fill_blank:   {"blanks": [["24", "二十四"], ["挂失"]]}  one list of accepted answers per
#:               blank; the stem marks each blank, in order, with a run of 3+ underscores
#: short_answer: {"reference": "<p>...</p>", "rubric": "<p>...</p>"}  (graded by a trainer)
QTYPES = ("single_choice", "multiple_choice", "true_false", "fill_blank", "short_answer")
STATUSES = ("draft", "published", "retired")


@dataclass
class QuestionData:
    """One question, independent of storage and format."""

    qtype: str
    stem: str  #: sanitised HTML
    body: dict
    category_path: list[str] = field(default_factory=list)  #: e.g. ["业务知识", "信用卡", "挂失"]
    explanation: str = ""  #: HTML (解析)
    default_points: float = 1.0
    difficulty: int = 3  #: 1 (easy) to 5 (hard)
    tags: list[str] = field(default_factory=list)
    source: str = ""  #: e.g. the regulation article
    status: str = "draft"
    name: str = ""  #: a short title (Moodle's question name); optional
    files: dict[str, bytes] = field(default_factory=dict)  #: image name -> bytes


@dataclass
class ParseResult:
    """What a format made of a file."""

    questions: list[tuple[str, QuestionData]] = field(default_factory=list)  #: (where, question)
    errors: list[tuple[str, str]] = field(default_factory=list)  #: (where, what is wrong)
    skipped: list[tuple[str, str]] = field(default_factory=list)  #: (where, why skipped)
