"""The question bank: categories, questions and their versions, types, import and export."""


def init_app(app) -> None:
    """Register the bank's models, pages, commands and demo data with the app."""
    from lms import demo
    from question_bank import (  # noqa: F401
        category_views,
        cli,
        import_preview,
        models,
        render,
        transfer_views,
        views,
    )

    render.init_app(app)
    app.jinja_env.globals["preview_state"] = import_preview.state
    _register_audit_labels()
    app.register_blueprint(views.bp)
    app.register_blueprint(cli.bp)
    demo.register(cli.seed_demo_bank)


def _register_audit_labels() -> None:
    from flask_babel import lazy_gettext as _l

    from lms.audit import labels
    from question_bank.models import QuestionStatus

    labels.register(
        actions={
            "question.create": _l("Question created"),
            "question.update": _l("Question changed"),
            "question.status": _l("Question status changed"),
            "question.delete": _l("Question deleted"),
            "question.move": _l("Questions moved"),
            "question.tag": _l("Questions tagged"),
            "question.import": _l("Questions imported"),
            "category.create": _l("Category created"),
            "category.rename": _l("Category renamed"),
            "category.move": _l("Category moved"),
            "category.merge": _l("Categories merged"),
            "category.delete": _l("Category deleted"),
        },
        targets={"qb_questions": _l("Question"), "qb_categories": _l("Category")},
        fields={
            "version": _l("Version"),
            "category": _l("Category"),
            "difficulty": _l("Difficulty"),
            "tags": _l("Tags"),
            "path": _l("Path"),
            "questions": _l("Questions"),
            "questions_moved": _l("Questions moved"),
            "skipped": _l("Skipped"),
        },
        values={"status": QuestionStatus},
    )
