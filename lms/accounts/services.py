"""Account operations: sign-in, passwords, creating and changing users. Flush, never commit."""

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from lms import audit
from lms.accounts import passwords, sessions, throttle
from lms.accounts.models import Role, User
from lms.extensions import db
from lms.timeutil import utcnow

USERNAME_MAX = 64


class ValidationFailed(ValueError):
    """Raise with the messages that explain why an operation was refused."""

    def __init__(self, messages: list[str] | str, field: str | None = None):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.field = field
        super().__init__("; ".join(self.messages))


def normalise_username(username: str) -> str:
    """Return the stored form of a username: trimmed and lower-cased."""
    return (username or "").strip().lower()


@dataclass
class SignIn:
    """What came of a sign-in attempt."""

    user: User | None
    error: str = ""


def lockout_message(retry_after: int) -> str:
    """Explain a lockout with the minutes left."""
    minutes = max(1, -(-retry_after // 60))
    return ngettext(
        "Too many failed sign-ins. This account is locked for %(num)d more minute; "
        "try again later or ask an administrator to unlock it.",
        "Too many failed sign-ins. This account is locked for %(num)d more minutes; "
        "try again later or ask an administrator to unlock it.",
        minutes,
    )


class AccountLocked(ValidationFailed):
    """Raise when an operation locked the account (too many wrong passwords)."""


def authenticate(username: str, password: str) -> SignIn:
    """Check the credentials under the lockout rule."""
    key = normalise_username(username)
    # Some characters grow when lower-cased: such a name cannot exist, but it still counts.
    exists_possible = len(key) <= USERNAME_MAX
    key = key[:USERNAME_MAX]
    state = throttle.attempt(key)
    if state.locked:
        return SignIn(None, lockout_message(state.retry_after))
    user = db.session.scalar(select(User).where(User.username == key)) if exists_possible else None
    if user is None:
        passwords.burn_time(password)
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password)
    if not ok:
        after = throttle.check(key)
        if after.locked:
            audit.record("auth.lockout", user, summary=key)
            return SignIn(None, lockout_message(after.retry_after))
        return SignIn(None, _("Wrong username or password."))
    if not user.is_active:
        return SignIn(None, _("This account is disabled. Ask an administrator."))
    if temporary_password_expired(user):
        return SignIn(
            None, _("Your temporary password has expired. Ask an administrator to reset it.")
        )
    throttle.reset(key)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.last_login_at = utcnow()
    audit.record("auth.login", user, summary=user.username, actor=user)
    return SignIn(user)


def temporary_password_expired(user: User) -> bool:
    """Tell whether a password set by an administrator has gone unchanged too long."""
    days = current_app.config["TEMPORARY_PASSWORD_DAYS"]
    return bool(
        user.must_change_password
        and user.password_changed_at
        and utcnow() - user.password_changed_at > timedelta(days=days)
    )


def change_password(user: User, current: str, new: str, keep_sid: str | None) -> None:
    """Change the user's own password and end their other sessions."""
    if not passwords.verify_password(user.password_hash, current):
        # Guessing the current password from an unattended browser counts as failed sign-ins.
        state = throttle.record_failure(user.username)
        if state.locked:
            sessions.revoke_all(user)
            audit.record("auth.lockout", user, summary=user.username)
            raise AccountLocked(lockout_message(state.retry_after))
        raise ValidationFailed(_("The current password is wrong."), field="current_password")
    problems = passwords.password_problems(new, user.username)
    if current == new:
        problems.append(_("The new password must differ from the current one."))
    if problems:
        raise ValidationFailed(problems, field="new_password")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.password_changed_at = utcnow()
    revoked = sessions.revoke_all(user, keep=keep_sid)
    audit.record("user.password", user, summary=user.username, after={"sessions_ended": revoked})


def user_snapshot(user: User) -> dict:
    """Return the audited fields of a user."""
    return {
        "username": user.username,
        "full_name": user.full_name,
        "roles": sorted(r.value for r in user.roles),
        "is_active": user.is_active,
        "locale": user.locale,
    }


def username_format(username: str) -> str:
    """Return the normalised username, or raise if it is malformed."""
    key = normalise_username(username)
    if not key:
        raise ValidationFailed(_("A username is required."), field="username")
    if len(key) > USERNAME_MAX:
        raise ValidationFailed(
            _("A username may be at most %(n)d characters long.", n=USERNAME_MAX),
            field="username",
        )
    if not key.isascii() or not all(c.isalnum() or c in "._-" for c in key):
        raise ValidationFailed(
            _("A username may contain only letters, digits, dots, hyphens and underscores."),
            field="username",
        )
    return key


def check_new_username(username: str) -> str:
    """Return the normalised username, or raise if it is malformed or taken."""
    key = username_format(username)
    if db.session.scalar(select(User.id).where(User.username == key)):
        raise ValidationFailed(_("The username %(name)s is taken.", name=key), field="username")
    return key


def create_user(
    username: str,
    full_name: str,
    roles,
    password: str,
    *,
    must_change_password: bool = True,
    password_hash: str | None = None,
    is_active: bool = True,
    actor=None,
) -> User:
    """Create an account; by default its holder must choose a new password first."""
    key = check_new_username(username)
    full_name = (full_name or "").strip()
    if not full_name:
        raise ValidationFailed(_("A name is required."), field="full_name")
    roles = {Role(r) for r in roles}
    if not roles:
        raise ValidationFailed(_("Choose at least one role."), field="roles")
    if password_hash is None:
        problems = passwords.password_problems(password, key)
        if problems:
            raise ValidationFailed(problems, field="password")
        password_hash = passwords.hash_password(password)
    if len(full_name) > 64:
        raise ValidationFailed(_("A name may be at most 64 characters."), field="full_name")
    user = User(
        username=key,
        full_name=full_name,
        password_hash=password_hash,
        must_change_password=must_change_password,
        password_changed_at=utcnow(),
        is_active=is_active,
    )
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    audit.record("user.create", user, summary=key, after=user_snapshot(user), actor=actor)
    return user


def update_user(user: User, *, full_name: str, roles, is_active: bool, actor: User) -> None:
    """Change a user's name, roles and whether the account is active."""
    before = user_snapshot(user)
    roles = {Role(r) for r in roles}
    if not roles:
        raise ValidationFailed(_("Choose at least one role."), field="roles")
    if user.id == actor.id and (Role.ADMIN not in roles or not is_active):
        raise ValidationFailed(
            _("You cannot remove your own administrator role or disable your own account."),
            field="roles",
        )
    if (full_name or "").strip() == "":
        raise ValidationFailed(_("A name is required."), field="full_name")
    user.full_name = full_name.strip()
    user.set_roles(roles)
    user.is_active = is_active
    if not is_active:
        sessions.revoke_all(user)
    after = user_snapshot(user)
    if before != after:
        audit.record("user.update", user, summary=user.username, before=before, after=after)


def reset_password(user: User, new: str) -> None:
    """Set a temporary password the user must change; end all their sessions."""
    problems = passwords.password_problems(new, user.username)
    if problems:
        raise ValidationFailed(problems, field="password")
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = True
    user.password_changed_at = utcnow()
    ended = sessions.revoke_all(user)
    throttle.reset(user.username)
    audit.record(
        "user.password_reset", user, summary=user.username, after={"sessions_ended": ended}
    )


def unlock(user: User, actor=None) -> None:
    """Clear the failed sign-ins of ``user``."""
    throttle.reset(user.username)
    audit.record("user.unlock", user, summary=user.username, actor=actor)
