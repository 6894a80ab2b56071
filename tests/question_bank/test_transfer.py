"""Import and export in every format: round trips, malformed files, the Moodle fixtures."""

import io

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter
from sqlalchemy import delete, select

from lms.extensions import db
from question_bank import transfer
from question_bank.models import Category, Question, QuestionVersion, Tag, question_tags
from question_bank.services import QuestionInput, create_question
from tests.helpers import check_upload, count, import_upload, text, zh


@pytest.fixture
def fixtures_dir():
    """Return the folder of the real Moodle files (skips when shared/ is not beside the repo)."""
    from tests.helpers import moodle_fixtures

    return moodle_fixtures()


FORMAT_FILES = {
    "xlsx": "bank.xlsx",
    "csv": "bank.csv",
    "moodle-xml": "bank.xml",
    "gift": "bank.gift",
}


@pytest.fixture
def bank(app, trainer):
    """Create a small bank with every type, formatting, an image, tags and statuses."""
    from question_bank import categories, images
    from tests.question_bank.test_authoring import png_bytes

    img = images.store(png_bytes(), trainer)
    cards = categories.ensure_path(["业务知识", "信用卡", "挂失"])
    aml = categories.ensure_path(["风险合规", "反洗钱"])
    items = [
        (
            "single_choice",
            cards,
            "客户来电<b>挂失</b>信用卡，首先应：",
            {
                "options": [
                    {"key": "1", "html": "直接挂失"},
                    {"key": "2", "html": "核实身份"},
                    {"key": "3", "html": "询问消费"},
                ],
                "correct": ["2"],
            },
            "published",
        ),
        (
            "multiple_choice",
            aml,
            "以下哪些是可疑交易特征？<ul><li>看提示</li></ul>",
            {
                "options": [
                    {"key": "1", "html": "频繁大额现金"},
                    {"key": "2", "html": "拆分交易"},
                    {"key": "3", "html": "按时还款"},
                ],
                "correct": ["1", "2"],
            },
            "published",
        ),
        (
            "true_false",
            aml,
            f'看图判断：<img src="{images.url(img)}" alt="">',
            {"correct": False},
            "draft",
        ),
        (
            "fill_blank",
            cards,
            "挂失后____小时内，损失由____承担。",
            # The second blank: part marks and case-sensitive, which every format keeps.
            {
                "blanks": [
                    ["48", "四十八"],
                    {
                        "answers": [
                            {"text": "Bank", "fraction": 1.0},
                            {"text": "银行", "fraction": 0.5},
                        ],
                        "case_sensitive": True,
                    },
                ]
            },
            "published",
        ),
        (
            "short_answer",
            cards,
            "简述首问负责制。",
            {
                "reference": "<p>第一位接待的员工负责到底。</p>",
                "rubric": "<ul><li>要点（5分）</li></ul>",
            },
            "retired",
        ),
    ]
    for i, (qtype, cat, stem, body, status) in enumerate(items):
        create_question(
            QuestionInput(
                qtype=qtype,
                category_id=cat.id,
                stem=stem,
                body=body,
                explanation=f"解析{i}：<b>重点</b>",
                source="服务规范第十二条",
                default_points=["1", "2", "1", "2.5", "10"][i],
                difficulty=i + 1,
                tags=["挂失", f"标签{i}"],
                # Named and nameless questions: trainers find them by name.
                name="" if i == 2 else f"挂失题{i}号",
            ),
            trainer,
            status,
        )
    aml.description = "反洗钱法规与可疑交易识别"
    db.session.commit()
    return transfer.bank_data()


def wipe_bank():
    """Remove every question, category and tag (images stay)."""
    db.session.execute(delete(question_tags))
    db.session.execute(delete(Question).execution_options(synchronize_session=False))
    db.session.execute(delete(QuestionVersion))
    db.session.execute(delete(Tag))
    for cat in sorted(db.session.scalars(select(Category)), key=lambda c: -(c.id)):
        db.session.delete(cat)
        db.session.flush()
    db.session.commit()


def comparable(data):
    """Return the bank data with image file names made independent of ids."""
    out = []
    for d in data:
        d = {**d.__dict__}
        d["files"] = sorted(d["files"].values())
        out.append(d)
    return out


@pytest.mark.parametrize("fmt", list(transfer.FORMATS))
def test_export_then_import_gives_back_the_same_bank(bank, fmt, trainer):
    transfer_bank_without_files = transfer.bank_data(embed_files=False)
    exported = transfer.export_questions(fmt)
    wipe_bank()
    report = transfer.import_questions(FORMAT_FILES[fmt], exported, trainer)
    db.session.commit()
    assert report.created == 5 and report.errors == [] and report.skipped == []
    assert report.warnings == []
    embed = fmt in transfer.EMBEDS_FILES
    assert comparable(transfer.bank_data(embed_files=embed)) == comparable(
        bank if embed else transfer_bank_without_files
    )
    assert {d.name for d in transfer.bank_data()} == {
        "",
        "挂失题0号",
        "挂失题1号",
        "挂失题3号",
        "挂失题4号",
    }
    if fmt == "moodle-xml":  # the one format with a place for category descriptions
        aml = db.session.scalar(select(Category).where(Category.name == "反洗钱"))
        assert aml.description == "反洗钱法规与可疑交易识别"


@pytest.mark.parametrize(
    ("filename", "data"),
    [
        ("bank.xlsx", b"not a workbook"),
        ("bank.csv", "题型,题干,答案\n单选题,题干,Z\n".encode()),
        (
            "bank.xml",
            b"<quiz><question type='multichoice'><questiontext><text>x</text>"
            b"</questiontext></question>",
        ),
        ("bank.gift", b"::Q1:: unclosed {=a ~b\n"),
    ],
)
def test_a_malformed_file_changes_nothing(bank, trainer, filename, data):
    before = comparable(transfer.bank_data())
    with pytest.raises(transfer.ValidationFailed):
        transfer.import_questions(filename, data, trainer)
    db.session.rollback()
    assert comparable(transfer.bank_data()) == before


def test_every_bad_row_is_named(app, trainer):
    wb = Workbook()
    ws = wb.active
    ws.append(["题型", "分类", "题干", "选项A", "选项B", "答案", "分值", "难度"])
    ws.append(["单选题", "甲", "好题", "对", "错", "A", 1, 3])
    ws.append(["问答题", "甲", "未知题型", "", "", "x", 1, 3])
    ws.append(["单选题", "甲", "答案越界", "对", "错", "D", 1, 3])
    ws.append(["判断题", "甲", "", "", "", "对", 1, 3])
    ws.append(["判断题", "甲", "分值错", "", "", "对", "abc", 3])
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(transfer.ImportRefused) as info:
        transfer.import_questions("bad.xlsx", out.getvalue(), trainer)
    db.session.rollback()
    wheres = [w for w, _ in info.value.result["errors"]]
    assert len(wheres) == 4 and len(set(wheres)) == 4
    assert count(Question) == 0


def test_moodle_fixtures_import_as_their_readme_says(fixtures_dir, app, trainer):
    for name in ("questions.gift.txt", "nested_categories_with_questions.xml"):
        report = transfer.import_questions(name, (fixtures_dir / name).read_bytes(), trainer)
        db.session.commit()
        assert report.errors == []
        assert report.created > 0
    paths = {tuple(c) for c in (d.category_path for d in transfer.bank_data())}
    assert ("Iota", "Kappa", "Lambda") in paths
    assert count(Question) > 5


def test_cli_import_and_export(runner, app, bank, tmp_path):
    path = tmp_path / "bank.xlsx"
    result = runner.invoke(args=["export-questions", str(path)])
    assert result.exit_code == 0, result.output
    assert load_workbook(path).sheetnames == ["试题", "说明"]
    wipe_bank()
    result = runner.invoke(args=["import-questions", str(path)])
    assert result.exit_code == 0, result.output
    assert count(Question) == 5


def test_cli_import_of_a_bad_file_fails_and_lists_errors(runner, app, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("题型,题干,答案\n单选题,题干,Z\n判断题,x,也许\n", encoding="utf-8")
    result = runner.invoke(args=["import-questions", str(path)])
    assert result.exit_code != 0
    assert "row 2" in result.output or "第 2 行" in result.output
    assert count(Question) == 0


def test_cli_import_lists_skipped_questions(fixtures_dir, runner, app):
    result = runner.invoke(args=["import-questions", str(fixtures_dir / "questions.gift.txt")])
    assert result.exit_code == 0, result.output
    assert "跳过" in result.output


#: A single choice whose wrong option costs half the marks in Moodle.
NEGATIVE_MARKS = "::neg:: 办理前应：{=核实身份 ~%-50%直接办理}\n".encode()


def test_cli_import_lists_warnings(runner, app, tmp_path):
    path = tmp_path / "neg.gift"
    path.write_bytes(NEGATIVE_MARKS)
    result = runner.invoke(args=["import-questions", str(path)])
    assert result.exit_code == 0, result.output
    assert "注意" in result.output and "-50%" in result.output


def test_import_page_lists_warnings(trainer_client, app):
    resp = import_upload(trainer_client, "neg.gift", NEGATIVE_MARKS)
    assert resp.status_code == 200
    page = text(resp)
    assert 'id="import-warnings"' in page and "-50%" in page
    assert count(Question) == 1


def test_import_page_runs_a_job_and_reports(fixtures_dir, trainer_client, app):
    data = (fixtures_dir / "questions.gift.txt").read_bytes()
    resp = import_upload(trainer_client, "q.gift.txt", data)
    page = text(resp)
    assert resp.status_code == 200
    assert 'id="skipped"' in page
    assert count(Question) > 0


def test_import_page_refuses_unknown_files(trainer_client):
    resp = trainer_client.submit(
        "/qb/import", {"file": (io.BytesIO(b"x"), "q.pdf")}, content_type="multipart/form-data"
    )
    assert resp.status_code == 422
    assert zh("Upload an .xlsx, .csv, Moodle XML (.xml) or GIFT (.gift, .txt) file.") in text(resp)


def test_import_page_shows_every_error_of_a_bad_file(trainer_client):
    data = "题型,题干,答案\n单选题,题干,Z\n判断题,x,也许\n".encode()
    resp = check_upload(trainer_client, "q.csv", data)
    page = text(resp)
    assert 'id="import-errors"' in page and page.count("<tr><td>") >= 2
    assert count(Question) == 0


def template_columns(ws) -> dict[str, str]:
    """Return the column letter of each header of the template's first row."""
    return {c.value: c.column_letter for c in ws[1] if c.value}


def validated_columns(dv) -> set[str]:
    """Return the columns a data validation's sqref covers."""
    return {
        get_column_letter(col)
        for cells in dv.sqref.ranges
        for col in range(cells.min_col, cells.max_col + 1)
    }


def test_template_validations_sit_on_their_columns(trainer_client):
    wb = load_workbook(io.BytesIO(trainer_client.get("/qb/import/template.xlsx").data))
    assert wb.sheetnames == ["试题", "说明"]
    ws = wb["试题"]
    columns = template_columns(ws)
    found = {}
    for dv in ws.data_validations.dataValidation:
        if dv.type == "whole":
            assert (dv.operator, dv.formula1, dv.formula2) == ("between", "1", "5")
            found["难度"] = validated_columns(dv)
        elif "草稿" in dv.formula1:
            assert dv.formula1 == '"草稿,已发布,已停用"'
            found["状态"] = validated_columns(dv)
        elif "单选题" in dv.formula1:
            assert "判断题" in dv.formula1
            found["题型"] = validated_columns(dv)
    assert found == {h: {columns[h]} for h in ("难度", "状态", "题型")}


def test_template_filled_by_a_trainer_imports_only_their_rows(trainer_client):
    resp = trainer_client.get("/qb/import/template.xlsx")
    wb = load_workbook(io.BytesIO(resp.data))
    ws = wb["试题"]
    columns = template_columns(ws)
    examples = [r for r in range(2, ws.max_row + 1) if ws[f"A{r}"].value]
    assert len(examples) == 2 and all(ws[f"A{r}"].value.startswith("示例") for r in examples)
    rows = [
        {
            "题型": "单选题",
            "分类": "业务知识/转账汇款",
            "题干": "客户要求撤销已到账的跨行汇款，应当：",
            "选项A": "直接退回",
            "选项B": "说明已到账汇款无法撤销，指引联系收款人",
            "答案": "B",
            "难度": 4,
            "状态": "已发布",
        },
        {
            "题型": "判断题",
            "分类": "风险合规/保密",
            "题干": "可以向来电者透露客户余额。",
            "答案": "错",
        },
    ]
    for line, values in enumerate(rows, start=examples[-1] + 1):
        for header, value in values.items():
            ws[f"{columns[header]}{line}"] = value
    out = io.BytesIO()
    wb.save(out)
    resp = import_upload(trainer_client, "filled.xlsx", out.getvalue())
    page = text(resp)
    assert resp.status_code == 200, page[-2000:]
    assert "已导入 2 道试题。" in page
    assert page.count(zh("An example row of the template: not imported.")) == 2
    assert count(Question) == 2
    stems = set(db.session.scalars(select(QuestionVersion.stem)))
    assert not any("挂失信用卡" in s for s in stems)
    hard = db.session.scalar(select(Question).where(Question.difficulty == 4))
    assert hard is not None and "跨行汇款" in hard.stem_text


def test_template_with_only_its_examples_is_refused(trainer_client):
    data = trainer_client.get("/qb/import/template.xlsx").data
    resp = check_upload(trainer_client, "template.xlsx", data)
    assert zh(
        "The file holds only the template's examples: add your questions below them."
    ) in text(resp)
    assert count(Question) == 0


def test_export_page_respects_filters(trainer_client, bank):
    resp = trainer_client.get("/qb/export?format=csv&qtype=true_false")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "看图判断" in body and "首问负责制" not in body
