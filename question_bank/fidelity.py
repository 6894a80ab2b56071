"""What an imported file holds that the bank cannot keep, said per question before saving.

Formats read what each type means; this reads what is the same for every format: rich text
that the sanitiser will trim (links, styles, scripts, outside images), embedded files that
are not images or cannot be read, and category names the tree shortens.
"""

import re

from flask_babel import gettext as _

from lms.accounts.services import ValidationFailed
from question_bank import categories, images
from question_bank.categories import MAX_DEPTH, MAX_DESCRIPTION
from question_bank.interchange import ParseResult, QuestionData, codec
from question_bank.sanitize import losses

#: Longest category name the tree keeps (Category.name).
MAX_CATEGORY_NAME = 100


def note_losses(parsed: ParseResult) -> ParseResult:
    """Add to ``parsed.warnings`` what each question loses on import; drop unusable files."""
    for where, qd in parsed.questions:
        parsed.warnings += [(where, w) for w in question_losses(qd)]
    seen: set[tuple[str, ...]] = set()
    for where, qd in parsed.questions:
        path = tuple(qd.category_path)
        if path in seen:
            continue
        seen.add(path)
        parsed.warnings += [(where, w) for w in category_losses(list(path))]
    return parsed


def _texts(qd: QuestionData) -> list[str]:
    texts = [qd.stem, qd.explanation]
    found = codec(qd.qtype)
    if found is not None:
        found.map_html(qd.body, lambda h: texts.append(h) or h)
    return texts


def question_losses(qd: QuestionData) -> list[str]:
    """Return what the question loses; files that cannot be kept are removed from it."""
    texts = _texts(qd)
    found: list[str] = []
    for text in texts:
        found += [m for m in losses(text) if m not in found]
    shown = {name for text in texts for name in _embedded_images(text)}
    refused = set()
    for name in list(qd.files):
        if name not in shown:
            found.append(
                _(
                    "The attached file %(name)s is not shown as an image; the bank keeps only "
                    "images, so it was not imported.",
                    name=name,
                )
            )
        else:
            try:
                images.inspect(qd.files[name])
                continue
            except ValidationFailed as exc:
                found.append(
                    _(
                        "The image %(name)s was not imported: %(why)s",
                        name=name,
                        why=" ".join(exc.messages),
                    )
                )
                refused.add(name)
        del qd.files[name]
    missing = sorted(shown - set(qd.files) - refused)
    if missing:
        found.append(
            _("Images missing from the file were left out: %(names)s.", names="、".join(missing))
        )
    return found


_IMG_SRC = re.compile(r"<img\b[^>]*\bsrc\s*=\s*[\"']?([^\"'\s>]+)", re.I)


def _embedded_images(html: str) -> set[str]:
    """Return the embedded file names that the <img>s of ``html`` show."""
    names = set()
    for src in _IMG_SRC.findall(html or ""):
        m = images.PLUGINFILE.fullmatch(src)
        if m:
            names.add(m.group(1))
    return names


def category_losses(path: list[str]) -> list[str]:
    """Return how the category tree shortens ``path`` (long names, too many levels)."""
    found = []
    for name in path:
        if len(name.strip()) > MAX_CATEGORY_NAME:
            found.append(
                _(
                    "The category name %(name)s is longer than %(n)d characters and was cut.",
                    name=name[:40] + "…",
                    n=MAX_CATEGORY_NAME,
                )
            )
    if len(path) > MAX_DEPTH:
        found.append(
            _(
                "The category %(path)s is deeper than %(n)d levels; its questions go to "
                "level %(n)d.",
                path=" / ".join(path),
                n=MAX_DEPTH,
            )
        )
    return found


def description_losses(descriptions: dict, questions: list) -> list[tuple[str, str]]:
    """Return (category, warning) for category descriptions the bank cannot take as written."""
    found = []
    for path, text in descriptions.items():
        where = _("category %(path)s", path=" / ".join(path) or _("top"))
        if len(text) > MAX_DESCRIPTION:
            found.append(
                (where, _("Its description was cut to %(n)d characters.", n=MAX_DESCRIPTION))
            )
        existing = categories.find_path(list(path)) if path else None
        if existing is not None and existing.description and existing.description != text:
            found.append(
                (where, _("The category already has another description; the bank's is kept."))
            )
    return found
