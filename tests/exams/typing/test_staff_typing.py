"""Trainers' typing pages: the passage library, the typing tests' rules, held results,
sittings with a typing component, and the demo's typing data."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from exams.models import Candidate, Outcome, Sitting
from exams.typing import audio, engine
from exams.typing.models import (
    Passage,
    PassageKind,
    PassagePurpose,
    TypingAttempt,
    TypingReview,
    TypingTest,
)
from lms.accounts.models import Role
from lms.audit.models import AuditEvent
from lms.extensions import db
from tests.exams.typing.conftest import SCRIPT
from tests.helpers import text as body

#: The start of an Ogg file: what audio.sniff recognises as a recording.
OGG = b"OggS" + b"\x00" * 60
PASSAGE = {"title": "挂失话术", "kind": "text", "purpose": "exam", "text": SCRIPT * 4}
RULES = {
    "title": "季度打字测试",
    "kind": "text",
    "duration_minutes": "10",
    "pass_speed": "60",
    "min_accuracy": "95",
    "error_penalty": "0",
    "speed_ceiling": "250",
}


@pytest.fixture
def trainer(app, make_user, login):
    """Return a client signed in as a trainer."""
    make_user(Role.TRAINER, username="t1", full_name="王老师")
    c = app.test_client()
    login(c, "t1")
    return c


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def held_attempt(sitting, user) -> TypingAttempt:
    """Return a finished attempt held for review: the whole text arrived in one burst."""
    cand = db.session.scalar(
        select(Candidate).where(Candidate.sitting_id == sitting.id, Candidate.user_id == user.id)
    )
    attempt = engine.start(sitting, user, cand)
    engine.deliver(attempt)
    t0 = attempt.started_at
    engine.record(attempt, 1, (SCRIPT * 20)[:700], 5000, {"keys": 9}, now=t0 + timedelta(seconds=5))
    engine.finish(attempt, now=t0 + timedelta(minutes=10))
    db.session.commit()
    assert attempt.review == TypingReview.HELD
    return attempt


# --- access ----------------------------------------------------------------------------------


def test_staff_typing_pages_refuse_agents_and_hr(
    app, make_user, login, passages, typing_test, agent_client
):
    make_user(Role.HR, username="hr1")
    hr = app.test_client()
    login(hr, "hr1")
    p = passages[0]
    urls = [
        "/exams/typing/passages",
        "/exams/typing/passages/new",
        f"/exams/typing/passages/{p.id}",
        f"/exams/typing/passages/{p.id}/audio",
        "/exams/typing/tests",
        "/exams/typing/tests/new",
        f"/exams/typing/tests/{typing_test.id}",
        "/exams/typing/reviews",
        "/exams/typing/reviews/1",
    ]
    for c in (agent_client, hr):
        for url in urls:
            assert c.get(url).status_code == 403, url
        assert c.submit(f"/exams/typing/passages/{p.id}/archive").status_code == 403
        assert c.submit("/exams/typing/passages/new", PASSAGE).status_code == 403
    db.session.refresh(p)
    assert p.active and count(Passage) == len(passages)


# --- passages --------------------------------------------------------------------------------


def test_passage_library_lists_length_mix_and_filters(trainer, passages):
    p = passages[0]
    p.text = "您好，欢迎致电95533！"  # 6 Chinese, 2 marks, 5 digits
    db.session.commit()
    page = body(trainer.get("/exams/typing/passages"))
    assert "看打" in page and "考试文章1" in page and "练习文章1" in page
    row = page.split(f'data-passage="{p.id}"')[1].split("</tr>")[0]
    assert "<td>13</td><td>6</td><td>2</td><td>5</td>" in row
    only_practice = body(trainer.get("/exams/typing/passages?purpose=practice"))
    assert "练习文章1" in only_practice and "考试文章1" not in only_practice
    assert "考试文章1" not in body(trainer.get("/exams/typing/passages?kind=listen"))


def test_passage_created_stripped_and_audited(trainer):
    resp = trainer.submit("/exams/typing/passages/new", PASSAGE | {"text": "  \n" + SCRIPT + " \n"})
    assert resp.status_code == 302
    p = db.session.scalar(select(Passage))
    assert p.text == SCRIPT and p.kind == PassageKind.TEXT and p.purpose == PassagePurpose.EXAM
    actions = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.target_type == "ex_typing_passages")
    )
    assert list(actions) == ["passage.create"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"text": "   "}, "请输入要录入的文字"),
        ({"text": "字" * 5001}, "最多 5000 个字符"),
        # Too short to test typing: one character was saved and drawn (user walkthrough).
        ({"text": "好"}, "至少要有 50 个字（现有 1 个）"),
        ({"text": "您好，" * 16 + "请"}, "至少要有 50 个字（现有 49 个）"),
        (
            {"kind": "listen", "max_plays": "2", "text": "您好，挂失。"},
            "至少要有 10 个字（现有 6 个）",
        ),
        ({"title": ""}, "请输入标题"),
        ({"kind": "video"}, "请从选项中选择"),
        ({"purpose": "secret"}, "请从选项中选择"),
        ({"kind": "listen", "max_plays": "3"}, "需要上传录音"),
        ({"kind": "listen", "max_plays": "11"}, "1 到 10 次"),
        # An exponent past what a Decimal can normalise (decimal.Overflow, once a 500).
        ({"kind": "listen", "max_plays": "1e1000000"}, "1 到 10 次"),
    ],
)
def test_bad_passage_is_refused_with_a_chinese_message(trainer, change, message):
    resp = trainer.submit("/exams/typing/passages/new", PASSAGE | change)
    assert resp.status_code == 422
    assert message in body(resp)
    assert count(Passage) == 0


def test_text_with_nul_or_lone_surrogates_is_refused(trainer, app):
    # A NUL never reaches the form: the app refuses it for every request (lms.web).
    resp = trainer.submit("/exams/typing/passages/new", PASSAGE | {"text": "您好\x00谢谢"})
    assert resp.status_code == 400 and count(Passage) == 0
    # A lone surrogate cannot arrive as UTF-8 either; the form still refuses one.
    from werkzeug.datastructures import MultiDict

    from exams.typing.forms import PassageForm

    with app.test_request_context(method="POST"):
        form = PassageForm(MultiDict(PASSAGE | {"text": "您好\ud800谢谢"}), meta={"csrf": False})
        assert not form.validate()
        assert "无法录入的字符" in form.text.errors[0]


def test_listen_item_needs_a_real_recording(trainer, app, monkeypatch):
    form = PASSAGE | {"kind": "listen", "max_plays": "3"}
    not_audio = form | {"audio": (io.BytesIO(b"<html>not audio</html>"), "a.ogg")}
    resp = trainer.submit(
        "/exams/typing/passages/new", not_audio, content_type="multipart/form-data"
    )
    assert resp.status_code == 422 and "不是可以播放的录音" in body(resp)
    # The limit is 10 MB; a small one here spares the test a 10 MB upload.
    monkeypatch.setattr("exams.typing.staff_views.MAX_AUDIO_BYTES", 1000)
    big = form | {"audio": (io.BytesIO(OGG + b"\x00" * 1000), "a.ogg")}
    resp = trainer.submit("/exams/typing/passages/new", big, content_type="multipart/form-data")
    assert resp.status_code == 422 and "最大 10 MB" in body(resp)
    assert count(Passage) == 0
    monkeypatch.undo() and list(audio.folder().iterdir()) == []

    good = form | {"audio": (io.BytesIO(OGG), "客户.ogg")}
    resp = trainer.submit("/exams/typing/passages/new", good, content_type="multipart/form-data")
    assert resp.status_code == 302
    p = db.session.scalar(select(Passage))
    assert p.kind == PassageKind.LISTEN and p.max_plays == 3 and p.audio_mime == "audio/ogg"
    with trainer.get(f"/exams/typing/passages/{p.id}/audio") as played:
        assert played.status_code == 200 and played.data == OGG
    assert "audio" in body(trainer.get(f"/exams/typing/passages/{p.id}"))


def test_unused_passage_is_edited_in_place(trainer, passages):
    p = passages[0]
    resp = trainer.submit(f"/exams/typing/passages/{p.id}", PASSAGE | {"text": "新的文字。" * 20})
    assert resp.status_code == 302
    db.session.refresh(p)
    assert p.text == "新的文字。" * 20 and p.title == "挂失话术" and count(Passage) == len(passages)


def test_used_passage_text_edit_makes_a_new_passage(trainer, make_typing_sitting, agent, passages):
    sitting = make_typing_sitting([agent])
    attempt = held_attempt(sitting, agent)
    used = attempt.passage
    old_text, target = used.text, attempt.target
    form = PASSAGE | {"purpose": used.purpose.value, "text": "改过的文字。" * 20}
    resp = trainer.submit(f"/exams/typing/passages/{used.id}", form)
    assert resp.status_code == 302
    db.session.refresh(used)
    assert used.text == old_text and not used.active
    successor = db.session.scalar(select(Passage).order_by(Passage.id.desc()))
    assert successor.id != used.id and successor.text == "改过的文字。" * 20 and successor.active
    assert resp.location.endswith(f"/exams/typing/passages/{successor.id}")
    db.session.refresh(attempt)
    assert attempt.passage_id == used.id and attempt.target == target
    # A title-only change of a used passage is made in place.
    form = {"title": "新标题", "kind": "text", "purpose": "exam", "text": old_text}
    assert trainer.submit(f"/exams/typing/passages/{used.id}", form).status_code == 302
    db.session.refresh(used)
    assert used.title == "新标题" and used.text == old_text


def test_archive_and_restore(trainer, passages):
    p = passages[0]
    assert trainer.submit(f"/exams/typing/passages/{p.id}/archive").status_code == 302
    db.session.refresh(p)
    assert not p.active
    assert "考试文章1" not in body(trainer.get("/exams/typing/passages"))
    assert "考试文章1" in body(trainer.get("/exams/typing/passages?state=archived"))
    trainer.submit(f"/exams/typing/passages/{p.id}/restore")
    db.session.refresh(p)
    assert p.active


# --- typing tests ----------------------------------------------------------------------------


def test_new_typing_test_form_shows_the_defaults_and_saves(trainer):
    page = body(trainer.get("/exams/typing/tests/new"))
    for default in ('value="10"', 'value="60"', 'value="95"', 'value="250"'):
        assert default in page
    resp = trainer.submit("/exams/typing/tests/new", RULES | {"error_penalty": "0.5"})
    assert resp.status_code == 302
    test = db.session.scalar(select(TypingTest))
    assert test.duration_minutes == 10 and test.pass_speed == 60 and test.speed_ceiling == 250
    assert test.min_accuracy == Decimal(95) and test.error_penalty == Decimal("0.5")
    assert not test.whole_passage


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"title": " "}, "请输入标题"),
        ({"duration_minutes": "2"}, "3 到 30"),
        ({"duration_minutes": "31"}, "3 到 30"),
        ({"duration_minutes": "ten"}, "3 到 30"),
        ({"pass_speed": "0"}, "1 到 500"),
        ({"pass_speed": "501"}, "1 到 500"),
        ({"min_accuracy": "101"}, "1 到 100"),
        ({"min_accuracy": "95.555"}, "1 到 100"),
        ({"error_penalty": "-1"}, "0 到 10"),
        ({"error_penalty": "NaN"}, "0 到 10"),
        # Exponents past what a Decimal can normalise (decimal.Overflow, once a 500).
        ({"duration_minutes": "1e1000000"}, "3 到 30"),
        ({"pass_speed": "-1e1000000"}, "1 到 500"),
        ({"min_accuracy": "1e-1000000"}, "1 到 100"),
        ({"error_penalty": "1e-1000000"}, "0 到 10"),
        ({"speed_ceiling": "1E+999999"}, "不超过 1000"),
        ({"speed_ceiling": "1001"}, "不超过 1000"),
        ({"speed_ceiling": "60"}, "必须高于及格速度"),
        ({"kind": "video"}, "请从选项中选择"),
    ],
)
def test_bad_typing_rules_are_refused_and_nothing_saved(trainer, typing_test, change, message):
    resp = trainer.submit("/exams/typing/tests/new", RULES | change)
    assert resp.status_code == 422 and message in body(resp)
    resp = trainer.submit(f"/exams/typing/tests/{typing_test.id}", RULES | change)
    assert resp.status_code == 422 and message in body(resp)
    assert count(TypingTest) == 1
    db.session.refresh(typing_test)
    assert typing_test.title == "月度打字测试" and typing_test.pass_speed == 60


def test_a_test_in_use_shows_its_rules_disabled_and_saves_a_new_title_alone(
    trainer, make_typing_sitting, agent
):
    """As a browser posts it: the disabled rule fields are not sent at all."""
    sitting = make_typing_sitting([agent])
    held_attempt(sitting, agent)
    test = sitting.typing_test
    page = body(trainer.get(f"/exams/typing/tests/{test.id}"))
    for name in ("kind", "duration_minutes", "pass_speed", "min_accuracy", "speed_ceiling"):
        assert re.search(rf'<(input|select)[^>]*\bdisabled\b[^>]*name="{name}"', page) or re.search(
            rf'<(input|select)[^>]*name="{name}"[^>]*\bdisabled\b', page
        ), name
    resp = trainer.submit(f"/exams/typing/tests/{test.id}", {"title": "十二月打字测试"})
    assert resp.status_code == 302
    db.session.refresh(test)
    assert test.title == "十二月打字测试" and test.pass_speed == 60 and test.duration_minutes == 10


def test_rules_of_a_test_already_taken_cannot_change(trainer, make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    held_attempt(sitting, agent)
    test = sitting.typing_test
    resp = trainer.submit(f"/exams/typing/tests/{test.id}", RULES | {"pass_speed": "40"})
    assert resp.status_code == 422 and "规则不能再修改" in body(resp)
    db.session.refresh(test)
    assert test.pass_speed == 60
    assert trainer.submit(f"/exams/typing/tests/{test.id}", RULES).status_code == 302
    db.session.refresh(test)
    assert test.title == "季度打字测试"


# --- sittings --------------------------------------------------------------------------------


def _sitting_form(**kw):
    return {
        "title": "技能考试",
        "kind": "monthly",
        "opens_at": "2030-12-01T09:00",
        "closes_at": "2030-12-01T18:00",
        "attempts_allowed": "1",
        "result_rule": "highest",
        "usernames": "a1",
    } | kw


def test_sitting_needs_a_paper_or_a_typing_test(trainer, agent, typing_test):
    resp = trainer.submit("/exams/sittings/new", _sitting_form())
    assert resp.status_code == 422 and "至少需要一项" in body(resp)
    resp = trainer.submit("/exams/sittings/new", _sitting_form(typing_test_id="999"))
    assert resp.status_code == 422 and "请选择打字测试" in body(resp)
    assert count(Sitting) == 0
    assert typing_test.title in body(trainer.get("/exams/sittings/new"))
    resp = trainer.submit("/exams/sittings/new", _sitting_form(typing_test_id=str(typing_test.id)))
    assert resp.status_code == 302
    sitting = db.session.scalar(select(Sitting))
    assert sitting.paper_id is None and sitting.typing_test_id == typing_test.id


def test_every_staff_page_of_a_typing_only_sitting_opens(trainer, make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    held_attempt(sitting, agent)
    for url in [
        "/exams/sittings",
        f"/exams/sittings/{sitting.id}",
        f"/exams/sittings/{sitting.id}/monitor.json",
        f"/exams/sittings/{sitting.id}/results",
        f"/exams/sittings/{sitting.id}/results.xlsx",
        f"/exams/sittings/{sitting.id}/regrade",
        "/exams/grading",
        "/exams/typing/reviews",
    ]:
        assert trainer.get(url).status_code == 200, url
    assert "月度打字测试" in body(trainer.get(f"/exams/sittings/{sitting.id}"))


# --- held results ----------------------------------------------------------------------------


def test_held_results_are_listed_with_reasons_in_chinese(trainer, make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    attempt = held_attempt(sitting, agent)
    page = body(trainer.get("/exams/typing/reviews"))
    assert f'data-attempt="{attempt.id}"' in page and "张三" in page and sitting.title in page
    assert "burst_without_composition" not in page and "输入法" in page
    detail = body(trainer.get(f"/exams/typing/reviews/{attempt.id}"))
    assert "按键次数" in detail and "<td>9</td>" in detail  # the evidence counters
    assert "<td>5.0</td><td>700</td>" in detail  # the timeline: seconds, characters


def test_review_needs_a_comment_and_changes_nothing_without(trainer, make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    attempt = held_attempt(sitting, agent)
    resp = trainer.submit(
        f"/exams/typing/reviews/{attempt.id}", {"decision": "void", "comment": "  "}
    )
    assert resp.status_code == 422 and "请说明理由" in body(resp)
    resp = trainer.submit(f"/exams/typing/reviews/{attempt.id}", {"decision": "x", "comment": "好"})
    assert resp.status_code == 422
    db.session.refresh(attempt)
    assert attempt.review == TypingReview.HELD


def test_review_decision_updates_the_candidates_result(trainer, make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    attempt = held_attempt(sitting, agent)
    cand = db.session.scalar(select(Candidate).where(Candidate.sitting_id == sitting.id))
    assert cand.typing_outcome == Outcome.PENDING
    resp = trainer.submit(
        f"/exams/typing/reviews/{attempt.id}", {"decision": "confirm", "comment": "现场监考确认"}
    )
    assert resp.status_code == 302
    db.session.refresh(attempt)
    db.session.refresh(cand)
    assert attempt.review == TypingReview.CONFIRMED and attempt.review_comment == "现场监考确认"
    assert cand.typing_outcome == (Outcome.PASSED if attempt.passed else Outcome.FAILED)
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "typing.review")) == 1
    # Decided once: a second decision is refused.
    again = trainer.submit(
        f"/exams/typing/reviews/{attempt.id}", {"decision": "void", "comment": "改判"}
    )
    assert again.status_code == 409
    db.session.refresh(attempt)
    assert attempt.review == TypingReview.CONFIRMED
    page = body(trainer.get(f"/exams/typing/reviews/{attempt.id}"))
    assert "王老师 认定成绩有效：现场监考确认" in page


def test_the_review_page_of_a_result_never_held_says_so(trainer, make_typing_sitting, agent):
    """Reached from the results table: no empty "why it is held", no "decided" by nobody."""
    sitting = make_typing_sitting([agent])
    cand = db.session.scalar(select(Candidate).where(Candidate.sitting_id == sitting.id))
    attempt = engine.start(sitting, agent, cand)
    engine.deliver(attempt)
    engine.finish(attempt, now=attempt.started_at + timedelta(seconds=30))
    db.session.commit()
    assert attempt.review == TypingReview.NONE
    page = body(trainer.get(f"/exams/typing/reviews/{attempt.id}"))
    assert "系统自动评定：作答中没有看起来不可能的地方" in page
    assert (
        "暂缓认定的原因" not in page
        and "认定成绩有效" not in page
        and "<form" not in page.split('id="review-decision"')[1]
    )


def test_voiding_lets_the_candidate_sit_again(trainer, make_typing_sitting, agent):
    sitting = make_typing_sitting([agent])
    attempt = held_attempt(sitting, agent)
    trainer.submit(f"/exams/typing/reviews/{attempt.id}", {"decision": "void", "comment": "粘贴"})
    cand = db.session.scalar(select(Candidate).where(Candidate.sitting_id == sitting.id))
    assert cand.typing_outcome == Outcome.NONE
    assert "没有等待复核" in body(trainer.get("/exams/typing/reviews"))


# --- demo ------------------------------------------------------------------------------------


def test_seed_demo_adds_typing_data_once(runner, app):
    first = runner.invoke(args=["seed-demo", "--agents", "6"])
    assert first.exit_code == 0, first.output
    passages = db.session.scalar(select(func.count(Passage.id)))
    listen = list(db.session.scalars(select(Passage).where(Passage.kind == PassageKind.LISTEN)))
    assert passages >= 12 + 2 and len(listen) >= 2
    for p in listen:
        data = audio.path_of(p.audio_file).read_bytes()
        assert audio.sniff(data) == "ogg" and len(data) < 1024 * 1024
    texts = db.session.scalars(select(Passage).where(Passage.kind == PassageKind.TEXT)).all()
    assert all(300 <= len(p.text) <= 600 for p in texts)
    assert sum(p.purpose == PassagePurpose.EXAM for p in texts) >= 8
    test = db.session.scalar(select(TypingTest).where(TypingTest.title == "月度打字测试"))
    assert test.pass_speed == 60 and test.duration_minutes == 10
    both = db.session.scalars(select(Sitting).where(Sitting.typing_test_id == test.id)).all()
    assert len(both) == 1 and both[0].paper_id is not None
    files = len(list(audio.folder().iterdir()))

    again = runner.invoke(args=["seed-demo", "--agents", "6"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(select(func.count(Passage.id))) == passages
    assert db.session.scalar(select(func.count(TypingTest.id))) == 1
    assert len(list(audio.folder().iterdir())) == files


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您好，欢迎致电95533！", (13, 6, 2, 5, 0)),
        ("请问……——“转账”", (10, 4, 6, 0, 0)),
        ("ＡＢＣ ab\n12...", (8, 0, 1, 7, 0)),
        ("￥100+", (5, 0, 0, 3, 2)),
        ("   ", (0, 0, 0, 0, 0)),
    ],
)
def test_passage_mix_counts_as_the_scorer_does(text, expected):
    from exams.typing.library import passage_mix

    m = passage_mix(text)
    assert (m.total, m.chinese, m.punctuation, m.alphanumeric, m.other) == expected
