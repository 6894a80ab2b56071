"""Short answer 简答题: prose, graded by a trainer against a reference answer and rubric."""

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from question_bank.interchange import Interchange, RowCells
from question_bank.qtypes.base import PrintView, QuestionType
from question_bank.sanitize import clean, rich, to_text

#: In Moodle's "information for graders", what separates the reference answer from the rubric.
RUBRIC_MARKER = "<!-- lms-rubric -->"


def split_rubric(graderinfo: str) -> tuple[str, str]:
    """Return (reference, rubric) from a grader-information text."""
    reference, _marker, rubric = graderinfo.partition(RUBRIC_MARKER)
    return reference.strip(), rubric.strip()


def join_rubric(reference: str, rubric: str) -> str:
    """Write the reference answer, then the rubric after its marker if there is one."""
    return f"{reference}{RUBRIC_MARKER}{rubric}" if rubric else reference


class ShortAnswerInterchange(Interchange):
    """Moodle's essay: the reference answer and rubric are its information for graders."""

    moodle_types = ("essay",)
    sheet_names = ("简答题", "简答", "主观题")
    sheet_help = ("简答题：答案填参考答案，评分要点写在“评分要点”列。",)

    def map_html(self, body: dict, fn) -> dict:
        """Apply ``fn`` to the reference answer and the rubric."""
        return {**body, "reference": fn(body["reference"]), "rubric": fn(body["rubric"])}

    def from_moodle_xml(self, kind: str, src) -> tuple[str, str, dict]:
        """Read <graderinfo>: the reference answer, then the rubric after its marker."""
        reference, rubric = split_rubric(src.rich("graderinfo"))
        if src.text("attachments") not in ("", "0"):
            src.warn(
                _(
                    "It let candidates attach files; here they answer in text only, without "
                    "attachments."
                )
            )
        if to_text(src.rich("responsetemplate")):
            src.warn(_("Its response template was not imported: the answer box starts empty."))
        return ShortAnswer.key, src.stem, {"reference": reference, "rubric": rubric}

    def to_moodle_xml(self, q, out) -> tuple[str, str, list[str]]:
        """Write an essay answered in the editor, the key in <graderinfo>."""
        graderinfo = join_rubric(q.body.get("reference", ""), q.body.get("rubric", ""))
        lines = [
            "    <responseformat>editor</responseformat>",
            "    <responserequired>1</responserequired>",
            "    <responsefieldlines>10</responsefieldlines>",
            "    <attachments>0</attachments>",
            "    <attachmentsrequired>0</attachmentsrequired>",
            out.rich("graderinfo", graderinfo),
            '    <responsetemplate format="html"><text></text></responsetemplate>',
        ]
        return "essay", q.stem, lines

    def from_gift(self, kind: str, stem: str, answer: str, src) -> tuple[str, str, dict]:
        """Read ``{}``: an essay, without a reference answer yet."""
        return ShortAnswer.key, stem, {"reference": "", "rubric": ""}

    def to_gift(self, q, out) -> list[str]:
        """Write an essay; Moodle's graders get the reference answer in its feedback."""
        reference = q.body.get("reference", "")
        key = "<p>" + _("Reference answer:") + "</p>" + reference if reference else ""
        return out.essay(key)

    def from_row(self, answer: str, src) -> dict:
        """Read the reference answer from 答案 and the rubric from 评分要点."""
        return {"reference": src.html(answer), "rubric": src.html(src.get("评分要点"))}

    def to_row(self, q, out) -> RowCells:
        """Write the reference answer in 答案 and the rubric in 评分要点."""
        return RowCells(
            answer=out.cell(q.body.get("reference", "")),
            rubric=out.cell(q.body.get("rubric", "")),
        )


class ShortAnswer(QuestionType):
    """Answered in prose; a trainer grades it."""

    key = "short_answer"
    label = _l("Short answer")
    heading = _l("Short-answer questions")
    manual = True
    interchange = ShortAnswerInterchange()

    def _read_response(self, body: dict, raw, order: list | None):
        """Take plain text (kept as typed; shown escaped)."""
        if not isinstance(raw, str):
            raise ValueError("not text")
        return raw[:20000]

    def body_from_form(self, form) -> dict:
        """Read the reference answer and the rubric (rich text)."""
        return {
            "reference": rich(form.get("reference", "")),
            "rubric": rich(form.get("rubric", "")),
        }

    def clean_body(self, body: dict) -> dict:
        """Sanitise both texts."""
        return {
            "reference": clean(body.get("reference", "")),
            "rubric": clean(body.get("rubric", "")),
        }

    def publish_problems(self, body: dict) -> list[str]:
        """Require a reference answer before publishing, so that graders agree.

        A draft may lack one: essays imported from Moodle usually have none yet.
        """
        if not to_text(body.get("reference", "")):
            return [_("A short-answer question needs a reference answer for the graders.")]
        return []

    def grade(self, body: dict, response, *, partial: bool = False) -> None:
        """Leave it to a trainer."""
        return None

    def review_html(self, body: dict) -> list[str]:
        """Return the reference answer (shown in the review); the rubric stays with staff."""
        return [body.get("reference", "")]

    def key_text(self, body: dict, order: list | None = None) -> str:
        """Return the reference answer as text."""
        return to_text(body.get("reference", ""))

    def print_view(self, stem: str, body: dict, with_key: bool) -> PrintView:
        """Leave ruled lines on the paper; print the reference answer and rubric in the key."""
        if not with_key:
            return PrintView(stem, {"answer_lines": 8})
        return PrintView(
            stem,
            {
                "reference": Markup(body.get("reference", "")),  # noqa: S704 (sanitised on save)
                "rubric": Markup(body.get("rubric", "")),  # noqa: S704 (sanitised on save)
            },
        )

    def text_parts(self, body: dict) -> list[tuple[str, str]]:
        """Return the reference answer and the rubric."""
        return [
            (_("Reference answer"), to_text(body.get("reference", ""))),
            (_("Rubric"), to_text(body.get("rubric", ""))),
        ]
