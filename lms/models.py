"""Import every model so that the metadata (and Alembic) sees them all."""

from lms.accounts import sessions  # noqa: F401  (registers the user loader)
from lms.accounts.models import LoginFailure, Role, User, UserRole, UserSession
from lms.audit.models import AuditEvent
from lms.jobs import Job
from lms.people.models import Agent, AgentStatus, Team

__all__ = [
    "Agent",
    "AgentStatus",
    "AuditEvent",
    "Job",
    "LoginFailure",
    "Role",
    "Team",
    "User",
    "UserRole",
    "UserSession",
]
