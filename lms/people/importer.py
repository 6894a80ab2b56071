"""Bulk import of agents from .xlsx or .csv: all rows or none, with an error per bad row."""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from lms.accounts import passwords
from lms.accounts.models import Role, User
from lms.accounts.services import ValidationFailed, create_user
from lms.extensions import db
from lms.people.models import Agent, AgentStatus, Team
from lms.people.services import set_agent_profile

#: Column key -> accepted header names (Chinese first: it is what the template writes).
COLUMNS = {
    "employee_no": ("工号", "employee_no", "employee no"),
    "full_name": ("姓名", "name", "full_name"),
    "team": ("班组", "team"),
    "hire_date": ("入职日期", "hire_date", "hire date"),
    "status": ("状态", "status"),
    "username": ("用户名", "username"),
}
REQUIRED = ("employee_no", "full_name", "team", "hire_date")
MAX_ROWS = 5000


@dataclass
class AgentRow:
    """One valid row of an import file."""

    line: int
    employee_no: str
    full_name: str
    team: str
    hire_date: date
    status: AgentStatus
    username: str


@dataclass
class ImportReport:
    """What an import found: the rows it can take, and what is wrong with the others."""

    rows: list[AgentRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        """Record an error on ``line`` (0 for the whole file)."""
        self.errors.append((line, message))


def status_names() -> dict[str, AgentStatus]:
    """Map every accepted spelling of a status (code, Chinese, English) to it."""
    names = {}
    for status in AgentStatus:
        names[status.value.lower()] = status
        for loc in ("zh_CN", "en"):
            with force_locale(loc):
                names[status.label.lower()] = status
    return names


def parse_date(value) -> date | None:
    """Read a date from a spreadsheet cell or text such as 2024-03-01, 2024/3/1, 2024年3月1日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    m = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*", str(value))
    if not m:
        return None
    try:
        return date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError:
        return None


def read_table(filename: str, data: bytes) -> list[list]:
    """Return the rows of the first sheet of an .xlsx, or of a .csv (UTF-8 or GBK)."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many types for a damaged file
            raise ValidationFailed(_("The file is not a readable .xlsx workbook.")) from exc
        ws = wb.worksheets[0]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
        return rows
    if name.endswith(".csv"):
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            raise ValidationFailed(_("The CSV file is neither UTF-8 nor GBK text."))
        return [list(r) for r in csv.reader(io.StringIO(text))]
    raise ValidationFailed(_("Upload an .xlsx or .csv file."))


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


def parse(table: list[list]) -> ImportReport:
    """Check every row of ``table`` (header first) on its own and against the others."""
    report = ImportReport()
    table = [r for r in table if any(_cell(c) for c in r)]
    if not table:
        report.error(0, _("The file is empty."))
        return report
    header = [_cell(c).lower() for c in table[0]]
    index = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h in names:
                index[key] = i
                break
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in index]
    if missing:
        report.error(1, _("Missing columns: %(cols)s.", cols="、".join(missing)))
        return report
    if len(table) - 1 > MAX_ROWS:
        report.error(0, _("At most %(n)d rows can be imported at once.", n=MAX_ROWS))
        return report
    statuses = status_names()
    seen_no: dict[str, int] = {}
    seen_user: dict[str, int] = {}
    for line, raw in enumerate(table[1:], start=2):

        def get(key, raw=raw):
            i = index.get(key)
            return raw[i] if i is not None and i < len(raw) else None

        problems = []
        no = _cell(get("employee_no")).upper()
        name = _cell(get("full_name"))
        team = _cell(get("team"))
        if not no:
            problems.append(_("工号 is empty."))
        elif not no.replace("-", "").isalnum() or not no.isascii() or len(no) > 32:
            problems.append(_("工号 %(no)s may contain only letters, digits and hyphens.", no=no))
        elif no in seen_no:
            problems.append(_("工号 %(no)s repeats row %(row)d.", no=no, row=seen_no[no]))
        if not name:
            problems.append(_("姓名 is empty."))
        elif len(name) > 64:
            problems.append(_("姓名 may be at most 64 characters."))
        if not team:
            problems.append(_("班组 is empty."))
        hire = parse_date(get("hire_date")) if _cell(get("hire_date")) else None
        if not _cell(get("hire_date")):
            problems.append(_("入职日期 is empty."))
        elif hire is None:
            problems.append(
                _("入职日期 %(v)s is not a date like 2024-03-01.", v=_cell(get("hire_date")))
            )
        elif hire > date.today():
            problems.append(_("入职日期 %(v)s is in the future.", v=hire.isoformat()))
        status_text = _cell(get("status")).lower()
        status = statuses.get(status_text) if status_text else AgentStatus.CLASSROOM
        if status is None:
            problems.append(_("状态 %(v)s is not a known status.", v=_cell(get("status"))))
        username = (_cell(get("username")) or no).lower()
        if username and username in seen_user and no not in seen_no:
            problems.append(
                _("用户名 %(u)s repeats row %(row)d.", u=username, row=seen_user[username])
            )
        if no and no not in seen_no:
            seen_no[no] = line
        if username and username not in seen_user:
            seen_user[username] = line
        if problems:
            for p in problems:
                report.error(line, p)
        else:
            report.rows.append(AgentRow(line, no, name, team, hire, status, username))
    if len(table) == 1:
        report.error(0, _("The file has a header but no agents."))
    return report


def check_against_database(report: ImportReport) -> dict[str, Team]:
    """Add errors for rows that clash with stored data; return the teams by name."""
    teams = {t.name: t for t in db.session.scalars(select(Team))}
    nos = {r.employee_no for r in report.rows}
    names = {r.username for r in report.rows}
    taken_nos = set(db.session.scalars(select(Agent.employee_no).where(Agent.employee_no.in_(nos))))
    taken_users = set(db.session.scalars(select(User.username).where(User.username.in_(names))))
    good = []
    for row in report.rows:
        problems = []
        if row.team not in teams:
            problems.append(_("班组 %(t)s does not exist: create it first.", t=row.team))
        if row.employee_no in taken_nos:
            problems.append(_("工号 %(no)s is already in use.", no=row.employee_no))
        if row.username in taken_users:
            problems.append(_("用户名 %(u)s is taken.", u=row.username))
        for p in problems:
            report.error(row.line, p)
        if not problems:
            good.append(row)
    report.rows = good
    report.errors.sort()
    return teams


def import_agents(filename: str, data: bytes, initial_password: str) -> tuple[ImportReport, list]:
    """Create every agent of the file, or none when any row is bad."""
    report = parse(read_table(filename, data))
    problems = passwords.password_problems(initial_password)
    if problems:
        raise ValidationFailed(problems, field="initial_password")
    if report.errors:
        return report, []
    teams = check_against_database(report)
    if report.errors:
        return report, []
    # One hash for the batch: the password is a shared, temporary one that every holder
    # must replace at first sign-in, and hashing thousands of rows one by one would take
    # minutes of a request.
    shared_hash = passwords.hash_password(initial_password)
    created = []
    for row in report.rows:
        user = create_user(
            row.username,
            row.full_name,
            [Role.AGENT],
            "",
            password_hash=shared_hash,
            must_change_password=True,
        )
        created.append(
            set_agent_profile(
                user,
                employee_no=row.employee_no,
                team=teams[row.team],
                hire_date=row.hire_date,
                status=row.status,
            )
        )
    return report, created


def template_workbook() -> bytes:
    """Return the .xlsx template: a data sheet with drop-downs and an instructions sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "agents"
    ws.append([COLUMNS[k][0] for k in COLUMNS])
    ws.append(["A1001", "张三", "一组", "2024-03-01", AgentStatus.CLASSROOM.label, ""])
    for col, width in zip("ABCDEF", (12, 12, 14, 14, 18, 14), strict=True):
        ws.column_dimensions[col].width = width
    lists = wb.create_sheet("lists")
    lists.sheet_state = "hidden"
    teams = [t.name for t in db.session.scalars(select(Team).order_by(Team.name))]
    for i, status in enumerate(AgentStatus, start=1):
        lists.cell(row=i, column=1, value=status.label)
    for i, name in enumerate(teams, start=1):
        lists.cell(row=i, column=2, value=name)
    dv = DataValidation(
        type="list", formula1=f"=lists!$A$1:$A${len(AgentStatus)}", allow_blank=True
    )
    ws.add_data_validation(dv)
    dv.add("E2:E5001")
    if teams:
        tv = DataValidation(type="list", formula1=f"=lists!$B$1:$B${len(teams)}")
        ws.add_data_validation(tv)
        tv.add("C2:C5001")
    info = wb.create_sheet("说明")
    for line in (
        _("One agent per row. The first row is the header: keep it."),
        _("工号, 姓名, 班组 and 入职日期 are required; 状态 and 用户名 are optional."),
        _("班组 must be an existing team; 状态 defaults to onboarding (classroom)."),
        _(
            "用户名 defaults to the 工号. Every imported agent must change the initial "
            "password at first sign-in."
        ),
        _("If any row is wrong, nothing is imported and each bad row is listed."),
    ):
        info.append([line])
    info.column_dimensions["A"].width = 100
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
