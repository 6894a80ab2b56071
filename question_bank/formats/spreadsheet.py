"""The bank as a spreadsheet (.xlsx or .csv): one question per row, Chinese headers.

Columns: 题型, 分类, 题干, 选项A…选项J, 答案, 评分要点, 分值, 难度, 标签, 解析, 来源, 状态, 名称
(名称 is the question's optional name; files without that column import as before).

Cells that begin like a formula (= + - @ …) are written as text (.xlsx) or with a leading '
(.csv) by ``lms.tabular``, so that opening an export in a spreadsheet never runs anything;
reading our own .csv back removes that '.
题型 names a registered type by one of its interchange's ``sheet_names`` (or its key);
the type reads and writes the option columns, 答案 and 评分要点. A row of a type that
cannot be imported is skipped; such questions are left out of an export.
The template's example rows carry 示例 before their 题型 ("示例：单选题") and are skipped.
"""

import csv
import html as html_lib
import io
import re

from flask_babel import force_locale
from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from lms.tabular import append_row, csv_safe, csv_unsafe, read_rows
from question_bank.interchange import (
    ParseResult,
    QuestionData,
    codec,
    codecs,
    exportable,
    not_exportable_reason,
)
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
    "名称",
]
#: What begins the 题型 cell of the template's example rows, which are never imported.
EXAMPLE_MARK = "示例"


def column(header: str) -> str:
    """Return the spreadsheet column letter of a header, e.g. column("难度") == "Q"."""
    return get_column_letter(HEADERS.index(header) + 1)


def type_names() -> dict[str, str]:
    """Return the name each importable type is written as in 题型, by key."""
    return {key: found.sheet_names[0] for key, found in codecs().items()}


def type_aliases() -> dict[str, str]:
    """Return every word 题型 may hold (names, keys), to the type's key."""
    aliases = {}
    for key, found in codecs().items():
        aliases[key] = key
        for name in found.sheet_names:
            aliases.setdefault(name, key)
    return aliases


STATUS_NAMES = {"draft": "草稿", "published": "已发布", "retired": "已停用"}
STATUS_ALIASES = {**{v: k for k, v in STATUS_NAMES.items()}, **{k: k for k in STATUS_NAMES}}
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
    # A ' before what looks like a formula was added by csv_safe on export.
    return csv_unsafe(str(row[i]).strip())


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
    examples = 0
    for line, row in rows[1:]:
        where = _("row %(n)d", n=line)

        def get(name, row=row):
            return _cell(row, index[name]) if name in index else ""

        if get("题型").startswith(EXAMPLE_MARK):
            examples += 1
            result.skipped.append((where, _("An example row of the template: not imported.")))
            continue
        try:
            result.questions.append((where, _row_to_question(get)))
        except _Skipped as exc:
            result.skipped.append((where, str(exc)))
        except ValueError as exc:
            result.errors.append((where, str(exc)))
    if examples and not result.questions and not result.errors:
        result.errors.append(
            (
                _("file"),
                _("The file holds only the template's examples: add your questions below them."),
            )
        )
    return result


class _Skipped(Exception):
    """A row of a type that exists but cannot be imported."""


class Source:
    """One row as a type reads it."""

    def __init__(self, get):
        self.get = get  #: get(header) returns the cell under that header, as text

    def options(self) -> list[tuple[str, str]]:
        """Return (letter, cell text) of the columns 选项A…选项J."""
        return [(letter, self.get(f"选项{letter}")) for letter in OPTION_LETTERS]

    def html(self, text: str) -> str:
        """Read a cell's text as HTML (see text_to_html)."""
        return text_to_html(text)


class Writer:
    """What a type writes its cells with."""

    def cell(self, html: str) -> str:
        """Write HTML as cell text (see html_to_cell)."""
        return html_to_cell(html)


def _type_of(word: str) -> str:
    """Return the key of the type 题型 names; ValueError, or _Skipped for a type that
    exists but does not travel."""
    key = type_aliases().get(word.lower() if word.isascii() else word)
    if key is not None:
        return key
    from question_bank import qtypes

    for found in qtypes.REGISTRY.values():
        if word in (found.key, str(found.label)):
            raise _Skipped(not_exportable_reason(found.key))
    raise ValueError(
        _(
            "题型 %(v)s is not one of %(names)s.",
            v=word or "—",
            names="、".join(type_names().values()),
        )
    )


def _row_to_question(get) -> QuestionData:
    qtype = _type_of(get("题型"))
    body = codec(qtype).from_row(get("答案"), Source(get))
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
        name=get("名称"),
    )


def question_to_row(q: QuestionData) -> list:
    """Return the cells of one question."""
    cells = codec(q.qtype).to_row(q, Writer())
    options = (cells.options + [""] * len(OPTION_LETTERS))[: len(OPTION_LETTERS)]
    points = q.default_points
    return [
        type_names()[q.qtype],
        "/".join(q.category_path),
        html_to_cell(q.stem),
        *options,
        cells.answer,
        cells.rubric,
        int(points) if float(points).is_integer() else float(points),
        q.difficulty,
        "、".join(q.tags),
        html_to_cell(q.explanation),
        q.source,
        STATUS_NAMES[q.status],
        q.name,
    ]


def parse_xlsx(data: bytes) -> ParseResult:
    """Parse an .xlsx workbook (the first sheet)."""
    return parse_rows(read_rows("q.xlsx", data, max_rows=MAX_ROWS, max_cols=len(HEADERS) + 5))


def parse_csv(data: bytes) -> ParseResult:
    """Parse a .csv file (UTF-8 or GBK)."""
    return parse_rows(read_rows("q.csv", data, max_rows=MAX_ROWS, max_cols=len(HEADERS) + 5))


def export_csv(questions: list[QuestionData]) -> bytes:
    """Write the questions as UTF-8 CSV with a BOM (so Excel reads the Chinese)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    for q in exportable(questions)[0]:
        writer.writerow([csv_safe(c) for c in question_to_row(q)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _workbook(
    questions: list[QuestionData], *, with_help: bool, examples: bool = False
) -> Workbook:
    """Write the questions (as marked example rows when ``examples``), optionally with help."""
    wb = Workbook()
    ws = wb.active
    ws.title = "试题"
    append_row(ws, HEADERS)
    for q in exportable(questions)[0]:
        row = question_to_row(q)
        if examples:
            row[0] = f"{EXAMPLE_MARK}：{row[0]}"
        append_row(ws, row)
    ws.freeze_panes = "A2"
    for header, width in (("题型", 14 if examples else 10), ("分类", 24), ("题干", 50)):
        ws.column_dimensions[column(header)].width = width
    if with_help:
        names = ",".join(type_names().values())
        types = DataValidation(type="list", formula1=f'"{names}"', allow_blank=False)
        levels = DataValidation(type="whole", operator="between", formula1="1", formula2="5")
        statuses = DataValidation(type="list", formula1='"草稿,已发布,已停用"')
        for dv in (types, levels, statuses):
            ws.add_data_validation(dv)
        for dv, header in ((types, "题型"), (levels, "难度"), (statuses, "状态")):
            dv.add(f"{column(header)}2:{column(header)}{MAX_ROWS + 1}")
        info = wb.create_sheet("说明")
        with force_locale("zh_CN"):
            for line in instructions():
                append_row(info, [line])
        info.column_dimensions["A"].width = 110
    return wb


def instructions() -> list[str]:
    """Return the lines of the template's 说明 sheet, each importable type explaining its 答案."""
    names = "、".join(type_names().values())
    answers = [line for found in codecs().values() for line in found.sheet_help]
    return [
        "每行一道题；第一行是表头，请勿修改。",
        f"题型以“{EXAMPLE_MARK}”开头的行是示例，导入时跳过：请在示例下方填写试题，也可以删除示例行。",
        f"题型：{names}（可从下拉列表选择）。",
        "分类：用 / 分隔层级，例如 业务知识/信用卡/挂失；不存在的分类会自动建立。",
        "题干、选项、解析可以是纯文本，也可以使用少量 HTML 格式（<b>、<ul><li>、<table>、<br>）。",
        "答案和评分要点按题型填写：",
        *(f"      {line}" for line in answers),
        "分值默认 1；难度为 1（易）到 5（难），默认 3；标签用顿号或逗号分隔；状态默认为草稿。",
        "名称（可选）是试题的简短标题，便于在题库中查找，考生看不到。",
        "只要有一行有错，整个文件都不会导入，并会逐行列出错误原因。",
    ]


def export_xlsx(questions: list[QuestionData]) -> bytes:
    """Write the questions as an .xlsx workbook with the instructions sheet."""
    out = io.BytesIO()
    _workbook(questions, with_help=True).save(out)
    return out.getvalue()


def template_xlsx() -> bytes:
    """Return a workbook with example rows (demo data), drop-downs and instructions."""
    out = io.BytesIO()
    _workbook(template_examples(), with_help=True, examples=True).save(out)
    return out.getvalue()


#: The template's example rows, as a trainer fills them in (written marked 示例).
EXAMPLE_ROWS = (
    {
        "题型": "单选题",
        "分类": "业务知识/信用卡/挂失",
        "题干": "客户来电挂失信用卡时，客服代表首先应当：",
        "选项A": "直接办理挂失",
        "选项B": "核实客户身份",
        "选项C": "询问消费记录",
        "选项D": "转接人工主管",
        "答案": "B",
        "分值": "1",
        "难度": "2",
        "标签": "挂失、身份核实",
        "解析": "先核实身份，再办理业务。",
    },
    {
        "题型": "判断题",
        "分类": "风险合规/保密",
        "题干": "客服代表可以要求客户在电话中报出完整的取款密码。",
        "答案": "错",
        "解析": "任何情况下不得索要密码。",
    },
)


def template_examples() -> list[QuestionData]:
    """Return the example rows of the template, read as an import reads them."""
    rows = [(1, HEADERS)]
    rows += [(n, [r.get(h, "") for h in HEADERS]) for n, r in enumerate(EXAMPLE_ROWS, start=2)]
    parsed = parse_rows(rows)
    if parsed.errors:  # our own constant rows: a change of the columns broke them
        raise RuntimeError(f"the template's examples do not import: {parsed.errors}")
    return [q for _where, q in parsed.questions]
