"""Images in questions: uploaded once, stored in the database, referenced by URL."""

import hashlib
import io
import re

from flask_babel import gettext as _
from PIL import Image as PILImage
from PIL import UnidentifiedImageError
from sqlalchemy import select

from lms.accounts.services import ValidationFailed
from lms.extensions import db
from question_bank.models import Image
from question_bank.sanitize import drop_placeholders

MAX_BYTES = 2 * 1024 * 1024
#: Functions (user, image id) -> bool that let other users see an image (exams register one).
ACCESS_CHECKS: list = []
MAX_PIXELS = 4000 * 4000
#: MPO is how Pillow names the JPEG photos of phone cameras.
TYPES = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "GIF": "image/gif",
    "WEBP": "image/webp",
}
PLUGINFILE = re.compile(r"@@PLUGINFILE@@/([\w.%~-]{1,200})")
LOCAL = re.compile(r"/qb/images/(\d+)")


def inspect(data: bytes) -> tuple[str, int, int]:
    """Return (content type, width, height) of a real, reasonably sized image, or raise."""
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_("An image may be at most 2 MB."))
    try:
        with PILImage.open(io.BytesIO(data)) as img:
            fmt = img.format
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ValidationFailed(_("The image is too large (at most 4000 × 4000 pixels)."))
            img.verify()
    except PILImage.DecompressionBombError as exc:
        raise ValidationFailed(_("The image is too large (at most 4000 × 4000 pixels).")) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ValidationFailed(_("The file is not a PNG, JPEG, GIF or WebP image.")) from exc
    if fmt not in TYPES:
        raise ValidationFailed(_("The file is not a PNG, JPEG, GIF or WebP image."))
    return TYPES[fmt], width, height


def store(data: bytes, user=None) -> Image:
    """Check that ``data`` is a real, reasonably sized image and store it (once per content)."""
    content_type, width, height = inspect(data)
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(select(Image).where(Image.sha256 == digest))
    if existing is not None:
        return existing
    image = Image(
        sha256=digest,
        content_type=content_type,
        data=data,
        width=width,
        height=height,
        uploaded_by_id=getattr(user, "id", None),
    )
    db.session.add(image)
    db.session.flush()
    return image


def url(image: Image) -> str:
    """Return the URL the rich text uses for ``image``."""
    return f"/qb/images/{image.id}"


def import_references(html: str, files: dict[str, bytes], user=None) -> str:
    """Store the files an imported text refers to and point the text at them."""

    def replace(m):
        data = files.get(m.group(1))
        if data is None:
            return m.group(0)  # dropped below: the file never came
        return url(store(data, user))

    return drop_placeholders(PLUGINFILE.sub(replace, html or ""))


EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/webp": "webp"}


def export_references(html: str, files: dict[str, bytes]) -> str:
    """Point a text's images at @@PLUGINFILE@@ names and collect their bytes in ``files``."""

    def replace(m):
        image = db.session.get(Image, int(m.group(1)))
        if image is None:
            return m.group(0)
        name = f"image-{image.id}.{EXTENSIONS.get(image.content_type, 'bin')}"
        files[name] = image.data
        return f"@@PLUGINFILE@@/{name}"

    return LOCAL.sub(replace, html or "")
