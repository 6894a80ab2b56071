"""Friendly error pages, in the user's language."""

from flask import render_template
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from lms.extensions import db


def init_app(app) -> None:
    """Register the error handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_template(
            "errors/error.html",
            code=400,
            title=_("The form has expired"),
            message=_(
                "Your session has changed since the page was opened (for example you signed "
                "out or in again), or the form came from elsewhere. Go back, reload the page "
                "and send the form again."
            ),
        ), 400

    @app.errorhandler(400)
    def bad_request(error):
        return render_template(
            "errors/error.html",
            code=400,
            title=_("The request could not be understood"),
            message=_(
                "It contains characters or values that cannot be accepted. Go back and "
                "check what you entered."
            ),
        ), 400

    @app.errorhandler(405)
    def method_not_allowed(error):
        return render_template(
            "errors/error.html",
            code=405,
            title=_("This page cannot be opened that way"),
            message=_("Use the buttons and links on the pages instead of typing the address."),
        ), 405

    @app.errorhandler(403)
    def forbidden(error):
        return render_template(
            "errors/error.html",
            code=403,
            title=_("You cannot open this page"),
            message=_(
                "Your account does not have the role this page needs. If you think it should, "
                "ask an administrator."
            ),
        ), 403

    @app.errorhandler(404)
    def not_found(error):
        return render_template(
            "errors/error.html",
            code=404,
            title=_("Page not found"),
            message=_("There is no such page, or it is no longer there."),
        ), 404

    @app.errorhandler(413)
    def too_large(error):
        return render_template(
            "errors/error.html",
            code=413,
            title=_("The file is too large"),
            message=_("Files up to %(mb)d MB can be uploaded.", mb=20),
        ), 413

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return render_template(
            "errors/error.html",
            code=500,
            title=_("Something went wrong"),
            message=_("The error has been logged. Nothing you saved before was lost."),
        ), 500
