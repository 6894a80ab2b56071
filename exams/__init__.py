"""Exams: papers and sections, sittings, attempts and the attempt engine, grading, results."""


def init_app(app) -> None:
    """Register the exams' models, pages, commands and demo data with the app."""
    from exams import cli, demo, hooks, models, views  # noqa: F401
    from lms import demo as lms_demo

    views.register(app)
    _register_template_helpers(app)
    app.register_blueprint(cli.bp)
    lms_demo.register(demo.seed_exams)
    hooks.register()
    _register_audit_labels()


def _register_template_helpers(app) -> None:
    from exams import printing

    app.jinja_env.globals["section_heading"] = printing.section_heading


def _register_audit_labels() -> None:
    from flask_babel import lazy_gettext as _l

    from exams import audit_labels
    from exams.models import FinishReason, MultipleChoiceRule, ReviewPolicy
    from exams.results_views import FINISH_LABELS
    from lms.audit import labels

    labels.register(
        actions={
            "attempt.finish": _l("Exam submitted"),
            "attempt.grade": _l("Answer graded"),
            "paper.create": _l("Paper created"),
            "paper.update": _l("Paper changed"),
            "sitting.create": _l("Sitting scheduled"),
            "sitting.override": _l("Candidate's time or window changed"),
            "sitting.regrade": _l("Sitting regraded"),
        },
        targets={
            "ex_attempts": _l("Exam attempt"),
            "ex_sittings": _l("Sitting"),
            "ex_papers": _l("Paper"),
        },
        fields={
            "score": _l("Score"),
            "reason": _l("How it ended"),
            "changes": _l("Changes"),
            "removed": _l("Removed"),
            "candidates": _l("Candidates"),
            "paper": _l("Paper"),
            "extra_minutes": _l("Extra minutes"),
            "window": _l("Window"),
            "title": _l("Title"),
            "time_limit_minutes": _l("Time limit (minutes)"),
            "pass_mark": _l("Pass mark (points)"),
            "review_policy": _l("What candidates see afterwards"),
            "multiple_choice_rule": _l("Multiple choice scoring"),
            "shuffle_questions": _l("Shuffle the questions within each section"),
            "shuffle_options": _l("Shuffle the options of choice questions"),
            "copied_from": _l("Copied from paper"),
        },
        values={
            "review_policy": ReviewPolicy,
            "multiple_choice_rule": MultipleChoiceRule,
            "reason": labels.enum_labeller(FinishReason, FINISH_LABELS),
            "window": audit_labels.window,
            "removed": audit_labels.removed,
        },
        summaries={"attempt.grade": audit_labels.grade_summary},
    )
