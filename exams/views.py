"""Register the exam pages."""


def register(app) -> None:
    """Attach the candidate and staff blueprints (and the routes defined on them)."""
    from exams import (  # noqa: F401
        answer_sheet_views,
        candidate_views,
        monitor_views,
        print_views,
        results_views,
        staff_views,
    )
    from exams.typing import candidate_views as typing_candidate_views
    from exams.typing import history_views
    from exams.typing import staff_views as typing_staff_views

    app.register_blueprint(candidate_views.bp)
    app.register_blueprint(staff_views.bp)
    app.register_blueprint(typing_candidate_views.bp)
    app.register_blueprint(history_views.bp)
    app.register_blueprint(typing_staff_views.bp)
