"""Small helpers shared by the views."""

import re
from urllib.parse import urlsplit

from flask import abort, request
from sqlalchemy import Select, func, select
from werkzeug.routing import IntegerConverter

from lms.extensions import db

#: Largest id a 32-bit integer column holds; larger ones cannot exist.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """Match a database id: 1 to 2**31-1, so larger numbers are a plain 404."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, min=1, max=MAX_ID)


_ID = re.compile(r"[0-9]{1,10}")


def parse_id(value) -> int | None:
    """Return ``value`` as a database id, or None (not ASCII digits, or out of range)."""
    text = str(value or "").strip()
    if not _ID.fullmatch(text):
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def id_arg(name: str) -> int | None:
    """Return a query-string id, or None when absent, malformed or out of range."""
    return parse_id(request.args.get(name))


def refuse_nul_bytes():
    """Refuse input holding NUL characters: no field ever needs one, and databases reject them."""
    values = [*request.args.values(), *request.form.values()]
    if any("\x00" in v for v in values):
        abort(400)


def safe_next(target: str | None, default: str = "/") -> str:
    """Return ``target`` if it is a path on this site, else ``default``."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if "\\" in target:
        return default
    return target


class Page:
    """One page of a query's results."""

    def __init__(self, stmt: Select, page: int, per_page: int):
        self.total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        self.per_page = per_page
        self.pages = max(1, -(-self.total // per_page))
        self.page = min(max(1, page), self.pages)
        self.items = db.session.scalars(
            stmt.limit(per_page).offset((self.page - 1) * per_page)
        ).all()

    @property
    def has_prev(self) -> bool:
        """Tell whether there is an earlier page."""
        return self.page > 1

    @property
    def has_next(self) -> bool:
        """Tell whether there is a later page."""
        return self.page < self.pages


def paginate(stmt: Select, per_page: int = 25) -> Page:
    """Paginate ``stmt`` by the ``page`` query argument."""
    return Page(stmt, request.args.get("page", 1, type=int), per_page)
