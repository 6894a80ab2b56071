"""The question-type registry: a new type needs only its module and templates.

A throwaway type (a number within a tolerance) is registered with templates of its own,
authored through the pages, put in a paper, taken through the exam pages and reviewed.
"""

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, FileSystemLoader
from sqlalchemy import select

from exams.models import (
    Attempt,
    AttemptState,
    Candidate,
    Paper,
    PaperSection,
    Sitting,
    SittingKind,
)
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank import interchange, qtypes
from question_bank.formats import gift, moodle_xml, spreadsheet
from question_bank.formats.common import unsupported_reason, where_label
from question_bank.interchange import Interchange, QuestionData, RowCells
from question_bank.models import Question, QuestionStatus
from question_bank.qtypes.base import QuestionType
from tests.helpers import text

ROOT = Path(__file__).resolve().parents[2]


class Numeric(QuestionType):
    """A number, right within a tolerance (only for this test)."""

    key = "numeric_test"
    label = "数值题"
    heading = "数值计算题"
    answer_kind = "text"

    def body_from_form(self, form) -> dict:
        """Read the value and the tolerance."""
        return {"value": form.get("value", ""), "tolerance": form.get("tolerance", "0")}

    def clean_body(self, body: dict) -> dict:
        """Keep two numbers (None when not numbers)."""

        def number(v):
            try:
                return float(v)
            except (TypeError, ValueError):
                return None

        return {"value": number(body.get("value")), "tolerance": number(body.get("tolerance"))}

    def validate(self, stem_text: str, body: dict) -> list[str]:
        """Require both numbers."""
        return [] if None not in (body["value"], body["tolerance"]) else ["需要数值和误差"]

    def _read_response(self, body: dict, raw, order):
        return float(str(raw).strip())

    def grade(self, body: dict, response, *, partial: bool = False) -> float:
        """Score 1 within the tolerance."""
        ok = response is not None and abs(response - body["value"]) <= body["tolerance"]
        return 1.0 if ok else 0.0

    def key_text(self, body: dict, order=None) -> str:
        """Return value ± tolerance."""
        return f"{body['value']:g} ± {body['tolerance']:g}"


TEMPLATES = {
    "form.html": (
        '<input name="value" value="{{ inp.body.get(\'value\') or \'\' }}" aria-label="数值">'
        "<input name=\"tolerance\" value=\"{{ inp.body.get('tolerance') or '' }}\">"
    ),
    "exam.html": (
        '<input type="text" class="numeric-answer" name="{{ prefix }}" '
        "value=\"{{ response if response is not none else '' }}\""
        "{% if not interactive %} disabled{% endif %}>"
    ),
    "review.html": '<p class="numeric-review">作答：{{ response }}</p>',
}


@pytest.fixture
def numeric(app, tmp_path):
    """Register the throwaway type and its templates; unregister it afterwards."""
    folder = tmp_path / "qtypes" / "numeric_test"
    folder.mkdir(parents=True)
    for name, source in TEMPLATES.items():
        (folder / name).write_text(source, encoding="utf-8")
    loader = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([loader, FileSystemLoader(str(tmp_path))])
    qtype = qtypes.register(Numeric())
    yield qtype
    qtypes.unregister(qtype.key)
    app.jinja_env.loader = loader


def test_register_refuses_a_taken_key():
    with pytest.raises(ValueError, match="taken"):
        qtypes.register(qtypes.get("true_false"))


def test_a_registered_type_is_authored_examined_graded_and_reviewed(
    app, numeric, client, make_user, login, category
):
    make_user(Role.TRAINER, username="teacher")
    agent = make_user(Role.AGENT, username="a1")
    login(client, "teacher")
    # Authoring: the bank's form shows the type's own fields.
    page = text(client.get("/qb/new?type=numeric_test"))
    assert 'name="value"' in page and "数值题" in page
    resp = client.submit(
        "/qb/new?type=numeric_test",
        {
            "qtype": "numeric_test",
            "category_id": str(category.id),
            "difficulty": "2",
            "default_points": "1",
            "stem": "年利率3.5%，本金1000元，一年利息多少元？",
            "value": "35",
            "tolerance": "0.5",
            "action": "publish",
        },
    )
    assert resp.status_code == 302, text(resp)[-1500:]
    question = db.session.scalar(select(Question))
    assert question.qtype == "numeric_test" and question.status == QuestionStatus.PUBLISHED
    assert question.current.body == {"value": 35.0, "tolerance": 0.5}
    assert "35 ± 0.5" in text(client.get(f"/qb/{question.id}"))
    # A paper with a section of the new type, through the staff pages.
    resp = client.submit(
        "/exams/papers/new",
        {
            "title": "数值练习",
            "time_limit_minutes": "30",
            "pass_mark": "1",
            "review_policy": "after_submit",
            "multiple_choice_rule": "all_or_nothing",
        },
    )
    paper = db.session.get(Paper, int(re.search(r"/papers/(\d+)$", resp.location).group(1)))
    client.submit(f"/exams/papers/{paper.id}/sections", {"qtype": "numeric_test", "points": "2"})
    section = db.session.scalar(select(PaperSection).where(PaperSection.paper_id == paper.id))
    client.submit(f"/exams/sections/{section.id}/questions", {"question_ids": str(question.id)})
    db.session.refresh(section)
    assert [i.question_id for i in section.items] == [question.id]
    editor = text(client.get(f"/exams/papers/{paper.id}"))
    assert "一、数值计算题" in editor
    sitting = Sitting(
        title="数值练习",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=utcnow() - timedelta(hours=1),
        closes_at=utcnow() + timedelta(hours=1),
    )
    sitting.candidates = [Candidate(user_id=agent.id)]
    db.session.add(sitting)
    db.session.commit()
    # The candidate takes it: start, see the type's template, save, submit, review.
    candidate = app.test_client()
    login(candidate, "a1")
    resp = candidate.submit(f"/exam/sittings/{sitting.id}/start")
    attempt = db.session.scalar(select(Attempt))
    item = attempt.items[0]
    page = text(candidate.get(resp.location))
    assert "一、数值计算题（本题共1小题，每小题2分，共2分）" in page
    assert 'class="numeric-answer"' in page and 'data-answer="text"' in page
    save = candidate.post(
        f"/exam/attempts/{attempt.id}/save",
        json={"seq": 1, "answers": {str(item.id): "不是数"}},
        headers={"X-CSRFToken": candidate.csrf_token()},
    )
    assert save.status_code == 400  # read_response refused it
    save = candidate.post(
        f"/exam/attempts/{attempt.id}/save",
        json={"seq": 1, "answers": {str(item.id): "35.2"}},
        headers={"X-CSRFToken": candidate.csrf_token()},
    )
    assert save.status_code == 200, save.get_json()
    db.session.refresh(item)
    assert item.response == 35.2 and item.grade_state == "complete"
    assert candidate.submit(f"/exam/attempts/{attempt.id}/submit").status_code == 302
    db.session.refresh(attempt)
    assert attempt.state == AttemptState.FINISHED and attempt.score == Decimal(2)
    result = text(candidate.get(f"/exam/attempts/{attempt.id}/result"))
    assert 'class="numeric-review"' in result and "作答：35.2" in result
    assert "35 ± 0.5" in result and "2 / 2" in result


def test_the_throwaway_type_is_gone_afterwards():
    assert "numeric_test" not in qtypes.REGISTRY


#: Where type keys may still be written out: the types themselves and their templates,
#: demo attempts, migrations, tests, benchmarks that build their own bank. (Import and export
#: formats ask each type's interchange.)
ALLOWED = (
    "question_bank/qtypes/",
    "templates/qtypes/",
    "exams/demo.py",
    "migrations/",
    "tests/",
    "bench/",
)


def test_no_type_key_is_hard_coded_outside_the_types():
    keys = [k for k in qtypes.REGISTRY]
    pattern = re.compile(r"""["'](%s)["']""" % "|".join(map(re.escape, keys)))  # noqa: UP031
    found = []
    for top in ("lms", "exams", "question_bank", "templates", "certificates", "wsgi.py"):
        for path in sorted([ROOT / top] if top.endswith(".py") else (ROOT / top).rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.suffix not in (".py", ".html", ".js") or rel.startswith(ALLOWED):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if pattern.search(line):
                    found.append(f"{rel}:{n}: {line.strip()}")
    assert found == []


# Import and export: a type travels through the formats by its own interchange, or not at all


class NumericInterchange(Interchange):
    """Moodle's numerical questions (one answer and its tolerance), only for this test."""

    moodle_types = ("numerical",)
    sheet_names = ("数值题",)
    sheet_help = ("数值题：答案填 数值±误差（如 35±0.5）。",)

    def from_moodle_xml(self, kind, src):
        """Read the full-mark <answer> and its <tolerance>."""
        _fraction, answer = src.answers()[0]
        value, tolerance = src.text("text", answer), src.text("tolerance", answer) or 0
        return Numeric.key, src.stem, {"value": float(value), "tolerance": float(tolerance)}

    def to_moodle_xml(self, q, out):
        """Write one answer with its tolerance."""
        line = (
            f'    <answer fraction="100"><text>{q.body["value"]!r}</text>'
            f"<tolerance>{q.body['tolerance']!r}</tolerance></answer>"
        )
        return "numerical", q.stem, [line]

    def from_gift(self, kind, stem, answer, src):
        """Read ``{#35:0.5}``."""
        value, _colon, tolerance = src.word(answer[1:]).partition(":")
        return Numeric.key, stem, {"value": float(value), "tolerance": float(tolerance or 0)}

    def to_gift(self, q, out):
        """Write ``{#value:tolerance}``."""
        answer = f"#{q.body['value']!r}:{q.body['tolerance']!r}"
        return [f"{out.head}{out.escape(q.stem)}{{{answer}{out.feedback}}}"]

    def from_row(self, answer, src):
        """Read 数值±误差."""
        value, _pm, tolerance = answer.partition("±")
        return {"value": float(value), "tolerance": float(tolerance or 0)}

    def to_row(self, q, out):
        """Write 数值±误差."""
        return RowCells(answer=f"{q.body['value']!r}±{q.body['tolerance']!r}")


class TravellingNumeric(Numeric):
    """The throwaway type, with its interchange."""

    interchange = NumericInterchange()


@pytest.fixture
def travelling(app):
    """Register the throwaway type with its interchange; unregister it afterwards."""
    qtype = qtypes.register(TravellingNumeric())
    yield qtype
    qtypes.unregister(qtype.key)


def numeric_question(**extra) -> QuestionData:
    """Return a question of the throwaway type."""
    return QuestionData(
        qtype="numeric_test",
        stem="<p>年利率3.5%，本金1000元，一年利息多少元？</p>",
        body={"value": 35.0, "tolerance": 0.5},
        category_path=["业务知识"],
        name="利息",
        **extra,
    )


def true_false_question() -> QuestionData:
    """Return a question of a type that travels everywhere."""
    return QuestionData(qtype="true_false", stem="<p>可以索要密码。</p>", body={"correct": False})


SPREADSHEETS = [
    pytest.param(spreadsheet.export_xlsx, spreadsheet.parse_xlsx, id="xlsx"),
    pytest.param(spreadsheet.export_csv, spreadsheet.parse_csv, id="csv"),
]
ALL_FORMATS = [
    pytest.param(moodle_xml.export, moodle_xml.parse, id="moodle_xml"),
    pytest.param(gift.export, gift.parse, id="gift"),
    *SPREADSHEETS,
]


@pytest.mark.parametrize(("export", "parse"), ALL_FORMATS)
def test_a_registered_type_travels_through_every_format_by_its_own_interchange(
    travelling, export, parse
):
    assert "numeric_test" in interchange.QTYPES
    question = numeric_question(status="published")
    result = parse(export([question, true_false_question()]))
    assert result.errors == [] and result.skipped == []
    got = [q for _w, q in result.questions]
    assert [q.qtype for q in got] == ["numeric_test", "true_false"]
    assert got[0].body == question.body and got[0].stem == question.stem
    assert got[0].status == "published"


def test_moodle_numerical_questions_are_read_by_the_type_that_claims_them(app, travelling):
    gift_file = "::利息::年利率3.5%，本金1000元，一年利息多少元？{#35:0.5}".encode()
    xml_file = (
        '<quiz><question type="numerical"><name><text>利息</text></name>'
        "<questiontext><text>一年利息多少元？</text></questiontext>"
        '<answer fraction="100"><text>35</text><tolerance>0.5</tolerance></answer>'
        "</question></quiz>"
    ).encode()
    for module, data in ((gift, gift_file), (moodle_xml, xml_file)):
        result = module.parse(data)
        assert result.skipped == [] and result.errors == []
        (_where, q), *_ = result.questions
        assert (q.qtype, q.body) == ("numeric_test", {"value": 35.0, "tolerance": 0.5})


@pytest.mark.parametrize(("export", "parse"), ALL_FORMATS)
def test_a_type_without_interchange_is_left_out_of_exports_and_said_so(numeric, export, parse):
    questions = [numeric_question(), true_false_question()]
    kept, left_out = interchange.exportable(questions)
    assert kept == questions[1:]
    ((where, reason),) = left_out
    assert "利息" in where and reason == interchange.not_exportable_reason("numeric_test")
    assert "数值题" in reason
    result = parse(export(questions))
    assert result.errors == [] and result.skipped == []
    assert [q.qtype for _w, q in result.questions] == ["true_false"]


def test_a_type_without_interchange_is_skipped_on_import_with_the_reason(travelling):
    # Exported while the type could travel, imported where it cannot: skipped, not an error.
    files = {
        "gift": gift.export([numeric_question(), true_false_question()]),
        "csv": spreadsheet.export_csv([numeric_question(), true_false_question()]),
        "xml": moodle_xml.export([numeric_question(), true_false_question()]),
    }
    qtypes.unregister("numeric_test")
    qtypes.register(Numeric())
    reason = interchange.not_exportable_reason("numeric_test")
    result = gift.parse(files["gift"])
    assert result.errors == [] and result.skipped == [(where_label(1, "利息"), reason)]
    result = spreadsheet.parse_csv(files["csv"])
    assert result.errors == [] and [r for _w, r in result.skipped] == [reason]
    result = moodle_xml.parse(files["xml"])
    assert result.errors == []
    assert result.skipped == [(where_label(1, "利息"), unsupported_reason("numerical"))]
    for parsed in (gift.parse(files["gift"]), spreadsheet.parse_csv(files["csv"])):
        assert [q.qtype for _w, q in parsed.questions] == ["true_false"]


def test_the_export_page_warns_about_questions_left_out(numeric, trainer_client, make_question):
    make_question(qtype="true_false")
    make_question(stem="一年利息多少元？", qtype="numeric_test", body={"value": 35, "tolerance": 0})
    resp = trainer_client.get("/qb/export?format=gift")
    assert resp.status_code == 200 and "一年利息" not in resp.get_data(as_text=True)
    assert resp.data.count(gift.JSON_PREFIX.encode()) == 1
    page = text(trainer_client.get("/qb/"))
    assert interchange.not_exportable_reason("numeric_test") in page
