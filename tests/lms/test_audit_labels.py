"""Every audited action, object, field and value reads in the user's language."""

import ast
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale
from sqlalchemy import select

from exams import engine, services
from exams.models import Candidate, PaperSection, SectionQuestion, Sitting, SittingKind
from lms import audit
from lms.accounts.models import Role
from lms.audit import labels
from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank import categories
from question_bank.services import QuestionInput, create_question
from tests.helpers import text

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "lms/translations/zh_Hans_CN/LC_MESSAGES/messages.po"
#: Raw codes that must never reach a reader of the log.
RAW = ["time_limit_minutes", "after_close", "partial_half", "submitted", "item 41", "review_policy"]


def _is_record_call(node) -> bool:
    func = node.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "record"
        and isinstance(func.value, ast.Name)
        and func.value.id == "audit"
    )


def _strings(node) -> set[str]:
    """Return the literal strings an expression may evaluate to (``a if c else b`` too)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def _dict_keys(node) -> set[str]:
    return {k.value for k in node.keys if isinstance(k, ast.Constant)}


def audited_source() -> tuple[set[str], set[str]]:
    """Return the actions the code records and the fields of its before/after dicts.

    Fields come from dict literals passed as ``before``/``after``, dicts assigned to
    ``before``/``after`` in a function that records, and the dicts ``*_snapshot`` return.
    """
    actions, fields = set(), set()
    for package in ("lms", "question_bank", "exams"):
        for path in (ROOT / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for fn in ast.walk(tree):
                if not isinstance(fn, ast.FunctionDef):
                    continue
                calls = [n for n in ast.walk(fn) if isinstance(n, ast.Call) and _is_record_call(n)]
                if fn.name.endswith("snapshot"):
                    for ret in ast.walk(fn):
                        if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Dict):
                            fields |= _dict_keys(ret.value)
                if not calls:
                    continue
                for call in calls:
                    actions |= _strings(call.args[0])
                    for kw in call.keywords:
                        if kw.arg in {"before", "after"} and isinstance(kw.value, ast.Dict):
                            fields |= _dict_keys(kw.value)
                for node in ast.walk(fn):
                    if (
                        isinstance(node, ast.Assign)
                        and isinstance(node.value, ast.Dict)
                        and any(
                            isinstance(t, ast.Name) and t.id in {"before", "after"}
                            for t in node.targets
                        )
                    ):
                        fields |= _dict_keys(node.value)
    return actions, fields


def _translated(label, catalog) -> bool:
    """Tell whether a lazy label's msgid has a Chinese translation."""
    with force_locale("en"):
        msgid = str(label)
    message = catalog.get(msgid)
    return bool(message and message.string and not message.fuzzy)


def test_source_scan_finds_the_audited_actions_and_fields():
    actions, fields = audited_source()
    assert {"auth.login", "paper.update", "paper.create", "attempt.grade"} <= actions
    assert {"time_limit_minutes", "review_policy", "reason", "window", "roles"} <= fields


def test_every_audited_action_and_field_has_a_chinese_label(app):
    actions, fields = audited_source()
    with PO.open("rb") as f:
        catalog = read_po(f)
    with app.test_request_context():
        assert sorted(actions - labels.ACTIONS.keys()) == []
        assert sorted(fields - labels.FIELDS.keys()) == []
        untranslated = [
            code
            for table in (labels.ACTIONS, labels.TARGETS, labels.FIELDS)
            for code, label in table.items()
            if not _translated(label, catalog)
        ]
    assert untranslated == []


@pytest.mark.parametrize(
    ("table", "code", "expected"),
    [
        ("ACTIONS", "auth.login", "登录"),
        ("TARGETS", "ex_attempts", "考试作答"),
    ],
)
def test_labels_that_used_to_read_wrong(app, table, code, expected):
    with app.test_request_context(), force_locale("zh_CN"):
        assert str(getattr(labels, table)[code]) == expected


def _exam(trainer, agent):
    """Create a paper (then change it), a sitting, and a finished attempt; grade it."""
    cat = categories.ensure_path(["业务知识"])
    q = create_question(
        QuestionInput("short_answer", cat.id, "简述首问负责制。", {"reference": "<p>答</p>"}),
        None,
        "published",
    )
    form = {
        "title": "月考",
        "time_limit_minutes": "30",
        "pass_mark": "3",
        "review_policy": "after_close",
        "multiple_choice_rule": "all_or_nothing",
    }
    paper = services.save_paper(None, form, trainer)
    form |= {
        "time_limit_minutes": "45",
        "multiple_choice_rule": "partial_half",
        "review_policy": "after_submit",
        "shuffle_options": "1",
    }
    services.save_paper(paper, form, trainer)
    section = PaperSection(position=1, qtype="short_answer", points_per_question=Decimal(5))
    section.items.append(SectionQuestion(question_id=q.id, position=1))
    paper.sections.append(section)
    now = utcnow()
    sitting = Sitting(
        title="十一月月考",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=3),
    )
    sitting.candidates = [Candidate(user_id=agent.id)]
    db.session.add(sitting)
    db.session.flush()
    attempt = engine.start(sitting, agent)
    engine.finalise(attempt, "submitted")
    engine.record_manual_grade(attempt.items[0], "4", "", trainer)
    db.session.commit()


def test_audit_page_shows_no_raw_code_in_chinese(admin_client, make_user, login, client):
    trainer = make_user(Role.TRAINER, username="t1")
    agent = make_user(Role.AGENT, username="a1")
    _exam(trainer, agent)
    # An older row, written before grades named their question in the reader's language.
    audit.record("attempt.grade", summary="item 41", before={"score": None}, after={"score": 2})
    db.session.commit()

    page = text(admin_client.get("/admin/audit/"))
    for raw in [*RAW, "登录时间", "作答次数"]:
        assert raw not in page
    for readable in [
        "登录",
        "考试作答",
        "考试时长（分钟）",
        "第 41 题",
        "第 1 题",
        str(labels.value_label("review_policy", "after_submit")),
    ]:
        assert readable in page
    kinds = db.session.scalars(select(AuditEvent.target_type).distinct())
    assert sorted(k for k in kinds if k and k not in labels.TARGETS) == []


def test_value_labels_follow_the_reader_language(app):
    with app.test_request_context():
        with force_locale("en"):
            assert labels.value_label("reason", "timeout") == "Time ran out"
            assert labels.value_label("status", "draft") == "Draft"
        with force_locale("zh_CN"):
            assert labels.value_label("multiple_choice_rule", "partial_half") != "partial_half"
            assert labels.value_label("window", [None, "2026-01-31T01:00:00+00:00"]).startswith(
                "— – 2026-01-31"
            )
            assert labels.value_label("removed", "section short_answer") != "section short_answer"
