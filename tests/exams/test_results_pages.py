"""The live monitor's figures, every candidate's results with filters, the answer sheet and
the grading queue's question text.
"""

import io
import re
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from openpyxl import load_workbook
from sqlalchemy import event

from exams.models import Candidate, ResultRule
from exams.staff_views import stem_excerpt
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from tests.exams import test_staff_pages as staff_pages
from tests.exams.test_attempts import answers_for, save, start
from tests.exams.test_staff_pages import candidate, grading_url, item_of, submit_exam
from tests.helpers import text, zh

ROOT = Path(__file__).resolve().parents[2]
# The staff pages' fixtures, shared.
trainer, trainer_client, hr_client = (
    staff_pages.trainer,
    staff_pages.trainer_client,
    staff_pages.hr_client,
)
staff, other_client, graded = staff_pages.staff, staff_pages.other_client, staff_pages.graded
WRONG = {
    "single_choice": "1",
    "multiple_choice": ["3"],
    "true_false": True,
    "fill_blank": ["0"],
    "short_answer": "不知道",
}


# --- helpers --------------------------------------------------------------------------------


def monitor_json(client, sitting) -> dict:
    """Return the monitor's figures."""
    resp = client.get(f"/exams/sittings/{sitting.id}/monitor.json")
    assert resp.status_code == 200, text(resp)[:300]
    assert resp.headers["Cache-Control"] == "private, no-store"
    return resp.get_json()


def by_username(data: dict, sitting) -> dict[str, dict]:
    """Return the monitor's candidates keyed by username."""
    names = {c.id: c.user.username for c in sitting.candidates}
    return {names[c["id"]]: c for c in data["candidates"]}


def result_rows(page: str) -> dict[str, str]:
    """Return the results table's candidates: username → status."""
    found = re.findall(r'<tr data-status="(\w+)" data-username="([^"]+)"', page)
    return {username: status for status, username in found}


def xlsx_rows(resp) -> list[tuple]:
    """Return the data rows of a results workbook (no header)."""
    assert resp.status_code == 200
    return list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))[1:]


def add_candidate(sitting, user, **kw) -> Candidate:
    """Make ``user`` a candidate of the sitting."""
    cand = Candidate(user_id=user.id, **kw)
    sitting.candidates.append(cand)
    db.session.commit()
    return cand


@contextmanager
def statements():
    """Count the SQL statements run inside the block."""
    seen = []

    def count(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def agent_client_for(app, login, username):
    """Return a new client signed in as ``username``."""
    c = app.test_client()
    login(c, username)
    return c


def grade_short_answer(trainer_client, sitting, bank, attempt, score: str, comment: str = ""):
    """Grade the attempt's short answer through the grading page."""
    item = item_of(attempt, "short_answer")
    resp = trainer_client.submit(
        grading_url(sitting, bank), {f"score_{item.id}": score, f"comment_{item.id}": comment}
    )
    assert resp.status_code == 302
    db.session.refresh(attempt)


# --- 14. results of every candidate ---------------------------------------------------------


@pytest.fixture
def everyone(app, login, trainer_client, sitting, bank, make_team, make_agent):
    """Give the sitting candidates of every kind in two teams; return their usernames.

    一组: t0001 passed (11), t0002 failed (0), t0003 waiting for grading, t0004 sitting.
    二组: t0005 passed, t0006 not started, t0007 absent (own window closed), t0008 timed out.
    """
    one, two = make_team("一组"), make_team("二组")
    agents = [make_agent(team=one) for _ in range(4)] + [make_agent(team=two) for _ in range(4)]
    sitting.candidates = [Candidate(user_id=a.user_id) for a in agents]
    db.session.commit()
    clients = {a.user.username: agent_client_for(app, login, a.user.username) for a in agents}
    done = {}
    for name in ("t0001", "t0002", "t0003", "t0005"):
        answers = WRONG if name == "t0002" else {}
        done[name] = submit_exam(clients[name], sitting, **answers)
    for name, score in (("t0001", "4"), ("t0002", "0"), ("t0005", "4")):
        grade_short_answer(trainer_client, sitting, bank, done[name], score)
    start(clients["t0004"], sitting)
    late = start(clients["t0008"], sitting)
    late.deadline_at = utcnow() - timedelta(minutes=1)
    absent = candidate(sitting, agents[6].user)
    absent.opens_at = utcnow() - timedelta(hours=3)
    absent.closes_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    return SimpleNamespace(teams=(one, two), attempts=done)


def test_results_list_every_candidate_with_their_status(trainer_client, sitting, everyone):
    resp = trainer_client.get(f"/exams/sittings/{sitting.id}/results")
    assert resp.status_code == 200
    page = text(resp)
    assert result_rows(page) == {
        "t0001": "finished",
        "t0002": "finished",
        "t0003": "finished",
        "t0004": "in_progress",
        "t0005": "finished",
        "t0006": "not_started",
        "t0007": "absent",
        "t0008": "timed_out",
    }
    counts = zh(
        "%(n)d candidates: %(f)d finished, %(p)d passed, %(g)d waiting for grading.",
        n=8,
        f=5,
        p=2,
        g=1,
    )
    assert counts in page
    assert "11 / 12" in page and "0 / 12" in page and "11.00" not in page
    assert zh("being graded") in page and zh("Submitted") in page
    assert "一组" in page and "二组" in page


def test_results_xlsx_lists_every_candidate(trainer_client, sitting, everyone):
    rows = {
        r[0]: r for r in xlsx_rows(trainer_client.get(f"/exams/sittings/{sitting.id}/results.xlsx"))
    }
    assert sorted(rows) == [f"t000{n}" for n in range(1, 9)]
    passed = rows["t0001"]
    assert passed[3:8] == ("一组", 1, 11, 12, zh("yes"))
    assert passed[11:] == (zh("Finished"), zh("Submitted"))
    assert rows["t0002"][5:8] == (0, 12, zh("no"))
    assert rows["t0003"][5] == zh("being graded") and rows["t0003"][7] is None
    assert rows["t0006"][4:8] == (None, None, None, None)
    assert rows["t0006"][11] == zh("Not started") and rows["t0006"][12] is None
    assert rows["t0008"][3] == "二组"


@pytest.mark.parametrize(
    "query, expected",
    [
        ("team=ONE", {"t0001", "t0002", "t0003", "t0004"}),
        ("team=TWO&outcome=passed", {"t0005"}),
        ("outcome=passed", {"t0001", "t0005"}),
        ("outcome=failed", {"t0002"}),
        ("outcome=pending", {"t0003"}),
        ("outcome=none", {"t0004", "t0006", "t0007", "t0008"}),
        ("status=absent", {"t0007"}),
        ("status=timed_out&team=TWO", {"t0008"}),
        ("team=ONE&outcome=none", {"t0004"}),
    ],
)
def test_results_filters_apply_to_the_page_and_the_xlsx(
    trainer_client, sitting, everyone, query, expected
):
    one, two = everyone.teams
    query = query.replace("ONE", str(one.id)).replace("TWO", str(two.id))
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}/results?{query}"))
    assert set(result_rows(page)) == expected
    # The counts line still counts everyone.
    assert (
        zh(
            "%(n)d candidates: %(f)d finished, %(p)d passed, %(g)d waiting for grading.",
            n=8,
            f=5,
            p=2,
            g=1,
        )
        in page
    )
    link = re.search(r'id="results-xlsx" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert link.startswith(f"/exams/sittings/{sitting.id}/results.xlsx?")
    assert sorted(link.split("?", 1)[1].split("&")) == sorted(query.split("&"))
    assert {r[0] for r in xlsx_rows(trainer_client.get(link))} == expected


@pytest.mark.parametrize(
    "query",
    [
        "team=999999",
        "team=abc",
        "team=-1",
        "team=99999999999999999999999",
        "team=",
        "outcome=maybe",
        "outcome=PASSED",
        "status=gone",
        "status=&outcome=",
        "outcome=%ff",
    ],
)
def test_results_ignore_filters_that_match_nothing(trainer_client, sitting, everyone, query):
    resp = trainer_client.get(f"/exams/sittings/{sitting.id}/results?{query}")
    assert resp.status_code == 200
    assert len(result_rows(text(resp))) == 8
    xlsx = trainer_client.get(f"/exams/sittings/{sitting.id}/results.xlsx?{query}")
    assert len(xlsx_rows(xlsx)) == 8


def test_results_refuse_a_nul_in_a_filter(trainer_client, sitting, everyone):
    for url in ("results", "results.xlsx"):
        resp = trainer_client.get(f"/exams/sittings/{sitting.id}/{url}?team=1%00")
        assert resp.status_code == 400


def test_results_count_the_attempt_that_counts(trainer_client, sitting, bank, agent_client):
    sitting.attempts_allowed = 2
    sitting.result_rule = ResultRule.HIGHEST
    db.session.commit()
    first = submit_exam(agent_client, sitting)
    grade_short_answer(trainer_client, sitting, bank, first, "4")  # 11
    second = submit_exam(agent_client, sitting, **WRONG)
    grade_short_answer(trainer_client, sitting, bank, second, "0")  # 0
    row = next(
        r
        for r in xlsx_rows(trainer_client.get(f"/exams/sittings/{sitting.id}/results.xlsx"))
        if r[0] == "a1"
    )
    assert row[4:8] == (1, 11, 12, zh("yes"))
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}/results"))
    assert f'href="/exams/attempts/{first.id}"' in page and "11 / 12" in page


def test_results_xlsx_neutralises_formula_like_cells(
    trainer_client, sitting, make_team, make_agent
):
    team = make_team('=HYPERLINK("http://evil.example","点我")')
    names = ("=1+2", "+SUM(A1)", "-3", "@cmd", "\uff1d1+2")
    agents = [make_agent(team=team, full_name=name) for name in names]
    sitting.candidates = [Candidate(user_id=a.user_id) for a in agents]
    db.session.commit()
    resp = trainer_client.get(f"/exams/sittings/{sitting.id}/results.xlsx")
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    # Stored as text with the quote-prefix style: the visible text is what was typed.
    assert all(c.quotePrefix for row in ws.iter_rows(min_row=2) for c in row[1:2] + row[3:4])
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert sorted(r[1] for r in rows) == sorted(names)
    assert {r[3] for r in rows} == {'=HYPERLINK("http://evil.example","点我")'}


def test_results_time_taken_never_exceeds_the_time_allowed(
    trainer_client, sitting, bank, agent_client
):
    attempt = submit_exam(agent_client, sitting)
    # A row finished before the engine clamped finishing times to the deadline.
    attempt.finished_at = attempt.deadline_at + timedelta(minutes=10)
    db.session.commit()
    row = xlsx_rows(trainer_client.get(f"/exams/sittings/{sitting.id}/results.xlsx"))[0]
    assert row[10] == 30.0
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}/results"))
    assert re.search(r"<td>30 [^<]*</td></tr>", page)


def test_results_help_says_drawn_questions_use_the_whole_paper(trainer_client, sitting, graded):
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}/results"))
    sentence = (
        "Facility: the average share of the points earned. Discrimination: how well the question"
        " separates candidates who do well from those who do not, measured against the rest of"
        " the paper for a fixed question and against the whole paper for a drawn one (as in"
        " Moodle's statistics report); below 0 usually means a wrong key."
    )
    assert zh(sentence) in page


# --- 14. the answer sheet -------------------------------------------------------------------


def test_answer_sheet_shows_every_item_as_the_candidate_saw_it(
    trainer_client, sitting, bank, agent_client
):
    attempt = start(agent_client, sitting)
    # The candidate saw the options in another order: 核实身份 (key "2") first.
    item_of(attempt, "single_choice").option_order = ["2", "3", "1"]
    item_of(attempt, "multiple_choice").option_order = ["3", "1", "2"]
    db.session.commit()
    answers = answers_for(attempt)
    save(agent_client, attempt, 1, answers)
    agent_client.submit(f"/exam/attempts/{attempt.id}/submit")
    db.session.refresh(attempt)
    grade_short_answer(trainer_client, sitting, bank, attempt, "4.5", "要点基本齐全")

    resp = trainer_client.get(f"/exams/attempts/{attempt.id}")
    assert resp.status_code == 200
    page = text(resp)
    for stem in ("挂失信用卡首先应：", "敏感信息包括：", "可以索要客户密码。", "简述首问负责制。"):
        assert stem in page
    sheet = page[page.index('id="sheet"') :]
    single = sheet[sheet.index(f'id="item-{item_of(attempt, "single_choice").id}"') :]
    # The options in the candidate's order, their answer ticked, the key lettered to match.
    assert single.index("核实身份") < single.index("转接主管") < single.index("直接办理")
    assert re.search(r'value="A"\s+checked', single)  # 核实身份 was shown first
    keys = re.findall(r'<span class="item-key">([^<]*)</span>', sheet)
    assert keys[:2] == ["A", "BC"]
    scores = re.findall(r'<span class="item-score">([^<]*)</span>', sheet)
    assert scores == ["2 / 2", "2 / 2", "1 / 1", "2 / 2", "4.5 / 5"]
    assert "要点基本齐全" in sheet and "首问负责：谁接待谁负责。" in sheet
    assert "11.5" in page and "张三" in page


def test_answer_sheet_of_an_attempt_in_progress(trainer_client, sitting, agent_client):
    attempt = start(agent_client, sitting)
    page = text(trainer_client.get(f"/exams/attempts/{attempt.id}"))
    assert zh("Answers saved so far; the candidate may still change them.") in page


def test_answer_sheet_is_for_staff_only(
    agent_client, hr_client, staff, trainer_client, sitting, graded
):
    url = f"/exams/attempts/{graded.id}"
    assert agent_client.get(url).status_code == 404  # even the candidate's own
    assert hr_client.get(url).status_code == 200
    assert staff(Role.ADMIN, "root1", "管理员").get(url).status_code == 200
    assert trainer_client.get("/exams/attempts/999999").status_code == 404


# --- 11. the live monitor -------------------------------------------------------------------


def test_monitor_json_gives_each_candidates_status_time_saved_and_score(
    trainer_client, sitting, graded, other_client, make_user
):
    third = make_user(Role.AGENT, username="a3", full_name="王五")
    add_candidate(sitting, third)
    current = start(other_client, sitting)
    assert save(other_client, current, 1, answers_for(current)).status_code == 200

    data = monitor_json(trainer_client, sitting)
    rows = by_username(data, sitting)
    assert {u: r["status"] for u, r in rows.items()} == {
        "a1": "finished",
        "a2": "in_progress",
        "a3": "not_started",
    }
    assert rows["a2"]["label"] == zh("In progress") and rows["a3"]["label"] == zh("Not started")
    assert 29 * 60 <= rows["a2"]["seconds_left"] <= 30 * 60
    assert re.fullmatch(r"\d\d:\d\d:\d\d", rows["a2"]["last_saved"])
    assert rows["a1"]["seconds_left"] is None and rows["a3"]["seconds_left"] is None
    assert rows["a3"]["last_saved"] == "" and rows["a3"]["sheet_url"] is None
    assert rows["a1"]["score"] == "11" and rows["a2"]["score"] == ""
    assert rows["a1"]["sheet_url"] == f"/exams/attempts/{graded.id}"
    assert rows["a2"]["sheet_url"] == f"/exams/attempts/{current.id}"
    assert {k: v["n"] for k, v in data["summary"].items()} == {
        "not_started": 1,
        "in_progress": 1,
        "finished": 1,
        "absent": 0,
    }
    assert data["summary"]["finished"]["text"] == zh("Finished: %(n)d", n=1)
    assert data["summary"]["absent"]["text"] == zh("Absent: %(n)d", n=0)


def test_monitor_shows_a_score_being_graded(trainer_client, sitting, agent_client):
    submit_exam(agent_client, sitting)
    rows = by_username(monitor_json(trainer_client, sitting), sitting)
    assert rows["a1"]["score"] == zh("being graded")


def test_monitor_counts_an_attempt_past_its_deadline_as_finished(
    trainer_client, sitting, other_client
):
    attempt = start(other_client, sitting)
    attempt.deadline_at = utcnow() - timedelta(minutes=1)  # the candidate closed the tab
    db.session.commit()
    rows = by_username(monitor_json(trainer_client, sitting), sitting)
    assert rows["a2"]["status"] == "timed_out" and rows["a2"]["seconds_left"] is None
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}"))
    assert (
        f'<tr class="state-timed_out" data-candidate="{candidate(sitting, attempt.user).id}"'
        in (page)
    )
    summary = monitor_json(trainer_client, sitting)["summary"]
    assert (summary["in_progress"]["n"], summary["finished"]["n"]) == (0, 1)


def test_monitor_counts_the_absent(trainer_client, sitting, agent):
    cand = candidate(sitting, agent)
    cand.opens_at = utcnow() - timedelta(hours=3)
    cand.closes_at = utcnow() - timedelta(hours=2)
    db.session.commit()
    data = monitor_json(trainer_client, sitting)
    assert by_username(data, sitting)["a1"]["status"] == "absent"
    assert data["summary"]["absent"]["n"] == 1 and data["summary"]["not_started"]["n"] == 1


def test_monitor_page_updates_in_place_and_never_reloads(trainer_client, sitting, agent_client):
    start(agent_client, sitting)
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}"))
    assert "data-refresh" not in page and 'http-equiv="refresh"' not in page
    assert f'data-poll-url="/exams/sittings/{sitting.id}/monitor.json"' in page
    assert "js/monitor.js" in page
    # The cells the script rewrites hold no form field: typed extra time is never touched.
    cells = re.findall(r'<td data-field="(\w+)"[^>]*>(.*?)</td>', page, re.S)
    assert {f for f, _ in cells} == {"status", "left", "saved", "score", "sheet"}
    assert not any("<input" in html for _, html in cells)
    for key in ("not_started", "in_progress", "finished", "absent"):
        assert f'data-summary="{key}"' in page
    scripts = (ROOT / "lms/static/js/app.js").read_text() + (
        ROOT / "lms/static/js/monitor.js"
    ).read_text()
    assert "location.reload" not in scripts.replace(
        "window.location.reload();\n          return;",
        "",  # the job page's, when a job ends
    )
    assert "data-refresh" not in scripts and "dataset.refresh" not in scripts


def test_monitor_state_column_reads_attempt_status(trainer_client, sitting):
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}"))
    assert '<th scope="col">作答状态</th>' in page and "账户状态" not in page
    trainer_client.submit("/language", {"lang": "en", "next": "/"})
    page = text(trainer_client.get(f"/exams/sittings/{sitting.id}"))
    assert '<th scope="col">Attempt status</th>' in page


def test_monitor_json_is_404_for_agents_and_unknown_sittings(
    agent_client, hr_client, trainer_client, sitting
):
    assert agent_client.get(f"/exams/sittings/{sitting.id}/monitor.json").status_code == 404
    assert hr_client.get(f"/exams/sittings/{sitting.id}/monitor.json").status_code == 200
    assert trainer_client.get("/exams/sittings/999999/monitor.json").status_code == 404


def test_monitor_json_runs_a_fixed_number_of_queries(
    app, trainer_client, sitting, agent_client, other_client, make_user, login
):
    url = f"/exams/sittings/{sitting.id}/monitor.json"
    submit_exam(agent_client, sitting)
    start(other_client, sitting)
    with statements() as few:
        assert trainer_client.get(url).status_code == 200
    for n in range(3, 9):
        add_candidate(sitting, make_user(Role.AGENT, username=f"a{n}"))
        if n % 2:
            start(agent_client_for(app, login, f"a{n}"), sitting)
    with statements() as many:
        assert trainer_client.get(url).status_code == 200
    # Signed-in user (1: session, user, roles), the sitting, its attempts, candidates, their
    # users and roles.
    assert len(many) == len(few) == 6, "\n".join(s.split("FROM")[1][:60] for s in many)


def test_results_and_monitor_link_to_the_answer_sheet(trainer_client, sitting, graded):
    url = f'href="/exams/attempts/{graded.id}"'
    assert url in text(trainer_client.get(f"/exams/sittings/{sitting.id}/results"))
    assert url in text(trainer_client.get(f"/exams/sittings/{sitting.id}"))


# --- 14. the grading queue ------------------------------------------------------------------


def test_grading_queue_shows_the_question_text_and_the_sitting(
    trainer_client, sitting, bank, agent_client
):
    submit_exam(agent_client, sitting)
    page = text(trainer_client.get("/exams/grading"))
    qid = bank["short_answer"].id
    row = re.search(rf'<a href="/exams/grading/{sitting.id}/{qid}">([^<]*)</a>', page)
    assert row and row.group(1) == "简述首问负责制。"
    assert f"#{qid}" not in page
    assert f'href="/exams/sittings/{sitting.id}/results">十一月月度考试</a>' in page
    title = re.search(r"<title>(.*?)</title>", text(trainer_client.get(grading_url(sitting, bank))))
    assert "简述首问负责制。" in title.group(1) and "十一月月度考试" in title.group(1)


@pytest.mark.parametrize(
    "stem, expected",
    [
        ("<p>简述首问负责制。</p>", "简述首问负责制。"),
        ("<p>a &amp; <b>b</b></p><p>c</p>", "a & b c"),
        ("<p>" + "长" * 100 + "</p>", "长" * 79 + "…"),
        ("", ""),
    ],
)
def test_stem_excerpt_is_plain_and_short(stem, expected):
    assert stem_excerpt(SimpleNamespace(stem=stem)) == expected


def test_answer_sheet_shows_answers_saved_after_the_deadline(trainer_client, sitting, agent_client):
    """Saves are accepted for a grace period after the deadline; staff see when one was."""
    from exams import engine

    attempt = start(agent_client, sitting)
    attempt.deadline_at = utcnow() - timedelta(seconds=12)
    db.session.commit()
    tf = item_of(attempt, "true_false")
    assert save(agent_client, attempt, 1, {str(tf.id): False}).status_code == 200
    engine.finalise(attempt, "timeout")
    db.session.commit()
    page = text(trainer_client.get(f"/exams/attempts/{attempt.id}"))
    late = re.search(r'id="late-save">([^<]*)<', page)
    assert late and re.match(r"截止后 1[2-5] 秒", late.group(1).strip()), late
