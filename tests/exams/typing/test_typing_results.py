"""Typing results where staff read results: the sitting's page (columns and speed
distribution) and its .xlsx export, with the sitting's result over both components."""

import io
import re
from datetime import timedelta

from openpyxl import load_workbook

from exams.typing import engine
from lms.accounts.models import Role
from tests.exams.typing.conftest import type_steadily
from tests.exams.typing.test_engine import started
from tests.helpers import text, zh


def test_results_page_and_export_carry_the_typing_results(
    app, make_typing_sitting, agent, other_agent, make_user, login
):
    sitting = make_typing_sitting([agent, other_agent])
    attempt = started(sitting, agent)
    type_steadily(engine, attempt, attempt.target[:700], attempt.started_at, 600)
    engine.finish(attempt, now=attempt.started_at + timedelta(minutes=10))
    from lms.extensions import db

    db.session.commit()
    hr = make_user(Role.HR, username="hr5")
    client = app.test_client()
    login(client, hr.username)
    page = text(client.get(f"/exams/sittings/{sitting.id}/results"))
    assert zh("Typing speed distribution") in page
    # Bins of a round width (70 字/分钟 here, a ceiling of 250: 15 wide, up to 150) with
    # whole-number edges; the pass speed on an edge, drawn as a line.
    raw = client.get(f"/exams/sittings/{sitting.id}/results").get_data(as_text=True)
    section = raw.split('id="typing-distribution"')[1].split("</section>")[0]
    assert re.findall(r'class="axis">(\d+–\d+)<', section)[:5] == [
        "0–15",
        "15–30",
        "30–45",
        "45–60",
        "60–75",
    ]
    assert 'class="pass-line" x1="202.0"' in section and "及格 60" in section
    assert str(attempt.net_speed) in page and zh("Typing result") in page
    resp = client.get(f"/exams/sittings/{sitting.id}/results.xlsx")
    ws = load_workbook(io.BytesIO(resp.data)).active
    head = [c.value for c in ws[1]]
    assert head[-4:] == [
        zh("Typing speed"),
        zh("Typing accuracy (%)"),
        zh("Typing result"),
        zh("Sitting result"),
    ]
    rows = {r[0].value: [c.value for c in r] for r in ws.iter_rows(min_row=2)}
    mine = rows[agent.username]
    assert mine[-4] == float(attempt.net_speed) and mine[-3] == float(attempt.accuracy)
    assert mine[-2] == mine[-1] == zh("Passed")
    assert rows[other_agent.username][-4] is None


def test_a_typing_result_held_for_review_leaves_the_paper_score_alone(
    app, make_typing_sitting, agent, make_user, login
):
    from exams.typing.models import TypingReview
    from lms.extensions import db

    sitting = make_typing_sitting([agent])
    attempt = started(sitting, agent)
    type_steadily(engine, attempt, attempt.target, attempt.started_at, 70)  # far too fast
    engine.finish(attempt, now=attempt.started_at + timedelta(seconds=75))
    db.session.commit()
    assert attempt.review == TypingReview.HELD
    trainer = make_user(Role.TRAINER, username="tr6")
    client = app.test_client()
    login(client, trainer.username)
    page = text(client.get(f"/exams/sittings/{sitting.id}/results"))
    counts = page.split('id="results-counts">')[1].split("</p>")[0]
    assert counts == zh(
        "%(n)d candidates: %(f)d finished, %(p)d passed, %(g)d waiting for grading.",
        n=1,
        f=1,
        p=0,
        g=0,
    )
    row = page.split(f'data-username="{agent.username}">')[1].split("</tr>")[0]
    cells = re.findall(r"<td>(.*?)</td>", row)
    assert cells[5] == "—"  # the paper's score: nothing to grade
    ws = load_workbook(
        io.BytesIO(client.get(f"/exams/sittings/{sitting.id}/results.xlsx").data)
    ).active
    row = [c.value for c in ws[2]]
    assert row[5] is None  # the score column: no paper to grade
