"""Bulk import of agents: all rows or none, an error per bad row."""

import io
from datetime import date, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from lms.accounts.models import Role, User
from lms.extensions import db
from lms.people.importer import parse, parse_date
from lms.people.models import Agent, AgentStatus
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


def upload(client, data: bytes, name: str, password="Start-pass-1"):
    """Post an import file."""
    return client.submit(
        "/admin/import-agents",
        {
            "file": (io.BytesIO(data), name),
            "initial_password": password,
        },
        content_type="multipart/form-data",
    )


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
    agents = {a.employee_no: a for a in db.session.scalars(select(Agent))}
    assert set(agents) == {"A2001", "A2002", "A2003"}
    assert agents["A2001"].status == AgentStatus.ON_LINE
    assert agents["A2002"].status == AgentStatus.CLASSROOM
    assert agents["A2003"].status == AgentStatus.RETRAINING
    assert agents["A2002"].hire_date == date(2024, 3, 15)
    user = agents["A2003"].user
    assert user.username == "a2003" and user.roles == {Role.AGENT} and user.must_change_password
    resp = login(app.test_client(), "A2003", "Start-pass-1")
    assert resp.location == "/account/password"


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


def test_weak_initial_password_is_refused(admin_client, teams):
    resp = upload(admin_client, xlsx(GOOD), "a.xlsx", password="12345678")
    assert resp.status_code == 422
    assert zh("The password must contain both letters and digits.") in text(resp)
    assert count(Agent) == 0


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
    assert resp.status_code == 200
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
    report = parse([HEADER, ["", "a", "一组", "2024-01-01", ""], ["B1", "", "一组", "x", ""]])
    assert [line for line, _ in report.errors] == [2, 3, 3]
