"""The question bank: categories, questions and their versions, types, import and export."""


def init_app(app) -> None:
    """Register the bank's models, pages, commands and demo data with the app."""
    from lms import demo
    from question_bank import category_views, cli, models, render, transfer_views, views  # noqa: F401

    render.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(cli.bp)
    demo.register(cli.seed_demo_bank)
