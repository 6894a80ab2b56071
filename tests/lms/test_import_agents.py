"""Bulk import of agents: all rows or none, an error per bad row."""

import csv
import io
import re
import time
import zipfile
from datetime import date, timedelta

import pytest
from markupsafe import escape
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from lms.accounts.models import Role, User
from lms.extensions import db
from lms.people.importer import parse, parse_date
from lms.people.models import Agent, AgentStatus
from lms.tabular import FORMULA_START, append_row, csv_unsafe
from tests.helpers import count, text, zh

HEADER = ["工号", "姓名", "班组", "入职日期", "状态"]


def xlsx(rows, header=HEADER) -> bytes:
    """Return an .xlsx holding ``rows`` under ``header``."""
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_bytes(rows, header=HEADER, encoding="utf-8-sig") -> bytes:
    """Return CSV text of ``rows`` in ``encoding``."""
    lines = [",".join(header)] + [",".join(str(c) for c in r) for r in rows]
    return ("\n".join(lines) + "\n").encode(encoding)


def upload(client, data: bytes, name: str, follow=True):
    """Post an import file; follow the redirect to the job page."""
    return client.submit(
        "/admin/import-agents",
        {"file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
        follow_redirects=follow,
    )


def temporary_passwords(page: str) -> dict[str, str]:
    """Read username -> temporary password from the job page."""
    return dict(re.findall(r"<td>([a-z0-9-]+)</td><td><code>([a-z0-9]+)</code></td>", page))


@pytest.fixture
def teams(make_team):
    """Create the teams the files name."""
    return make_team("一组"), make_team("二组")


GOOD = [
    ["A2001", "王芳", "一组", date(2024, 3, 1), "在岗"],
    ["A2002", "李强", "二组", "2024/3/15", ""],
    ["a2003", "陈静", "二组", "2025年1月2日", "retraining"],
]


def test_xlsx_import_creates_every_agent(admin_client, teams, app, login):
    resp = upload(admin_client, xlsx(GOOD), "agents.xlsx")
    assert resp.status_code == 200, text(resp)[:2000]
    page = text(resp)
    creds = temporary_passwords(page)
    assert set(creds) == {"a2001", "a2002", "a2003"}
    assert len(set(creds.values())) == 3  # every agent has a password of their own
    agents = {a.employee_no: a for a in db.session.scalars(select(Agent))}
    assert set(agents) == {"A2001", "A2002", "A2003"}
    assert agents["A2001"].status == AgentStatus.ON_LINE
    assert agents["A2002"].status == AgentStatus.CLASSROOM
    assert agents["A2003"].status == AgentStatus.RETRAINING
    assert agents["A2002"].hire_date == date(2024, 3, 15)
    user = agents["A2003"].user
    assert user.username == "a2003" and user.roles == {Role.AGENT} and user.must_change_password
    assert len({a.user.password_hash for a in agents.values()}) == 3
    resp = login(app.test_client(), "A2003", creds["a2003"])
    assert resp.location == "/account/password"
    # Another agent's temporary password does not open this account.
    other = app.test_client()
    resp = other.submit("/login", {"username": "A2003", "password": creds["a2001"]})
    assert resp.status_code == 422


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gb18030"])
def test_csv_import_in_utf8_and_gbk(admin_client, teams, encoding):
    rows = [[r[0], r[1], r[2], "2024-03-01", r[4]] for r in GOOD]
    resp = upload(admin_client, csv_bytes(rows, encoding=encoding), "agents.csv")
    assert resp.status_code == 200
    assert count(Agent) == 3


FUTURE = date.today() + timedelta(days=10)
BAD_ROWS = [
    (["", "王芳", "一组", "2024-03-01", ""], "工号 is empty.", {}),
    (["A3001", "", "一组", "2024-03-01", ""], "姓名 is empty.", {}),
    (["A3001", "王芳", "", "2024-03-01", ""], "班组 is empty.", {}),
    (["A3001", "王芳", "一组", "", ""], "入职日期 is empty.", {}),
    (
        ["A3001", "王芳", "一组", "三月一日", ""],
        "入职日期 %(v)s is not a date like 2024-03-01.",
        {"v": "三月一日"},
    ),
    (
        ["A3001", "王芳", "一组", "2024-02-30", ""],
        "入职日期 %(v)s is not a date like 2024-03-01.",
        {"v": "2024-02-30"},
    ),
    (
        ["A3001", "王芳", "一组", FUTURE.isoformat(), ""],
        "入职日期 %(v)s is in the future.",
        {"v": FUTURE.isoformat()},
    ),
    (
        ["A3001", "王芳", "一组", "2024-03-01", "休假"],
        "状态 %(v)s is not a known status.",
        {"v": "休假"},
    ),
    (
        ["A 3001", "王芳", "一组", "2024-03-01", ""],
        "工号 %(no)s may contain only letters, digits and hyphens.",
        {"no": "A 3001"},
    ),
    (
        ["A3001", "王芳", "不存在组", "2024-03-01", ""],
        "班组 %(t)s does not exist: create it first.",
        {"t": "不存在组"},
    ),
    (
        ["A0007", "王芳", "一组", "2024-03-01", ""],
        "工号 %(no)s is already in use.",
        {"no": "A0007"},
    ),
]


@pytest.mark.parametrize(("bad", "msgid", "kw"), BAD_ROWS)
def test_one_bad_row_names_the_row_and_imports_nothing(
    admin_client, teams, make_agent, bad, msgid, kw
):
    make_agent(team=teams[0], employee_no="A0007")
    users_before = count(User)
    rows = [*GOOD[:2], bad]
    resp = upload(admin_client, xlsx(rows), "agents.xlsx")
    assert resp.status_code == 422
    page = text(resp)
    assert zh("Nothing was imported") in page
    assert f"<tr><td>4</td><td>{zh(msgid, **kw)}</td></tr>" in page
    assert count(User) == users_before and count(Agent) == 1


def test_duplicate_rows_inside_the_file_are_named(admin_client, teams):
    rows = [GOOD[0], GOOD[1], ["a2001", "重复", "一组", "2024-03-01", ""]]
    resp = upload(admin_client, xlsx(rows), "agents.xlsx")
    assert zh("工号 %(no)s repeats row %(row)d.", no="A2001", row=2) in text(resp)
    assert count(Agent) == 0


def test_missing_columns_are_named(admin_client, teams):
    resp = upload(admin_client, xlsx([["A1", "王芳"]], header=["工号", "姓名"]), "a.xlsx")
    assert zh("Missing columns: %(cols)s.", cols="班组、入职日期") in text(resp)


@pytest.mark.parametrize(
    ("data", "name", "msgid"),
    [
        (b"not a zip", "agents.xlsx", "The file is not a readable .xlsx workbook."),
        (
            b"\xff\xfe\x00garbage\x81\x00",
            "agents.csv",
            "The CSV file is neither UTF-8 nor GBK text.",
        ),
        (b"x", "agents.txt", "Upload an .xlsx or .csv file."),
        (csv_bytes([]), "agents.csv", "The file has a header but no agents."),
        (b"", "agents.csv", "The file is empty."),
    ],
)
def test_unreadable_files_are_explained(admin_client, teams, data, name, msgid):
    resp = upload(admin_client, data, name)
    assert resp.status_code == 422
    assert zh(msgid) in text(resp)
    assert count(Agent) == 0


def test_credentials_download_once_and_can_be_deleted(admin_client, teams, app, make_user, login):
    resp = upload(admin_client, xlsx(GOOD), "agents.xlsx", follow=False)
    job_url = resp.location
    csv_resp = admin_client.get(f"{job_url}/credentials.csv")
    assert csv_resp.status_code == 200
    body = csv_resp.get_data(as_text=True)
    assert body.startswith("\ufeff工号,姓名,班组,用户名,临时密码") and "A2001" in body
    # Nobody else sees the job, not even another administrator.
    make_user(Role.ADMIN, username="boss2")
    other = app.test_client()
    login(other, "boss2")
    assert other.get(job_url).status_code == 404
    assert other.get(f"{job_url}/credentials.csv").status_code == 404
    admin_client.submit(f"{job_url}/forget")
    page = text(admin_client.get(job_url))
    assert temporary_passwords(page) == {}
    assert admin_client.get(f"{job_url}/credentials.csv").status_code == 404


def test_import_runs_in_the_background_and_reports_progress(admin_client, teams, app):
    app.config["JOBS_EAGER"] = False
    resp = upload(admin_client, xlsx(GOOD), "agents.xlsx", follow=False)
    job_url = resp.location
    deadline = time.monotonic() + 30
    state = {}
    while time.monotonic() < deadline:
        state = admin_client.get(f"{job_url}.json").get_json()
        if state["status"] in ("done", "failed"):
            break
        time.sleep(0.1)
    assert state["status"] == "done" and state["percent"] == 100, state
    assert count(Agent) == 3


def test_import_job_refuses_rows_taken_since_the_check(admin_client, teams, app, make_agent):
    """If another admin adds an agent between the check and the job, nothing is created."""
    from lms import jobs
    from lms.people.importer import start_import

    _report, job = start_import("a.xlsx", xlsx(GOOD), None)
    db.session.commit()
    make_agent(employee_no="A2002", team=teams[0])
    jobs.start(job.id)
    db.session.expire_all()
    job = db.session.get(jobs.Job, job.id)
    assert job.status == jobs.JobStatus.FAILED
    assert zh("工号 %(no)s is already in use.", no="A2002") in str(escape(job.message))
    assert count(Agent) == 1


def test_row_numbers_count_blank_lines(admin_client, teams):
    data = csv_bytes(
        [["", "", "", "", ""], ["", "", "", "", ""], ["A1", "王芳", "无此组", "2024-01-01", ""]]
    )
    resp = upload(admin_client, data, "a.csv")
    assert "<tr><td>4</td>" in text(resp)


def test_bad_username_column_is_reported_on_its_row(admin_client, teams):
    data = xlsx([["A1", "王芳", "一组", "2024-01-01", "", "李四"]], header=[*HEADER, "用户名"])
    resp = upload(admin_client, data, "a.xlsx")
    assert resp.status_code == 422
    assert "<tr><td>2</td><td>用户名 李四" in text(resp)


def test_a_workbook_claiming_a_huge_range_is_read_quickly(admin_client, teams):
    data = xlsx(GOOD)
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = re.sub(
                    rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', content
                )
            dst.writestr(item, content)
    resp = upload(admin_client, out.getvalue(), "a.xlsx")
    assert resp.status_code == 200
    assert count(Agent) == 3


def test_too_many_rows_are_refused(admin_client, teams, monkeypatch):
    from lms.people import importer

    monkeypatch.setattr(importer, "MAX_ROWS", 2)
    resp = upload(admin_client, xlsx(GOOD), "a.xlsx")
    assert resp.status_code == 422
    assert zh("At most %(n)d rows can be imported at once.", n=2) in text(resp)
    assert count(Agent) == 0


@pytest.mark.parametrize(
    ("data", "name", "msgid", "kw"),
    [
        (
            b'\xe5\xb7\xa5\xe5\x8f\xb7,x\n"open' + b"a" * 200_000,
            "a.csv",
            "The CSV file is malformed near line %(line)d (often an unclosed quote).",
            {"line": 2},
        ),
        (b"a,b\x00,c\n", "a.csv", "The CSV file contains binary data.", {}),
    ],
)
def test_malformed_csv_is_explained(admin_client, teams, data, name, msgid, kw):
    resp = upload(admin_client, data, name)
    assert resp.status_code == 422
    assert zh(msgid, **kw) in text(resp)


def test_truncated_xlsx_is_explained(admin_client, teams):
    data = xlsx(GOOD)
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            dst.writestr(item, content)
    resp = upload(admin_client, out.getvalue(), "a.xlsx")
    assert resp.status_code == 422
    assert zh("The file is not a readable .xlsx workbook.") in text(resp)


def test_template_downloads_and_imports_back(admin_client, make_team):
    make_team("一组")
    resp = admin_client.get("/admin/import-agents/template.xlsx")
    assert resp.status_code == 200
    wb = load_workbook(io.BytesIO(resp.data))
    assert [c.value for c in wb["agents"][1]] == [
        "工号",
        "姓名",
        "班组",
        "入职日期",
        "状态",
        "用户名",
    ]
    assert wb["agents"].data_validations.dataValidation  # drop-downs for status and team
    assert "说明" in wb.sheetnames
    resp = upload(admin_client, resp.data, "agents-template.xlsx")
    assert resp.status_code == 200, text(resp)[-3000:]
    assert db.session.scalar(select(Agent)).employee_no == "A1001"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01", date(2024, 3, 1)),
        ("2024/3/1", date(2024, 3, 1)),
        ("2024.03.01", date(2024, 3, 1)),
        ("2024年3月1日", date(2024, 3, 1)),
        ("2024-3-32", None),
        ("March 1", None),
        ("", None),
    ],
)
def test_parse_date(value, expected):
    assert parse_date(value) == expected


def test_parse_reports_every_bad_row_not_only_the_first(app):
    report = parse(
        [(1, HEADER), (2, ["", "a", "一组", "2024-01-01", ""]), (3, ["B1", "", "一组", "x", ""])]
    )
    assert [line for line, _ in report.errors] == [2, 3, 3]


def test_every_error_of_a_file_is_reported_in_one_upload(admin_client, teams, make_agent):
    make_agent(team=teams[0], employee_no="A0007")
    users_before = count(User)
    rows = [
        GOOD[0],
        ["A2002", "李强", "三组", "2024-03-01", ""],
        ["A0007", "陈静", "一组", "2024-03-01", ""],
        ["A2005", "", "一组", "2024-03-01", ""],
        ["A2006", "赵六", "四组", "2024-13-01", ""],
        ["a2001", "重复", "一组", "2024-03-01", "休假"],
    ]
    resp = upload(admin_client, xlsx(rows), "agents.xlsx")
    assert resp.status_code == 422
    page = text(resp)
    expected = [
        (3, "班组 %(t)s does not exist: create it first.", {"t": "三组"}),
        (4, "工号 %(no)s is already in use.", {"no": "A0007"}),
        (5, "姓名 is empty.", {}),
        (6, "入职日期 %(v)s is not a date like 2024-03-01.", {"v": "2024-13-01"}),
        (6, "班组 %(t)s does not exist: create it first.", {"t": "四组"}),
        (7, "工号 %(no)s repeats row %(row)d.", {"no": "A2001", "row": 2}),
        (7, "状态 %(v)s is not a known status.", {"v": "休假"}),
    ]
    for line, msgid, kw in expected:
        assert f"<tr><td>{line}</td><td>{escape(zh(msgid, **kw))}</td></tr>" in page
    assert "<tr><td>2</td>" not in page
    assert count(User) == users_before and count(Agent) == 1


FORMULA = '=HYPERLINK("http://x","y")'


def test_credentials_csv_neutralises_formula_like_names(admin_client, make_team):
    make_team("@组")
    rows = [
        ["-A1", FORMULA, "@组", "2024-03-01", ""],
        ["A2", "\uff0b王芳", "@组", "2024-03-01", ""],
    ]
    wb = Workbook()
    for r in [HEADER, *rows]:
        append_row(wb.active, r)  # typed as text, as a person would
    out = io.BytesIO()
    wb.save(out)
    resp = upload(admin_client, out.getvalue(), "agents.xlsx", follow=False)
    assert resp.status_code == 302, text(resp)[-2000:]
    body = admin_client.get(f"{resp.location}/credentials.csv").get_data(as_text=True)
    cells = [c for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))) for c in row]
    assert not [c for c in cells if c.startswith(FORMULA_START)]
    assert {"-A1", FORMULA, "@组", "\uff0b王芳"} <= {csv_unsafe(c) for c in cells}


def test_template_keeps_formula_like_team_names_as_text(admin_client, make_team):
    make_team(FORMULA)
    resp = admin_client.get("/admin/import-agents/template.xlsx")
    wb = load_workbook(io.BytesIO(resp.data))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    team = next(c for c in cells if c.value == FORMULA)
    assert team.data_type == "s" and team.quotePrefix
