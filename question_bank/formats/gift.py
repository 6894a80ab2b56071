"""GIFT, Moodle's plain-text question format: read what teachers write, write what Moodle reads.

Questions are separated by blank lines. ``{=a ~b}`` is single choice, ``{~%50%a ~%-100%b}``
multiple choice, ``{T}``/``{FALSE}`` true/false, ``{=a =b}`` a fill-in with one blank (where
the braces were when text follows them, else at the end) and ``{}`` a short answer; matching,
numerical and descriptions are skipped. Parsing follows Moodle's own importer.

Tags written in comments (``// [tag:挂失] [tag:身份核实]``, as Moodle writes them) are read
and written; an ``[id:…]`` there is reported as not kept.

GIFT has no place for most of our fields, so each exported question is preceded by one line
``// lms-json: {"v": 1, "gift": <digest>, "question": {...}}``: the complete QuestionData
(files in base64) and a digest of the GIFT text after it. Import takes such a question from
the JSON, losslessly; if the GIFT text no longer matches the digest, someone edited it, and
the question is refused rather than the edit silently lost. Moodle ignores comments and
reads the GIFT text, a best effort: a fill-in with several blanks, which GIFT cannot express,
is written as an essay whose general feedback lists the answers.
"""

import base64
import binascii
import dataclasses
import hashlib
import json
import math
import re

from flask_babel import gettext as _

from question_bank import interchange
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
    not_exportable_reason,
)

JSON_PREFIX = "// lms-json:"
#: Where the braces were when text follows them: the blank of a "missing word" question.
BLANK_MARK = "____"
FORMATS = {
    "html": "html",
    "moodle": "moodle_auto_format",
    "plain": "plain_text",
    "markdown": "markdown",
}
#: What PHP's trim() strips; Python's strip() would also eat full-width spaces.
_WS = " \t\r\n\0\x0b"
_WEIGHT = re.compile(r"%(-?\d+(?:\.\d*)?)%")
#: While parsing, each escaped character stands in for itself as a private-use character.
_ESCAPABLE = "\\~=#{}:n"
_PROTECT = re.compile(r"\\([\\~=#{}:n])")
_RESTORE = {chr(0xF0000 + ord(c)): ("\n" if c == "n" else c) for c in _ESCAPABLE}
_FIELDS = {
    "qtype": str,
    "stem": str,
    "body": dict,
    "category_path": list,
    "explanation": str,
    "default_points": (int, float),
    "difficulty": int,
    "tags": list,
    "source": str,
    "status": str,
    "name": str,
    "files": dict,
}


# Reading


def parse(data: bytes) -> ParseResult:
    """Read a GIFT file: its questions, the malformed ones and the skipped ones."""
    result = ParseResult()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = "\0"  # reported just below, like text that holds binary data
    if "\0" in text:
        result.errors.append((_("file"), _("The file is not UTF-8 text.")))
        return result
    path: list[str] = []
    n, answered = 0, False
    for block in _blocks(text):
        lines = [line for line in block if not line.startswith("//")]
        comments = [line for line in block if line.startswith("//")]
        if lines and lines[0].startswith("$CATEGORY:"):
            path = parse_category(lines.pop(0)[len("$CATEGORY:") :])
        if not lines:
            continue
        n += 1
        body = "\n".join(lines)
        saved = next((line for line in block if line.startswith(JSON_PREFIX)), None)
        answered = answered or saved is not None or "{" in _protect(body)
        where = where_label(n, _title(body))
        warnings: list[str] = []
        try:
            if saved:
                question = _from_json(saved, body)
            else:
                question = _read(body, path, warnings)
                _read_comments(comments, question, warnings)
        except Malformed as exc:
            result.errors.append((where, str(exc)))
        except Unsupported as exc:
            result.skipped.append((where, str(exc)))
        else:
            result.questions.append((where, question))
            result.warnings += [(where, w) for w in warnings]
    if not answered:
        message = _("This is not a GIFT file: no question has its answers in braces { }.")
        return ParseResult(errors=[(_("file"), message)])
    return result


def _blocks(text: str):
    """Yield the trimmed lines of each question; a blank line ends a question.

    Lines inside <pre> keep their indentation (a blank line still ends the question, as
    in Moodle, so that a <pre> left open cannot swallow the rest of the file).
    """
    block: list[str] = []
    in_pre = False
    # Only \n ends a line: str.splitlines() would also split at characters Word leaves in text.
    for raw in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = raw.rstrip(_WS) if in_pre else raw.strip(_WS)
        lower = line.lower()
        in_pre = lower.rfind("<pre") > lower.rfind("</pre>") or (in_pre and "</pre>" not in lower)
        if line:
            block.append(line)
        else:
            in_pre = False
            if block:
                yield block
                block = []
    if block:
        yield block


def _protect(text: str) -> str:
    return _PROTECT.sub(lambda m: chr(0xF0000 + ord(m.group(1))), text)


def _restore(text: str) -> str:
    return "".join(_RESTORE.get(c, c) for c in text)


def _split_title(text: str) -> tuple[str, str]:
    """Return the ::title:: and the rest of a (protected) question text."""
    if not text.startswith("::"):
        return "", text
    end = text.find("::", 2)
    if end < 0:
        return "", text[2:]
    return _restore(text[2:end]).strip(_WS), text[end + 2 :].strip(_WS)


def _title(body: str) -> str:
    return _split_title(_protect(body))[0]


def _with_format(text: str, default: str) -> tuple[str, str]:
    """Split a leading [html], [moodle], [plain] or [markdown] from the text."""
    close = text.find("]") if text.startswith("[") else -1
    fmt = FORMATS.get(text[1:close]) if close > 0 else None
    return (fmt, text[close + 1 :]) if fmt else (default, text)


def _html(text: str, default_format: str) -> str:
    """Return a (protected) text as HTML, in its own format or else the default."""
    fmt, text = _with_format(text.strip(_WS), default_format)
    return to_html(_restore(text).strip(_WS), fmt)


def _read(body: str, path: list[str], warnings: list[str]) -> QuestionData:
    """Turn one question's text into QuestionData, as Moodle's GIFT importer reads it,
    adding to ``warnings`` what it loses."""
    name, text = _split_title(_protect(body))
    start, end = text.find("{"), text.find("}")
    if start < 0 and end < 0:
        raise Unsupported(_("Descriptions (text without answers) are not questions."))
    if start < 0 or 0 <= end < start:
        raise Malformed(_("The question has a closing } without an opening {."))
    if end < 0:
        raise Malformed(_("The question has an opening { without a closing }."))
    answer, after = text[start + 1 : end].strip(_WS), text[end + 1 :]
    if "{" in answer or "{" in after or "}" in after:
        raise Malformed(
            _("The question has more than one { }; write \\{ and \\} for braces in its text.")
        )
    # Text after the braces makes it a "missing word" question: the blank is where they were.
    stem = text[:start] + (BLANK_MARK + after if after.strip(_WS) else "")
    fmt = _with_format(stem.strip(_WS), "moodle_auto_format")[0]
    feedback_at = answer.rfind("####")
    explanation = ""
    if feedback_at >= 0:
        explanation = _html(answer[feedback_at + 4 :], fmt)
        answer = answer[:feedback_at].strip(_WS)
    kind = _kind(answer)
    reader = moodle_readers().get(kind)
    if reader is None:
        raise Unsupported(unsupported_reason(kind))
    stem_html = _html(stem, fmt)
    src = Source(fmt)
    qtype, stem, body_ = reader.from_gift(kind, stem_html, answer, src)
    warnings += src.warnings
    if src.feedback:
        warnings.append(feedback_lost(src.feedback))
    if not stem_html:
        raise Malformed(_("The question has no text."))
    return QuestionData(
        qtype=qtype,
        stem=stem,
        body=body_,
        category_path=list(path),
        explanation=explanation,
        name=name,
    )


_COMMENT_TAG = re.compile(r"\[tag:([^\]]*)\]")
_COMMENT_ID = re.compile(r"\[id:([^\]]*)\]")


def _read_comments(comments: list[str], question: QuestionData, warnings: list[str]) -> None:
    """Take the tags Moodle writes in comments (``// [tag:挂失]``); say an ID number is lost."""
    text = "\n".join(c for c in comments if not c.startswith(JSON_PREFIX))
    for tag in _COMMENT_TAG.findall(text):
        tag = tag.strip(_WS)
        if tag and tag not in question.tags:
            question.tags.append(tag)
    idnumbers = [i.strip(_WS) for i in _COMMENT_ID.findall(text) if i.strip(_WS)]
    if idnumbers:
        warnings.append(
            _(
                "Its ID number %(id)s was not kept: the bank numbers questions itself.",
                id=idnumbers[0],
            )
        )


def _kind(answer: str) -> str:
    """Return the Moodle question type that the text between the braces makes, as Moodle
    tells them apart (and in its order)."""
    if not answer:
        return "essay"
    if answer.startswith("#"):
        return "numerical"
    if "~" in answer:
        return "multichoice"
    if "=" in answer and "->" in answer:
        return "matching"
    if answer.split("#", 1)[0].strip(_WS) in ("T", "TRUE", "F", "FALSE"):
        return "truefalse"
    return "shortanswer"


def _parts(answer: str, sep: str) -> list[str]:
    parts = [p.strip(_WS) for p in answer.split(sep)]
    return parts[1:] if parts and not parts[0] else parts


class Source(Reader):
    """The answers of one GIFT question as a type reads them (texts are still escaped)."""

    def __init__(self, fmt: str):
        super().__init__()
        self.fmt = fmt  #: the question's text format, the default of each answer
        self.feedback = 0  #: how many answers had feedback of their own (not imported)

    def _without_feedback(self, text: str) -> str:
        """Return the answer before its ``#feedback``, counting feedback that is lost."""
        answer, _sep, feedback = text.partition("#")
        if feedback.strip(_WS + "#"):
            self.feedback += 1
        return answer

    def weighted(self, answer: str, sep: str, default: float) -> list[tuple[float, str]]:
        """Split answers at ``sep``: (grade in %, text without its feedback) for each.

        A leading ``=`` is worth 100%, ``%50%`` what it says, anything else ``default``.
        """
        out = []
        for part in _parts(answer, sep):
            weight = default
            if part.startswith("="):
                weight, part = 100.0, part[1:]
            elif m := _WEIGHT.match(part):
                weight, part = float(m.group(1)), part[m.end() :]
            out.append((weight, self._without_feedback(part)))
        return out

    def html(self, text: str) -> str:
        """Return an answer as HTML, in its own [format] or else the question's."""
        return _html(text, self.fmt)

    def plain(self, text: str) -> str:
        """Return an answer without its [format], trimmed, still escaped (see ``restore``)."""
        return _with_format(text.strip(_WS), self.fmt)[1].strip(_WS)

    def restore(self, text: str) -> str:
        """Undo GIFT's escapes (\\~, \\=, \\#, \\{, \\}, \\:, \\n)."""
        return _restore(text)

    def word(self, answer: str) -> str:
        """Return the answer before any feedback, trimmed (e.g. TRUE)."""
        return self._without_feedback(answer).strip(_WS)


def _from_json(line: str, body: str) -> QuestionData:
    """Return the question saved on a // lms-json line, if the GIFT after it is unchanged."""
    try:
        saved = json.loads(line[len(JSON_PREFIX) :])
    except (ValueError, RecursionError) as exc:
        raise Malformed(_("Its // lms-json line is not valid JSON.")) from exc
    if not (
        isinstance(saved, dict) and saved.get("v") == 1 and isinstance(saved.get("question"), dict)
    ):
        raise Malformed(_("Its // lms-json line does not hold a question of this version."))
    if saved.get("gift") != _digest(body):
        raise Malformed(
            _(
                "The question was edited after it was exported, so its // lms-json line no "
                "longer matches; delete that line to import the question as edited."
            )
        )
    return question_from_dict(saved["question"])


def question_from_dict(data: dict) -> QuestionData:
    """Return the QuestionData a JSON object holds, checking every field's type."""
    for field, value in data.items():
        wanted = _FIELDS.get(field)
        if wanted is None or not isinstance(value, wanted) or isinstance(value, bool):
            raise Malformed(_("Its // lms-json line has an invalid field %(f)s.", f=field))
    missing = [f for f in ("qtype", "stem", "body") if f not in data]
    if missing:
        raise Malformed(_("Its // lms-json line lacks %(f)s.", f=", ".join(missing)))
    strings = [*data.get("category_path", []), *data.get("tags", []), *data.get("files", {})]
    strings += data.get("files", {}).values()
    if not all(isinstance(s, str) for s in strings):
        raise Malformed(_("Its // lms-json line has a list or file that is not text."))
    if data["qtype"] not in interchange.QTYPES or data.get("status", "draft") not in STATUSES:
        raise Malformed(_("Its // lms-json line has an unknown type or status."))
    if codec(data["qtype"]) is None:
        raise Unsupported(not_exportable_reason(data["qtype"]))
    if data.get("difficulty", 3) not in range(1, 6):
        raise Malformed(_("Its // lms-json line has a difficulty outside 1 to 5."))
    if not 0 <= data.get("default_points", 1) < math.inf:
        raise Malformed(_("Its // lms-json line has an invalid number of points."))
    try:
        files = {k: base64.b64decode(v, validate=True) for k, v in data.get("files", {}).items()}
    except (binascii.Error, ValueError) as exc:
        raise Malformed(_("Its // lms-json line has a file that is not valid base64.")) from exc
    return QuestionData(**{**data, "files": files})


def _digest(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()[:16]


# Writing


def export(questions: list[QuestionData]) -> bytes:
    """Write questions as GIFT, each after the // lms-json line that restores it exactly.

    Questions of a type without an interchange are left out (``exportable`` says which).
    """
    out, current = [], None
    for q in exportable(questions)[0]:
        if q.category_path != current:
            current = list(q.category_path)
            out += [f"$CATEGORY: {category_text(current)}", ""]
        # A blank line would end the question early.
        body = [line.strip(_WS) for line in _gift(q) if line.strip(_WS)]
        saved = {"v": 1, "gift": _digest("\n".join(body)), "question": _to_dict(q)}
        # Moodle reads tags from a comment; the line after restores the question here.
        tags = " ".join(f"[tag:{t}]" for t in q.tags if "]" not in t)
        out += [f"// {tags}"] if tags else []
        out += [f"{JSON_PREFIX} {json.dumps(saved, ensure_ascii=False)}", *body, ""]
    return "\n".join(out).encode("utf-8")


def _to_dict(q: QuestionData) -> dict:
    data = dataclasses.asdict(q)
    data["files"] = {k: base64.b64encode(v).decode("ascii") for k, v in q.files.items()}
    return data


def _escape(text: str) -> str:
    """Escape GIFT's special characters and put the text on one line."""
    text = text.replace("\\", "\\\\")
    for c in "~=#{}:":
        text = text.replace(c, "\\" + c)
    return text.replace("\r", "").replace("\n", "\\n")


class Writer:
    """What a type writes its GIFT with: escaping, the question's heading and feedback."""

    def __init__(self, q: QuestionData):
        self._q = q
        #: The ::name:: and [html] that start the question.
        self.head = (f"::{_escape(q.name)}::" if q.name else "") + "[html]"
        #: ####explanation, to end the answers with (or nothing).
        self.feedback = f"####{_escape(q.explanation)}" if q.explanation else ""

    def escape(self, text: str) -> str:
        """Escape GIFT's special characters and put the text on one line."""
        return _escape(text)

    def essay(self, key_html: str) -> list[str]:
        """Write the question as an essay, its key in the feedback for Moodle's graders."""
        q = self._q
        feedback = q.explanation + key_html
        essay_feedback = f"####{_escape(feedback)}" if feedback else ""
        return [f"{self.head}{_escape(q.stem)}{{{essay_feedback}}}"]


def _gift(q: QuestionData) -> list[str]:
    """Return the GIFT lines of one question (without its // lms-json line)."""
    return codec(q.qtype).to_gift(q, Writer(q))
