"""Fixtures of the exam tests: a small published bank, a paper, a sitting, candidates."""

from datetime import timedelta
from decimal import Decimal

import pytest

from exams.models import Candidate, Paper, PaperSection, SectionQuestion, Sitting, SittingKind
from lms.accounts.models import Role
from lms.extensions import db
from lms.timeutil import utcnow
from question_bank import categories
from question_bank.services import QuestionInput, create_question

#: Strings that only the answer key and explanations contain: a candidate must never see them
#: before the review policy allows.
SECRETS = ["解析秘文甲", "解析秘文乙", "解析秘文丙", "填空答案秘文", "参考答案秘文", "评分要点秘文"]


@pytest.fixture
def bank(app):
    """Create published questions of every type; return them by type."""
    cat = categories.ensure_path(["业务知识", "信用卡"])
    qs = {
        "single_choice": create_question(
            QuestionInput(
                "single_choice",
                cat.id,
                "挂失信用卡首先应：",
                {
                    "options": [
                        {"key": "1", "html": "直接办理"},
                        {"key": "2", "html": "核实身份"},
                        {"key": "3", "html": "转接主管"},
                    ],
                    "correct": ["2"],
                },
                explanation=SECRETS[0],
            ),
            None,
            "published",
        ),
        "multiple_choice": create_question(
            QuestionInput(
                "multiple_choice",
                cat.id,
                "敏感信息包括：",
                {
                    "options": [
                        {"key": "1", "html": "密码"},
                        {"key": "2", "html": "CVV2"},
                        {"key": "3", "html": "网点地址"},
                    ],
                    "correct": ["1", "2"],
                },
                explanation=SECRETS[1],
            ),
            None,
            "published",
        ),
        "true_false": create_question(
            QuestionInput(
                "true_false",
                cat.id,
                "可以索要客户密码。",
                {"correct": False},
                explanation=SECRETS[2],
            ),
            None,
            "published",
        ),
        "fill_blank": create_question(
            QuestionInput(
                "fill_blank",
                cat.id,
                "挂失后____小时内损失由银行承担。",
                {"blanks": [["48", SECRETS[3]]]},
            ),
            None,
            "published",
        ),
        "short_answer": create_question(
            QuestionInput(
                "short_answer",
                cat.id,
                "简述首问负责制。",
                {"reference": f"<p>{SECRETS[4]}</p>", "rubric": f"<p>{SECRETS[5]}</p>"},
            ),
            None,
            "published",
        ),
    }
    db.session.commit()
    return qs


@pytest.fixture
def paper(bank):
    """Return a paper with one section per type, each with its question fixed."""
    paper = Paper(title="月度业务知识考试", time_limit_minutes=30, pass_mark=Decimal(6))
    points = {
        "single_choice": 2,
        "multiple_choice": 2,
        "true_false": 1,
        "fill_blank": 2,
        "short_answer": 5,
    }
    for n, (qtype, q) in enumerate(bank.items(), start=1):
        section = PaperSection(position=n, qtype=qtype, points_per_question=Decimal(points[qtype]))
        section.items.append(SectionQuestion(question_id=q.id, position=1))
        paper.sections.append(section)
    db.session.add(paper)
    db.session.commit()
    return paper


@pytest.fixture
def agent(make_user):
    """Return an agent candidate."""
    return make_user(Role.AGENT, username="a1", full_name="张三")


@pytest.fixture
def other_agent(make_user):
    """Return a second agent candidate."""
    return make_user(Role.AGENT, username="a2", full_name="李四")


@pytest.fixture
def sitting(paper, agent, other_agent):
    """Return an open sitting with both agents as candidates."""
    now = utcnow()
    sitting = Sitting(
        title="十一月月度考试",
        kind=SittingKind.MONTHLY,
        paper=paper,
        opens_at=now - timedelta(hours=1),
        closes_at=now + timedelta(hours=3),
    )
    sitting.candidates = [Candidate(user_id=agent.id), Candidate(user_id=other_agent.id)]
    db.session.add(sitting)
    db.session.commit()
    return sitting


@pytest.fixture
def agent_client(client, agent, login):
    """Return a client signed in as the first agent."""
    login(client, "a1")
    return client
