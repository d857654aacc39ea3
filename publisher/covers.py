"""Cover images: standard base64 in, a validated JPEG, PNG or GIF stored with its article.
Images in the body (the editor's image button) are checked the same way, by their content."""
import base64
import binascii
import hashlib
import io
from datetime import timedelta

from flask import current_app
from flask_babel import gettext as _
from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, literal_column, select

from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import Invalid, NotFound
from govmedia.extensions import db
from govmedia.models import User
from govmedia.queue import job
from govmedia.types import utcnow

from .models import Article, ArticleImage, ArticleRevision

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif"}
MAX_PIXELS = 40_000_000
FIELD = "cover_image_base64"


def cover_limit() -> int:
    return int(current_app.config["PUBLISHER_COVER_MAX_BYTES"])


def decode_cover(value: str) -> bytes:
    """Standard base64 without a data: prefix (shared/API.md)."""
    text = value.strip()
    if text.startswith("data:"):
        raise Invalid(_("The cover image must be plain base64, without a data: prefix"),
                      fields={FIELD: "standard base64 without a data: prefix"})
    if len(text) > cover_limit() * 4 // 3 + 8:
        raise _too_large()
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(_("The cover image is not valid base64"),
                      fields={FIELD: "not valid base64"}) from None


def _too_large() -> Invalid:
    mib = f"{cover_limit() / (1024 * 1024):g}"
    return Invalid(_("The cover image is larger than %(mib)s MB", mib=mib),
                   fields={FIELD: f"larger than {mib} MiB"})


def validate_image(data: bytes) -> tuple[str, int, int]:
    """(mime, width, height) of a real JPEG, PNG or GIF within the limits; Invalid otherwise."""
    if len(data) > cover_limit():
        raise _too_large()
    not_image = Invalid(_("The cover is not an image file (JPEG, PNG or GIF)"),
                        fields={FIELD: "not a JPEG, PNG or GIF image"})
    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, (width, height) = img.format, img.size
            if fmt not in IMAGE_FORMATS:
                raise not_image
            if width * height > MAX_PIXELS:
                raise Invalid(_("The cover image has too many pixels"),
                              fields={FIELD: f"more than {MAX_PIXELS} pixels"})
            img.load()  # decode it all: a truncated or corrupt file fails here
    except Invalid:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise not_image from None
    return IMAGE_FORMATS[fmt], width, height


def store_cover(data: bytes, uploaded_by: User | None = None) -> ArticleImage:
    mime, width, height = validate_image(data)
    image = ArticleImage(sha256=hashlib.sha256(data).hexdigest(), mime=mime, width=width,
                         height=height, size=len(data), data=data,
                         uploaded_by_id=uploaded_by.id if uploaded_by is not None else None)
    db.session.add(image)
    return image


def store_pending_cover(actor: User, data: bytes) -> ArticleImage:
    """A cover chosen on the article form, checked and kept before the form is: if the form
    comes back with an error, the page carries the image's id and nothing is chosen again."""
    image = store_cover(data, uploaded_by=actor)
    db.session.flush()
    return image


def pending_cover(actor: User, image_id: int) -> ArticleImage:
    """A kept cover, by its id; only its uploader may attach it."""
    image = db.session.get(ArticleImage, image_id)
    if image is None or image.uploaded_by_id != actor.id:
        raise Invalid(_("The cover image chosen before is no longer available: choose it again"),
                      fields={FIELD: f"image {image_id} not uploaded by you"})
    return image


# A body image's address: a path of this site (publisher/content.py keeps such srcs); the
# send job hands its bytes to the adapters (publisher/fanout/content_cache.py).
BODY_IMAGE_PATH = "/articles/images/{id}"


def store_body_image(actor: User, data: bytes) -> ArticleImage:
    """An image for the body, uploaded from the editor: checked by its content like a cover."""
    require_roles(actor, "editor")
    try:
        image = store_cover(data, uploaded_by=actor)
    except Invalid as err:
        mib = f"{cover_limit() / (1024 * 1024):g}"
        raise Invalid(_("Only a JPEG, PNG or GIF image of at most %(mib)s MB can be inserted",
                        mib=mib), fields={"image": (err.fields or {}).get(FIELD, "invalid")}) \
            from None
    db.session.flush()
    return image


def body_image_json(image: ArticleImage) -> dict:
    return {"id": image.id, "src": BODY_IMAGE_PATH.format(id=image.id), "width": image.width,
            "height": image.height, "mime": image.mime}


def get_image(actor: User, image_id: int) -> ArticleImage:
    """An uploaded image, for the people of its uploader's unit (as a video is); another
    unit's is refused (403)."""
    image = db.session.get(ArticleImage, image_id)
    if image is None or image.uploaded_by_id is None:
        raise NotFound(_("Image %(id)s does not exist", id=image_id))
    if image.uploaded_by_id != actor.id:
        uploader = db.session.get(User, image.uploaded_by_id)
        require_unit_access(actor, uploader.unit_id if uploader else None)
    return image


def remove_unused_images(older_than_days: int | None = None) -> int:
    """Delete the images nobody uses: uploaded more than `older_than_days` ago (setting
    UNUSED_IMAGE_DAYS) and neither an article's cover nor named in an article's body or in
    the kept text of one of its revisions (what the comparison shows). A cover kept after a
    form error and never attached, or a body image deleted from the text, goes; one that
    is still shown anywhere stays. Returns how many went."""
    days = int(current_app.config["UNUSED_IMAGE_DAYS"] if older_than_days is None
               else older_than_days)
    cut = utcnow() - timedelta(days=days)
    # The body names an image as src="/articles/images/{id}" (the sanitizer writes double
    # quotes), so the closing quote keeps image 1 from matching image 12.
    named = literal_column("'%/articles/images/' || article_images.id || '\"%'")
    result = db.session.execute(delete(ArticleImage).where(
        ArticleImage.created_at < cut,
        ~select(Article.id).where(Article.cover_id == ArticleImage.id).exists(),
        ~select(Article.id).where(Article.body_html.like(named)).exists(),
        ~select(ArticleRevision.id).where(ArticleRevision.body_html.like(named)).exists()))
    return result.rowcount or 0


@job()
def remove_unused_images_job() -> int:
    removed = remove_unused_images()
    db.session.commit()
    return removed
