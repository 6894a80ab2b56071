"""What a typing result held for review reads as wherever it is shown (待复核, never 阅卷中,
which is a paper's grading)."""

import io
import re

from openpyxl import load_workbook

from lms.accounts.models import Role
from tests.exams.test_staff_pages import candidate
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
