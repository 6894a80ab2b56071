"""Bulk import of agents from .xlsx or .csv: all rows or none, with an error per bad row."""

import io
import re
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation
from sqlalchemy import select

from lms import audit, jobs
from lms.accounts import passwords
from lms.accounts.models import Role, User
from lms.accounts.services import ValidationFailed, create_user, username_format
from lms.extensions import db
from lms.i18n import today_local
from lms.people.models import Agent, AgentStatus, Team
from lms.people.services import set_agent_profile
from lms.tabular import append_row, read_rows, set_cell

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
    """One row of an import file; a field that could not be read is None."""

    line: int
    employee_no: str
    full_name: str
    team: str
    hire_date: date | None
    status: AgentStatus | None
    username: str


@dataclass
class ImportReport:
    """What an import found: the rows it can take, and what is wrong with the others."""

    rows: list[AgentRow] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        """Record an error on ``line`` (0 for the whole file)."""
        self.errors.append((line, message))

    def keep_good_rows(self) -> None:
        """Drop the rows that have an error, and list the errors in row order."""
        bad = {line for line, _msg in self.errors}
        self.rows = [r for r in self.rows if r.line not in bad]
        self.errors.sort(key=lambda e: e[0])  # stable: a row's errors stay in check order


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


def _cell(value) -> str:
    return "" if value is None else str(value).strip()


def parse(rows: list[tuple[int, list]]) -> ImportReport:
    """Check every row (header first, with its line number) on its own and against the others."""
    report = ImportReport()
    if not rows:
        report.error(0, _("The file is empty."))
        return report
    header_line, header_cells = rows[0]
    header = [_cell(c).lower() for c in header_cells]
    index = {}
    for key, names in COLUMNS.items():
        for i, h in enumerate(header):
            if h in names:
                index[key] = i
                break
    missing = [COLUMNS[k][0] for k in REQUIRED if k not in index]
    if missing:
        report.error(header_line, _("Missing columns: %(cols)s.", cols="、".join(missing)))
        return report
    if len(rows) == 1:
        report.error(0, _("The file has a header but no agents."))
        return report
    statuses = status_names()
    today = today_local()
    seen_no: dict[str, int] = {}
    seen_user: dict[str, int] = {}
    for line, raw in rows[1:]:

        def get(key, raw=raw):
            i = index.get(key)
            return raw[i] if i is not None and i < len(raw) else None

        problems = []
        no_ok = True
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
        raw_date = _cell(get("hire_date"))
        hire = parse_date(get("hire_date")) if raw_date else None
        if not raw_date:
            problems.append(_("入职日期 is empty."))
        elif hire is None:
            problems.append(_("入职日期 %(v)s is not a date like 2024-03-01.", v=raw_date))
        elif hire > today:
            problems.append(_("入职日期 %(v)s is in the future.", v=hire.isoformat()))
        status_text = _cell(get("status")).lower()
        status = statuses.get(status_text) if status_text else AgentStatus.CLASSROOM
        if status is None:
            problems.append(_("状态 %(v)s is not a known status.", v=_cell(get("status"))))
        username = (_cell(get("username")) or no).lower()
        if _cell(get("username")):
            try:
                username = username_format(username)
            except ValidationFailed as exc:
                problems.extend(f"用户名 {username}: {m}" for m in exc.messages)
                username = ""  # not worth looking up
        elif not no_ok:
            username = ""
        if username and username in seen_user and (no not in seen_no):
            problems.append(
                _("用户名 %(u)s repeats row %(row)d.", u=username, row=seen_user[username])
            )
        seen_no.setdefault(no, line) if no else None
        seen_user.setdefault(username, line) if username else None
        for p in problems:
            report.error(line, p)
        # Keep even a bad row: the database checks still report what else is wrong with it.
        report.rows.append(AgentRow(line, no if no_ok else "", name, team, hire, status, username))
    return report


def check_against_database(report: ImportReport) -> dict[str, Team]:
    """Add errors for rows that clash with stored data, keep the good rows; return the teams."""
    teams = {t.name: t for t in db.session.scalars(select(Team))}
    nos = {r.employee_no for r in report.rows if r.employee_no}
    names = {r.username for r in report.rows if r.username}
    taken_nos = set(db.session.scalars(select(Agent.employee_no).where(Agent.employee_no.in_(nos))))
    taken_users = set(db.session.scalars(select(User.username).where(User.username.in_(names))))
    for row in report.rows:
        if row.team and row.team not in teams:
            report.error(row.line, _("班组 %(t)s does not exist: create it first.", t=row.team))
        if row.employee_no in taken_nos:
            report.error(row.line, _("工号 %(no)s is already in use.", no=row.employee_no))
        if row.username in taken_users:
            report.error(row.line, _("用户名 %(u)s is taken.", u=row.username))
    report.keep_good_rows()
    return teams


def check_file(filename: str, data: bytes) -> ImportReport:
    """Read and check an upload completely, every row and every rule in one pass."""
    report = parse(read_rows(filename, data, max_rows=MAX_ROWS, max_cols=len(COLUMNS) + 10))
    check_against_database(report)
    return report


def temporary_password() -> str:
    """Return a random password that is easy to read out (no 0/O, 1/l/I)."""
    letters, digits = "abcdefghjkmnpqrstuvwxyz", "23456789"
    chars = [secrets.choice(letters) for _ in range(6)] + [secrets.choice(digits) for _ in range(4)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


@jobs.register("import_agents")
def run_import(progress, params: dict, user) -> dict:
    """Create the checked rows of an import, each with its own temporary password."""
    report = ImportReport(
        rows=[
            AgentRow(
                r["line"],
                r["employee_no"],
                r["full_name"],
                r["team"],
                date.fromisoformat(r["hire_date"]),
                AgentStatus(r["status"]),
                r["username"],
            )
            for r in params["rows"]
        ]
    )
    total = len(report.rows)
    # Hashing is the slow part (tens of ms a row): do it first, reporting progress, so the
    # one transaction that writes holds its locks only briefly.
    progress(0, total, _("Generating temporary passwords"))
    creds = []
    for i, row in enumerate(report.rows, start=1):
        password = temporary_password()
        creds.append((row, password, passwords.hash_password(password)))
        if i % 20 == 0 or i == total:
            progress(i, total)
    teams = check_against_database(report)
    if report.errors:
        raise ValidationFailed(
            [_("Row %(row)d: %(msg)s", row=line, msg=msg) for line, msg in report.errors]
        )
    progress(total, total, _("Saving"))
    credentials = []
    for row, password, hashed in creds:
        new = create_user(
            row.username,
            row.full_name,
            [Role.AGENT],
            "",
            password_hash=hashed,
            must_change_password=True,
            actor=user,
        )
        set_agent_profile(
            new,
            employee_no=row.employee_no,
            team=teams[row.team],
            hire_date=row.hire_date,
            status=row.status,
            actor=user,
        )
        credentials.append(
            {
                "employee_no": row.employee_no,
                "full_name": row.full_name,
                "team": row.team,
                "username": new.username,
                "password": password,
            }
        )
    audit.record(
        "agent.import", summary=params.get("filename", ""), after={"agents": total}, actor=user
    )
    return {"created": total, "credentials": credentials}


def start_import(filename: str, data: bytes, user) -> tuple[ImportReport, "jobs.Job | None"]:
    """Check the file; when every row is right, queue the job that creates the agents."""
    report = check_file(filename, data)
    if report.errors:
        return report, None
    rows = [
        {**asdict(r), "hire_date": r.hire_date.isoformat(), "status": r.status.value}
        for r in report.rows
    ]
    job = jobs.create("import_agents", {"filename": filename, "rows": rows}, user)
    return report, job


def template_workbook() -> bytes:
    """Return the .xlsx template: a data sheet with drop-downs and an instructions sheet."""
    wb = Workbook()
    ws = wb.active
    ws.title = "agents"
    append_row(ws, [COLUMNS[k][0] for k in COLUMNS])
    append_row(ws, ["A1001", "张三", "一组", "2024-03-01", AgentStatus.CLASSROOM.label, ""])
    for col, width in zip("ABCDEF", (12, 12, 14, 14, 18, 14), strict=True):
        ws.column_dimensions[col].width = width
    lists = wb.create_sheet("lists")
    lists.sheet_state = "hidden"
    teams = [t.name for t in db.session.scalars(select(Team).order_by(Team.name))]
    for i, status in enumerate(AgentStatus, start=1):
        set_cell(lists, i, 1, status.label)
    for i, name in enumerate(teams, start=1):
        # Team names are typed by people: none may become a live formula.
        set_cell(lists, i, 2, name)
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
        append_row(info, [line])
    info.column_dimensions["A"].width = 100
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
