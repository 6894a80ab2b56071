"""Moodle XML (``<quiz>``): read the questions Moodle exports, write files Moodle imports.

multichoice, truefalse, shortanswer (one blank), multianswer (Cloze whose gaps are all
short answer: one blank per gap) and essay become our five types; every other Moodle type
is skipped with the reason.

Fields Moodle has no place for are written as reserved tags, which Moodle keeps as plain
tags and which import reads back instead of putting them into ``tags``:
``lms-difficulty:<1-5>``, ``lms-status:<draft|published|retired>`` and
``lms-source:<text>``. A short-answer question's rubric follows its reference answer in
``<graderinfo>`` (Moodle's "information for graders") after the marker
``<!-- lms-rubric -->``. Files without them (every real Moodle file) get the defaults.

Moodle requires a name, so an empty name is written as the start of the stem's text and
comes back as that. Option keys come back numbered 1..n in their order.
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

from question_bank.formats.common import (
    BLANK_MARK,
    Malformed,
    Unsupported,
    accepted_answers,
    category_text,
    choice_body,
    escape_answer,
    mark_blank,
    parse_category,
    positive_weight,
    to_html,
    unmark_blank,
    unsupported_reason,
    where_label,
)
from question_bank.interchange import STATUSES, ParseResult, QuestionData
from question_bank.qtypes.fill_blank import BLANK
from question_bank.sanitize import to_text

RUBRIC_MARKER = "<!-- lms-rubric -->"
TAG_DIFFICULTY, TAG_STATUS, TAG_SOURCE = "lms-difficulty:", "lms-status:", "lms-source:"
SHORT_GAPS = {"SHORTANSWER", "SA", "MW", "SHORTANSWER_C", "SAC", "MWC"}
_CLOZE_GAP = re.compile(r"\{(\d*):([A-Z_]+):")
_CLOZE_WEIGHT = re.compile(r"%(-?\d+(?:[.,]\d*)?)%")
_PLUGINFILE = re.compile(r"@@PLUGINFILE@@/([^\s\"'<>]+)")
_NOT_XML_CHAR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def split_rubric(graderinfo: str) -> tuple[str, str]:
    """Return (reference, rubric) from a grader-information text."""
    reference, _marker, rubric = graderinfo.partition(RUBRIC_MARKER)
    return reference.strip(), rubric.strip()


def join_rubric(reference: str, rubric: str) -> str:
    """Write the reference answer, then the rubric after its marker if there is one."""
    return f"{reference}{RUBRIC_MARKER}{rubric}" if rubric else reference


# Reading


def parse(data: bytes) -> ParseResult:
    """Read a Moodle XML file: its questions, the malformed ones and the skipped ones."""
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
            continue
        n += 1
        where = where_label(n, _text(q, "name/text"))
        try:
            result.questions.append((where, _read(q, qtype, path)))
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


def _read(q: ET.Element, qtype: str, path: list[str]) -> QuestionData:
    """Turn one <question> into QuestionData (Malformed or Unsupported when it cannot)."""
    readers = {
        "multichoice": _choice,
        "truefalse": _true_false,
        "shortanswer": _short_answer,
        "multianswer": _cloze,
        "essay": _essay,
    }
    if not qtype:
        raise Malformed(_("The question has no type."))
    if qtype not in readers:
        raise Unsupported(unsupported_reason(qtype))
    files: dict[str, bytes] = {}
    stem = _rich(q, "questiontext", files)
    if not stem:
        raise Malformed(_("The question has no text."))
    tags, meta = _tags(q)
    qtype_key, stem, body = readers[qtype](q, stem, files)
    explanation = _rich(q, "generalfeedback", files)
    html_parts = [stem, explanation, *_body_html(qtype_key, body)]
    return QuestionData(
        qtype=qtype_key,
        stem=stem,
        body=body,
        category_path=list(path),
        explanation=explanation,
        default_points=_number(_text(q, "defaultgrade") or "1", _("default mark")),
        tags=tags,
        name=_text(q, "name/text"),
        files=_referenced(files, html_parts),
        **meta,
    )


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


def _body_html(qtype: str, body: dict) -> list[str]:
    if qtype in ("single_choice", "multiple_choice"):
        return [o["html"] for o in body["options"]]
    if qtype == "short_answer":
        return [body["reference"], body["rubric"]]
    return []


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


def _choice(q, stem, files):
    single = _text(q, "single").lower() not in ("false", "0")
    options, fractions = [], []
    for fraction, a in _fractions(q):
        option = _rich_node(a, files)
        if option:  # Moodle drops blank choices too
            options.append({"key": str(len(options) + 1), "html": option})
            fractions.append(fraction)
    qtype, body = choice_body(single, options, fractions)
    return qtype, stem, body


def _true_false(q, stem, files):
    right: dict[str, bool] = {}
    for i, (fraction, a) in enumerate(_fractions(q)):
        word = _text(a, "text").lower()
        if word not in ("true", "false"):
            # Old Moodle files name the answers in the site's language, "true" first.
            word = "true" if i == 0 else "false"
        right[word] = fraction > 0
    if set(right) == {"true", "false"} and right["true"] == right["false"]:
        raise Malformed(_("Exactly one of the answers true and false must be correct."))
    if not right:
        raise Malformed(_("A true/false question needs the answers true and false."))
    correct = right["true"] if "true" in right else not right["false"]
    return "true_false", stem, {"correct": correct}


def _short_answer(q, stem, files):
    answers = [(fraction, _text(a, "text")) for fraction, a in _fractions(q)]
    return "fill_blank", mark_blank(stem), {"blanks": [accepted_answers(answers)]}


def _cloze(q, stem, files):
    gaps = list(_cloze_gaps(stem))
    if not gaps:
        raise Malformed(_("The Cloze question has no gaps such as {1:SHORTANSWER:=answer}."))
    other = sorted({kind for _s, _e, kind, _spec in gaps if kind not in SHORT_GAPS})
    if other:
        raise Unsupported(
            _(
                "Cloze questions are supported only when every gap is short answer; "
                "this one has %(kinds)s gaps.",
                kinds=", ".join(other),
            )
        )
    out, blanks, pos = [], [], 0
    for n, (start, end, _kind, spec) in enumerate(gaps, start=1):
        out += [stem[pos:start], BLANK_MARK]
        blanks.append(accepted_answers(_cloze_answers(spec), gap=n))
        pos = end
    out.append(stem[pos:])
    return "fill_blank", "".join(out), {"blanks": blanks}


def _cloze_gaps(text: str):
    """Yield (start, end, kind, answers) for each {n:KIND:answers} gap."""
    pos = 0
    while m := _CLOZE_GAP.search(text, pos):
        i = m.end()
        while i < len(text) and text[i] != "}":
            i += 2 if text[i] == "\\" else 1
        if i >= len(text):
            raise Malformed(_("A Cloze gap has no closing }."))
        yield m.start(), i + 1, m.group(2), text[m.end() : i]
        pos = i + 1


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, start, i = [], 0, 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == sep:
            parts.append(text[start:i])
            start = i + 1
        i += 1
    parts.append(text[start:])
    return parts


def _cloze_answers(spec: str) -> list[tuple[float, str]]:
    """Return (grade in %, text) for each alternative of a gap, feedback dropped."""
    out = []
    for alt in _split_unescaped(spec, "~"):
        alt = alt.strip()
        fraction = 0.0
        if alt.startswith("="):
            fraction, alt = 100.0, alt[1:]
        elif m := _CLOZE_WEIGHT.match(alt):
            fraction, alt = float(m.group(1).replace(",", ".")), alt[m.end() :]
        alt = _split_unescaped(alt, "#")[0]
        # \* stays escaped: literal_answer tells it from a wildcard.
        out.append((fraction, html.unescape(re.sub(r"\\([^*])", r"\1", alt)).strip()))
    return out


def _essay(q, stem, files):
    reference, rubric = split_rubric(_rich(q, "graderinfo", files))
    return "short_answer", stem, {"reference": reference, "rubric": rubric}


# Writing


def export(questions: list[QuestionData]) -> bytes:
    """Write questions as Moodle XML, announcing each change of category."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<quiz>"]
    current = None
    for q in questions:
        if q.category_path != current:
            current = list(q.category_path)
            out += [
                '  <question type="category">',
                f"    <category><text>{_esc(category_text(current))}</text></category>",
                "  </question>",
            ]
        out.append(_question_xml(q))
    out.append("</quiz>\n")
    return "\n".join(out).encode("utf-8")


def default_name(stem: str) -> str:
    """Return the name written for a question that has none: its text's beginning."""
    return to_text(stem)[:40].strip() or _("Question")


def _question_xml(q: QuestionData) -> str:
    writers = {
        "single_choice": _choice_xml,
        "multiple_choice": _choice_xml,
        "true_false": _true_false_xml,
        "fill_blank": _fill_blank_xml,
        "short_answer": _essay_xml,
    }
    moodle_type, stem, body = writers[q.qtype](q)
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


def _choice_xml(q: QuestionData):
    single = q.qtype == "single_choice"
    correct = set(q.body["correct"])
    # Moodle adds up a multiple choice's grades: wrong options must cost all for picking
    # every option not to score.
    right, wrong = ("100", "0") if single else (positive_weight(len(correct) or 1), "-100")
    lines = [
        f"    <single>{'true' if single else 'false'}</single>",
        "    <shuffleanswers>false</shuffleanswers>",  # options like "all of the above"
        "    <answernumbering>ABCD</answernumbering>",
    ]
    for option in q.body["options"]:
        fraction = right if option["key"] in correct else wrong
        lines.append(
            _rich_xml("answer", option["html"], q.files, f' fraction="{fraction}"', "    ")
        )
    return "multichoice", q.stem, lines


def _true_false_xml(q: QuestionData):
    correct = bool(q.body["correct"])
    lines = [
        f'    <answer fraction="{100 if value == correct else 0}" format="moodle_auto_format">'
        f"<text>{'true' if value else 'false'}</text></answer>"
        for value in (True, False)
    ]
    return "truefalse", q.stem, lines


def _fill_blank_xml(q: QuestionData):
    blanks = q.body["blanks"]
    if len(blanks) <= 1:
        lines = ["    <usecase>0</usecase>"] + [
            f'    <answer fraction="100" format="moodle_auto_format">'
            f"<text>{_esc(escape_answer(a))}</text></answer>"
            for a in (blanks[0] if blanks else [])
        ]
        return "shortanswer", unmark_blank(q.stem), lines
    gaps = iter(
        "{1:SHORTANSWER:" + "~".join("=" + _cloze_escape(a) for a in b) + "}" for b in blanks
    )
    return "multianswer", BLANK.sub(lambda m: next(gaps, m.group(0)), q.stem), []


def _cloze_escape(answer: str) -> str:
    text = re.sub(r"([\\}~#])", r"\\\1", html.escape(answer, quote=False))
    return escape_answer(text)


def _essay_xml(q: QuestionData):
    graderinfo = join_rubric(q.body.get("reference", ""), q.body.get("rubric", ""))
    lines = [
        "    <responseformat>editor</responseformat>",
        "    <responserequired>1</responserequired>",
        "    <responsefieldlines>10</responsefieldlines>",
        "    <attachments>0</attachments>",
        "    <attachmentsrequired>0</attachmentsrequired>",
        _rich_xml("graderinfo", graderinfo, q.files, indent="    "),
        '    <responsetemplate format="html"><text></text></responsetemplate>',
    ]
    return "essay", q.stem, lines


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
