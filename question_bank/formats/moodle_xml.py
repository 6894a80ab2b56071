"""Moodle XML (``<quiz>``): read the questions Moodle exports, write files Moodle imports.

Each Moodle question type is read by the registered type whose interchange names it in
``moodle_types`` (multichoice, truefalse, shortanswer, multianswer, essay today), which is
handed a ``Source`` to read its answers from; every other Moodle type is skipped with the
reason. Writing hands each type a ``Writer``; a type without an interchange is left out.

Fields Moodle has no place for are written as reserved tags, which Moodle keeps as plain
tags and which import reads back instead of putting them into ``tags``:
``lms-difficulty:<1-5>``, ``lms-status:<draft|published|retired>`` and
``lms-source:<text>``. Files without them (every real Moodle file) get the defaults.

Names are kept. Moodle requires one, so an empty name is written as the start of the stem's
text, and a name that is exactly that comes back as no name. Option keys come back
numbered 1..n in their order.
"""

import base64
import binascii
import html
import math
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote
from xml.parsers import expat

from flask_babel import gettext as _
from flask_babel import ngettext

from question_bank.formats.common import (
    Malformed,
    Unsupported,
    category_text,
    feedback_lost,
    moodle_readers,
    parse_category,
    to_html,
    unsupported_reason,
    where_label,
)
from question_bank.interchange import (
    STATUSES,
    ParseResult,
    QuestionData,
    Reader,
    codec,
    exportable,
)
from question_bank.sanitize import to_text

TAG_DIFFICULTY, TAG_STATUS, TAG_SOURCE = "lms-difficulty:", "lms-status:", "lms-source:"
_PLUGINFILE = re.compile(r"@@PLUGINFILE@@/([^\s\"'<>]+)")
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# Reading


def parse(data: bytes) -> ParseResult:
    """Read a Moodle XML file: its questions (with warnings), the malformed and the skipped."""
    result = ParseResult()
    try:
        root = _load(data)
    except Malformed as exc:
        result.errors.append((_("file"), str(exc)))
        return result
    path: list[str] = []
    n = 0
    for q in root.findall("question"):
        qtype = q.get("type", "")
        if qtype == "category":
            path = parse_category(_text(q, "category/text"))
            info = to_text(_rich(q, "info", {}))
            if info:
                result.descriptions[tuple(path)] = info
            continue
        n += 1
        where = where_label(n, _text(q, "name/text"))
        warnings: list[str] = []
        try:
            result.questions.append((where, _read(q, qtype, path, warnings)))
            result.warnings += [(where, w) for w in warnings]
        except Malformed as exc:
            result.errors.append((where, str(exc)))
        except Unsupported as exc:
            result.skipped.append((where, str(exc)))
    if n == 0:
        result.errors.append((_("file"), _("The file contains no questions.")))
    return result


def _load(data: bytes) -> ET.Element:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Malformed(_("The file is not UTF-8 text.")) from exc
    _refuse_dtd(text)
    root = ET.fromstring(text)  # noqa: S314 - well-formed and without a DTD, checked above
    if root.tag != "quiz":
        raise Malformed(
            _(
                "This is not a Moodle XML question file: its root element is <%(tag)s>, "
                "not <quiz>.",
                tag=root.tag,
            )
        )
    return root


def _refuse_dtd(text: str) -> None:
    # A DTD can define entities that expand to gigabytes; Moodle never writes one.
    class _Dtd(Exception):
        pass

    def refuse(*_args):
        raise _Dtd

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(text, True)
    except _Dtd as exc:
        raise Malformed(
            _("The file declares a DOCTYPE or entities, which Moodle never writes; refused.")
        ) from exc
    except expat.ExpatError as exc:
        raise Malformed(_("The file is not valid XML (%(detail)s).", detail=str(exc))) from exc


def _text(node: ET.Element, path: str) -> str:
    found = node.find(path)
    return (found.text or "").strip() if found is not None else ""


class Source(Reader):
    """One <question> as a type reads it; embedded files are collected as it goes."""

    def __init__(self, element: ET.Element, stem: str, files: dict[str, bytes]):
        super().__init__()
        self.element = element
        self.stem = stem  #: the question text as HTML
        self._files = files

    def text(self, path: str, node: ET.Element | None = None) -> str:
        """Return the stripped text at ``path`` under the question (or under ``node``)."""
        return _text(self.element if node is None else node, path)

    def rich(self, tag: str) -> str:
        """Return the HTML of a child text element such as <graderinfo>."""
        return _rich(self.element, tag, self._files)

    def rich_node(self, node: ET.Element) -> str:
        """Return the HTML of an element holding <text> and <file>s, such as an <answer>."""
        return _rich_node(node, self._files)

    def answers(self) -> list[tuple[float, ET.Element]]:
        """Return (grade in %, element) for each <answer>."""
        return _fractions(self.element)


def _read(q: ET.Element, qtype: str, path: list[str], warnings: list[str]) -> QuestionData:
    """Turn one <question> into QuestionData (Malformed or Unsupported when it cannot),
    adding to ``warnings`` what it loses."""
    readers = moodle_readers()
    if not qtype:
        raise Malformed(_("The question has no type."))
    if qtype not in readers:
        raise Unsupported(unsupported_reason(qtype))
    files: dict[str, bytes] = {}
    stem = _rich(q, "questiontext", files)
    if not stem:
        raise Malformed(_("The question has no text."))
    tags, meta = _tags(q)
    src = Source(q, stem, files)
    qtype_key, stem, body = readers[qtype].from_moodle_xml(qtype, src)
    warnings += src.warnings + _not_kept(q)
    explanation = _rich(q, "generalfeedback", files)
    html_parts = [stem, explanation]

    def collect(html: str) -> str:
        html_parts.append(html)
        return html

    codec(qtype_key).map_html(body, collect)
    return QuestionData(
        qtype=qtype_key,
        stem=stem,
        body=body,
        category_path=list(path),
        explanation=explanation,
        default_points=_number(_text(q, "defaultgrade") or "1", _("default mark")),
        tags=tags,
        name=_name(_text(q, "name/text"), stem),
        files=_referenced(files, html_parts),
        **meta,
    )


#: Moodle's feedback shown for a right, partly right or wrong response.
COMBINED_FEEDBACK = ("correctfeedback", "partiallycorrectfeedback", "incorrectfeedback")


def _has_text(node: ET.Element | None) -> bool:
    return node is not None and bool(_text(node, "text") or node.findall("file"))


def _not_kept(q: ET.Element) -> list[str]:
    """Say what of a question every type leaves behind: feedback, hints, its ID number."""
    lost = []
    feedback = sum(_has_text(a.find("feedback")) for a in q.findall("answer"))
    if feedback:
        lost.append(feedback_lost(feedback))
    if any(_has_text(q.find(tag)) for tag in COMBINED_FEEDBACK):
        lost.append(
            _(
                "Its feedback for right, partly right and wrong responses was not imported: "
                "the bank keeps one explanation (解析) per question."
            )
        )
    hints = sum(_has_text(h) for h in q.findall("hint"))
    if hints:
        lost.append(
            ngettext(
                "%(num)d hint was not imported: exams here show no hints.",
                "%(num)d hints were not imported: exams here show no hints.",
                hints,
            )
        )
    idnumber = _text(q, "idnumber")
    if idnumber:
        lost.append(
            _("Its ID number %(id)s was not kept: the bank numbers questions itself.", id=idnumber)
        )
    return lost


def _name(name: str, stem: str) -> str:
    """Return the question's name; the one export writes for a nameless question is none."""
    name = " ".join(name.split())
    return "" if name == default_name(stem) else name


def _rich(node: ET.Element, tag: str, files: dict[str, bytes]) -> str:
    """Return the HTML of a child text element, collecting its embedded files."""
    part = node.find(tag)
    return "" if part is None else _rich_node(part, files)


def _rich_node(part: ET.Element, files: dict[str, bytes]) -> str:
    """Return the HTML of an element holding <text> and <file>s, collecting the files."""
    for f in part.findall("file"):
        folder = (f.get("path") or "/").strip("/")
        name = f"{folder}/{f.get('name', '')}" if folder else f.get("name", "")
        try:
            content = base64.b64decode(f.text or "")
        except (binascii.Error, ValueError) as exc:
            raise Malformed(
                _("The embedded file %(name)s is not valid base64.", name=name)
            ) from exc
        if files.get(name, content) != content:
            raise Malformed(_("Two different embedded files are named %(name)s.", name=name))
        files[name] = content
    return to_html(_text(part, "text"), part.get("format", "html"))


def _referenced(files: dict[str, bytes], html_parts: list[str]) -> dict[str, bytes]:
    # Moodle keeps files of images deleted from the text; take only those still shown, keyed
    # as the HTML spells them (Moodle URL-encodes names there).
    refs = {}
    for part in html_parts:
        for ref in _PLUGINFILE.findall(part):
            refs.setdefault(unquote(ref), ref)
    return {refs[name]: content for name, content in files.items() if name in refs}


def _number(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not math.isfinite(number) or number < 0:
        raise Malformed(_("The %(what)s %(v)s is not a number of points.", what=what, v=value))
    return number


def _tags(q: ET.Element) -> tuple[list[str], dict]:
    """Return the question's tags and our metadata read from the reserved ones."""
    tags, meta = [], {}
    for node in q.findall("tags/tag/text"):
        tag = (node.text or "").strip()
        if tag.startswith(TAG_DIFFICULTY):
            value = tag.removeprefix(TAG_DIFFICULTY)
            if value not in ("1", "2", "3", "4", "5"):
                raise Malformed(_("The tag %(tag)s needs a difficulty from 1 to 5.", tag=tag))
            meta["difficulty"] = int(value)
        elif tag.startswith(TAG_STATUS):
            value = tag.removeprefix(TAG_STATUS)
            if value not in STATUSES:
                raise Malformed(
                    _("The tag %(tag)s needs one of %(s)s.", tag=tag, s=", ".join(STATUSES))
                )
            meta["status"] = value
        elif tag.startswith(TAG_SOURCE):
            meta["source"] = tag.removeprefix(TAG_SOURCE).strip()
        elif tag:
            tags.append(tag)
    return tags, meta


def _fractions(q: ET.Element) -> list[tuple[float, ET.Element]]:
    """Return (grade in %, element) for each <answer>."""
    out = []
    for i, a in enumerate(q.findall("answer"), start=1):
        value = a.get("fraction", "0")
        try:
            out.append((float(value), a))
        except ValueError as exc:
            raise Malformed(
                _("The grade %(v)s of answer %(n)d is not a number.", v=value, n=i)
            ) from exc
    return out


# Writing


def export(questions: list[QuestionData], descriptions: dict | None = None) -> bytes:
    """Write questions as Moodle XML, announcing each change of category (with its
    description from ``descriptions``, by path, as Moodle's <info>).

    Questions of a type without an interchange are left out (``exportable`` says which).
    """
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    descriptions = descriptions or {}
    current, announced = None, set()
    for q in exportable(questions)[0]:
        if q.category_path != current:
            current = list(q.category_path)
            # Described parents first, once each, so that their descriptions travel too.
            for depth in range(1, len(current)):
                parent = tuple(current[:depth])
                if parent in descriptions and parent not in announced:
                    announced.add(parent)
                    out += _category_xml(list(parent), descriptions[parent])
            announced.add(tuple(current))
            out += _category_xml(current, descriptions.get(tuple(current), ""))
        out.append(_question_xml(q))
    out.append("</quiz>\n")
    return "\n".join(out).encode("utf-8")


def _category_xml(path: list[str], info: str) -> list[str]:
    return [
        '  <question type="category">',
        f"    <category><text>{_esc(category_text(path))}</text></category>",
        *([f'    <info format="plain_text"><text>{_esc(info)}</text></info>'] if info else []),
        "  </question>",
    ]


def default_name(stem: str) -> str:
    """Return the name written for a question that has none: its text's beginning."""
    return to_text(stem)[:40].strip() or _("Question")


class Writer:
    """What a type writes its answers with: the question's embedded files, XML escaping."""

    def __init__(self, q: QuestionData):
        self._files = q.files

    def rich(self, tag: str, text: str, attrs: str = "", indent: str = "    ") -> str:
        """Write an HTML text element with the files its HTML refers to."""
        return _rich_xml(tag, text, self._files, attrs, indent)

    def esc(self, text: str) -> str:
        """Escape text for an XML element."""
        return _esc(text)


def _question_xml(q: QuestionData) -> str:
    moodle_type, stem, body = codec(q.qtype).to_moodle_xml(q, Writer(q))
    return "\n".join(
        [
            f'  <question type="{moodle_type}">',
            f"    <name><text>{_esc(q.name or default_name(q.stem))}</text></name>",
            _rich_xml("questiontext", stem, q.files),
            _rich_xml("generalfeedback", q.explanation, q.files),
            f"    <defaultgrade>{q.default_points!r}</defaultgrade>",
            f"    <penalty>{'1' if moodle_type == 'truefalse' else '0.3333333'}</penalty>",
            "    <hidden>0</hidden>",
            *body,
            _tags_xml(q),
            "  </question>",
        ]
    )


def _tags_xml(q: QuestionData) -> str:
    tags = [
        *q.tags,
        f"{TAG_DIFFICULTY}{q.difficulty}",
        f"{TAG_STATUS}{q.status}",
        *([f"{TAG_SOURCE}{q.source}"] if q.source else []),
    ]
    inner = "".join(f"<tag><text>{_esc(t)}</text></tag>" for t in tags)
    return f"    <tags>{inner}</tags>"


def _rich_xml(tag: str, text: str, files: dict, attrs: str = "", indent: str = "    ") -> str:
    """Write an HTML text element with the files its HTML refers to."""
    embedded = "".join(
        _file_xml(ref, files[ref])
        for ref in dict.fromkeys(_PLUGINFILE.findall(text))
        if ref in files
    )
    return f'{indent}<{tag}{attrs} format="html"><text>{_cdata(text)}</text>{embedded}</{tag}>'


def _file_xml(ref: str, content: bytes) -> str:
    folder, _slash, name = unquote(ref).rpartition("/")
    path = f"/{folder}/" if folder else "/"
    data = base64.b64encode(content).decode("ascii")
    return f'<file name="{_esc(name)}" path="{_esc(path)}" encoding="base64">{data}</file>'


def _cdata(text: str) -> str:
    text = _NOT_XML_CHAR.sub("", text)
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>" if text else ""


def _esc(text: str) -> str:
    return html.escape(_NOT_XML_CHAR.sub("", text))
