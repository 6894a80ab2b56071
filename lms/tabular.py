"""Spreadsheets in and out: read uploads safely (bounded, clear errors); write cells that no
spreadsheet takes for a formula (OWASP "CSV injection").

Every .xlsx and .csv the app writes goes through ``append_row``/``set_cell`` or ``csv_safe``.
"""

import csv
import io
import zipfile
from xml.etree.ElementTree import ParseError

from flask_babel import gettext as _
from openpyxl import load_workbook

from lms.accounts.services import ValidationFailed

#: A workbook may claim a huge used range; stop after this many blank rows in a row.
MAX_BLANK_RUN = 2000


def _blank(row) -> bool:
    return all(c is None or str(c).strip() == "" for c in row)


def _too_many(max_rows: int) -> ValidationFailed:
    return ValidationFailed(_("At most %(n)d rows can be imported at once.", n=max_rows))


#: An .xlsx is a zip: refuse one that would unpack to more than this (a "zip bomb").
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 200


def _check_zip(data: bytes) -> None:
    """Refuse a workbook whose parts unpack to far more than any real spreadsheet."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ValidationFailed(_("The file is not a readable .xlsx workbook.")) from exc
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED or any(
        i.file_size > 1024 * 1024 and i.file_size > MAX_RATIO * max(1, i.compress_size)
        for i in infos
    ):
        raise ValidationFailed(
            _(
                "The workbook is far larger inside than a spreadsheet of "
                "questions can be; it is refused."
            )
        )


def _xlsx_rows(data: bytes, max_rows: int, max_cols: int) -> list[tuple[int, list]]:
    _check_zip(data)
    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ParseError, ValueError, OSError, TypeError) as exc:
        raise ValidationFailed(_("The file is not a readable .xlsx workbook.")) from exc
    rows: list[tuple[int, list]] = []
    blank_run = 0
    try:
        ws = wb.worksheets[0]
        for line, row in enumerate(ws.iter_rows(max_col=max_cols, values_only=True), start=1):
            if _blank(row):
                blank_run += 1
                if blank_run > MAX_BLANK_RUN:
                    break
                continue
            blank_run = 0
            rows.append((line, list(row)))
            if len(rows) > max_rows + 1:  # the header plus max_rows
                raise _too_many(max_rows)
    except ValidationFailed:
        raise
    except (KeyError, ParseError, ValueError, OSError, TypeError, IndexError) as exc:
        raise ValidationFailed(_("The file is not a readable .xlsx workbook.")) from exc
    finally:
        wb.close()
    return rows


def _csv_rows(data: bytes, max_rows: int, max_cols: int) -> list[tuple[int, list]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed(_("The CSV file is neither UTF-8 nor GBK text."))
    if "\x00" in text:
        raise ValidationFailed(_("The CSV file contains binary data."))
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, list]] = []
    try:
        for row in reader:
            if _blank(row):
                continue
            rows.append((reader.line_num, row[:max_cols]))
            if len(rows) > max_rows + 1:
                raise _too_many(max_rows)
    except csv.Error as exc:
        raise ValidationFailed(
            _(
                "The CSV file is malformed near line %(line)d (often an unclosed quote).",
                line=reader.line_num,
            )
        ) from exc
    return rows


def read_rows(filename: str, data: bytes, *, max_rows: int, max_cols: int = 30):
    """Return the non-blank rows of the first sheet as (line number, cells), header first."""
    name = (filename or "").lower()
    if name.endswith(".xlsx"):
        return _xlsx_rows(data, max_rows, max_cols)
    if name.endswith(".csv"):
        return _csv_rows(data, max_rows, max_cols)
    raise ValidationFailed(_("Upload an .xlsx or .csv file."))


#: What a spreadsheet reads as the start of a formula. Excel in a Chinese locale also takes
#: the full-width signs, and a leading tab or carriage return hides a formula behind them.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def looks_like_formula(value) -> bool:
    """Tell whether a spreadsheet could take ``value`` for a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_safe(value):
    """Prefix ' to a CSV cell that a spreadsheet would take for a formula."""
    return "'" + value if looks_like_formula(value) else value


def csv_unsafe(text: str) -> str:
    """Undo ``csv_safe`` on a cell read back from one of our own CSV files."""
    return text[1:] if text.startswith("'") and looks_like_formula(text[1:]) else text


def _text_cell(cell) -> None:
    # openpyxl stores a string starting with = as a live formula; a text cell with the
    # quote-prefix style shows the value as typed and stays text even when edited in Excel.
    if looks_like_formula(cell.value):
        cell.data_type = "s"
        cell.quotePrefix = True


def append_row(ws, values) -> None:
    """Append ``values`` to the worksheet, formula-like strings kept as plain text."""
    ws.append(list(values))
    for cell in ws[ws.max_row]:
        _text_cell(cell)


def set_cell(ws, row: int, column: int, value) -> None:
    """Write one cell, a formula-like string kept as plain text."""
    _text_cell(ws.cell(row=row, column=column, value=value))
