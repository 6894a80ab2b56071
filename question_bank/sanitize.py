"""Rich text that is safe to show: a small set of formatting, images only from the bank."""

import html
import re

import nh3

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "s",
    "sub",
    "sup",
    "br",
    "p",
    "div",
    "span",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "img",
    "code",
    "pre",
}
ALLOWED_ATTRIBUTES = {
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
#: Images may come only from the bank itself (or be placeholders while importing).
IMAGE_SRC = re.compile(r"^(/qb/images/[0-9]{1,10}|@@PLUGINFILE@@/[\w.%~-]{1,200})$")
#: Characters XML (and so .xlsx and Moodle XML) cannot hold; Word's manual line break is one.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
#: A blank marker (___) in an attribute would be taken for a blank of a fill-in question.
_BLANK_RUN = re.compile(r"[_＿]{3,}")


def strip_control(value: str | None) -> str:
    """Remove control characters that no text here needs (and XML refuses)."""
    return CONTROL.sub("", value or "")


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if IMAGE_SRC.match(value) else None
    if attr in ("width", "height", "colspan", "rowspan"):
        return value if value.isdigit() and len(value) <= 4 else None
    return _BLANK_RUN.sub("", value)


def clean(value: str | None) -> str:
    """Return ``value`` with everything but the allowed formatting removed."""
    if not value:
        return ""
    cleaned = nh3.clean(
        strip_control(value),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=_attribute_filter,
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )
    # An <img> whose src was refused is useless: drop it.
    cleaned = re.sub(r"<img(?![^>]*\bsrc=)[^>]*>", "", cleaned)
    return cleaned.strip()


_TAG = re.compile(r"<[^>]+>")
_BLOCK = re.compile(r"</?(p|div|br|li|tr|table|ul|ol)\b[^>]*>", re.I)


def to_text(value: str | None) -> str:
    """Return the plain text of sanitised HTML (for search, lists and comparisons)."""
    if not value:
        return ""
    text = _BLOCK.sub(" ", value)
    text = _TAG.sub("", text)
    return re.sub(r"\s+", " ", html.unescape(text)).strip()


def from_text(value: str) -> str:
    """Return plain text as HTML (escaped, line breaks kept)."""
    return html.escape(value or "").replace("\n", "<br>")


_HAS_TAGS = re.compile(r"<[a-zA-Z][^>]*>")


def rich(value: str | None) -> str:
    """Read a rich-text field: HTML from the editor, or plain text typed without it."""
    value = (value or "").strip()
    html = clean(value if _HAS_TAGS.search(value) else from_text(value))
    return drop_placeholders(html)


_PLACEHOLDER_IMG = re.compile(r"<img[^>]*@@PLUGINFILE@@[^>]*>")


def drop_placeholders(html: str) -> str:
    """Drop images that still point at an import placeholder (their file never came)."""
    return _PLACEHOLDER_IMG.sub("", html)
