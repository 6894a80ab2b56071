"""Printed exam papers and their answer keys: plain data, then HTML, then PDF (WeasyPrint).

As in Indico, the PDF is rendered from a plain-data context, and WeasyPrint fetches
nothing but the bank's own images, read straight from the database: no ``file:``, no
``http(s):`` and no ``data:`` URL is ever opened, whatever a question's HTML says.
"""

import random
import re
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select

from exams import engine, rules
from exams.models import Paper, PaperSection
from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank import qtypes
from question_bank.models import Image, Question, QuestionVersion
from question_bank.qtypes.layout import option_columns, text_width  # noqa: F401 (re-exported)
from question_bank.render import points_text
from question_bank.sanitize import from_text

#: Relative image URLs in the HTML resolve against this origin, which nothing ever serves.
BASE_URL = "https://print.invalid/"
BANK_IMAGE = re.compile(r"/qb/images/([1-9]\d{0,11})")
TEMPLATE = "exams/print/paper.html"
STYLESHEET = "exams/print/print.css"


@dataclass
class PrintedQuestion:
    """One numbered question as printed; the key stays empty on the paper."""

    number: int
    qtype: str
    stem: Markup
    templates: list[str]  #: the type's print templates (answer area), first found wins
    key_templates: list[str]  #: the type's templates of the key block
    data: dict = field(default_factory=dict)  #: what the type's templates show
    key: str = ""
    explanation: Markup = field(default_factory=Markup)


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


def section_heading(number: int, qtype: str, count: int, points: Decimal) -> str:
    """Return e.g. 一、单项选择题（本题共20小题，每小题1分，共20分）.

    The one heading of a section, wherever it is shown: exam page, result, printed paper
    and the paper editor.
    """
    return _(
        "%(numeral)s、%(type)s (%(n)d questions, %(each)s points each, %(total)s in all)",
        numeral=rules.section_numeral(number),
        type=str(qtypes.get(qtype).heading),
        n=count,
        each=points_text(points),
        total=points_text(Decimal(points) * count),
    )


def printed_question(number: int, version: QuestionVersion, with_key: bool) -> PrintedQuestion:
    """Return one question as printed; the answer key only when ``with_key``."""
    qtype = qtypes.get(version.qtype)
    view = qtype.print_view(version.stem, version.body, with_key)
    return PrintedQuestion(
        number=number,
        qtype=version.qtype,
        stem=Markup(view.stem),  # noqa: S704 (the stem is sanitised HTML)
        templates=qtype.templates("print"),
        key_templates=qtype.templates("print_key"),
        data=view.data,
        key=qtype.key_text(version.body) if with_key else "",
        explanation=Markup(version.explanation or "") if with_key else Markup(),  # noqa: S704 (sanitised on save)
    )


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
