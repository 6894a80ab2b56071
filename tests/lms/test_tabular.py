"""Cells written to spreadsheets: nothing a spreadsheet could run."""

import io

import pytest
from openpyxl import Workbook, load_workbook

from lms.tabular import append_row, csv_safe, csv_unsafe, looks_like_formula


@pytest.mark.parametrize(
    ("value", "risky"),
    [
        ('=HYPERLINK("http://x","y")', True),
        ("+1", True),
        ("-1", True),
        ("@SUM(A1)", True),
        ("\t=1", True),
        ("\r=1", True),
        ("\uff1d1+1", True),
        ("\uff0b1", True),
        ("\uff0d1", True),
        ("\uff20a", True),
        ("王芳", False),
        ("a=b", False),
        ("", False),
        (-1, False),
        (None, False),
    ],
)
def test_csv_safe_prefixes_only_formula_like_text(value, risky):
    assert looks_like_formula(value) is risky
    assert csv_safe(value) == ("'" + value if risky else value)
    if isinstance(value, str):
        assert csv_unsafe(csv_safe(value)) == value


def test_append_row_keeps_formula_like_text_as_text():
    wb = Workbook()
    append_row(wb.active, ['=HYPERLINK("http://x","y")', "-3", 5, "王芳"])
    out = io.BytesIO()
    wb.save(out)
    row = next(load_workbook(io.BytesIO(out.getvalue())).active.iter_rows())
    assert [c.value for c in row] == ['=HYPERLINK("http://x","y")', "-3", 5, "王芳"]
    assert [c.data_type for c in row] == ["s", "s", "n", "s"]
    assert [bool(c.quotePrefix) for c in row] == [True, True, False, False]
