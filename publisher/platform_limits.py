"""What each target platform accepts, checked with the content checks before the first review.

An article over a platform's limit used to pass all three reviews and fail at the platform
after sign-off (WeChat 45003 "title size out of limit"). The limits below are the platforms'
own, from their documentation; each finding names the platform. Pure functions, like
publisher/checks.py, which calls `limit_problems` and reports them as `platform_limit`.

Sources:
- WeChat draft/add (https://developers.weixin.qq.com/doc/subscription/api/draftbox/draftmanage/api_draft_add,
  api_getdraft): content "必须少于2万字符，小于1M" (the whole HTML string counts, tags
  included; 20,000 characters of at most 4 bytes stay far under 1 MB, so the characters
  decide); digest at most 120 characters. Title: the draft API says "与公众号后台限制一致"
  (developers.weixin.qq.com community answer on Add_draft), and the 公众号后台 editor takes 64
  characters.
- WeChat material/add_material (https://developers.weixin.qq.com/doc/service/api/material/permanent/api_addmaterial):
  an image (the cover) "10M，支持bmp/png/jpeg/jpg/gif格式".
- WeChat media/uploadimg (https://developers.weixin.qq.com/doc/service/api/material/permanent/api_uploadimage):
  body pictures "仅支持jpg/png格式，大小必须在1MB以下" (40005 invalid file type otherwise).
- Weibo statuses/share and statuses/upload (https://open.weibo.com/wiki/2/statuses/upload):
  text at most 140 characters (publisher.checks `weibo_too_long`); one picture (`pic`, the
  cover), "仅支持JPEG、GIF、PNG格式，图片大小小于5M".
"""
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from govmedia.wording import N_, message

MIB = 1024 * 1024
_IMG_SRC = re.compile(r"""<img\b[^>]*?\bsrc\s*=\s*(["'])(.*?)\1""", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class Limits:
    title_chars: int | None = None
    digest_chars: int | None = None
    body_chars: int | None = None        # the body's HTML as sent, tags included
    cover_bytes: int | None = None
    cover_formats: tuple = ()            # MIME types the platform takes for the cover
    picture_extensions: tuple = ()       # body pictures: the file types the platform takes
    picture_formats: tuple = ()          # ... and their MIME types (a picture uploaded here)
    picture_bytes: int | None = None     # body pictures: at most this many bytes


LIMITS = {
    "wechat": Limits(title_chars=64, digest_chars=120, body_chars=20_000 - 1,
                     cover_bytes=10 * MIB,
                     cover_formats=("image/jpeg", "image/png", "image/gif"),
                     picture_extensions=(".jpg", ".jpeg", ".png"),
                     picture_formats=("image/jpeg", "image/png"), picture_bytes=MIB - 1),
    "weibo": Limits(cover_bytes=5 * MIB - 1,
                    cover_formats=("image/jpeg", "image/png", "image/gif")),
}


@dataclass(frozen=True)
class Problem:
    """One limit broken: the platform, the field, and the figures for the message."""
    platform: str
    field: str
    what: str          # title, digest, body_chars, cover_bytes, cover_format, picture_type
    value: object
    limit: object


def body_pictures(body_html: str) -> list[str]:
    return [m.group(2) for m in _IMG_SRC.finditer(body_html or "")]


def _extension(src: str) -> str:
    path = urlsplit(src).path if "://" in src else src.split("?", 1)[0]
    name = path.rsplit("/", 1)[-1]
    return ("." + name.rsplit(".", 1)[-1].lower()) if "." in name else ""


def limit_problems(platform: str, *, title: str, digest: str | None, body_html: str,
                   cover_size: int | None, cover_mime: str | None,
                   pictures: tuple = ()) -> list[Problem]:
    """Every limit of `platform` the article breaks (none for a platform with no known limits).
    `pictures`: (src, mime, size) of the body's pictures uploaded here (the editor's image
    button: their address has no file type), judged by what they are."""
    limits = LIMITS.get(platform)
    if limits is None:
        return []
    found = []

    def over(field, what, value, limit):
        if limit is not None and value is not None and value > limit:
            found.append(Problem(platform, field, what, value, limit))

    over("title", "title", len(title or ""), limits.title_chars)
    over("digest", "digest", len(digest or ""), limits.digest_chars)
    over("body_html", "body_chars", len(body_html or ""), limits.body_chars)
    over("cover_image_base64", "cover_bytes", cover_size, limits.cover_bytes)
    if cover_mime and limits.cover_formats and cover_mime not in limits.cover_formats:
        found.append(Problem(platform, "cover_image_base64", "cover_format", cover_mime,
                             limits.cover_formats))
    known = {src: (mime, size) for src, mime, size in pictures}
    if limits.picture_extensions:
        for src in body_pictures(body_html):
            if src in known:
                continue
            ext = _extension(src)
            # Another picture without an extension is judged by the adapter when it uploads it.
            if ext and ext not in limits.picture_extensions:
                found.append(Problem(platform, "body_html", "picture_type", src,
                                     limits.picture_extensions))
    for src, (mime, size) in known.items():
        if limits.picture_formats and mime not in limits.picture_formats:
            found.append(Problem(platform, "body_html", "picture_type", src,
                                 limits.picture_formats))
        elif limits.picture_bytes is not None and size > limits.picture_bytes:
            found.append(Problem(platform, "body_html", "picture_bytes", (src, size),
                                 limits.picture_bytes))
    return found


def problem_message(problem: Problem) -> dict:
    """A broken limit as words to say in the reader's language (govmedia.wording)."""
    value, limit = problem.value, problem.limit
    return {
        "title": lambda: message(N_("The title has %(n)s characters; the platform takes at "
                                    "most %(limit)s"), n=value, limit=limit),
        "digest": lambda: message(N_("The digest has %(n)s characters; the platform takes at "
                                     "most %(limit)s"), n=value, limit=limit),
        "body_chars": lambda: message(N_("The body with its layout code has %(n)s characters; "
                                         "the platform takes fewer than %(limit)s"),
                                      n=value, limit=limit + 1),
        "cover_bytes": lambda: message(N_("The cover image is %(mb)s MB; the platform takes at "
                                          "most %(limit)s MB"),
                                       mb=f"{value / MIB:.1f}", limit=f"{limit / MIB:g}"),
        "cover_format": lambda: message(N_("The platform does not take cover images of type "
                                           "%(type)s"), type=value),
        "picture_type": lambda: message(N_("The platform does not take the body picture "
                                           "“%(src)s” (JPG and PNG only)"), src=value),
        "picture_bytes": lambda: message(N_("The body picture “%(src)s” is %(mb)s MB; the "
                                            "platform takes pictures under %(limit)s MB"),
                                         src=value[0], mb=f"{value[1] / MIB:.2f}",
                                         limit=f"{(limit + 1) / MIB:g}"),
    }[problem.what]()
