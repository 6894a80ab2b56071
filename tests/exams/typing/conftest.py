"""Typing-test fixtures: passages, a typing test's rules, sittings with a typing component."""

from datetime import timedelta
from decimal import Decimal

import pytest

from exams.models import Candidate, Sitting, SittingKind
from exams.typing.models import Passage, PassageKind, PassagePurpose, TypingTest
from lms.extensions import db
from lms.timeutil import utcnow

#: A banking script of 52 counted characters (punctuation included).
SCRIPT = "您好，欢迎致电本行客户服务中心。请问有什么可以帮您？挂失银行卡请按一，查询余额请按二，转人工服务请按零。"


@pytest.fixture
def passages(app):
    """Return four exam passages and two practice passages (read-and-type)."""
    rows = [
        Passage(title=f"考试文章{i}", text=f"第{i}篇。" + SCRIPT, purpose=PassagePurpose.EXAM)
        for i in range(1, 5)
    ] + [
        Passage(title=f"练习文章{i}", text=f"练习{i}。" + SCRIPT, purpose=PassagePurpose.PRACTICE)
        for i in range(1, 3)
    ]
    db.session.add_all(rows)
    db.session.commit()
    return rows


@pytest.fixture
def typing_test(app):
    """Return a 10-minute typing test with the default rules (60 字/分钟, 95 %)."""
    test = TypingTest(title="月度打字测试", kind=PassageKind.TEXT)
    db.session.add(test)
    db.session.commit()
    return test


@pytest.fixture
def make_typing_sitting(app, typing_test, passages):
    """Return a factory of open sittings with a typing test (and a paper when given)."""

    def make(candidates, paper=None, **kw):
        now = utcnow()
        sitting = Sitting(
            title=kw.pop("title", "十二月技能考试"),
            kind=kw.pop("kind", SittingKind.MONTHLY),
            paper=paper,
            typing_test=typing_test,
            opens_at=kw.pop("opens_at", now - timedelta(hours=1)),
            closes_at=kw.pop("closes_at", now + timedelta(hours=3)),
            **kw,
        )
        sitting.candidates = [Candidate(user_id=u.id) for u in candidates]
        db.session.add(sitting)
        db.session.commit()
        return sitting

    return make


def type_steadily(engine, attempt, text: str, start, seconds: int, every: int = 5):
    """Send ``text`` as a person types it evenly over ``seconds`` (a snapshot every 5 s)."""
    steps = max(1, seconds // every)
    seq = attempt.seq
    for k in range(1, steps + 1):
        part = text[: round(len(text) * k / steps)]
        seq += 1
        evidence = {"keys": len(part) * 4, "compositions": len(part) // 2 + k, "deletions": 0}
        result = engine.record(
            attempt, seq, part, k * every * 1000, evidence, now=start + timedelta(seconds=k * every)
        )
        assert result.accepted, result
    return seq


__all__ = ["SCRIPT", "Decimal", "type_steadily"]
