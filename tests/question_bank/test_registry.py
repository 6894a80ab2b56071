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
from question_bank import qtypes
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
#: demo data, interchange formats (they translate other systems' names), migrations, tests,
#: benchmarks that build their own bank.
ALLOWED = (
    "question_bank/qtypes/",
    "templates/qtypes/",
    "question_bank/demo_bank.py",
    "exams/demo.py",
    "question_bank/interchange.py",
    "question_bank/formats/",
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
