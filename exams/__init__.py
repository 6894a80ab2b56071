"""Exams: papers and sections, sittings, attempts and the attempt engine, grading, results."""


def init_app(app) -> None:
    """Register the exams' models, pages, commands and demo data with the app."""
    from exams import cli, demo, hooks, models, views  # noqa: F401
    from exams.typing import demo as typing_demo
    from lms import demo as lms_demo

    views.register(app)
    _register_template_helpers(app)
    app.register_blueprint(cli.bp)
    lms_demo.register(demo.seed_exams)
    lms_demo.register(typing_demo.seed_typing)
    hooks.register()
    _register_audit_labels()
    from exams.typing import fast_snapshot

    fast_snapshot.install(app)


def _register_template_helpers(app) -> None:
    from exams import printing

    app.jinja_env.globals["section_heading"] = printing.section_heading


def _register_audit_labels() -> None:
    from flask_babel import lazy_gettext as _l

    from exams import audit_labels
    from exams.models import FinishReason, MultipleChoiceRule, ReviewPolicy
    from exams.results_views import FINISH_LABELS
    from exams.typing.models import (
        PASSAGE_KIND_LABELS,
        PASSAGE_PURPOSE_LABELS,
        PassageKind,
        PassagePurpose,
        TypingReview,
    )
    from exams.typing.review import REVIEW_LABELS
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
            "sitting.update": _l("Sitting changed"),
            "typing.finish": _l("Typing test finished"),
            "typing.review": _l("Held typing result decided"),
            "passage.create": _l("Typing passage added"),
            "passage.update": _l("Typing passage changed"),
            "passage.archive": _l("Typing passage archived"),
            "passage.restore": _l("Typing passage restored"),
            "typing_test.create": _l("Typing test created"),
            "typing_test.update": _l("Typing test changed"),
        },
        targets={
            "ex_attempts": _l("Exam attempt"),
            "ex_sittings": _l("Sitting"),
            "ex_papers": _l("Paper"),
            "ex_typing_attempts": _l("Typing attempt"),
            "ex_typing_passages": _l("Typing passage"),
            "ex_typing_tests": _l("Typing test"),
        },
        fields={
            "score": _l("Score"),
            "reason": _l("How it ended"),
            "changes": _l("Changes"),
            "removed": _l("Removed"),
            "candidates": _l("Candidates"),
            "results_changed": _l("Results changed"),
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
            "typing_test": _l("Typing test"),
            "speed": _l("Speed (characters per minute)"),
            "accuracy": _l("Accuracy (%)"),
            "review": _l("Review"),
            "comment": _l("Comment"),
            "kind": _l("Typing kind"),
            "purpose": _l("Use"),
            "active": _l("Active"),
            "replaced_by": _l("Replaced by passage"),
            "duration_minutes": _l("Duration (minutes)"),
            "whole_passage": _l("Type the whole passage"),
            "pass_speed": _l("Pass speed (characters per minute)"),
            "min_accuracy": _l("Minimum accuracy (%)"),
            "error_penalty": _l("Penalty per error (characters)"),
            "speed_ceiling": _l("Speed ceiling (characters per minute)"),
            # A typing snapshot's parts (the source scan reads read_snapshot's dict too).
            "seq": _l("Snapshot number"),
            "text": _l("Typed text"),
            "client_ms": _l("Page clock (ms)"),
            "evidence": _l("Input evidence"),
        },
        values={
            "review_policy": ReviewPolicy,
            "multiple_choice_rule": MultipleChoiceRule,
            "reason": labels.enum_labeller(FinishReason, FINISH_LABELS),
            "window": audit_labels.window,
            "removed": audit_labels.removed,
            "review": labels.enum_labeller(TypingReview, REVIEW_LABELS),
            "kind": labels.enum_labeller(PassageKind, PASSAGE_KIND_LABELS),
            "purpose": labels.enum_labeller(PassagePurpose, PASSAGE_PURPOSE_LABELS),
        },
        summaries={"attempt.grade": audit_labels.grade_summary},
    )
