"""The one transaction boundary: a request, or a command, commits once at its end.

As Indico's request handler does: services and views only flush; when the view returns,
the request's work is committed, and when it raises, everything is rolled back. A view
that refuses input rolls back itself (``db.session.rollback()``) before it answers, so a
refused form leaves the data as it was. Commands use :func:`committed` the same way.
"""

import functools

from flask import Flask, g, has_request_context

from lms.extensions import db


class TransactionalFlask(Flask):
    """A Flask app whose every dispatched view commits once when it returns."""

    def dispatch_request(self):
        """Run the view, then commit its work; an exception rolls it back."""
        g._after_commit = []
        try:
            rv = super().dispatch_request()
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        for callback in g.pop("_after_commit"):
            callback()
        return rv


def after_commit(callback) -> None:
    """Run ``callback`` once the request's work is committed (at once outside a request).

    Background jobs start this way: a worker must find the rows the request wrote.
    """
    if has_request_context() and isinstance(g.get("_after_commit"), list):
        g._after_commit.append(callback)
    else:
        callback()


def committed(func):
    """Commit a CLI command's work when it returns; roll it back when it raises."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            result = func(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    return wrapper
