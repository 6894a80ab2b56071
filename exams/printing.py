"""Printed exam papers and their answer keys: plain data, then HTML, then PDF (WeasyPrint).

As in Indico, the PDF is rendered from a plain-data context, and WeasyPrint fetches
nothing but the bank's own images, read straight from the database: no ``file:``, no
``http(s):`` and no ``data:`` URL is ever opened, whatever a question's HTML says.
"""

import random
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import gettext as _
from markupsafe import Markup, escape
from sqlalchemy import select

from exams import engine, rules
from exams.models import Paper, PaperSection
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank import qtypes
from question_bank.models import Image, Question, QuestionVersion
from question_bank.qtypes.choice import option_letter
from question_bank.qtypes.fill_blank import BLANK
from question_bank.sanitize import from_text, to_text

#: The traditional printed names of the sections (the UI's type labels are translated).
PRINTED_NAMES = {
    "single_choice": "单项选择题",
    "multiple_choice": "多项选择题",
    "true_false": "判断题",
    "fill_blank": "填空题",
    "short_answer": "简答题",
}
#: Relative image URLs in the HTML resolve against this origin, which nothing ever serves.
BASE_URL = "https://print.invalid/"
BANK_IMAGE = re.compile(r"/qb/images/([1-9]\d{0,11})")
TEMPLATE = "exams/print/paper.html"
STYLESHEET = "exams/print/print.css"
#: Widest option (in half-width characters) that still fits four, or two, to a line.
FOUR_PER_LINE, TWO_PER_LINE = 16, 38


@dataclass
class PrintedQuestion:
    """One numbered question as printed; the key fields stay empty on the paper."""

    number: int
    qtype: str
    stem: Markup
    options: list[tuple[str, Markup]] = field(default_factory=list)
    columns: int = 1  #: options per line: 4, 2 or 1
    answer_lines: int = 0  #: ruled lines left for a short answer
    key: str = ""
    explanation: Markup = field(default_factory=Markup)
    reference: Markup = field(default_factory=Markup)
    rubric: Markup = field(default_factory=Markup)


@dataclass
class PrintedSection:
    """A section: its heading, whether its questions are drawn per candidate, its questions."""

    heading: str
    drawn: bool
    questions: list[PrintedQuestion]


@dataclass
class PrintedPaper:
    """Everything the template shows, as plain values."""

    title: str
    with_key: bool
    full_marks: str
    pass_mark: str
    time_limit: int
    instructions: Markup
    sections: list[PrintedSection]


def points_text(value: Decimal) -> str:
    """Return points as a teacher writes them: 1, 0.5, 20 (never 1.00 or 2E+1)."""
    return f"{Decimal(value).normalize():f}"


def section_heading(number: int, qtype: str, count: int, points: Decimal) -> str:
    """Return e.g. 一、单项选择题（本题共20小题，每小题1分，共20分）."""
    name = PRINTED_NAMES.get(qtype) or str(qtypes.get(qtype).label)
    total = points_text(points * count)
    return (
        f"{rules.section_numeral(number)}、{name}"
        f"（本题共{count}小题，每小题{points_text(points)}分，共{total}分）"
    )


def text_width(text: str) -> int:
    """Return the printed width of ``text`` in half-width characters (CJK counts two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def option_columns(options: list[dict]) -> int:
    """Return how many options fit on a line: 4 short ones, 2 medium ones, else 1."""
    if any("<img" in o.get("html", "") for o in options):
        return 1
    widest = max((text_width(to_text(o.get("html", ""))) for o in options), default=0)
    if widest <= FOUR_PER_LINE:
        return 4
    return 2 if widest <= TWO_PER_LINE else 1


_TRAILING_CLOSE = re.compile(r"(?:\s*</(?:p|div)>)+\s*$")


def append_inline(html: str, suffix: str) -> str:
    """Put ``suffix`` at the end of the stem's last line, not on a line of its own."""
    found = _TRAILING_CLOSE.search(html)
    if found:
        return html[: found.start()] + suffix + html[found.start() :]
    return html + suffix


def gaps(stem: str, answers: list[list[str]] | None) -> str:
    """Replace each blank (____) by an underlined gap, filled with its answers in a key."""
    counter = iter(range(len(BLANK.findall(stem))))

    def replace(_m):
        n = next(counter)
        if answers is None:
            return '<span class="gap"></span>'
        text = " / ".join(answers[n]) if n < len(answers) else ""
        return f'<span class="gap filled">{escape(text)}</span>'

    return BLANK.sub(replace, stem)


def printed_question(number: int, version: QuestionVersion, with_key: bool) -> PrintedQuestion:
    """Return one question as printed; the answer key only when ``with_key``."""
    qtype, body = version.qtype, version.body
    key = qtypes.get(qtype).key_text(body) if with_key else ""
    stem = version.stem
    q = PrintedQuestion(number=number, qtype=qtype, stem=Markup(""))
    if qtype in ("single_choice", "multiple_choice", "true_false"):
        # The answer goes in the brackets at the end of the stem, as on the bank's papers.
        inside = f"&nbsp;{escape(key)}&nbsp;" if with_key else "&emsp;&emsp;"
        stem = append_inline(stem, f'<span class="bracket">（{inside}）</span>')
    if qtype in ("single_choice", "multiple_choice"):
        options = body.get("options", [])
        q.options = [(option_letter(i), Markup(o["html"])) for i, o in enumerate(options)]  # noqa: S704 (sanitised on save)
        q.columns = option_columns(options)
    elif qtype == "fill_blank":
        stem = gaps(stem, body.get("blanks", []) if with_key else None)
    elif qtype == "short_answer":
        q.answer_lines = 0 if with_key else 8
    q.stem = Markup(stem)  # noqa: S704 (the stem is sanitised HTML)
    if with_key:
        q.key = key
        q.explanation = Markup(version.explanation or "")  # noqa: S704 (sanitised on save)
        if qtype == "short_answer":
            q.reference = Markup(body.get("reference", ""))  # noqa: S704 (sanitised on save)
            q.rubric = Markup(body.get("rubric", ""))  # noqa: S704 (sanitised on save)
    return q


def _question_ids(paper: Paper, seed: int | None) -> list[tuple[PaperSection, list[int]]]:
    """Return each section with the ids it prints: its fixed questions, or a sample draw."""
    if not any(s.rules for s in paper.sections):
        return [(s, [i.question_id for i in s.items]) for s in paper.sections]
    drawn = engine.draw_questions(paper, random.Random(seed if seed is not None else paper.id))  # noqa: S311 (a sample, not a secret)
    return [
        (s, ids if s.rules else [i.question_id for i in s.items])
        for s, (_pos, ids) in zip(paper.sections, drawn, strict=True)
    ]


def paper_context(paper: Paper, with_key: bool, seed: int | None = None) -> PrintedPaper:
    """Build the plain data of the printed paper (or of its answer key).

    Raises ValidationFailed when the paper has no questions or a draw cannot be made.
    """
    chosen = _question_ids(paper, seed)
    ids = [i for _s, section_ids in chosen for i in section_ids]
    if not ids:
        raise ValidationFailed(_("The paper has no questions yet: add some before printing it."))
    questions = {q.id: q for q in db.session.scalars(select(Question).where(Question.id.in_(ids)))}
    sections = []
    for section, section_ids in chosen:
        versions = [questions[i].current for i in section_ids if questions[i].current]
        if not versions:
            continue
        sections.append(
            PrintedSection(
                heading=section_heading(
                    len(sections) + 1,
                    section.qtype,
                    section.question_count,
                    section.points_per_question,
                ),
                drawn=bool(section.rules),
                questions=[
                    printed_question(n, v, with_key) for n, v in enumerate(versions, start=1)
                ],
            )
        )
    title = f"{paper.title}（参考答案）" if with_key else paper.title
    return PrintedPaper(
        title=title,
        with_key=with_key,
        full_marks=points_text(paper.total_points),
        pass_mark=points_text(paper.pass_mark),
        time_limit=paper.time_limit_minutes,
        instructions=Markup(from_text(paper.instructions)),  # noqa: S704 (escaped by from_text)
        sections=sections,
    )


def paper_html(paper: Paper, with_key: bool, seed: int | None = None) -> str:
    """Return the HTML of the printed paper, or of its answer key."""
    return render_template(TEMPLATE, doc=paper_context(paper, with_key, seed))


def bank_image_id(url: str) -> int | None:
    """Return the image id when ``url`` is one of our question images, else None."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}/" != BASE_URL or parts.query or parts.fragment:
        return None
    found = BANK_IMAGE.fullmatch(parts.path)
    return int(found.group(1)) if found else None


def image_fetcher():
    """Return a WeasyPrint URL fetcher that serves question images and refuses the rest."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class BankImageFetcher(URLFetcher):
        """Serve /qb/images/<id> from the database; refuse file:, http(s):, data: …."""

        def fetch(self, url, headers=None):
            """Return the image's bytes, or raise ValueError (WeasyPrint then skips it)."""
            image_id = bank_image_id(url)
            image = db.session.get(Image, image_id) if image_id else None
            if image is None:
                raise ValueError(f"not fetched when printing: {url[:200]}")
            return URLFetcherResponse(url, image.data, {"Content-Type": image.content_type})

    return BankImageFetcher(allowed_protocols=())


def stylesheet_text() -> str:
    """Return the print stylesheet, read through the app's template loader."""
    source, _filename, _uptodate = current_app.jinja_env.loader.get_source(
        current_app.jinja_env, STYLESHEET
    )
    return source


def render_paper_pdf(paper: Paper, with_key: bool, seed: int | None = None) -> bytes:
    """Return the paper (or, with ``with_key``, its answer key for trainers) as a PDF."""
    # Imported here: WeasyPrint loads Pango and takes about half a second to import.
    from weasyprint import CSS, HTML

    html = paper_html(paper, with_key, seed)
    fetcher = image_fetcher()
    document = HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher)
    css = CSS(string=stylesheet_text(), base_url=BASE_URL, url_fetcher=fetcher)
    return document.write_pdf(stylesheets=[css])
