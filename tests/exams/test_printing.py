"""Printed papers and answer keys: headings, header, no key on the paper, PDFs for trainers.

WeasyPrint takes about a second a document, so only one test renders PDFs (two of them);
the rest check the HTML the PDFs are made from, and the pure helpers.
"""

import io
import shutil
import subprocess
from decimal import Decimal

import pytest
from flask import g
from flask_babel import force_locale, gettext
from markupsafe import escape
from PIL import Image as PILImage

from exams import printing
from exams.models import DrawRule, Paper, PaperSection, SectionQuestion
from lms.accounts.models import Role
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank import categories, images
from question_bank.services import QuestionInput, create_question
from tests.helpers import text

EXPLANATION = "核实身份是办理挂失的前提解析"
REFERENCE = "首问负责参考答案甲"
RUBRIC = "评分要点乙每步一分"
BLANK_ANSWER = "四十八小时"


@pytest.fixture
def trainer(make_user):
    """Return a trainer."""
    return make_user(Role.TRAINER, username="teacher", full_name="王老师")


@pytest.fixture
def trainer_client(client, trainer, login):
    """Return a client signed in as a trainer."""
    login(client, "teacher")
    return client


@pytest.fixture
def agent_client(client, make_user, login):
    """Return a client signed in as an agent."""
    make_user(Role.AGENT, username="a1")
    login(client, "a1")
    return client


@pytest.fixture
def bank_image(app):
    """Return a small PNG stored in the bank."""
    buf = io.BytesIO()
    PILImage.new("RGB", (40, 20), (30, 90, 200)).save(buf, "PNG")
    image = images.store(buf.getvalue())
    db.session.commit()
    return image


def _question(trainer, category, qtype, stem, body, explanation=""):
    return create_question(
        QuestionInput(qtype, category.id, stem, body, explanation=explanation),
        trainer,
        "published",
    )


@pytest.fixture
def printable(app, trainer, bank_image):
    """Return a paper: two single-choice questions, one of each other type (all fixed)."""
    cat = categories.ensure_path(["业务知识", "信用卡"])
    choice = {
        "options": [
            {"key": "1", "html": "直接办理"},
            {"key": "2", "html": "核实身份"},
            {"key": "3", "html": "转接主管"},
        ],
        "correct": ["2"],
    }
    questions = {
        "single_choice": [
            _question(trainer, cat, "single_choice", "挂失信用卡首先应：", choice, EXPLANATION),
            _question(
                trainer,
                cat,
                "single_choice",
                f'<p>图中应先看：</p><p><img src="/qb/images/{bank_image.id}" alt="弹屏"></p>',
                {**choice, "correct": ["3"]},
            ),
        ],
        "multiple_choice": [
            _question(
                trainer,
                cat,
                "multiple_choice",
                "敏感信息包括：",
                {
                    "options": [
                        {"key": "1", "html": "密码"},
                        {"key": "2", "html": "CVV2"},
                        {"key": "3", "html": "网点地址"},
                    ],
                    "correct": ["1", "2"],
                },
            )
        ],
        "true_false": [
            _question(trainer, cat, "true_false", "可以索要客户密码。", {"correct": False})
        ],
        "fill_blank": [
            _question(
                trainer,
                cat,
                "fill_blank",
                "挂失后____内损失由银行承担。",
                {"blanks": [[BLANK_ANSWER, "48小时"]]},
            )
        ],
        "short_answer": [
            _question(
                trainer,
                cat,
                "short_answer",
                "简述首问负责制。",
                {"reference": f"<p>{REFERENCE}</p>", "rubric": f"<p>{RUBRIC}</p>"},
            )
        ],
    }
    paper = Paper(title="月度业务知识考试", time_limit_minutes=45, pass_mark=Decimal(6))
    for position, (qtype, qs) in enumerate(questions.items(), start=1):
        section = PaperSection(position=position, qtype=qtype, points_per_question=Decimal(1))
        section.items = [SectionQuestion(question_id=q.id, position=n) for n, q in enumerate(qs)]
        paper.sections.append(section)
    db.session.add(paper)
    db.session.commit()
    return paper


@pytest.mark.parametrize(
    ("number", "qtype", "count", "points", "heading"),
    [
        (
            1,
            "single_choice",
            20,
            Decimal("1.00"),
            "一、单项选择题（本题共20小题，每小题1分，共20分）",
        ),
        (
            2,
            "multiple_choice",
            10,
            Decimal("2"),
            "二、多项选择题（本题共10小题，每小题2分，共20分）",
        ),
        (3, "true_false", 10, Decimal("0.50"), "三、判断题（本题共10小题，每小题0.5分，共5分）"),
        (4, "fill_blank", 5, Decimal("1.5"), "四、填空题（本题共5小题，每小题1.5分，共7.5分）"),
        (5, "short_answer", 2, Decimal("10"), "五、简答题（本题共2小题，每小题10分，共20分）"),
    ],
)
def test_section_heading_reads_as_on_the_bank_papers(app, number, qtype, count, points, heading):
    assert printing.section_heading(number, qtype, count, points) == heading


@pytest.mark.parametrize(
    ("texts", "columns"),
    [
        (["密码", "CVV2", "短信验证码", "网点地址"], 4),
        (["客户的风险提示标识", "客户的积分余额"], 2),
        (["客户的历史投诉记录，需要在通话开始前完整阅读一遍再接听", "生日"], 1),
        (['<img src="/qb/images/1">', "B"], 1),
    ],
)
def test_option_columns_by_the_widest_option(texts, columns):
    assert printing.option_columns([{"html": t} for t in texts]) == columns


@pytest.mark.parametrize(
    ("url", "image_id"),
    [
        ("https://print.invalid/qb/images/7", 7),
        ("file:///etc/passwd", None),
        ("file:///qb/images/7", None),
        ("http://print.invalid/qb/images/7", None),
        ("https://example.com/qb/images/7", None),
        ("https://print.invalid.example.com/qb/images/7", None),
        ("https://print.invalid/qb/images/7?size=1", None),
        ("https://print.invalid/qb/images/../../etc/passwd", None),
        ("https://print.invalid/qb/images/0", None),
        ("https://print.invalid/static/css/app.css", None),
        ("data:image/png;base64,iVBORw0KGgo=", None),
    ],
)
def test_bank_image_id_accepts_only_our_images(url, image_id):
    assert printing.bank_image_id(url) == image_id


def test_fetcher_serves_bank_images_and_refuses_the_rest(bank_image):
    fetcher = printing.image_fetcher()
    response = fetcher.fetch(f"https://print.invalid/qb/images/{bank_image.id}")
    assert response.read() == bank_image.data
    assert response.content_type == "image/png"
    for url in ("file:///etc/passwd", "https://print.invalid/qb/images/999", "http://10.0.0.1/"):
        with pytest.raises(ValueError, match="not fetched"):
            fetcher.fetch(url)


def test_paper_html_has_headings_header_and_no_key(printable):
    html = printing.paper_html(printable, with_key=False)
    assert "一、单项选择题（本题共2小题，每小题1分，共2分）" in html
    assert "五、简答题（本题共1小题，每小题1分，共1分）" in html
    for label in ("考生姓名：", "答题日期：", "得分：", "判卷人："):
        assert label in html
    assert "<h1>月度业务知识考试</h1>" in html
    # The options are printed, lettered, but nothing says which one is right.
    assert "核实身份" in html and '<span class="letter">B.</span>' in html
    for secret in (EXPLANATION, REFERENCE, RUBRIC, BLANK_ANSWER, "参考答案", "key-block"):
        assert secret not in html
    assert 'class="key"' not in html
    assert '<span class="gap"></span>' in html
    assert 'class="answer-lines"' in html
    assert "drawn-note" not in html


def test_key_html_has_keys_explanations_and_reference_answers(printable):
    html = printing.paper_html(printable, with_key=True)
    assert "<h1>月度业务知识考试（参考答案）</h1>" in html
    assert "考生姓名" not in html
    assert '<span class="key">B</span>' in html  # 核实身份 is the second option
    assert '<span class="key">AB</span>' in html
    assert EXPLANATION in html
    assert REFERENCE in html and RUBRIC in html
    assert f'<span class="gap filled">{BLANK_ANSWER} / 48小时</span>' in html
    assert 'class="answer-lines"' not in html


def test_drawn_section_prints_one_sample_and_says_so(printable, trainer):
    cat = categories.ensure_path(["服务规范"])
    for n in range(5):
        _question(trainer, cat, "true_false", f"服务规范判断题第{n}号。", {"correct": True})
    section = PaperSection(position=6, qtype="true_false", points_per_question=Decimal("0.5"))
    section.rules = [DrawRule(category_id=cat.id, count=3)]
    printable.sections.append(section)
    db.session.commit()

    html = printing.paper_html(printable, with_key=False, seed=1)
    assert "六、判断题（本题共3小题，每小题0.5分，共1.5分）" in html
    assert html.count('class="drawn-note"') == 1
    assert html.count("服务规范判断题第") == 3
    assert printing.paper_html(printable, with_key=False, seed=1) == html
    assert printing.paper_html(printable, with_key=False) == printing.paper_html(
        printable, with_key=False, seed=printable.id
    )


def test_paper_without_questions_cannot_be_printed(app):
    paper = Paper(title="空试卷")
    db.session.add(paper)
    db.session.commit()
    with pytest.raises(ValidationFailed):
        printing.paper_context(paper, with_key=False)


@pytest.mark.parametrize("kind", ["print", "key"])
def test_pdf_of_an_empty_paper_goes_back_to_the_paper(trainer_client, kind):
    paper = Paper(title="空试卷")
    db.session.add(paper)
    db.session.commit()
    resp = trainer_client.get(f"/exams/papers/{paper.id}/{kind}.pdf")
    assert resp.status_code == 302
    assert resp.location.endswith(f"/exams/papers/{paper.id}")
    g.test_locale = True  # Flask-Babel ignores an empty g
    with force_locale("zh_CN"):  # the trainer's language: the default
        message = gettext("The paper has no questions yet: add some before printing it.")
    page = text(trainer_client.get(resp.location))
    assert 'class="flash flash-error"' in page and str(escape(message)) in page


def test_pdf_of_a_paper_whose_draw_falls_short_goes_back_to_the_paper(trainer_client, printable):
    cat = categories.ensure_path(["应急处置"])
    section = PaperSection(position=6, qtype="true_false", points_per_question=Decimal(1))
    section.rules = [DrawRule(category_id=cat.id, count=3)]
    printable.sections.append(section)
    db.session.commit()
    resp = trainer_client.get(f"/exams/papers/{printable.id}/print.pdf")
    assert resp.status_code == 302
    assert resp.location.endswith(f"/exams/papers/{printable.id}")


@pytest.mark.parametrize("kind", ["print", "key"])
def test_agents_may_not_print_papers(agent_client, printable, kind):
    assert agent_client.get(f"/exams/papers/{printable.id}/{kind}.pdf").status_code == 403


def test_unknown_paper_is_not_found(trainer_client):
    assert trainer_client.get("/exams/papers/999/print.pdf").status_code == 404


def _pdf_text(data: bytes, tmp_path, name: str) -> str | None:
    """Return the PDF's text through pdftotext, or None when poppler is not installed."""
    if shutil.which("pdftotext") is None:
        return None
    path = tmp_path / name
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout


def test_trainer_gets_the_paper_and_its_key_as_pdf(trainer_client, printable, tmp_path):
    paper = trainer_client.get(f"/exams/papers/{printable.id}/print.pdf")
    key = trainer_client.get(f"/exams/papers/{printable.id}/key.pdf")

    n = printable.id
    for resp, filename in ((paper, f"paper-{n}.pdf"), (key, f"paper-{n}-key.pdf")):
        assert resp.status_code == 200
        assert resp.mimetype == "application/pdf"
        assert resp.data.startswith(b"%PDF")
        assert resp.headers["Content-Disposition"] == f'inline; filename="{filename}"'

    paper_text = _pdf_text(paper.data, tmp_path, "paper.pdf")
    key_text = _pdf_text(key.data, tmp_path, "key.pdf")
    if paper_text is None or key_text is None:
        pytest.skip("pdftotext (poppler-utils) is not installed: checked the PDFs' headers only")
    flat = "".join(paper_text.split())
    assert "一、单项选择题（本题共2小题，每小题1分，共2分）" in flat
    assert "考生姓名" in flat and "判卷人" in flat
    assert "第1页共1页" in flat or "第1页共2页" in flat
    assert EXPLANATION not in flat
    key_flat = "".join(key_text.split())
    assert "（参考答案）" in key_flat and EXPLANATION in key_flat and REFERENCE in key_flat
    if shutil.which("pdfimages"):
        listing = subprocess.run(
            ["pdfimages", "-list", str(tmp_path / "paper.pdf")],
            capture_output=True,
            check=True,
            text=True,
        ).stdout
        assert len(listing.strip().splitlines()) == 3  # two header lines and our one image


@pytest.mark.parametrize(
    ("stem", "printed"),
    [
        ("<p>挂失应先（ ）。</p>", '<p>挂失应先<span class="bracket">（X）</span>。</p>'),
        ("<p>挂失应先（　　）。</p>", '<p>挂失应先<span class="bracket">（X）</span>。</p>'),
        ("<p>挂失应先（）。</p>", '<p>挂失应先<span class="bracket">（X）</span>。</p>'),
        ("<p>挂失应先(&nbsp;)。</p>", '<p>挂失应先<span class="bracket">（X）</span>。</p>'),
        ("<p>挂失应先：</p>", '<p>挂失应先：<span class="bracket">（X）</span></p>'),
        ("<p>（注）挂失应先（ ）</p>", '<p>（注）挂失应先<span class="bracket">（X）</span></p>'),
        ("<p>调用f()时</p>", '<p>调用f()时<span class="bracket">（X）</span></p>'),
    ],
)
def test_answer_bracket_goes_in_the_stems_own_bracket(stem, printed):
    from question_bank.qtypes.layout import with_answer_bracket

    assert with_answer_bracket(stem, "X") == printed


def test_printed_paper_has_one_answer_bracket_per_choice_question(app, trainer):
    cat = categories.ensure_path(["业务知识"])
    body = {
        "options": [{"key": "1", "html": "直接办理"}, {"key": "2", "html": "核实身份"}],
        "correct": ["2"],
    }
    q = _question(trainer, cat, "single_choice", "<p>挂失信用卡首先应（ ）。</p>", body)
    tf = _question(trainer, cat, "true_false", "<p>可以索要密码。（　　）</p>", {"correct": False})
    paper = Paper(title="括号", time_limit_minutes=10, pass_mark=Decimal(1))
    for n, (qtype, question) in enumerate((("single_choice", q), ("true_false", tf)), start=1):
        section = PaperSection(position=n, qtype=qtype, points_per_question=Decimal(1))
        section.items = [SectionQuestion(question_id=question.id, position=1)]
        paper.sections.append(section)
    db.session.add(paper)
    db.session.commit()
    html = printing.paper_html(paper, with_key=False)
    assert html.count('class="bracket"') == 2 and "（ ）" not in html and "（　　）" not in html
    assert '挂失信用卡首先应<span class="bracket">（&emsp;&emsp;）</span>。' in html
    key = printing.paper_html(paper, with_key=True)
    assert '挂失信用卡首先应<span class="bracket">（&nbsp;B&nbsp;）</span>。' in key
    assert key.count('class="bracket"') == 2
