"""Configuration read from the environment, with safe defaults."""

import os
import secrets
from pathlib import Path

#: Keys that are public knowledge (tutorials, our own old defaults) and so never secret.
KNOWN_WEAK_KEYS = frozenset(
    {"dev", "secret", "changeme", "change-me", "development", "test", "secret-key", "default"}
)
MIN_KEY_LENGTH = 32


class ConfigError(RuntimeError):
    """Raise when the configuration would make the app unsafe or unusable."""


def load_secret_key(instance_path: str) -> str:
    """Return SECRET_KEY from the environment, or from instance/secret_key (made on first run)."""
    key = os.environ.get("SECRET_KEY")
    if key:
        return key
    path = Path(instance_path) / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written aside (mode 0600, so other local users cannot read it), then linked into
    # place: several gunicorn workers starting at once all end up with the first key.
    draft = path.with_name(f".secret_key.{secrets.token_hex(8)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(key)
    try:
        os.link(draft, path)
    except FileExistsError:
        key = path.read_text(encoding="utf-8").strip()
    finally:
        draft.unlink()
    return key


def check_secret_key(key: str) -> None:
    """Refuse a key that is short or publicly known."""
    if not key or key.lower() in KNOWN_WEAK_KEYS or len(key) < MIN_KEY_LENGTH:
        raise ConfigError(
            "SECRET_KEY is weak or a default: set it to a random value of at least "
            f"{MIN_KEY_LENGTH} characters (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'), or unset it to use instance/secret_key."
        )


def normalise_database_url(url: str) -> str:
    """Map plain postgres:// URLs to the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def from_environment(instance_path: str) -> dict:
    """Build the configuration mapping for create_app."""
    env = os.environ.get("LMS_ENV", "development")
    db_url = os.environ.get("DATABASE_URL") or "sqlite:///" + str(Path(instance_path) / "lms.db")
    production = env == "production"
    return {
        "LMS_ENV": env,
        "SECRET_KEY": load_secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(db_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        #: The RQ queue that web processes fill and ``flask worker`` empties.
        "JOBS_QUEUE": os.environ.get("LMS_JOBS_QUEUE", "lms"),
        "LMS_LOCALE": os.environ.get("LMS_LOCALE", "zh_CN"),
        "LMS_TIMEZONE": "Asia/Shanghai",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "SESSION_COOKIE_NAME": "lms_session",
        #: Idle time after which a server-side session ends (seconds).
        "SESSION_IDLE_TIMEOUT": int(os.environ.get("LMS_SESSION_IDLE_TIMEOUT", 8 * 3600)),
        "LOGIN_FAILURE_LIMIT": 10,
        #: Days a password set by an administrator (or an import) stays usable unchanged.
        "TEMPORARY_PASSWORD_DAYS": int(os.environ.get("LMS_TEMPORARY_PASSWORD_DAYS", 14)),
        "LOGIN_FAILURE_WINDOW": 15 * 60,
        "MAX_CONTENT_LENGTH": 20 * 1024 * 1024,
        "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session
        # Argon2id at OWASP's recommended m=19 MiB, t=2: strong, yet a monthly exam's
        # thousands of sign-ins do not queue behind hashing. Old hashes are upgraded at
        # sign-in when these change. Tests lower them through their own config.
        "PASSWORD_HASH_TIME_COST": int(os.environ.get("LMS_ARGON2_TIME_COST", 2)),
        "PASSWORD_HASH_MEMORY_COST": int(os.environ.get("LMS_ARGON2_MEMORY_KIB", 19 * 1024)),
        #: Number of reverse proxies in front of the app whose X-Forwarded-* headers we trust.
        "PROXY_HOPS": int(os.environ.get("LMS_PROXY_HOPS", 0)),
        #: A request the proxy says waited longer than this in its queue is answered 503 at
        #: once (lms.overload); 0 turns shedding off.
        "SHED_QUEUED_SECONDS": float(os.environ.get("LMS_SHED_QUEUED_SECONDS", 10)),
        "TESTING": False,
    }
