"""Rich text that is safe to show: a small set of formatting, images only from the bank."""

import html
import re
from html.parser import HTMLParser

import nh3
from flask_babel import gettext as _

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


#: Tags whose content is dropped with them (clean() removes what is inside too).
_DROPPED_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "video", "audio", "svg"}


class _Survey(HTMLParser):
    """Collect what clean() will remove from a text, so that an import can say so."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.styled = False
        self.media: set[str] = set()
        self.tags: set[str] = set()
        self.outside_images: list[str] = []

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"].removeprefix("@@PLUGINFILE@@/"))
        elif tag in _DROPPED_WITH_CONTENT:
            self.media.add(tag)
        elif tag == "img":
            src = values.get("src") or ""
            if not IMAGE_SRC.match(src):
                self.outside_images.append(src[:80] or "—")
        elif tag not in ALLOWED_TAGS and tag != "a":
            self.tags.add(tag)
        if values.get("style"):
            self.styled = True

    handle_startendtag = handle_starttag


def losses(value: str | None) -> list[str]:
    """Say, in the user's language, what clean() removes from ``value`` (nothing: [])."""
    if not value or "<" not in value:
        return []
    survey = _Survey()
    survey.feed(value)
    survey.close()
    found = []
    if survey.links:
        found.append(
            _("Links were removed (their text is kept): %(list)s.", list=_some(survey.links))
        )
    if survey.styled:
        found.append(_("Styles (colours, sizes, alignment) were removed; the text is kept."))
    if survey.media:
        found.append(
            _(
                "Scripts, frames and media were removed with their content: %(tags)s.",
                tags=_some(f"<{t}>" for t in sorted(survey.media)),
            )
        )
    if survey.tags:
        found.append(
            _(
                "Formatting the bank does not keep was removed (the text is kept): %(tags)s.",
                tags=_some(f"<{t}>" for t in sorted(survey.tags)),
            )
        )
    if survey.outside_images:
        found.append(
            _(
                "Images from outside the file were removed: %(list)s.",
                list=_some(survey.outside_images),
            )
        )
    return found


def _some(items, limit: int = 3) -> str:
    items = list(dict.fromkeys(items))
    shown = "、".join(items[:limit])
    return shown + ("…" if len(items) > limit else "")
