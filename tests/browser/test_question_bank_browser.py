"""A trainer writes a question of each type in the browser and previews it."""

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

QUESTIONS = [
    (
        "single_choice",
        "新建单选题",
        "客户来电要求挂失信用卡时，应首先：",
        {"选项 A": "直接挂失", "选项 B": "核实客户身份"},
        ["正确"],
        1,
    ),
    (
        "multiple_choice",
        "新建多选题",
        "下列属于客户敏感信息的有：",
        {"选项 A": "交易密码", "选项 B": "CVV2 码", "选项 C": "网点地址"},
        ["正确"],
        2,
    ),
    ("true_false", "新建判断题", "客服代表可以在电话中索要客户的取款密码。", {}, [], 0),
    ("fill_blank", "新建填空题", "信用卡挂失后____小时内的盗刷损失由银行承担。", {}, [], 0),
    ("short_answer", "新建简答题", "请简述首问负责制的含义。", {}, [], 0),
]


def sign_in_as_trainer(page: Page, base: str) -> None:
    """Sign in as the demo trainer."""
    page.goto(f"{base}/login")
    page.get_by_label("用户名", exact=True).fill("trainer1")
    page.get_by_label("密码", exact=True).fill("demo12345")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/")


@pytest.mark.parametrize(
    ("qtype", "button", "stem", "options", "_unused", "correct_count"), QUESTIONS
)
def test_trainer_creates_and_previews_each_type(
    page: Page, live_server, qtype, button, stem, options, _unused, correct_count
):
    sign_in_as_trainer(page, live_server)
    page.get_by_role("link", name="题库").first.click()
    page.get_by_role("link", name=button).click()
    page.get_by_label("分类").select_option(index=1)
    page.get_by_role("textbox", name="题干").fill(stem)
    for label, value in options.items():
        page.get_by_role("textbox", name=label).fill(value)
    marks = page.locator('input[name="correct"]')
    if qtype == "single_choice":
        marks.nth(1).check()
    elif qtype == "multiple_choice":
        marks.nth(0).check()
        marks.nth(1).check()
    elif qtype == "true_false":
        page.get_by_label("题目陈述错误").check()
    elif qtype == "fill_blank":
        page.get_by_label("第 1 空：可接受的答案").fill("48|四十八")
    else:
        page.get_by_role("textbox", name="参考答案").fill("第一位接待客户的员工负责到底。")
    page.get_by_role("textbox", name="解析", exact=True).fill("先核实身份，再办理业务。")
    page.get_by_role("button", name="预览").click()
    preview = page.locator("#preview")
    expect(preview).to_be_visible()
    expect(preview).to_contain_text(stem.replace("____", "")[:8])
    if qtype == "fill_blank":
        expect(preview.locator("input.blank")).to_have_count(1)
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page).to_have_url(re.compile(r"/qb/\d+$"))
    expect(page.locator("h1")).to_contain_text("草稿")
    page.screenshot(path=f"test-results/qb-{qtype}.png", full_page=True)


def test_category_tree_indents_children_without_console_errors(page: Page, live_server):
    """The CSP forbids inline styles, so the indentation must come from the stylesheet."""
    sign_in_as_trainer(page, live_server)
    page.goto(f"{live_server}/qb/categories")
    expect(page.get_by_label("分类名称")).to_be_visible()
    tree = page.locator("ul.tree")
    parent = tree.get_by_role("link", name="业务知识", exact=True).bounding_box()
    child = tree.get_by_role("link", name="信用卡", exact=True).bounding_box()
    grandchild = tree.get_by_role("link", name="挂失", exact=True).bounding_box()
    assert parent["x"] < child["x"] < grandchild["x"]


def test_trainer_reads_the_import_report_before_confirming(page: Page, live_server, live_app):
    """The check saves nothing; its page reloads to the report, then Import imports."""
    from lms.extensions import db
    from question_bank.models import Question
    from tests.helpers import count
    from tests.question_bank.test_import_preview import warning_file

    with live_app.app_context():
        before = count(Question)
    sign_in_as_trainer(page, live_server)
    page.goto(f"{live_server}/qb/import")
    page.get_by_label("文件").set_input_files(
        files=[{"name": "bank.xml", "mimeType": "application/xml", "buffer": warning_file()}]
    )
    page.get_by_role("button", name="检查文件").click()
    warnings = page.locator("#import-warnings")
    expect(warnings).to_be_visible(timeout=20_000)  # the progress page reloads when done
    expect(warnings.locator("tbody tr")).to_have_count(2)
    expect(warnings).to_contain_text("第 1 题（挂失）")
    expect(warnings).to_contain_text("-33.333%")
    expect(page.locator("#import-ready")).to_contain_text("3 道试题可以导入")
    with live_app.app_context():
        assert count(Question) == before  # nothing imported yet
        db.session.remove()
    page.get_by_role("button", name="导入 3 道试题").click()
    expect(page.get_by_text("已导入 3 道试题。")).to_be_visible(timeout=20_000)
    expect(page.locator("#import-warnings")).to_contain_text("第 2 题（可疑交易）")
    with live_app.app_context():
        assert count(Question) == before + 3
    page.screenshot(path="test-results/qb-import-preview.png", full_page=True)


def test_import_report_lists_every_loss_of_a_question_in_its_row(page: Page, live_server):
    """A Moodle question with feedback, hints, an ID number and styles: one row, each loss."""
    from tests.question_bank.test_import_fidelity import multichoice, quiz

    extra = (
        '<answer fraction="0" format="html"><text>询问消费</text>'
        '<feedback format="html"><text>不对，应先核实身份。</text></feedback></answer>'
        '<hint format="html"><text>想想身份核实。</text></hint><idnumber>CARD-01</idnumber>'
    )
    data = quiz(multichoice(extra, text_html='<p style="color:red">客户挂失信用卡，首先应：</p>'))
    sign_in_as_trainer(page, live_server)
    page.goto(f"{live_server}/qb/import")
    page.get_by_label("文件").set_input_files(
        files=[{"name": "moodle.xml", "mimeType": "application/xml", "buffer": data}]
    )
    page.get_by_role("button", name="检查文件").click()
    row = page.locator("#import-warnings tbody tr")
    expect(row).to_have_count(1, timeout=20_000)
    expect(row).to_contain_text("第 1 题（挂失第一步）")
    for text in ("1 个答案的反馈未导入", "1 条提示未导入", "CARD-01", "已去除样式"):
        expect(row).to_contain_text(text)
    expect(row.locator("li")).to_have_count(4)
    page.screenshot(path="test-results/qb-import-losses.png", full_page=True)


def test_trainer_names_a_question_and_finds_it_by_name(page: Page, live_server):
    """The name typed in the form is saved, searched and shown in the list."""
    sign_in_as_trainer(page, live_server)
    page.goto(f"{live_server}/qb/1/edit")
    page.get_by_label("试题名称（可选）").fill("服务时间题")
    with page.expect_navigation():
        page.locator("form.question-form button[type=submit]").last.click()
    page.goto(f"{live_server}/qb/")
    page.get_by_label("搜索题干或名称").fill("服务时间题")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("tbody .q-name")).to_have_text(["服务时间题"])
