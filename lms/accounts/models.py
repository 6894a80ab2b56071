"""Accounts: users, their roles and their server-side sessions."""

import enum
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.extensions import db
from lms.timeutil import UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a user may do; a user holds one or more."""

    AGENT = "agent"
    TRAINER = "trainer"
    HR = "hr"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """Return the translated name."""
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.AGENT: _l("Agent"),
    Role.TRAINER: _l("Trainer"),
    Role.HR: _l("HR"),
    Role.ADMIN: _l("Administrator"),
}


def enum_column(enum_cls, name: str):
    """Return a portable Enum type stored as its string values."""
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        validate_strings=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class User(db.Model):
    """A person who signs in: agent, trainer, HR officer or administrator."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Lower-cased at the door, so sign-in is case-insensitive.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    #: None means the site default (LMS_LOCALE).
    locale: Mapped[str | None] = mapped_column(String(8))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: Set for accounts an administrator created or reset; cleared by a password change.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    role_rows: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> set[Role]:
        """Return the set of roles held."""
        return {r.role for r in self.role_rows}

    def set_roles(self, roles) -> None:
        """Replace the roles held with ``roles``."""
        wanted = {Role(r) for r in roles}
        self.role_rows = [r for r in self.role_rows if r.role in wanted]
        have = self.roles
        for role in sorted(wanted - have):
            self.role_rows.append(UserRole(role=role))

    def has_role(self, *roles: Role) -> bool:
        """Tell whether the user holds any of ``roles``."""
        return bool(self.roles & set(roles))

    # Flask-Login protocol. get_id is not used to load users: sessions are (see auth).
    @property
    def is_authenticated(self) -> bool:
        """Tell Flask-Login this is a real user."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Tell Flask-Login this is a real user."""
        return False

    def get_id(self) -> str:
        """Return the user id as a string."""
        return str(self.id)

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class UserRole(db.Model):
    """One role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"), primary_key=True)
    user: Mapped[User] = relationship(back_populates="role_rows")


class UserSession(db.Model):
    """A signed-in browser; the cookie only names it, so it can be revoked here."""

    __tablename__ = "user_sessions"

    #: Random token kept in the signed session cookie.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ip: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    user: Mapped[User] = relationship()


class LoginFailure(db.Model):
    """A failed sign-in, kept for the lockout rule when Redis is not configured."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_at", "username_key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The normalised username tried (it need not exist).
    username_key: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
