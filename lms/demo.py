"""Demo data for trying the product; later capabilities add their own parts here."""

from datetime import date, timedelta

from faker import Faker
from sqlalchemy import select

from lms.accounts import passwords
from lms.accounts.models import Role, User
from lms.accounts.services import create_user
from lms.extensions import db
from lms.people import services as people
from lms.people.models import AgentStatus, Team

TEAMS = [
    ("信用卡一组", "信用卡挂失、账单与分期咨询"),
    ("借记卡二组", "借记卡与账户业务"),
    ("个贷三组", "个人贷款与还款咨询"),
    ("综合四组", "转账汇款、网银与手机银行"),
    ("投诉处理组", "投诉受理与回访"),
]
STAFF = [
    ("admin", "系统管理员", [Role.ADMIN]),
    ("trainer1", None, [Role.TRAINER]),
    ("trainer2", None, [Role.TRAINER]),
    ("hr1", None, [Role.HR]),
]
#: Share of demo agents in each status: most on the line, every status present.
STATUS_MIX = (
    AgentStatus.ON_LINE,
    AgentStatus.CLASSROOM,
    AgentStatus.SITE_RULES,
    AgentStatus.ON_LINE,
    AgentStatus.SHADOWING,
    AgentStatus.TRIAL_CALLS,
    AgentStatus.ON_LINE,
    AgentStatus.RETRAINING,
    AgentStatus.STANDBY,
    AgentStatus.ON_LINE,
    AgentStatus.DISMISSED,
    AgentStatus.LEFT,
    *[AgentStatus.ON_LINE] * 6,
    AgentStatus.CLASSROOM,
)


#: Functions that capabilities register to add their demo data; each returns a summary line.
SEEDERS: list = []


def register(seeder) -> None:
    """Add a capability's demo data to seed-demo."""
    if seeder not in SEEDERS:
        SEEDERS.append(seeder)


def agent_no(i: int) -> str:
    """Return the employee number of the i-th demo agent (1-based)."""
    return f"A{i:04d}"


def seed(n_agents: int = 40, password: str = "demo12345") -> dict:  # noqa: S107 (demo only)
    """Create what is missing of the demo data; return what it holds. Flush, never commit."""
    fake = Faker("zh_CN")
    fake.seed_instance(95533)
    # Demo accounts share one hash: hashing hundreds of them one by one takes minutes.
    shared_hash = passwords.hash_password(password)
    existing = set(db.session.scalars(select(User.username)))
    created = 0

    teams = {t.name: t for t in db.session.scalars(select(Team))}
    for name, description in TEAMS:
        if name not in teams:
            teams[name] = people.create_team(name, description)
    team_list = [teams[name] for name, _ in TEAMS]

    accounts = []
    for username, full_name, roles in STAFF:
        accounts.append((username, "/".join(r.value for r in roles)))
        if username not in existing:
            create_user(
                username,
                full_name or fake.name(),
                roles,
                "",
                password_hash=shared_hash,
                must_change_password=False,
            )
            created += 1

    today = date.today()
    for i in range(1, n_agents + 1):
        no = agent_no(i)
        name = fake.name()  # drawn for every i so names stay the same across runs
        status = STATUS_MIX[(i - 1) % len(STATUS_MIX)]
        if no.lower() in existing:
            continue
        if status.is_onboarding:
            hired = today - timedelta(days=7 + (i % 50))
        else:
            hired = today - timedelta(days=120 + (i * 37) % 1500)
        user = create_user(
            no, name, [Role.AGENT], "", password_hash=shared_hash, must_change_password=False
        )
        user.is_active = status.is_current
        people.set_agent_profile(
            user, employee_no=no, team=team_list[i % len(team_list)], hire_date=hired, status=status
        )
        created += 1
    extra = [seeder() for seeder in SEEDERS]
    return {
        "extra": extra,
        "created": created,
        "accounts": accounts,
        "first_agent": agent_no(1),
        "last_agent": agent_no(n_agents),
    }
