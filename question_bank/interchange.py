"""The plain form of a question that every import and export format reads and writes.

Formats never touch the database: they turn bytes into QuestionData and back. HTML in
QuestionData refers to images as ``@@PLUGINFILE@@/name`` (Moodle's convention) with the
bytes in ``files``; the service layer stores them and rewrites the references.

What differs between types travels with the type: each type's ``interchange`` (an
``Interchange``, or None when the type cannot leave the bank) reads and writes its body in
every format, given the format's own reader or writer, as Moodle's question types carry
their own ``import_from_xml`` / ``export_to_xml``. Formats iterate over the registry and
never name a type; a question of a type without one is skipped, with the reason.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

from flask_babel import gettext as _
from flask_babel import ngettext

from question_bank.sanitize import to_text

STATUSES = ("draft", "published", "retired")


def __getattr__(name: str):
    # QTYPES follows the registry (plug-in and test types included), so it is computed when
    # asked for; importing the registry here at load time would be circular.
    if name == "QTYPES":
        from question_bank import qtypes

        return tuple(qtypes.REGISTRY)
    raise AttributeError(name)


class Malformed(ValueError):
    """A question that cannot be read; the message says why."""


class Unsupported(Exception):
    """A question of a kind we do not take; the message says which."""


@dataclass
class QuestionData:
    """One question, independent of storage and format."""

    qtype: str
    stem: str  #: sanitised HTML
    body: dict  #: the type's own shape (see the type's module)
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
    #: (where, what the import changed): questions imported, but not exactly as written.
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: Category path -> its description (Moodle's <info>), as plain text.
    descriptions: dict[tuple[str, ...], str] = field(default_factory=dict)


class Reader:
    """What every format hands a type to read a question with: a place for warnings."""

    def __init__(self):
        self.warnings: list[str] = []

    def warn(self, message: str) -> None:
        """Note something the question loses on import; it is imported all the same."""
        self.warnings.append(message)


@dataclass
class RowCells:
    """The type-specific cells of a spreadsheet row: options, 答案 and 评分要点."""

    options: list[str] = field(default_factory=list)  #: 选项A, 选项B … as cell text
    answer: str = ""
    rubric: str = ""


class Interchange(ABC):
    """How one question type is read from and written to the import and export formats.

    Moodle XML and GIFT name Moodle's question types (``multichoice``, ``essay`` …): a
    format finds the type that reads one through ``moodle_types``, then hands it its reader
    (the <question> element, or the text between GIFT's braces). Messages for the user are
    raised as Malformed (the file is wrong) or Unsupported (skipped, with the reason);
    what a question loses on the way in goes to the reader's ``warn`` (it is imported).
    """

    #: Moodle's question types (in Moodle XML and GIFT) that this type is read from.
    moodle_types: tuple[str, ...] = ()
    #: Names in a spreadsheet's 题型 column: the first is written, every one is read.
    sheet_names: tuple[str, ...] = ()
    #: Lines of the spreadsheet template's instructions that explain this type's 答案.
    sheet_help: tuple[str, ...] = ()

    def map_html(self, body: dict, fn) -> dict:
        """Return the body with ``fn`` applied to each of its rich texts (for images)."""
        return body

    def from_moodle_xml(self, kind: str, src) -> tuple[str, str, dict]:
        """Return (type key, stem, body) of a <question> of Moodle type ``kind``."""
        raise Unsupported(_("This question type cannot be read from Moodle XML."))

    @abstractmethod
    def to_moodle_xml(self, q: QuestionData, out) -> tuple[str, str, list[str]]:
        """Return (Moodle type, stem, XML lines of the answers) of a question."""

    def from_gift(self, kind: str, stem: str, answer: str, src) -> tuple[str, str, dict]:
        """Return (type key, stem, body) of a GIFT question whose braces read as ``kind``."""
        raise Unsupported(_("This question type cannot be read from GIFT."))

    @abstractmethod
    def to_gift(self, q: QuestionData, out) -> list[str]:
        """Return the GIFT lines of a question (``out`` escapes and writes the heading)."""

    @abstractmethod
    def from_row(self, answer: str, src) -> dict:
        """Return the body of a spreadsheet row whose 答案 is ``answer`` (ValueError if wrong)."""

    @abstractmethod
    def to_row(self, q: QuestionData, out) -> RowCells:
        """Return the type-specific cells of a question's row."""


def codec(qtype: str) -> Interchange | None:
    """Return how the type ``qtype`` travels, or None (unknown or not exportable)."""
    from question_bank import qtypes

    found = qtypes.REGISTRY.get(qtype)
    return found.interchange if found is not None else None


def codecs() -> dict[str, Interchange]:
    """Return the registered types that travel, by key, in the registry's order."""
    from question_bank import qtypes

    return {k: t.interchange for k, t in qtypes.REGISTRY.items() if t.interchange is not None}


def not_exportable_reason(qtype: str) -> str:
    """Say why questions of ``qtype`` are left out of an export (or an import)."""
    from question_bank import qtypes

    found = qtypes.REGISTRY.get(qtype)
    label = str(found.label) if found is not None else qtype
    return _("%(type)s questions cannot be imported or exported.", type=label)


def exportable(questions: list[QuestionData]) -> tuple[list[QuestionData], list[tuple[str, str]]]:
    """Split questions into those every format can write and (where, why) for the rest."""
    kept, left_out = [], []
    for n, q in enumerate(questions, start=1):
        if codec(q.qtype) is None:
            name = q.name or to_text(q.stem)[:40]
            where = _("question %(n)d (%(name)s)", n=n, name=name)
            left_out.append((where, not_exportable_reason(q.qtype)))
        else:
            kept.append(q)
    return kept, left_out


def feedback_lost(n: int) -> str:
    """Say that the feedback of ``n`` answers was not imported."""
    return ngettext(
        "The feedback of %(num)d answer was not imported: the bank keeps one explanation "
        "(解析) per question.",
        "The feedback of %(num)d answers was not imported: the bank keeps one explanation "
        "(解析) per question.",
        n,
    )
