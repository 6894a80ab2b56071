"""What the question bank must know about exams: used questions, categories and images."""

import re

from sqlalchemy import String, cast, exists, or_, select, update

from exams import results
from exams.models import Attempt, AttemptItem, DrawRule, SectionQuestion
from lms.extensions import db
from question_bank import categories, images, qtypes, services
from question_bank.models import QuestionVersion


def versions_used(version_ids: list[int]) -> bool:
    """Tell whether any of these question versions is in an attempt."""
    return bool(version_ids) and db.session.scalar(
        select(exists().where(AttemptItem.version_id.in_(version_ids)))
    )


def question_in_paper(version_ids: list[int]) -> bool:
    """Tell whether the question of these versions is fixed in a paper."""
    if not version_ids:
        return False
    question_ids = select(QuestionVersion.question_id).where(QuestionVersion.id.in_(version_ids))
    return db.session.scalar(select(exists().where(SectionQuestion.question_id.in_(question_ids))))


def category_drawn_from(category_id: int) -> bool:
    """Tell whether a paper draws questions from the category."""
    return db.session.scalar(select(exists().where(DrawRule.category_id == category_id)))


def move_draw_rules(source_id: int, target_id: int) -> None:
    """Point draw rules at the category another one was merged into."""
    db.session.execute(
        update(DrawRule).where(DrawRule.category_id == source_id).values(category_id=target_id)
    )


def image_shown_to(user, image_id: int) -> bool:
    """Tell whether one of the user's attempts may show the image to them now.

    While answering (and after), an attempt shows its stems and what the question type
    shows with them (options); explanations and reference answers only once its review is
    allowed. Guessing image numbers therefore shows nothing more than the pages would.
    """
    needle = f"%/qb/images/{image_id}%"
    exact = re.compile(rf"/qb/images/{image_id}(?![0-9])")
    rows = db.session.execute(
        select(Attempt, AttemptItem, QuestionVersion)
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .join(
            QuestionVersion,
            or_(
                QuestionVersion.id == AttemptItem.version_id,
                QuestionVersion.id == AttemptItem.key_version_id,
            ),
        )
        .where(
            Attempt.user_id == user.id,
            or_(
                QuestionVersion.stem.like(needle),
                QuestionVersion.explanation.like(needle),
                cast(QuestionVersion.body, String).like(needle),
            ),
        )
    ).all()
    for attempt, item, version in rows:
        qtype = qtypes.get(version.qtype)
        shown = version.id == item.version_id  # else the key version a regrade set
        if shown and any(
            exact.search(html) for html in [version.stem, *qtype.exam_html(version.body)]
        ):
            return True
        hidden = [version.explanation, *qtype.review_html(version.body)]
        if any(exact.search(html or "") for html in hidden) and results.may_review(attempt):
            return True
    return False


def register() -> None:
    """Install the hooks (once)."""
    for hook_list, hook in (
        (services.USAGE_CHECKS, versions_used),
        (services.USAGE_CHECKS, question_in_paper),
        (categories.USAGE_CHECKS, category_drawn_from),
        (categories.MERGE_HOOKS, move_draw_rules),
        (images.ACCESS_CHECKS, image_shown_to),
    ):
        if hook not in hook_list:
            hook_list.append(hook)
