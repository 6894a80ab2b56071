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
IMAGE_SRC = re.compile(r"^(/qb/images/\d+|@@PLUGINFILE@@/[^\s\"'<>]+)$")


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if tag == "img" and attr == "src":
        return value if IMAGE_SRC.match(value) else None
    if attr in ("width", "height", "colspan", "rowspan"):
        return value if value.isdigit() and len(value) <= 4 else None
    return value


def clean(value: str | None) -> str:
    """Return ``value`` with everything but the allowed formatting removed."""
    if not value:
        return ""
    cleaned = nh3.clean(
        value,
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
    return clean(value if _HAS_TAGS.search(value) else from_text(value))
