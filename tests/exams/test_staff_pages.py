"""Trainers' and HR's exam pages: paper builder, sittings, monitor, grading, regrade, results.

Many of these pages' messages are not translated yet, so the tests check status codes, the
database and language-neutral content (names, numbers, ids), never the wording.
"""

import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from exams.models import (
    Attempt,
    AttemptItem,
    AttemptState,
    Candidate,
    DrawRule,
    MultipleChoiceRule,
    Paper,
    PaperSection,
    ResultRule,
    ReviewPolicy,
    SectionQuestion,
    Sitting,
    SittingKind,
)
from lms.accounts.models import Role
from lms.audit.models import AuditEvent
from lms.extensions import db
from lms.people.models import AgentStatus
from question_bank.models import Category
from question_bank.services import QuestionInput, create_question, update_question
from tests.exams.test_attempts import answers_for, letters, save, start
from tests.helpers import count
from tests.helpers import text as body

CHINA = ZoneInfo("Asia/Shanghai")

PAPER_FORM = {
    "title": "十二月业务知识考试",
    "time_limit_minutes": "45",
    "pass_mark": "60.5",
    "review_policy": "after_submit",
    "multiple_choice_rule": "all_or_nothing",
    "instructions": "闭卷",
    "shuffle_options": "1",
}

SINGLE_CHOICE_BODY = {
    "options": [
        {"key": "1", "html": "直接办理"},
        {"key": "2", "html": "核实身份"},
        {"key": "3", "html": "转接主管"},
    ],
    "correct": ["2"],
}


# --- fixtures and helpers -------------------------------------------------------------------


@pytest.fixture
def staff(app, make_user, login):
    """Return a factory of signed-in staff clients, each with its own session."""

    def make(role: Role, username: str, full_name: str):
        make_user(role, username=username, full_name=full_name)
        c = app.test_client()
        login(c, username)
        return c

    return make


@pytest.fixture
def trainer(make_user):
    """Return the trainer who builds papers and grades (not signed in)."""
    return make_user(Role.TRAINER, username="trainer1", full_name="培训师甲")


@pytest.fixture
def trainer_client(app, trainer, login):
    """Return a client signed in as the trainer."""
    c = app.test_client()
    login(c, "trainer1")
    return c


@pytest.fixture
def hr_client(staff):
    """Return a client signed in as an HR officer."""
    return staff(Role.HR, "hr1", "人事乙")


@pytest.fixture
def other_client(app, other_agent, login):
    """Return a client signed in as the second agent (李四)."""
    c = app.test_client()
    login(c, "a2")
    return c


def submit_exam(client, sitting, **by_type) -> Attempt:
    """Start, answer (right unless ``by_type`` says otherwise) and submit; return the attempt."""
    attempt = start(client, sitting)
    answers = answers_for(attempt)
    for item in attempt.items:
        if item.version.qtype in by_type:
            answers[str(item.id)] = letters(item, by_type[item.version.qtype])
    assert save(client, attempt, 1, answers).status_code == 200
    assert client.submit(f"/exam/attempts/{attempt.id}/submit").status_code == 302
    db.session.refresh(attempt)
    assert attempt.state == AttemptState.FINISHED
    return attempt


def item_of(attempt: Attempt, qtype: str) -> AttemptItem:
    """Return the attempt's item of ``qtype``."""
    return next(i for i in attempt.items if i.version.qtype == qtype)


def new_paper(client, **changes) -> Paper | None:
    """Create a paper through the page; return it (None when refused)."""
    resp = client.submit("/exams/papers/new", {**PAPER_FORM, **changes})
    if resp.status_code != 302:
        return None
    paper_id = int(re.search(r"/exams/papers/(\d+)$", resp.location).group(1))
    return db.session.get(Paper, paper_id)


def new_section(client, paper: Paper, qtype: str = "single_choice", points="2") -> PaperSection:
    """Add a section through the page and return it."""
    resp = client.submit(f"/exams/papers/{paper.id}/sections", {"qtype": qtype, "points": points})
    assert resp.status_code == 302
    return db.session.scalar(
        select(PaperSection).where(PaperSection.paper_id == paper.id, PaperSection.qtype == qtype)
    )


def published_single_choice(stem: str, status: str = "published"):
    """Create another single-choice question in the bank's category."""
    cat = db.session.scalar(select(Category).where(Category.name == "信用卡"))
    q = create_question(
        QuestionInput("single_choice", cat.id, stem, SINGLE_CHOICE_BODY), None, status
    )
    db.session.commit()
    return q


def events(action: str) -> int:
    """Return how many audit events of ``action`` exist."""
    return db.session.scalar(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
    )


# --- 1. paper builder -----------------------------------------------------------------------


def test_paper_new_creates_the_paper_with_its_settings(trainer_client, trainer):
    assert trainer_client.get("/exams/papers/new").status_code == 200
    paper = new_paper(trainer_client)
    assert paper is not None
    assert paper.title == "十二月业务知识考试" and paper.time_limit_minutes == 45
    assert paper.pass_mark == Decimal("60.5") and paper.instructions == "闭卷"
    assert paper.review_policy == ReviewPolicy.AFTER_SUBMIT
    assert paper.multiple_choice_rule == MultipleChoiceRule.ALL_OR_NOTHING
    assert paper.shuffle_options and not paper.shuffle_questions
    assert paper.created_by_id == trainer.id
    assert events("paper.create") == 1
    page = body(trainer_client.get("/exams/papers"))
    assert "十二月业务知识考试" in page and f"/exams/papers/{paper.id}" in page


@pytest.mark.parametrize(
    "field, value",
    [
        ("title", ""),
        ("title", "   "),
        ("title", "卷" * 201),
        ("time_limit_minutes", "0"),
        ("time_limit_minutes", "601"),
        ("time_limit_minutes", "x"),
        ("time_limit_minutes", ""),
        ("pass_mark", "-1"),
        ("pass_mark", "abc"),
        ("pass_mark", "1.234"),
        ("pass_mark", "10001"),
        ("review_policy", "sometimes"),
        ("multiple_choice_rule", "most"),
    ],
)
def test_paper_new_refuses_bad_input_and_creates_nothing(trainer_client, field, value):
    resp = trainer_client.submit("/exams/papers/new", {**PAPER_FORM, field: value})
    assert resp.status_code == 422
    assert count(Paper) == 0 and events("paper.create") == 0


def test_paper_new_refuses_a_nan_pass_mark(trainer_client):
    resp = trainer_client.submit("/exams/papers/new", {**PAPER_FORM, "pass_mark": "NaN"})
    assert resp.status_code == 422
    assert count(Paper) == 0


def test_paper_settings_are_saved_and_bad_ones_change_nothing(trainer_client):
    paper = new_paper(trainer_client)
    url = f"/exams/papers/{paper.id}"
    resp = trainer_client.submit(url, {**PAPER_FORM, "title": "改名后的试卷", "pass_mark": "70"})
    assert resp.status_code == 302
    db.session.refresh(paper)
    assert paper.title == "改名后的试卷" and paper.pass_mark == 70
    assert events("paper.update") == 1
    resp = trainer_client.submit(
        url, {**PAPER_FORM, "title": "不应保存", "time_limit_minutes": "0"}
    )
    assert resp.status_code == 422
    db.session.refresh(paper)
    assert paper.title == "改名后的试卷" and paper.time_limit_minutes == 45
    assert trainer_client.get("/exams/papers/999999").status_code == 404


def test_section_is_added_and_a_duplicate_type_refused(trainer_client):
    paper = new_paper(trainer_client)
    section = new_section(trainer_client, paper, "single_choice", "2.5")
    assert section.points_per_question == Decimal("2.5") and section.position == 1
    second = new_section(trainer_client, paper, "true_false", "1")
    assert second.position == 2
    new_section(trainer_client, paper, "single_choice", "3")
    assert count(PaperSection) == 2
    db.session.refresh(section)
    assert section.points_per_question == Decimal("2.5")


@pytest.mark.parametrize(
    "qtype, points",
    [
        ("essay", "1"),
        ("", "1"),
        ("single_choice", "0"),
        ("single_choice", "-1"),
        ("single_choice", "abc"),
        ("single_choice", ""),
        ("single_choice", "1.234"),
        ("single_choice", "1001"),
    ],
)
def test_section_with_bad_type_or_points_is_refused(trainer_client, qtype, points):
    paper = new_paper(trainer_client)
    resp = trainer_client.submit(
        f"/exams/papers/{paper.id}/sections", {"qtype": qtype, "points": points}
    )
    assert resp.status_code == 302
    assert count(PaperSection) == 0


def test_fixed_questions_are_added_by_number(trainer_client, bank):
    paper = new_paper(trainer_client)
    section = new_section(trainer_client, paper)
    extra = published_single_choice("信用卡被盗刷时应：")
    first = bank["single_choice"].id
    resp = trainer_client.submit(
        f"/exams/sections/{section.id}/questions", {"question_ids": f"{first}, {extra.id}"}
    )
    assert resp.status_code == 302 and resp.location.endswith(f"#section-{section.id}")
    items = db.session.scalars(
        select(SectionQuestion).where(SectionQuestion.section_id == section.id)
    ).all()
    assert [(i.question_id, i.position) for i in items] == [(first, 1), (extra.id, 2)]
    page = body(trainer_client.get(f"/exams/papers/{paper.id}"))
    assert f"#{first}" in page and f"#{extra.id}" in page


@pytest.mark.parametrize("problem", ["unknown", "wrong_type", "unpublished", "duplicate", "junk"])
def test_fixed_questions_refused_add_nothing(trainer_client, bank, problem):
    paper = new_paper(trainer_client)
    section = new_section(trainer_client, paper)
    present = bank["single_choice"].id
    trainer_client.submit(f"/exams/sections/{section.id}/questions", {"question_ids": str(present)})
    good = published_single_choice("信用卡被盗刷时应：").id
    bad = {
        "unknown": "999999",
        "wrong_type": str(bank["multiple_choice"].id),
        "unpublished": str(published_single_choice("草稿题", status="draft").id),
        "duplicate": str(present),
        "junk": "12a",
    }[problem]
    resp = trainer_client.submit(
        f"/exams/sections/{section.id}/questions", {"question_ids": f"{good}，{bad}"}
    )
    assert resp.status_code == 302
    assert db.session.scalars(
        select(SectionQuestion.question_id).where(SectionQuestion.section_id == section.id)
    ).all() == [present]


def rule_form(category: Category, **changes) -> dict:
    """Return a draw rule's form values."""
    return {
        "category_id": str(category.id),
        "count": "1",
        "include_subcategories": "1",
        "difficulty": "3",
        "tag": "",
        **changes,
    }


def test_draw_rule_is_added(trainer_client, bank):
    paper = new_paper(trainer_client)
    section = new_section(trainer_client, paper)
    parent = db.session.scalar(select(Category).where(Category.name == "业务知识"))
    resp = trainer_client.submit(f"/exams/sections/{section.id}/rules", rule_form(parent))
    assert resp.status_code == 302
    rule = db.session.scalar(select(DrawRule))
    assert (rule.section_id, rule.category_id, rule.count) == (section.id, parent.id, 1)
    assert rule.include_subcategories and rule.difficulty == 3 and rule.tag is None
    db.session.refresh(paper)
    assert paper.total_points == Decimal(2)


@pytest.mark.parametrize(
    "changes",
    [
        {"count": "2"},  # the published pool holds one single-choice question
        {"include_subcategories": ""},  # the parent category itself holds none
        {"difficulty": "5"},
        {"tag": "无此标签"},
        {"count": "0"},
        {"count": "abc"},
        {"count": "201"},
        {"difficulty": "9"},
        {"category_id": "999999"},
        {"category_id": "x"},
    ],
)
def test_draw_rule_refused_adds_nothing(trainer_client, bank, changes):
    paper = new_paper(trainer_client)
    section = new_section(trainer_client, paper)
    parent = db.session.scalar(select(Category).where(Category.name == "业务知识"))
    resp = trainer_client.submit(
        f"/exams/sections/{section.id}/rules", rule_form(parent, **changes)
    )
    assert resp.status_code == 302
    assert count(DrawRule) == 0


def test_second_rule_on_an_exhausted_pool_is_refused(trainer_client, bank):
    paper = new_paper(trainer_client)
    section = new_section(trainer_client, paper)
    cat = db.session.scalar(select(Category).where(Category.name == "信用卡"))
    url = f"/exams/sections/{section.id}/rules"
    trainer_client.submit(url, rule_form(cat))
    trainer_client.submit(url, rule_form(cat))  # the only question is already drawn above
    assert count(DrawRule) == 1


def test_item_rule_and_section_are_removed(trainer_client, bank):
    paper = new_paper(trainer_client)
    section = new_section(trainer_client, paper, "multiple_choice")
    trainer_client.submit(
        f"/exams/sections/{section.id}/questions",
        {"question_ids": str(bank["multiple_choice"].id)},
    )
    cat = db.session.scalar(select(Category).where(Category.name == "信用卡"))
    # A second multiple-choice question, so a rule can draw one besides the fixed one.
    create_question(
        QuestionInput(
            "multiple_choice",
            cat.id,
            "属于客户敏感信息的是：",
            {
                "options": [{"key": "1", "html": "卡号"}, {"key": "2", "html": "有效期"}],
                "correct": ["1", "2"],
            },
        ),
        None,
        "published",
    )
    db.session.commit()
    trainer_client.submit(f"/exams/sections/{section.id}/rules", rule_form(cat))
    item_id = db.session.scalar(select(SectionQuestion.id))
    rule_id = db.session.scalar(select(DrawRule.id))
    assert item_id and rule_id

    resp = trainer_client.submit(f"/exams/section-questions/{item_id}/delete")
    assert resp.status_code == 302 and count(SectionQuestion) == 0
    resp = trainer_client.submit(f"/exams/rules/{rule_id}/delete")
    assert resp.status_code == 302 and count(DrawRule) == 0
    resp = trainer_client.submit(f"/exams/sections/{section.id}/delete")
    assert resp.status_code == 302 and resp.location.endswith(f"/exams/papers/{paper.id}")
    assert count(PaperSection) == 0 and count(Paper) == 1
    assert trainer_client.submit(f"/exams/rules/{rule_id}/delete").status_code == 404
    # Each removal is in the audit log, naming what went.
    from lms.audit.models import AuditEvent

    removed = [
        e.changes["removed"][1]
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "paper.update").order_by(AuditEvent.id)
        )
    ]
    assert removed == [
        {"question": bank["multiple_choice"].id},
        {"draw_rule": 1, "category": cat.id},
        {"section": "multiple_choice"},
    ]


# --- 2. sittings ----------------------------------------------------------------------------


def sitting_form(paper: Paper, **changes) -> dict:
    """Return the form of a sitting of ``paper``."""
    return {
        "title": "十二月月度考试",
        "kind": "monthly",
        "paper_id": str(paper.id),
        "opens_at": "2026-12-01T09:00",
        "closes_at": "2026-12-01T11:30",
        "attempts_allowed": "2",
        "usernames": "",
        **changes,
    }


def test_sitting_is_scheduled_for_teams_statuses_and_usernames(
    trainer_client, paper, make_team, make_agent, make_user
):
    team_a, team_b, team_c = make_team("一组"), make_team("二组"), make_team("三组")
    in_a = [make_agent(team=team_a), make_agent(team=team_a)]
    make_agent(team=team_a, active=False)  # inactive: never a candidate
    retraining = make_agent(team=team_b, status=AgentStatus.RETRAINING)
    named = make_agent(team=team_c, employee_no="N0001")
    make_agent(team=team_c)  # matches nothing
    make_user(Role.AGENT, username="nomatch")
    assert trainer_client.get("/exams/sittings/new").status_code == 200
    resp = trainer_client.submit(
        "/exams/sittings/new",
        {
            **sitting_form(paper, usernames="N0001\n"),
            "teams": [str(team_a.id)],
            "statuses": ["retraining", "no-such-status"],
        },
    )
    assert resp.status_code == 302, body(resp)[-800:]
    sitting = db.session.scalar(select(Sitting))
    assert resp.location.endswith(f"/exams/sittings/{sitting.id}")
    assert sitting.title == "十二月月度考试" and sitting.kind == SittingKind.MONTHLY
    assert sitting.paper_id == paper.id and sitting.attempts_allowed == 2
    # A monthly sitting records the month it assesses, in China time; highest score counts.
    assert sitting.cycle == "2026-12" and sitting.result_rule == ResultRule.HIGHEST
    assert {c.user_id for c in sitting.candidates} == {
        a.user_id for a in [*in_a, retraining, named]
    }
    # 09:00 China time is 01:00 UTC, and the database holds the UTC wall time.
    assert sitting.opens_at == datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    assert sitting.opens_at.utcoffset() == timedelta(0) and sitting.opens_at.hour == 1
    assert sitting.closes_at == datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
    raw = db.session.scalar(text("SELECT opens_at FROM ex_sittings"))
    assert str(raw).startswith("2026-12-01 01:00")
    assert events("sitting.create") == 1
    page = body(trainer_client.get("/exams/sittings"))
    assert "十二月月度考试" in page and f"/exams/sittings/{sitting.id}" in page


@pytest.mark.parametrize(
    ("kind", "cycle", "rule", "expected"),
    [
        ("monthly", "", "", ("2026-12", "highest")),
        ("monthly", "2026-11", "last", ("2026-11", "last")),  # a late sitting for November
        ("retraining", "", "last", (None, "last")),
    ],
)
def test_sitting_records_its_cycle_and_result_rule(
    trainer_client, paper, agent, kind, cycle, rule, expected
):
    form = sitting_form(paper, usernames="a1", kind=kind, cycle=cycle, result_rule=rule)
    assert trainer_client.submit("/exams/sittings/new", form).status_code == 302
    sitting = db.session.scalar(select(Sitting))
    assert (sitting.cycle, sitting.result_rule.value) == expected


@pytest.mark.parametrize(
    "changes",
    [
        {"title": ""},
        {"kind": "weekly"},
        {"paper_id": ""},
        {"paper_id": "999999"},
        {"opens_at": ""},
        {"opens_at": "not a date"},
        {"closes_at": "2026-12-01T08:59"},
        {"closes_at": "2026-12-01T09:00"},
        {"usernames": "a1, ghost"},
        {"usernames": ""},
        {"attempts_allowed": "0"},
        {"attempts_allowed": "11"},
        {"attempts_allowed": "x"},
        {"paper_id": "EMPTY"},
        {"cycle": "2026-13"},
        {"cycle": "Dec 2026"},
        {"cycle": "2026-12-01"},
        {"result_rule": "best-of-three"},
    ],
)
def test_sitting_refuses_bad_input_and_creates_nothing(trainer_client, paper, agent, changes):
    if changes.get("paper_id") == "EMPTY":
        empty = Paper(title="空试卷")
        db.session.add(empty)
        db.session.commit()
        changes = {"paper_id": str(empty.id)}
    form = sitting_form(paper, **{"usernames": "a1", **changes})
    resp = trainer_client.submit("/exams/sittings/new", form)
    assert resp.status_code == 422
    assert count(Sitting) == 0 and count(Candidate) == 0 and events("sitting.create") == 0


# --- 3. monitor and overrides ---------------------------------------------------------------


def monitor_rows(page: str) -> dict[str, list[str]]:
    """Return each candidate row's cells, keyed by username, plus its state class."""
    rows = {}
    for state, row in re.findall(
        r'<tr class="state-(\w+)" data-candidate="\d+">(.*?)</tr>', page, re.S
    ):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        rows[cells[0]] = [state, *cells[1:]]
    return rows


def badge_count(page: str, css: str) -> int:
    """Return the number in the monitor's summary badge of class ``css``."""
    monitor = page[page.index('id="monitor"') :]
    found = re.search(rf'<span class="{css}"[^>]*>[^<]*?(\d+)[^<]*</span>', monitor)
    return int(found.group(1))


def test_monitor_shows_not_started_in_progress_and_submitted(
    app, trainer_client, sitting, agent_client, other_client, make_user
):
    third = make_user(Role.AGENT, username="a3", full_name="王五")
    sitting.candidates.append(Candidate(user_id=third.id))
    db.session.commit()
    submit_exam(agent_client, sitting)
    in_progress = start(other_client, sitting)

    resp = trainer_client.get(f"/exams/sittings/{sitting.id}")
    assert resp.status_code == 200
    page = body(resp)
    rows = monitor_rows(page)
    assert {name: cells[0] for name, cells in rows.items()} == {
        "a1": "finished",
        "a2": "in_progress",
        "a3": "not_started",
    }
    assert rows["a3"][1] == "王五"
    left = re.fullmatch(r"(\d+):(\d\d)", rows["a2"][3].strip())
    assert left, rows["a2"]
    seconds = int(left.group(1)) * 60 + int(left.group(2))
    assert 29 * 60 <= seconds <= 30 * 60
    assert in_progress.deadline_at - in_progress.started_at == timedelta(minutes=30)
    assert rows["a1"][3].strip() == "" and rows["a3"][3].strip() == ""
    assert badge_count(page, "badge") == 1
    assert badge_count(page, "badge warn") == 1
    assert badge_count(page, "badge pass") == 1


def candidate(sitting: Sitting, user) -> Candidate:
    """Return the user's candidate row."""
    return db.session.scalar(
        select(Candidate).where(Candidate.sitting_id == sitting.id, Candidate.user_id == user.id)
    )


def test_override_gives_the_next_attempt_extra_minutes(
    trainer_client, sitting, agent, agent_client
):
    cand = candidate(sitting, agent)
    resp = trainer_client.submit(
        f"/exams/sittings/{sitting.id}/candidates/{cand.id}",
        {"extra_minutes": "15", "opens_at": "", "closes_at": ""},
    )
    assert resp.status_code == 302 and resp.location.endswith(f"/exams/sittings/{sitting.id}")
    db.session.refresh(cand)
    assert cand.extra_minutes == 15 and events("sitting.override") == 1
    attempt = start(agent_client, sitting)
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=30 + 15)


def test_override_own_window_is_stored_in_utc(trainer_client, sitting, agent):
    cand = candidate(sitting, agent)
    trainer_client.submit(
        f"/exams/sittings/{sitting.id}/candidates/{cand.id}",
        {"extra_minutes": "0", "opens_at": "2026-12-02T09:00", "closes_at": "2026-12-02T10:00"},
    )
    db.session.refresh(cand)
    assert cand.opens_at == datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    assert cand.closes_at == datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "form",
    [
        {"extra_minutes": "-1"},
        {"extra_minutes": "601"},
        {"extra_minutes": "abc"},
        {"extra_minutes": "1.5"},
        {"extra_minutes": "20", "opens_at": "2026-12-02T09:00", "closes_at": ""},
        {"extra_minutes": "20", "opens_at": "2026-12-02T09:00", "closes_at": "2026-12-02T08:00"},
    ],
)
def test_bad_override_changes_nothing(trainer_client, sitting, agent, agent_client, form):
    cand = candidate(sitting, agent)
    cand.extra_minutes = 5
    db.session.commit()
    resp = trainer_client.submit(f"/exams/sittings/{sitting.id}/candidates/{cand.id}", form)
    assert resp.status_code == 302
    db.session.refresh(cand)
    assert (cand.extra_minutes, cand.opens_at, cand.closes_at) == (5, None, None)
    assert events("sitting.override") == 0
    attempt = start(agent_client, sitting)
    assert attempt.deadline_at - attempt.started_at == timedelta(minutes=35)


def test_override_of_another_sittings_candidate_is_404(trainer_client, sitting, paper, agent):
    other = Sitting(
        title="另一场",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=sitting.opens_at,
        closes_at=sitting.closes_at,
    )
    db.session.add(other)
    db.session.commit()
    cand = candidate(sitting, agent)
    resp = trainer_client.submit(
        f"/exams/sittings/{other.id}/candidates/{cand.id}", {"extra_minutes": "15"}
    )
    assert resp.status_code == 404
    db.session.refresh(cand)
    assert cand.extra_minutes == 0


# --- 4. grading -----------------------------------------------------------------------------


def grading_url(sitting, bank) -> str:
    """Return the grading page of the sitting's short-answer question."""
    return f"/exams/grading/{sitting.id}/{bank['short_answer'].id}"


def test_grading_queue_lists_submitted_short_answers(trainer_client, sitting, bank, agent_client):
    page = body(trainer_client.get("/exams/grading"))
    assert grading_url(sitting, bank) not in page
    attempt = start(agent_client, sitting)
    save(agent_client, attempt, 1, answers_for(attempt))
    # In progress: not for grading yet.
    assert grading_url(sitting, bank) not in body(trainer_client.get("/exams/grading"))
    agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    page = body(trainer_client.get("/exams/grading"))
    assert grading_url(sitting, bank) in page and "十一月月度考试" in page


def test_grading_page_hides_names_unless_asked(trainer_client, sitting, bank, agent_client):
    submit_exam(agent_client, sitting)
    resp = trainer_client.get(grading_url(sitting, bank))
    assert resp.status_code == 200
    page = body(resp)
    assert "首问负责：谁接待谁负责。" in page and "张三" not in page
    assert "张三" not in body(trainer_client.get(grading_url(sitting, bank) + "?anonymous=1"))
    page = body(trainer_client.get(grading_url(sitting, bank) + "?anonymous=0"))
    assert "首问负责：谁接待谁负责。" in page and "张三" in page


def test_grading_page_without_finished_answers_is_404(trainer_client, sitting, bank):
    assert trainer_client.get(grading_url(sitting, bank)).status_code == 404
    assert trainer_client.get(f"/exams/grading/999999/{bank['short_answer'].id}").status_code == 404


def test_grade_is_saved_and_the_attempt_totalled(
    trainer_client, trainer, sitting, bank, agent_client
):
    # Wrong single choice (0 of 2): 5 objective points, so the pass (6) hangs on the essay.
    attempt = submit_exam(agent_client, sitting, single_choice="1")
    assert attempt.score is None and attempt.passed is None and attempt.needs_grading
    item = item_of(attempt, "short_answer")
    resp = trainer_client.submit(
        grading_url(sitting, bank), {f"score_{item.id}": "4", f"comment_{item.id}": "要点齐全"}
    )
    assert resp.status_code == 302
    db.session.refresh(attempt)
    item = item_of(attempt, "short_answer")
    assert item.score == 4 and item.grader_comment == "要点齐全"
    assert item.grader_id == trainer.id and item.grade_state == "gradedpartial"
    assert attempt.score == 9 and attempt.passed is True and not attempt.needs_grading
    assert events("attempt.grade") == 1
    assert grading_url(sitting, bank) not in body(trainer_client.get("/exams/grading"))
    # Regrading one to a lower score fails the attempt.
    trainer_client.submit(grading_url(sitting, bank), {f"score_{item.id}": "0.5"})
    db.session.refresh(attempt)
    assert attempt.score == Decimal("5.5") and attempt.passed is False


@pytest.mark.parametrize("bad", ["6", "5.01", "-1", "abc", "4分"])
def test_bad_grade_saves_nothing_for_any_item(
    trainer_client, sitting, bank, agent_client, other_client, bad
):
    first = submit_exam(agent_client, sitting)
    second = submit_exam(other_client, sitting)
    one, two = item_of(first, "short_answer"), item_of(second, "short_answer")
    resp = trainer_client.submit(
        grading_url(sitting, bank),
        {
            f"score_{one.id}": "4",
            f"comment_{one.id}": "好",
            f"score_{two.id}": bad,
            f"comment_{two.id}": "差",
        },
    )
    assert resp.status_code == 302
    for attempt in (first, second):
        db.session.refresh(attempt)
        item = item_of(attempt, "short_answer")
        assert item.score is None and item.grader_comment == "" and item.graded_at is None
        assert attempt.score is None and attempt.needs_grading
    assert events("attempt.grade") == 0


def test_nan_grade_is_refused(trainer_client, sitting, bank, agent_client):
    attempt = submit_exam(agent_client, sitting)
    item = item_of(attempt, "short_answer")
    resp = trainer_client.submit(grading_url(sitting, bank), {f"score_{item.id}": "NaN"})
    assert resp.status_code == 302
    db.session.refresh(item)
    assert item.score is None


# --- 5. regrade -----------------------------------------------------------------------------


def change_single_choice_key(question, actor, correct: str) -> None:
    """Save a new version of the single-choice question with another correct option."""
    update_question(
        question,
        QuestionInput(
            "single_choice",
            question.category_id,
            "挂失信用卡首先应：",
            {**SINGLE_CHOICE_BODY, "correct": [correct]},
        ),
        question.revision,
        actor,
    )
    db.session.commit()


def test_regrade_dry_run_lists_changes_and_post_applies_them(
    trainer_client, trainer, sitting, bank, agent_client, other_client
):
    right = submit_exam(agent_client, sitting)  # 张三 picked 2, the key
    wrong = submit_exam(other_client, sitting, single_choice="1")  # 李四 picked 1
    one, two = item_of(right, "short_answer"), item_of(wrong, "short_answer")
    trainer_client.submit(
        grading_url(sitting, bank), {f"score_{one.id}": "4", f"score_{two.id}": "4"}
    )
    db.session.refresh(right)
    db.session.refresh(wrong)
    assert (right.score, wrong.score) == (11, 9)

    question = bank["single_choice"]
    old_version = question.current_version_id
    change_single_choice_key(question, trainer, "1")
    assert question.current_version_id != old_version

    resp = trainer_client.get(f"/exams/sittings/{sitting.id}/regrade")
    assert resp.status_code == 200
    page = body(resp)
    table = page[page.index('id="regrade-changes"') :]
    assert "张三" in table and "李四" in table
    assert "11.00" in table and "9.00" in table
    # The dry run changed nothing.
    db.session.expire_all()
    assert (right.score, wrong.score) == (11, 9)
    assert item_of(right, "single_choice").score == 2
    assert events("sitting.regrade") == 0

    resp = trainer_client.submit(f"/exams/sittings/{sitting.id}/regrade")
    assert resp.status_code == 302 and resp.location.endswith(
        f"/exams/sittings/{sitting.id}/results"
    )
    db.session.expire_all()
    assert (right.score, wrong.score) == (9, 11)
    assert item_of(right, "single_choice").score == 0
    assert item_of(wrong, "single_choice").score == 2
    assert item_of(right, "single_choice").version_id == old_version  # still the frozen one
    assert item_of(right, "short_answer").score == 4  # manual grades kept
    assert events("sitting.regrade") == 1
    # Nothing is left to change.
    page = body(trainer_client.get(f"/exams/sittings/{sitting.id}/regrade"))
    assert 'id="regrade-changes"' not in page


# --- 6. results and access ------------------------------------------------------------------


@pytest.fixture
def graded(trainer_client, sitting, bank, agent_client):
    """Return 张三's submitted and fully graded attempt (11 of 12)."""
    attempt = submit_exam(agent_client, sitting)
    item = item_of(attempt, "short_answer")
    trainer_client.submit(grading_url(sitting, bank), {f"score_{item.id}": "4"})
    db.session.refresh(attempt)
    assert attempt.score == 11
    return attempt


def test_results_page_lists_candidates_and_a_histogram(trainer_client, sitting, graded):
    resp = trainer_client.get(f"/exams/sittings/{sitting.id}/results")
    assert resp.status_code == 200
    page = body(resp)
    assert "张三" in page and "a1" in page and "11 / 12" in page
    assert '<svg class="histogram"' in page and page.count("<rect ") == 10
    assert f"/exams/sittings/{sitting.id}/regrade" in page


def test_results_xlsx_has_a_row_per_candidate(trainer_client, sitting, graded):
    resp = trainer_client.get(f"/exams/sittings/{sitting.id}/results.xlsx")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert f"results-{sitting.id}.xlsx" in resp.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))
    assert len(rows) == 3  # the header, 张三, and 李四 (who has not started)
    row = rows[1]
    assert row[:2] == ("a1", "张三")
    assert (row[4], row[5], row[6]) == (1, 11, 12)


def test_results_xlsx_times_are_china_time(trainer_client, sitting, graded):
    resp = trainer_client.get(f"/exams/sittings/{sitting.id}/results.xlsx")
    row = list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))[1]
    expected = graded.started_at.astimezone(CHINA).replace(tzinfo=None)
    assert abs(row[8] - expected) < timedelta(seconds=1)


def test_results_survive_a_paper_edited_after_the_sitting(trainer_client, sitting, paper, graded):
    short = next(s for s in paper.sections if s.qtype == "short_answer")
    trainer_client.submit(f"/exams/sections/{short.id}/delete")
    assert trainer_client.get(f"/exams/sittings/{sitting.id}/results").status_code == 200


def test_hr_reads_sittings_monitor_and_results(hr_client, sitting, graded):
    pages = [
        "/exams/sittings",
        f"/exams/sittings/{sitting.id}",
        f"/exams/sittings/{sitting.id}/results",
        f"/exams/sittings/{sitting.id}/results.xlsx",
    ]
    for url in pages:
        assert hr_client.get(url).status_code == 200, url
    monitor = body(hr_client.get(f"/exams/sittings/{sitting.id}"))
    assert "张三" in monitor and 'name="extra_minutes"' not in monitor
    results = body(hr_client.get(f"/exams/sittings/{sitting.id}/results"))
    assert "张三" in results and "/regrade" not in results
    assert "/exams/sittings/new" not in body(hr_client.get("/exams/sittings"))


def test_hr_cannot_build_grade_regrade_or_override(hr_client, sitting, bank, graded, agent):
    forbidden = [
        "/exams/papers",
        "/exams/papers/new",
        f"/exams/papers/{sitting.paper_id}",
        "/exams/sittings/new",
        "/exams/grading",
        grading_url(sitting, bank),
        f"/exams/sittings/{sitting.id}/regrade",
    ]
    for url in forbidden:
        assert hr_client.get(url).status_code == 403, url
    cand = candidate(sitting, agent)
    posts = {
        f"/exams/sittings/{sitting.id}/regrade": {},
        f"/exams/sittings/{sitting.id}/candidates/{cand.id}": {"extra_minutes": "60"},
        "/exams/papers/new": PAPER_FORM,
    }
    for url, form in posts.items():
        assert hr_client.submit(url, form).status_code == 403, url
    db.session.refresh(cand)
    assert cand.extra_minutes == 0 and count(Paper) == 1
    assert events("sitting.regrade") == 0 and events("sitting.override") == 0


def test_agent_gets_403_on_every_staff_page(agent_client, sitting, bank, paper, agent):
    section = paper.sections[0]
    cand = candidate(sitting, agent)
    pages = [
        "/exams/papers",
        "/exams/papers/new",
        f"/exams/papers/{paper.id}",
        f"/exams/papers/{paper.id}/print.pdf",
        f"/exams/papers/{paper.id}/key.pdf",
        "/exams/sittings",
        "/exams/sittings/new",
        f"/exams/sittings/{sitting.id}",
        f"/exams/sittings/{sitting.id}/regrade",
        f"/exams/sittings/{sitting.id}/results",
        f"/exams/sittings/{sitting.id}/results.xlsx",
        "/exams/grading",
        grading_url(sitting, bank),
    ]
    for url in pages:
        assert agent_client.get(url).status_code == 403, url
    posts = [
        f"/exams/papers/{paper.id}/sections",
        f"/exams/sections/{section.id}/delete",
        f"/exams/sittings/{sitting.id}/candidates/{cand.id}",
        f"/exams/sittings/{sitting.id}/regrade",
    ]
    for url in posts:
        assert agent_client.submit(url, {"extra_minutes": "60"}).status_code == 403, url
    assert count(PaperSection) == 5 and candidate(sitting, agent).extra_minutes == 0


# --- 7. multiple-choice partial rule --------------------------------------------------------


@pytest.mark.parametrize(
    "rule, answer, expected",
    [
        ("partial_half", ["1"], Decimal(1)),  # one of the two correct options: half of 2
        ("partial_half", ["1", "2"], Decimal(2)),
        ("partial_half", ["1", "3"], Decimal(0)),  # a wrong option scores nothing
        ("all_or_nothing", ["1"], Decimal(0)),
    ],
)
def test_multiple_choice_rule_of_the_paper(
    trainer_client, sitting, paper, agent_client, rule, answer, expected
):
    resp = trainer_client.submit(
        f"/exams/papers/{paper.id}",
        {
            "title": paper.title,
            "time_limit_minutes": "30",
            "pass_mark": "6",
            "review_policy": "after_close",
            "multiple_choice_rule": rule,
        },
    )
    assert resp.status_code == 302
    db.session.refresh(paper)
    assert paper.multiple_choice_rule == MultipleChoiceRule(rule)
    attempt = submit_exam(agent_client, sitting, multiple_choice=answer)
    assert item_of(attempt, "multiple_choice").score == expected
    assert item_of(attempt, "single_choice").score == 2
