"""Rich text keeps its formatting and loses anything that could run."""

import pytest

from question_bank.sanitize import clean, rich, to_text

ATTACKS = [
    "<script>alert(1)</script>",
    '<img src="x" onerror="alert(1)">',
    '<img src="/qb/images/1" onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "<svg onload=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    '<div onclick="alert(1)">x</div>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<object data="x"></object><embed src="x">',
    "<b>ok</b><!-- <script>alert(1)</script> -->",
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_nothing_that_runs_survives(attack):
    out = clean(attack).lower()
    for bad in (
        "<script",
        "onerror",
        "onload",
        "onclick",
        "javascript:",
        "<iframe",
        "<svg",
        "<object",
        "<embed",
        "style=",
        "<style",
    ):
        assert bad not in out


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<b>加粗</b>", "<b>加粗</b>"),
        ("<ul><li>一</li><li>二</li></ul>", "<ul><li>一</li><li>二</li></ul>"),
        ("a<br>b", "a<br>b"),
        ('<img src="/qb/images/12" alt="图">', '<img src="/qb/images/12" alt="图">'),
        ('<img src="https://cdn.example/x.png">', ""),
        ("<table><tr><td>1</td></tr></table>", "<table><tbody><tr><td>1</td></tr></tbody></table>"),
    ],
)
def test_formatting_kept(html, expected):
    assert clean(html) == expected


def test_plain_text_keeps_its_lines_and_is_escaped():
    assert rich("第一行\n<第二行>") == "第一行<br>&lt;第二行&gt;"


def test_to_text():
    assert to_text("<p>甲</p><p>乙&amp;丙</p>") == "甲 乙&丙"
