"""Password hashing (Argon2id) and the password policy."""

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from flask_babel import gettext as _

MIN_LENGTH = 8
MAX_LENGTH = 128


def _hasher() -> PasswordHasher:
    cfg = current_app.config
    return PasswordHasher(
        time_cost=cfg["PASSWORD_HASH_TIME_COST"], memory_cost=cfg["PASSWORD_HASH_MEMORY_COST"]
    )


def hash_password(password: str) -> str:
    """Return an Argon2id hash of ``password``."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Tell whether ``password`` matches ``password_hash``."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Tell whether the hash was made with weaker parameters than today's."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# A hash of a random password, verified against when the username is unknown so that
# the time taken does not tell which usernames exist.
_DUMMY: dict[str, str] = {}


def burn_time(password: str) -> None:
    """Spend as long as a real verification would."""
    cfg = current_app.config
    key = f"{cfg['PASSWORD_HASH_TIME_COST']}:{cfg['PASSWORD_HASH_MEMORY_COST']}"
    if key not in _DUMMY:
        _DUMMY[key] = hash_password("dummy-password-never-valid")
    verify_password(_DUMMY[key], password)


def password_problems(password: str, username: str = "") -> list[str]:
    """Return what is wrong with ``password`` under the policy (empty when it is fine)."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(_("The password must be at least %(n)d characters long.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_("The password must be at most %(n)d characters long.", n=MAX_LENGTH))
    if not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        problems.append(_("The password must contain both letters and digits."))
    if username and password.lower() == username.lower():
        problems.append(_("The password must not be the same as the username."))
    return problems
