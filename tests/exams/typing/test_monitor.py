"""The live monitor of a sitting with a typing test: each candidate's typing state beside the
paper's, in the page and in the figures its script polls, loaded for everyone at once."""

import re
from datetime import timedelta

from exams.typing import engine
from lms.accounts.models import Role
from lms.extensions import db
from tests.exams import test_staff_pages as staff_pages
from tests.exams.test_staff_pages import candidate
from tests.exams.typing.conftest import type_steadily
from tests.exams.typing.test_engine import started
from tests.exams.typing.test_staff_typing import held_attempt
from tests.helpers import count_queries, text, zh

# The staff pages' fixtures, shared.
trainer, trainer_client = staff_pages.trainer, staff_pages.trainer_client


#: The monitor's figures, as measured: the sign-in check, the sitting, its attempts of both
#: components, candidates with users and counted attempts (the typing state adds nothing).
MONITOR_CEILING = 8


def typing_cells(page: str) -> dict[int, tuple[str, str]]:
    """Return each candidate row's typing cell: candidate id → (state, text)."""
    found = {}
    for cid, row in re.findall(r'<tr class="[^"]*" data-candidate="(\d+)">(.*?)</tr>', page, re.S):
        cell = re.search(r'<td data-field="typing" data-state="(\w+)">(.*?)</td>', row, re.S)
        if cell:
            found[int(cid)] = (cell.group(1), cell.group(2))
    return found


def finished_attempt(sitting, user):
    """Return a finished, scored typing attempt (typed evenly for two minutes)."""
    attempt = started(sitting, user)
    type_steadily(engine, attempt, attempt.target[:100], attempt.started_at, 120)
    engine.finish(attempt, now=attempt.started_at + timedelta(minutes=2))
    db.session.commit()
    return attempt


def test_monitor_shows_each_candidates_typing_state(
    app, make_typing_sitting, paper, make_user, login
):
    users = [make_user(Role.AGENT, username=f"t{n}", full_name=f"考生{n}") for n in range(4)]
    sitting = make_typing_sitting(users, paper=paper)
    started(sitting, users[0])
    finished_attempt(sitting, users[1])
    held_attempt(sitting, users[2])
    trainer = make_user(Role.TRAINER, username="tr1")
    client = app.test_client()
    login(client, trainer.username)
    expected = {
        candidate(sitting, users[0]).id: ("in_progress", zh("Typing (in progress)")),
        candidate(sitting, users[1]).id: ("finished", zh("Finished")),
        candidate(sitting, users[2]).id: ("held", zh("Held for review")),
        candidate(sitting, users[3]).id: ("not_started", zh("Not started")),
    }

    page = text(client.get(f"/exams/sittings/{sitting.id}"))
    assert f'<th scope="col">{zh("Typing test")}</th>' in page
    assert typing_cells(page) == expected
    # The paper's status stays the paper's: nobody has started it.
    assert set(re.findall(r'<tr class="state-(\w+)" data-candidate', page)) == {"not_started"}

    data = client.get(f"/exams/sittings/{sitting.id}/monitor.json").get_json()
    polled = {c["id"]: (c["typing"]["state"], c["typing"]["label"]) for c in data["candidates"]}
    assert polled == expected
    assert {c["status"] for c in data["candidates"]} == {"not_started"}


def test_monitor_of_a_typing_only_sitting_shows_the_typing_state(
    app, make_typing_sitting, agent, other_agent, make_user, login
):
    sitting = make_typing_sitting([agent, other_agent])
    held_attempt(sitting, agent)
    trainer = make_user(Role.TRAINER, username="tr2")
    client = app.test_client()
    login(client, trainer.username)
    page = text(client.get(f"/exams/sittings/{sitting.id}"))
    assert typing_cells(page) == {
        candidate(sitting, agent).id: ("held", zh("Held for review")),
        candidate(sitting, other_agent).id: ("not_started", zh("Not started")),
    }
    # The script rewrites the typing cell too, and the cell holds no form field.
    cells = re.findall(r'<td data-field="(\w+)"[^>]*>(.*?)</td>', page, re.S)
    assert {f for f, _ in cells} == {"status", "typing", "left", "saved", "score", "sheet"}
    assert not any("<input" in html for _, html in cells)
    rows = client.get(f"/exams/sittings/{sitting.id}/monitor.json").get_json()["candidates"]
    assert {r["typing"]["state"] for r in rows} == {"held", "not_started"}


def test_monitor_of_a_paper_only_sitting_has_no_typing_column(trainer_client, sitting):
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}"))
    assert 'data-field="typing"' not in page and typing_cells(page) == {}
    rows = trainer_client.get(f"/exams/sittings/{sitting.id}/monitor.json").get_json()
    assert {c["typing"] for c in rows["candidates"]} == {None}


def test_monitor_loads_typing_attempts_for_everyone_at_once(
    app, make_typing_sitting, paper, make_user, login
):
    trainer = make_user(Role.TRAINER, username="tr3")
    client = app.test_client()
    login(client, trainer.username)
    measured = []
    for n in (2, 6):
        users = [make_user(Role.AGENT, username=f"q{n}_{k}") for k in range(n)]
        sitting = make_typing_sitting(users, paper=paper, title=f"第{n}场")
        for user in users[:-1]:
            finished_attempt(sitting, user)
        with count_queries() as q:
            resp = client.get(f"/exams/sittings/{sitting.id}/monitor.json")
        assert resp.status_code == 200
        measured.append(q.count)
    assert measured[0] == measured[1], f"monitor with 2, 6 candidates: {measured}"
    assert measured[0] <= MONITOR_CEILING, measured
