"""What a typing result held for review reads as wherever it is shown (待复核, never 阅卷中,
which is a paper's grading), and counts in English with their plural forms."""

import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from exams.typing import engine
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams.test_staff_pages import candidate
from tests.exams.typing.conftest import type_steadily
from tests.exams.typing.test_engine import started
from tests.exams.typing.test_staff_typing import held_attempt
from tests.helpers import text, zh

HELD, GRADING = "待复核", "阅卷中"


def staff_client(app, make_user, login, username="tr7"):
    """Return a client signed in as a trainer."""
    make_user(Role.TRAINER, username=username)
    client = app.test_client()
    login(client, username)
    return client


def english(client) -> None:
    """Switch the client's interface to English."""
    client.submit("/language", {"lang": "en", "next": "/"})


def test_a_held_typing_result_reads_held_for_review_to_staff(
    app, make_typing_sitting, agent, make_user, login
):
    sitting = make_typing_sitting([agent])
    held_attempt(sitting, agent)
    client = staff_client(app, make_user, login)

    page = text(client.get(f"/exams/sittings/{sitting.id}/results"))
    row = page.split(f'data-username="{agent.username}">')[1].split("</tr>")[0]
    assert re.findall(r"<td>(.*?)</td>", row)[-1] == HELD and GRADING not in row
    options = dict(re.findall(r'<option value="(\w+)" >([^<]*)</option>', page))
    assert options["pending"] == HELD

    ws = load_workbook(
        io.BytesIO(client.get(f"/exams/sittings/{sitting.id}/results.xlsx").data)
    ).active
    cells = [c.value for c in ws[2]]
    assert cells[-2:] == [HELD, HELD] and GRADING not in cells

    data = client.get(f"/exams/sittings/{sitting.id}/monitor.json").get_json()
    mine = next(c for c in data["candidates"] if c["id"] == candidate(sitting, agent).id)
    assert mine["score"] == "" and mine["typing"]["label"] == HELD
    monitor = text(client.get(f"/exams/sittings/{sitting.id}"))
    assert GRADING not in monitor and HELD in monitor


def test_a_held_typing_result_reads_held_for_review_to_the_candidate(
    make_typing_sitting, agent, agent_client
):
    sitting = make_typing_sitting([agent])
    attempt = held_attempt(sitting, agent)
    page = text(agent_client.get("/exam/"))
    assert zh("submitted; held for review") == "已交卷；待复核" and "已交卷；待复核" in page
    assert GRADING not in page
    result = text(agent_client.get(f"/exam/typing/attempts/{attempt.id}/result"))
    assert f'<dd id="result-outcome"><strong>{HELD}</strong></dd>' in result
    english(agent_client)
    assert "submitted; held for review" in text(agent_client.get("/exam/"))


def test_a_sitting_held_for_review_beside_a_graded_paper_says_which(
    app, make_typing_sitting, paper, agent, make_user, login
):
    sitting = make_typing_sitting([agent], paper=paper)
    held_attempt(sitting, agent)
    client = staff_client(app, make_user, login)
    page = text(client.get(f"/exams/sittings/{sitting.id}/results"))
    options = dict(re.findall(r'<option value="(\w+)" >([^<]*)</option>', page))
    assert options["pending"] == zh("Being graded or held for review") == "阅卷中或待复核"


def finished_attempt(sitting, user, now=None):
    """Return a finished, scored typing attempt (typed evenly for two minutes)."""
    attempt = started(sitting, user, now)
    type_steadily(engine, attempt, attempt.target[:100], attempt.started_at, 120)
    engine.finish(attempt, now=attempt.started_at + timedelta(minutes=2))
    db.session.commit()
    return attempt


def test_counts_read_in_the_singular_and_the_plural(
    app, make_typing_sitting, agent, agent_client, make_user, login
):
    sitting = make_typing_sitting([agent], attempts_allowed=2)
    finished_attempt(sitting, agent, utcnow() - timedelta(minutes=10))
    english(agent_client)
    history = text(agent_client.get("/exams/typing/history/mine"))
    assert "<td>1 attempt</td>" in history
    finished_attempt(sitting, agent, utcnow() - timedelta(minutes=6))  # not overlapping
    assert "<td>2 attempts</td>" in text(agent_client.get("/exams/typing/history/mine"))

    once = make_typing_sitting([agent], title="补考")
    client = staff_client(app, make_user, login)
    english(client)
    assert "1 attempt allowed" in text(client.get(f"/exams/sittings/{once.id}"))
    assert "2 attempts allowed" in text(client.get(f"/exams/sittings/{sitting.id}"))
