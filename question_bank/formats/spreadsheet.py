"""The bank as a spreadsheet (.xlsx or .csv): one question per row, Chinese headers.

Columns: 题型, 分类, 题干, 选项A…选项J, 答案, 评分要点, 分值, 难度, 标签, 解析, 来源, 状态.

Cells that begin like a formula (= + - @) are written as text (.xlsx) or with a leading '
(.csv), so that opening an export in a spreadsheet never runs anything.
答案 is the option letters (B, ACD), 对/错, the blanks' answers (blanks separated by ；,
alternatives by |), or the reference answer of a short-answer question.
"""

import csv
import html as html_lib
import io
import re

from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.worksheet.datavalidation import DataValidation

from lms.tabular import read_rows
from question_bank.interchange import ParseResult, QuestionData
from question_bank.sanitize import from_text

OPTION_LETTERS = "ABCDEFGHIJ"
HEADERS = [
    "题型",
    "分类",
    "题干",
    *[f"选项{c}" for c in OPTION_LETTERS],
    "答案",
    "评分要点",
    "分值",
    "难度",
    "标签",
    "解析",
    "来源",
    "状态",
]
TYPE_NAMES = {
    "single_choice": "单选题",
    "multiple_choice": "多选题",
    "true_false": "判断题",
    "fill_blank": "填空题",
    "short_answer": "简答题",
}
TYPE_ALIASES = {
    **{v: k for k, v in TYPE_NAMES.items()},
    **{k: k for k in TYPE_NAMES},
    "单选": "single_choice",
    "多选": "multiple_choice",
    "判断": "true_false",
    "填空": "fill_blank",
    "简答": "short_answer",
    "主观题": "short_answer",
}
STATUS_NAMES = {"draft": "草稿", "published": "已发布", "retired": "已停用"}
STATUS_ALIASES = {**{v: k for k, v in STATUS_NAMES.items()}, **{k: k for k in STATUS_NAMES}}
TRUE_WORDS = {"对", "正确", "是", "t", "true", "√", "✓", "y", "yes"}
FALSE_WORDS = {"错", "错误", "否", "f", "false", "×", "✗", "n", "no"}
HTML_HINT = re.compile(r"<(b|strong|i|em|u|p|br|ul|ol|li|table|img|sub|sup|div|span)\b", re.I)
MAX_ROWS = 20000


def text_to_html(value) -> str:
    """Read a cell as HTML when it holds tags, else as plain text."""
    text = "" if value is None else str(value).strip()
    return text if HTML_HINT.search(text) else from_text(text)


def html_to_cell(html: str) -> str:
    """Write simple HTML back as the plain text it came from; keep real formatting."""
    if not HTML_HINT.search(html or ""):
        return html_lib.unescape(html or "")
    plain = html_lib.unescape(html.replace("<br>", "\n"))
    return plain if from_text(plain) == html else html


def _cell(row, i) -> str:
    if i >= len(row) or row[i] is None:
        return ""
    text = str(row[i]).strip()
    # Undo csv_safe: a ' before what looks like a formula was added on export.
    if text.startswith("'") and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]
    return text


def _split(text: str, pattern: str) -> list[str]:
    return [p.strip() for p in re.split(pattern, text) if p.strip()]


def parse_rows(rows: list[tuple[int, list]]) -> ParseResult:
    """Turn spreadsheet rows (header first) into questions, with an error per bad row."""
    result = ParseResult()
    if not rows:
        result.errors.append((_("file"), _("The file is empty.")))
        return result
    header = [str(c or "").strip() for c in rows[0][1]]
    index = {h: i for i, h in enumerate(header) if h}
    missing = [h for h in ("题型", "题干", "答案") if h not in index]
    if missing:
        result.errors.append(
            (_("row %(n)d", n=rows[0][0]), _("Missing columns: %(cols)s.", cols="、".join(missing)))
        )
        return result
    if len(rows) == 1:
        result.errors.append((_("file"), _("The file has a header but no questions.")))
    for line, row in rows[1:]:
        where = _("row %(n)d", n=line)

        def get(name, row=row):
            return _cell(row, index[name]) if name in index else ""

        try:
            result.questions.append((where, _row_to_question(get, row, index)))
        except ValueError as exc:
            result.errors.append((where, str(exc)))
    return result


def _row_to_question(get, row, index) -> QuestionData:
    qtype = TYPE_ALIASES.get(get("题型").lower() if get("题型").isascii() else get("题型"))
    if qtype is None:
        raise ValueError(
            _(
                "题型 %(v)s is not one of 单选题, 多选题, 判断题, 填空题, 简答题.",
                v=get("题型") or "—",
            )
        )
    answer = get("答案")
    if qtype in ("single_choice", "multiple_choice"):
        options, letters = [], []
        for n, letter in enumerate(OPTION_LETTERS, start=1):
            text = get(f"选项{letter}")
            if text:
                options.append({"key": str(n), "html": text_to_html(text)})
                letters.append(letter)
        wanted = [c for c in answer.upper() if c.isalpha()]
        unknown = [c for c in wanted if c not in letters]
        if unknown:
            raise ValueError(
                _("答案 %(v)s names options that are empty or do not exist.", v=answer or "—")
            )
        keys = {letter: o["key"] for letter, o in zip(letters, options, strict=True)}
        chosen = {keys[c] for c in wanted}
        body = {"options": options, "correct": [o["key"] for o in options if o["key"] in chosen]}
    elif qtype == "true_false":
        word = answer.lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise ValueError(
                _("答案 of a true/false question must be 对 or 错, not %(v)s.", v=answer or "—")
            )
        body = {"correct": word in TRUE_WORDS}
    elif qtype == "fill_blank":
        body = {"blanks": [_split(b, r"[|｜]") for b in re.split(r"[;；\n]", answer) if b.strip()]}
    else:
        body = {"reference": text_to_html(answer), "rubric": text_to_html(get("评分要点"))}
    points = get("分值") or "1"
    try:
        points_value = float(points)
    except ValueError:
        raise ValueError(_("分值 %(v)s is not a number.", v=points)) from None
    difficulty = get("难度") or "3"
    if not difficulty.isdigit():
        raise ValueError(_("难度 %(v)s is not a whole number from 1 to 5.", v=difficulty))
    status = STATUS_ALIASES.get(get("状态") or "draft")
    if status is None:
        raise ValueError(_("状态 %(v)s is not 草稿, 已发布 or 已停用.", v=get("状态")))
    category = _split(get("分类"), r"\s*[/›>]\s*")
    return QuestionData(
        qtype=qtype,
        stem=text_to_html(get("题干")),
        body=body,
        category_path=category,
        explanation=text_to_html(get("解析")),
        default_points=points_value,
        difficulty=int(difficulty),
        tags=_split(get("标签"), r"[,，、;；\s]+"),
        source=get("来源"),
        status=status,
    )


def question_to_row(q: QuestionData) -> list:
    """Return the cells of one question."""
    options = [""] * len(OPTION_LETTERS)
    rubric = ""
    if q.qtype in ("single_choice", "multiple_choice"):
        keys = [o["key"] for o in q.body["options"]]
        for i, o in enumerate(q.body["options"][: len(OPTION_LETTERS)]):
            options[i] = html_to_cell(o["html"])
        answer = "".join(OPTION_LETTERS[keys.index(k)] for k in q.body["correct"])
    elif q.qtype == "true_false":
        answer = "对" if q.body["correct"] else "错"
    elif q.qtype == "fill_blank":
        answer = "；".join("|".join(b) for b in q.body["blanks"])
    else:
        answer = html_to_cell(q.body.get("reference", ""))
        rubric = html_to_cell(q.body.get("rubric", ""))
    points = q.default_points
    return [
        TYPE_NAMES[q.qtype],
        "/".join(q.category_path),
        html_to_cell(q.stem),
        *options,
        answer,
        rubric,
        int(points) if float(points).is_integer() else float(points),
        q.difficulty,
        "、".join(q.tags),
        html_to_cell(q.explanation),
        q.source,
        STATUS_NAMES[q.status],
    ]


def parse_xlsx(data: bytes) -> ParseResult:
    """Parse an .xlsx workbook (the first sheet)."""
    return parse_rows(read_rows("q.xlsx", data, max_rows=MAX_ROWS, max_cols=len(HEADERS) + 5))


def parse_csv(data: bytes) -> ParseResult:
    """Parse a .csv file (UTF-8 or GBK)."""
    return parse_rows(read_rows("q.csv", data, max_rows=MAX_ROWS, max_cols=len(HEADERS) + 5))


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value):
    """Prefix ' to a cell that a spreadsheet would take for a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def export_csv(questions: list[QuestionData]) -> bytes:
    """Write the questions as UTF-8 CSV with a BOM (so Excel reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for q in questions:
        writer.writerow([csv_safe(c) for c in question_to_row(q)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _workbook(questions: list[QuestionData], *, with_help: bool) -> Workbook:
    wb = Workbook()
    ws = wb.active
    ws.title = "试题"
    ws.append(HEADERS)
    for q in questions:
        ws.append(question_to_row(q))
        # openpyxl turns a string starting with = into a live formula: keep it text.
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    ws.freeze_panes = "A2"
    for col, width in zip("ABC", (10, 24, 50), strict=True):
        ws.column_dimensions[col].width = width
    if with_help:
        types = DataValidation(
            type="list", formula1='"单选题,多选题,判断题,填空题,简答题"', allow_blank=False
        )
        levels = DataValidation(type="whole", operator="between", formula1="1", formula2="5")
        statuses = DataValidation(type="list", formula1='"草稿,已发布,已停用"')
        for dv in (types, levels, statuses):
            ws.add_data_validation(dv)
        types.add(f"A2:A{MAX_ROWS + 1}")
        levels.add(f"R2:R{MAX_ROWS + 1}")
        statuses.add(f"V2:V{MAX_ROWS + 1}")
        info = wb.create_sheet("说明")
        with force_locale("zh_CN"):
            for line in INSTRUCTIONS:
                info.append([line])
        info.column_dimensions["A"].width = 110
    return wb


INSTRUCTIONS = [
    "每行一道题；第一行是表头，请勿修改。",
    "题型：单选题、多选题、判断题、填空题、简答题（可从下拉列表选择）。",
    "分类：用 / 分隔层级，例如 业务知识/信用卡/挂失；不存在的分类会自动建立。",
    "题干、选项、解析可以是纯文本，也可以使用少量 HTML 格式（<b>、<ul><li>、<table>、<br>）。",
    "填空题在题干中用 ____（三个或更多下划线）标出每个空，按顺序填写答案。",
    "答案：单选题填选项字母（如 B）；多选题填全部正确字母（如 ACD）；判断题填 对 或 错；",
    "      填空题各空之间用 ；分隔，同一空的多个可接受答案用 | 分隔（如 24|二十四；挂失）；",
    "      简答题填参考答案，评分要点写在“评分要点”列。",
    "分值默认 1；难度为 1（易）到 5（难），默认 3；标签用顿号或逗号分隔；状态默认为草稿。",
    "只要有一行有错，整个文件都不会导入，并会逐行列出错误原因。",
]


def export_xlsx(questions: list[QuestionData]) -> bytes:
    """Write the questions as an .xlsx workbook with the instructions sheet."""
    out = io.BytesIO()
    _workbook(questions, with_help=True).save(out)
    return out.getvalue()


def template_xlsx() -> bytes:
    """Return an empty workbook with one example row per type, drop-downs and instructions."""
    examples = [
        QuestionData(
            "single_choice",
            "客户来电挂失信用卡时，客服代表首先应当：",
            {
                "options": [
                    {"key": "1", "html": "直接办理挂失"},
                    {"key": "2", "html": "核实客户身份"},
                    {"key": "3", "html": "询问消费记录"},
                    {"key": "4", "html": "转接人工主管"},
                ],
                "correct": ["2"],
            },
            ["业务知识", "信用卡", "挂失"],
            "先核实身份，再办理业务。",
            1,
            2,
            ["挂失", "身份核实"],
        ),
        QuestionData(
            "true_false",
            "客服代表可以要求客户在电话中报出完整的取款密码。",
            {"correct": False},
            ["风险合规", "保密"],
            "任何情况下不得索要密码。",
        ),
    ]
    out = io.BytesIO()
    _workbook(examples, with_help=True).save(out)
    return out.getvalue()
