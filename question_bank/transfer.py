"""Import and export of the bank in every format. Flush, never commit."""

import base64
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lms import audit, jobs
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank import categories, fidelity, images
from question_bank.formats import gift, moodle_xml, spreadsheet
from question_bank.interchange import ParseResult, QuestionData, codec, exportable
from question_bank.models import Question, QuestionStatus, Tag
from question_bank.services import QuestionInput, check, create_question, publish_problems

FORMATS = {
    "xlsx": (
        spreadsheet.parse_xlsx,
        spreadsheet.export_xlsx,
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "xlsx",
    ),
    "csv": (spreadsheet.parse_csv, spreadsheet.export_csv, "text/csv; charset=utf-8", "csv"),
    "moodle-xml": (moodle_xml.parse, moodle_xml.export, "application/xml; charset=utf-8", "xml"),
    "gift": (gift.parse, gift.export, "text/plain; charset=utf-8", "gift.txt"),
}
EXTENSIONS = {".xlsx": "xlsx", ".csv": "csv", ".xml": "moodle-xml", ".gift": "gift", ".txt": "gift"}


def format_for(filename: str) -> str:
    """Return the format of a file from its name, or raise with the accepted kinds."""
    name = (filename or "").lower()
    for ext, fmt in EXTENSIONS.items():
        if name.endswith(ext):
            return fmt
    raise ValidationFailed(
        _("Upload an .xlsx, .csv, Moodle XML (.xml) or GIFT (.gift, .txt) file."), field="file"
    )


@dataclass
class ImportReport:
    """What an import did or would do."""

    created: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    #: (where, what changed) for questions imported not exactly as the file wrote them.
    warnings: list[tuple[str, str]] = field(default_factory=list)
    #: How many questions the check found fit to import.
    ready: int = 0
    #: (category path, question type key, how many): where the checked questions would go.
    by_category: list[tuple[str, str, int]] = field(default_factory=list)

    def as_dict(self) -> dict:
        """Return a JSON-ready form (for a job's result)."""
        return {
            "created": self.created,
            "ready": self.ready,
            "errors": self.errors,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "warnings_by_question": warnings_by_question(self.warnings),
            "by_category": self.by_category,
        }


def warnings_by_question(warnings: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """Group (where, warning) pairs into (where, [warnings]), in the file's order."""
    grouped: dict[str, list[str]] = {}
    for where, message in warnings:
        grouped.setdefault(where, []).append(message)
    return list(grouped.items())


def _by_category(checked: list[tuple[QuestionData, dict]]) -> list[tuple[str, str, int]]:
    """Count the checked questions by category path and type, in the file's order."""
    counts: dict[tuple[str, str], int] = {}
    for qd, _values in checked:
        # A question without a category goes where ensure_path puts it.
        key = (" / ".join(qd.category_path) or _("Imported"), qd.qtype)
        counts[key] = counts.get(key, 0) + 1
    return [(path, qtype, n) for (path, qtype), n in counts.items()]


class ImportRefused(ValidationFailed):
    """Raise when a file has errors: nothing is imported; ``result`` holds the report."""

    def __init__(self, report: ImportReport):
        super().__init__(
            _("Nothing was imported: the file has %(n)d errors.", n=len(report.errors))
        )
        self.result = report.as_dict()


def _input(qd: QuestionData) -> QuestionInput:
    return QuestionInput(
        qtype=qd.qtype,
        category_id=None,
        stem=qd.stem,
        body=qd.body,
        explanation=qd.explanation,
        source=qd.source,
        default_points=qd.default_points,
        difficulty=qd.difficulty,
        tags=qd.tags,
        name=qd.name,
    )


def import_questions(filename: str, data: bytes, user, progress=None) -> ImportReport:
    """Import every question of the file, or none when any is wrong (ImportRefused)."""
    progress = progress or (lambda *a, **k: None)
    parse = FORMATS[format_for(filename)][0]
    progress(0, 0, _("Reading the file"))
    return import_parsed(parse(data), user, filename, progress)


def import_data(questions: list[QuestionData], user, label: str) -> ImportReport:
    """Import questions already in the plain form (e.g. the demo bank)."""
    parsed = ParseResult(questions=[(str(i), q) for i, q in enumerate(questions, start=1)])
    return import_parsed(parsed, user, label, lambda *a, **k: None)


def import_parsed(parsed: ParseResult, user, filename: str, progress) -> ImportReport:
    """Check every parsed question, then save them all; or save none (ImportRefused)."""
    report, checked = check_parsed(parsed, progress)
    if report.errors:
        raise ImportRefused(report)
    return save_checked(checked, report, user, filename, progress, parsed.descriptions)


def check_questions(filename: str, data: bytes, progress=None) -> ImportReport:
    """Return what importing the file would do, saving nothing (errors are in the report)."""
    progress = progress or (lambda *a, **k: None)
    parse = FORMATS[format_for(filename)][0]
    progress(0, 0, _("Reading the file"))
    return check_parsed(parse(data), progress)[0]


def check_parsed(parsed: ParseResult, progress) -> tuple[ImportReport, list]:
    """Check every parsed question without writing anything; return the report and the
    (question, cleaned values) pairs fit to save."""
    fidelity.note_losses(parsed)
    parsed.warnings += fidelity.description_losses(parsed.descriptions, parsed.questions)
    report = ImportReport(
        errors=list(parsed.errors), skipped=list(parsed.skipped), warnings=list(parsed.warnings)
    )
    checked = []
    total = len(parsed.questions)
    progress(0, total, _("Checking the questions"))
    for i, (where, qd) in enumerate(parsed.questions, start=1):
        if qd.status not in QuestionStatus._value2member_map_:
            report.errors.append((where, _("Unknown status %(s)s.", s=qd.status)))
            continue
        try:
            values, errors = check(_input(qd))
        except (TypeError, AttributeError, KeyError, ValueError):
            # A body of the wrong shape (e.g. a hand-edited lms-json comment).
            report.errors.append((where, _("The question's content has the wrong form.")))
            continue
        errors.pop("category_id", None)  # categories are created from the path
        if not errors and qd.status == QuestionStatus.PUBLISHED:
            errors = publish_problems(values)
        for messages in errors.values():
            report.errors.extend((where, m) for m in messages)
        if not errors:
            checked.append((qd, values))
        if i % 500 == 0:
            progress(i, total)
    if not parsed.questions and not report.errors:
        report.errors.append((_("file"), _("The file holds no question this system supports.")))
    report.ready = len(checked)
    report.by_category = _by_category(checked)
    return report, checked


def save_checked(
    checked: list, report: ImportReport, user, filename: str, progress, descriptions=None
):
    """Save questions that check_parsed passed (with their images, categories and tags, and
    ``descriptions`` by category path for the categories that have none yet)."""
    total = len(checked)
    progress(0, total, _("Saving"))
    tag_cache = {t.name: t for t in db.session.scalars(select(Tag))}
    cat_cache: dict = {}
    with db.session.no_autoflush:
        for i, (qd, values) in enumerate(checked, start=1):
            if qd.files:
                for key in ("stem", "explanation"):
                    values[key] = images.import_references(values[key], qd.files, user)
                values["body"] = _body_images(qd.qtype, values["body"], qd.files, user)
            path = tuple(qd.category_path)
            if path not in cat_cache:
                db.session.flush()
                cat_cache[path] = categories.ensure_path(list(path))
            values["category"] = cat_cache[path]
            tags = []
            for name in values["tags"]:
                if name not in tag_cache:
                    tag_cache[name] = Tag(name=name)
                    db.session.add(tag_cache[name])
                tags.append(tag_cache[name])
            values["tag_objects"] = tags
            create_question(None, user, QuestionStatus(qd.status), values=values, bulk=True)
            if i % 500 == 0:
                db.session.flush()
                progress(i, total)
    db.session.flush()
    for path, text in (descriptions or {}).items():
        # Described categories the import created or found, parents included.
        node = categories.find_path(list(path)) if path else None
        if node is not None and not node.description:
            node.description = text[: categories.MAX_DESCRIPTION]
    report.created = len(checked)
    progress(total, total)
    audit.record(
        "question.import",
        summary=filename[:200],
        after={"questions": report.created, "skipped": len(report.skipped)},
        actor=user,
    )
    return report


def _body_images(qtype: str, body: dict, files: dict, user) -> dict:
    """Store the images that the rich texts of a body (options, answers) refer to."""
    found = codec(qtype)
    if found is None:  # e.g. demo data of a type that has no file formats
        return body
    return found.map_html(body, lambda h: images.import_references(h, files, user))


#: Spreadsheets cannot carry images: their cells keep the bank's own image addresses.
EMBEDS_FILES = {"moodle-xml", "gift"}


def to_data(q: Question, embed_files: bool = True) -> QuestionData:
    """Return a stored question (its current version) in the plain form."""
    v = q.current
    files: dict[str, bytes] = {}

    def refs(html: str) -> str:
        return images.export_references(html, files) if embed_files else html

    found = codec(v.qtype)
    body = found.map_html(dict(v.body), refs) if found is not None else dict(v.body)
    return QuestionData(
        qtype=v.qtype,
        stem=refs(v.stem),
        body=body,
        category_path=categories.path_of(q.category),
        explanation=refs(v.explanation),
        default_points=float(v.default_points),
        difficulty=q.difficulty,
        tags=[t.name for t in q.tags],
        source=v.source,
        status=q.status.value,
        name=q.name,
        files=files,
    )


def bank_data(question_ids: list[int] | None = None, embed_files: bool = True):
    """Return the bank (or the given questions) in the plain form, by category then id."""
    stmt = (
        select(Question)
        .options(
            selectinload(Question.current),
            selectinload(Question.tags),
            selectinload(Question.category),
        )
        .order_by(Question.id)
    )
    if question_ids is not None:
        stmt = stmt.where(Question.id.in_(question_ids))
    data = [to_data(q, embed_files) for q in db.session.scalars(stmt)]
    data.sort(key=lambda d: d.category_path)  # stable: keeps id order inside a category
    return data


def export_questions(fmt: str, question_ids: list[int] | None = None) -> bytes:
    """Return the bank (or some questions) in ``fmt``, without those ``left_out`` names."""
    data = bank_data(question_ids, embed_files=fmt in EMBEDS_FILES)
    if fmt == "moodle-xml":  # the one format with a place for category descriptions
        return moodle_xml.export(data, categories.descriptions())
    return FORMATS[fmt][1](data)


def left_out(question_ids: list[int] | None = None) -> list[tuple[str, str]]:
    """Return (where, why) for each question an export leaves out: its type cannot travel."""
    return exportable(bank_data(question_ids, embed_files=False))[1]


@jobs.register("question_import")
def run_import_job(progress, params: dict, user) -> dict:
    """Import an uploaded file in the background, checking it again (the bank may have
    changed since its preview): all of it, or nothing."""
    data = base64.b64decode(params["data"])
    return import_questions(params["filename"], data, user, progress).as_dict()
