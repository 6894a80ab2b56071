"""The demo bank is a data file in the bank's own format, loaded through the importer."""

from collections import Counter

from sqlalchemy import select

from lms.extensions import db
from question_bank.cli import DEMO_BANK, seed_demo_bank
from question_bank.fidelity import note_losses
from question_bank.formats import moodle_xml
from question_bank.models import Category, Question, QuestionStatus
from tests.helpers import count


def test_demo_bank_file_reads_without_errors_skips_or_warnings(app):
    parsed = note_losses(moodle_xml.parse(DEMO_BANK.read_bytes()))
    assert parsed.errors == [] and parsed.skipped == [] and parsed.warnings == []
    assert len(parsed.questions) == 226
    assert Counter(q.qtype for _w, q in parsed.questions) == {
        "single_choice": 92,
        "multiple_choice": 46,
        "true_false": 42,
        "fill_blank": 31,
        "short_answer": 15,
    }
    assert len({tuple(q.category_path) for _w, q in parsed.questions}) == 13


def test_seed_imports_the_whole_file_through_the_importer(app):
    line = seed_demo_bank()
    db.session.commit()
    assert line == "question bank: 226 questions"
    assert count(Question) == 226
    assert count(Category) == 16  # 13 categories with questions and their 3 parents
    card_loss = db.session.scalar(select(Category).where(Category.name == "挂失"))
    assert card_loss.description == "信用卡挂失、补卡与失卡保障"
    published = db.session.scalar(
        select(db.func.count(Question.id)).where(Question.status == QuestionStatus.PUBLISHED)
    )
    assert 0 < published < 226  # the file carries each question's status
    assert seed_demo_bank() == "question bank: kept as it is"
    assert count(Question) == 226
