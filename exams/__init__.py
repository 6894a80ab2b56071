"""Exams: papers and sections, sittings, attempts and the attempt engine, grading, results."""


def init_app(app) -> None:
    """Register the exams' models, pages, commands and demo data with the app."""
    from exams import cli, demo, hooks, models, views  # noqa: F401
    from lms import demo as lms_demo

    views.register(app)
    app.register_blueprint(cli.bp)
    lms_demo.register(demo.seed_exams)
    hooks.register()
