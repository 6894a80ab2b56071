"""Authoring questions: create, edit (versions), publish, retire, delete. Flush, never commit."""

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from itertools import pairwise

from flask_babel import gettext as _
from sqlalchemy import select

from lms import audit
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from lms.timeutil import utcnow
from lms.web import parse_id
from question_bank import qtypes
from question_bank.models import Category, Question, QuestionStatus, QuestionVersion, Tag
from question_bank.render import points_text
from question_bank.sanitize import clean, strip_control, to_text

MAX_TAGS = 10
MAX_NAME = 255
#: Checks that tell whether question versions were used (by exams); capabilities register.
USAGE_CHECKS: list = []


class EditConflict(ValidationFailed):
    """Raise when someone else saved the question after the editor opened it."""

    def __init__(self, question: Question):
        who = question.updated_by.full_name if question.updated_by else _("someone")
        super().__init__(
            _(
                "%(who)s saved this question after you opened it. Your changes were not saved; "
                "they are still in the form below. Open the question again to see the new "
                "version, then apply your changes to it.",
                who=who,
            )
        )
        self.question = question


@dataclass
class QuestionInput:
    """What an author submits for a question."""

    qtype: str
    category_id: int | None
    stem: str
    body: dict
    explanation: str = ""
    source: str = ""
    default_points: str | Decimal | float = "1"
    difficulty: int | str = 3
    tags: list[str] = field(default_factory=list)
    name: str = ""


def split_tags(text: str) -> list[str]:
    """Split a tag field on commas (half- or full-width), 、 or spaces."""
    return [t for t in re.split(r"[,，、;；\s]+", text or "") if t]


def check(inp: QuestionInput) -> tuple[dict, dict[str, list[str]]]:
    """Return the cleaned values and the problems found, by field."""
    errors: dict[str, list[str]] = {}

    def err(field_name, message):
        errors.setdefault(field_name, []).append(message)

    if inp.qtype not in qtypes.REGISTRY:
        err("qtype", _("Choose a question type."))
        return {}, errors
    qtype = qtypes.get(inp.qtype)
    stem = clean(inp.stem)
    stem_text = to_text(stem)
    if not stem_text and "<img" not in stem:
        err("stem", _("The stem is empty."))
    elif len(stem) > 20000:
        err("stem", _("The stem is too long (at most 20,000 characters)."))
    body = qtype.clean_body(inp.body or {})
    for problem in qtype.validate(stem_text, body):
        err("body", problem)
    category = db.session.get(Category, inp.category_id) if inp.category_id else None
    if category is None:
        err("category_id", _("Choose a category."))
    try:
        points = Decimal(str(inp.default_points).strip() or "x")
        if not (Decimal("0") < points <= Decimal("1000")) or points != points.quantize(
            Decimal("0.01")
        ):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        err(
            "default_points",
            _("Points must be a number above 0 and at most 1000, with at most two decimals."),
        )
        points = Decimal(1)
    try:
        difficulty = int(inp.difficulty)
        if not 1 <= difficulty <= 5:
            raise ValueError
    except (TypeError, ValueError):
        err("difficulty", _("Difficulty is a whole number from 1 (easy) to 5 (hard)."))
        difficulty = 3
    tags = list(dict.fromkeys(strip_control(t).strip()[:50] for t in inp.tags if t.strip()))
    if any(re.search(r"[,，、;；\s]", t) for t in tags):
        err("tags", _("A tag may not contain spaces, commas, 、 or semicolons."))
    if len(tags) > MAX_TAGS:
        err("tags", _("A question may have at most %(n)d tags.", n=MAX_TAGS))
    source = strip_control(inp.source).strip()
    if len(source) > 200:
        err("source", _("The source may be at most 200 characters."))
    name = " ".join(strip_control(inp.name).split())
    if len(name) > MAX_NAME:
        err("name", _("The name may be at most %(n)d characters.", n=MAX_NAME))
    values = {
        "qtype": inp.qtype,
        "category": category,
        "stem": stem,
        "stem_text": stem_text,
        "body": body,
        "explanation": clean(inp.explanation),
        "source": source[:200],
        "default_points": points,
        "difficulty": difficulty,
        "tags": tags,
        "name": name[:MAX_NAME],
    }
    return values, errors


def tags_named(names: list[str]) -> list[Tag]:
    """Return the tags with these names, creating the missing ones."""
    if not names:
        return []
    existing = {t.name: t for t in db.session.scalars(select(Tag).where(Tag.name.in_(names)))}
    out = []
    for name in names:
        tag = existing.get(name)
        if tag is None:
            tag = existing[name] = Tag(name=name)
            db.session.add(tag)
        out.append(tag)
    return out


def _raise_if_errors(errors: dict[str, list[str]]) -> None:
    if errors:
        exc = ValidationFailed([m for ms in errors.values() for m in ms])
        exc.by_field = errors
        raise exc


def _new_version(question: Question, values: dict, actor, number: int) -> QuestionVersion:
    version = QuestionVersion(
        question=question,
        number=number,
        qtype=values["qtype"],
        stem=values["stem"],
        body=values["body"],
        explanation=values["explanation"],
        source=values["source"],
        default_points=values["default_points"],
        created_by_id=getattr(actor, "id", None),
    )
    db.session.add(version)
    return version


def snapshot(q: Question) -> dict:
    """Return the audited fields of a question."""
    return {
        "name": q.name,
        "version": q.current.number if q.current else None,
        "status": q.status.value,
        "category": q.category.name if q.category else None,
        "difficulty": q.difficulty,
        "tags": [t.name for t in q.tags],
    }


def create_question(
    inp: QuestionInput | None,
    actor,
    status: QuestionStatus = QuestionStatus.DRAFT,
    *,
    values: dict | None = None,
    bulk: bool = False,
) -> Question:
    """Create a question with its first version.

    ``values`` are already-checked values (imports check everything first); ``bulk`` skips
    the per-question flush and audit entry (the import records one entry for all).
    """
    status = QuestionStatus(status)
    if values is None:
        values, errors = check(inp)
        if status == QuestionStatus.PUBLISHED and not errors:
            errors = publish_problems(values)
        _raise_if_errors(errors)
    q = Question(
        category=values["category"],
        qtype=values["qtype"],
        difficulty=values["difficulty"],
        author_id=getattr(actor, "id", None),
        updated_by_id=getattr(actor, "id", None),
        stem_text=values["stem_text"],
        name=values.get("name", ""),
        status=status,
    )
    q.tags = values["tag_objects"] if "tag_objects" in values else tags_named(values["tags"])
    db.session.add(q)
    version = _new_version(q, values, actor, 1)
    version.frozen = status != QuestionStatus.DRAFT
    q.current = version
    if not bulk:
        db.session.flush()
        audit.record(
            "question.create",
            q,
            summary=values["stem_text"][:100],
            after=snapshot(q),
            actor=actor,
        )
    return q


def publish_problems(values: dict) -> dict[str, list[str]]:
    """Return what keeps checked content from being published (by field)."""
    problems = qtypes.get(values["qtype"]).publish_problems(values["body"])
    return {"body": problems} if problems else {}


def update_question(q: Question, inp: QuestionInput, expected_revision: int, actor) -> Question:
    """Save an edit: in place for a draft version, as a new version once it is frozen."""
    if q.revision != expected_revision:
        raise EditConflict(q)
    values, errors = check(inp)
    if not errors and q.status == QuestionStatus.PUBLISHED:
        errors = publish_problems(values)
    _raise_if_errors(errors)
    before = snapshot(q)
    current = q.current
    content_changed = current is None or any(
        getattr(current, k) != values[k]
        for k in ("qtype", "stem", "body", "explanation", "source", "default_points")
    )
    if content_changed:
        if current is None or current.frozen:
            q.current = _new_version(q, values, actor, (current.number if current else 0) + 1)
            db.session.flush()
        else:
            for k in ("qtype", "stem", "body", "explanation", "source", "default_points"):
                setattr(current, k, values[k])
    q.category = values["category"]
    q.qtype = values["qtype"]
    q.difficulty = values["difficulty"]
    q.stem_text = values["stem_text"]
    q.name = values.get("name", "")
    q.tags = tags_named(values["tags"])
    q.updated_at = utcnow()
    q.updated_by_id = getattr(actor, "id", None)
    if q.status == QuestionStatus.PUBLISHED:
        q.current.frozen = True
    db.session.flush()  # raises StaleDataError if a concurrent save won the race
    if content_changed or before != snapshot(q):
        audit.record(
            "question.update",
            q,
            summary=values["stem_text"][:100],
            before=before,
            after=snapshot(q),
            actor=actor,
        )
    return q


def set_status(q: Question, status: QuestionStatus, actor) -> None:
    """Publish, retire or return a question to draft."""
    status = QuestionStatus(status)
    if q.status == status:
        return
    if status == QuestionStatus.PUBLISHED:
        qtype = qtypes.get(q.current.qtype)
        problems = qtype.validate(to_text(q.current.stem), q.current.body)
        problems += qtype.publish_problems(q.current.body)
        if problems:
            raise ValidationFailed(problems)
        q.current.frozen = True
    if status == QuestionStatus.DRAFT and q.status == QuestionStatus.RETIRED and is_used(q):
        raise ValidationFailed(_("A question used in an exam stays retired; copy it instead."))
    before = {"status": q.status.value}
    q.status = status
    q.updated_at = utcnow()
    q.updated_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(
        "question.status",
        q,
        summary=q.stem_text[:100],
        before=before,
        after={"status": status.value},
        actor=actor,
    )


def is_used(q: Question) -> bool:
    """Tell whether any version of the question was used (in an exam)."""
    ids = [v.id for v in q.versions]
    return any(check_used(ids) for check_used in USAGE_CHECKS)


def delete_question(q: Question, actor) -> None:
    """Delete a question never used; a used one can only be retired."""
    if is_used(q):
        raise ValidationFailed(
            _("This question was used in an exam: it cannot be deleted, only retired.")
        )
    audit.record("question.delete", q, summary=q.stem_text[:100], before=snapshot(q), actor=actor)
    q.current = None
    db.session.flush()
    db.session.delete(q)
    db.session.flush()


def bigrams(text: str) -> set[str]:
    """Return the character bigrams of ``text`` without spaces and punctuation."""
    chars = [c for c in text if c.isalnum()]
    return {a + b for a, b in pairwise(chars)} or set(chars)


def similarity(a: str, b: str) -> float:
    """Return the Jaccard similarity of two texts' character bigrams (works for Chinese)."""
    x, y = bigrams(a), bigrams(b)
    if not x or not y:
        return 0.0
    return len(x & y) / len(x | y)


def similar_questions(
    stem_text: str, exclude_id: int | None = None, threshold: float = 0.75, limit: int = 5
) -> list[tuple[int, str, float]]:
    """Return (id, stem text, similarity) of the questions whose stems nearly equal this one."""
    if not stem_text.strip():
        return []
    stmt = select(Question.id, Question.stem_text).where(Question.status != QuestionStatus.RETIRED)
    if exclude_id:
        stmt = stmt.where(Question.id != exclude_id)
    target = bigrams(stem_text)
    found = []
    for qid, text in db.session.execute(stmt):
        other = bigrams(text or "")
        if not other:
            continue
        # Sizes bound the Jaccard index: skip pairs that cannot reach the threshold.
        if min(len(target), len(other)) / max(len(target), len(other)) < threshold:
            continue
        score = len(target & other) / len(target | other)
        if score >= threshold:
            found.append((qid, text, score))
    found.sort(key=lambda r: -r[2])
    return found[:limit]


def version_parts(v: QuestionVersion) -> list[tuple[str, str]]:
    """Return (label, text) pairs of a version, the lines a history diff compares."""
    qtype = qtypes.get(v.qtype)
    return [
        (_("Type"), str(qtype.label)),
        (_("Stem"), to_text(v.stem)),
        *qtype.text_parts(v.body),
        (_("Explanation"), to_text(v.explanation)),
        (_("Source"), v.source),
        (_("Points"), points_text(v.default_points)),
    ]


def version_diff(old: QuestionVersion | None, new: QuestionVersion) -> list[tuple[str, str, str]]:
    """Return (label, before, after) for every part that differs between two versions."""
    before = dict(version_parts(old)) if old else {}
    rows = []
    for label, text in version_parts(new):
        if before.get(label, "") != text:
            rows.append((label, before.get(label, ""), text))
    for label, text in before.items():
        if label not in dict(version_parts(new)):
            rows.append((label, text, ""))
    return rows


def bulk_apply(questions: list[Question], action: str, value: str, actor) -> None:
    """Publish, retire, return to draft, move or tag many questions: all of them or none."""
    problems = []
    if action in ("publish", "retire", "draft"):
        status = {
            "publish": QuestionStatus.PUBLISHED,
            "retire": QuestionStatus.RETIRED,
            "draft": QuestionStatus.DRAFT,
        }[action]
        for q in questions:
            try:
                set_status(q, status, actor)
            except ValidationFailed as exc:
                problems.extend(_("Question %(id)d: %(msg)s", id=q.id, msg=m) for m in exc.messages)
    elif action == "move":
        target_id = parse_id(value)
        target = db.session.get(Category, target_id) if target_id else None
        if target is None:
            raise ValidationFailed(_("Choose the category to move the questions to."))
        for q in questions:
            q.category = target
            q.updated_at, q.updated_by_id = utcnow(), getattr(actor, "id", None)
        audit.record(
            "question.move",
            target,
            summary=f"{len(questions)}",
            after={"questions": [q.id for q in questions]},
            actor=actor,
        )
    elif action == "tag":
        names = [strip_control(n)[:50] for n in split_tags(value)]
        if not names:
            raise ValidationFailed(_("Enter the tags to add."))
        tags = tags_named(names)
        for q in questions:
            q.tags = list(dict.fromkeys([*q.tags, *tags]))
            # A changed row bumps the revision, so an editor who opened the question
            # earlier is told instead of silently dropping these tags.
            q.updated_at, q.updated_by_id = utcnow(), getattr(actor, "id", None)
            if len(q.tags) > MAX_TAGS:
                problems.append(
                    _("Question %(id)d would have more than %(n)d tags.", id=q.id, n=MAX_TAGS)
                )
        audit.record(
            "question.tag",
            summary="、".join(names),
            after={"questions": [q.id for q in questions]},
            actor=actor,
        )
    if problems:
        raise ValidationFailed(problems)
    db.session.flush()
