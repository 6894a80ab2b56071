"""Hot paths have a query budget: a change cannot silently multiply their statements.

The budget of each request is measured on a paper of 5 questions and of 20: it may not
grow with the number of questions (no query per question), and stays under a ceiling.
"""

import re

import pytest

from lms.accounts.models import Role
from tests.helpers import count_queries

#: Ceilings per request, as measured; the sign-in check (session row with its user and
#: roles, one statement) is part of every one.
#: The first exam page also starts the clock (its candidate row and one UPDATE); a reload
#: does not.
CEILING = {"start": 13, "page": 7, "reload": 5, "save": 5, "submit": 15}


def measure(client, sitting) -> dict[str, int]:
    """Return the statements of start, exam page, reload, save and submit of one attempt."""
    token = client.csrf_token()
    counts = {}
    with count_queries() as q:
        resp = client.post(f"/exam/sittings/{sitting.id}/start", data={"csrf_token": token})
    counts["start"] = q.count
    url = resp.location
    attempt_id = int(re.search(r"/attempts/(\d+)", url).group(1))
    with count_queries() as q:
        page = client.get(f"/exam/attempts/{attempt_id}")
    counts["page"] = q.count
    assert page.status_code == 200
    with count_queries() as q:
        assert client.get(f"/exam/attempts/{attempt_id}").status_code == 200
    counts["reload"] = q.count
    item = re.search(r'data-item="(\d+)"', page.get_data(as_text=True)).group(1)
    with count_queries() as q:
        resp = client.post(
            f"/exam/attempts/{attempt_id}/save",
            json={"seq": 1, "answers": {item: "true"}, "flags": {item: True}},
            headers={"X-CSRFToken": token},
        )
    counts["save"] = q.count
    assert resp.status_code == 200, resp.get_data(as_text=True)
    with count_queries() as q:
        resp = client.post(f"/exam/attempts/{attempt_id}/submit", data={"csrf_token": token})
    counts["submit"] = q.count
    assert resp.status_code == 302
    return counts


def test_exam_requests_do_not_grow_with_the_number_of_questions(
    app, make_user, make_question, make_paper, make_sitting, login
):
    measured = []
    for n in (5, 20):
        user = make_user(Role.AGENT, username=f"budget{n}")
        paper = make_paper([make_question("true_false") for _ in range(n)])
        sitting = make_sitting(paper=paper, candidates=[user])
        client = app.test_client()
        login(client, user.username)
        measured.append(measure(client, sitting))
    small, large = measured
    assert large == small, f"statements grow with questions: 5 → {small}, 20 → {large}"
    over = {k: v for k, v in small.items() if v > CEILING[k]}
    assert over == {}, f"over budget {CEILING}: {small}"


@pytest.mark.parametrize("sql", ["SELECT 1"])
def test_query_counter_counts_statements(app, sql):
    from sqlalchemy import text

    from lms.extensions import db

    with count_queries() as q:
        db.session.execute(text(sql))
    assert q.count == 1 and q.statements == [sql] and q.writes == []


def test_start_does_not_grow_with_the_draw_rules(
    app, make_user, make_question, make_paper, make_sitting, login
):
    """Each draw rule used to read the category tree and its pool: now all rules share."""
    from decimal import Decimal

    from exams.models import DrawRule, PaperSection
    from lms.extensions import db
    from question_bank import categories

    cats = [categories.ensure_path(["抽题", f"分类{i}"]) for i in range(4)]
    for i, cat in enumerate(cats):
        for _ in range(3):
            make_question("true_false", category=cat, tags=["挂失"] if i == 3 else [])
    measured = []
    for n_rules in (1, 4):
        paper = make_paper([make_question("true_false")])
        section = PaperSection(position=2, qtype="true_false", points_per_question=Decimal(1))
        section.rules = [
            DrawRule(category_id=cats[i].id, count=2, tag="挂失" if i == 3 else None)
            for i in range(n_rules)
        ]
        paper.sections.append(section)
        db.session.commit()
        user = make_user(Role.AGENT, username=f"rules{n_rules}")
        sitting = make_sitting(paper=paper, candidates=[user])
        client = app.test_client()
        login(client, user.username)
        with count_queries() as q:
            resp = client.post(
                f"/exam/sittings/{sitting.id}/start", data={"csrf_token": client.csrf_token()}
            )
        assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
        measured.append(q.count)
    assert measured[0] == measured[1] - 1, f"start with 1 rule, 4 rules: {measured}"


#: "My exams": the sign-in check, the overdue sweeps (papers, typing tests), the sittings
#: with their candidate rows, papers' sections and typing tests, the attempts of each kind,
#: however many sittings there are.
MY_EXAMS_CEILING = 10


def test_my_exams_does_not_grow_with_the_sittings(
    app, make_user, make_question, make_paper, make_sitting, login
):
    user = make_user(Role.AGENT, username="many")
    client = app.test_client()
    login(client, user.username)
    measured = []
    for new in (1, 5):  # one sitting, then six
        for _ in range(new):
            paper = make_paper([make_question("true_false") for _ in range(3)])
            sitting = make_sitting(paper=paper, candidates=[user])
            token = client.csrf_token()
            resp = client.post(f"/exam/sittings/{sitting.id}/start", data={"csrf_token": token})
            assert resp.status_code == 302
        with count_queries() as q:
            assert client.get("/exam/").status_code == 200
        measured.append(q.count)
    assert measured[0] == measured[1], f"my exams with 1 sitting, 6 sittings: {measured}"
    assert measured[0] <= MY_EXAMS_CEILING, measured
