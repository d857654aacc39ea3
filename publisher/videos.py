"""Article videos: received streamed to disk, read with ffprobe, a cover frame from ffmpeg,
and each target platform's limits, checked before sign-off.

The file is named by its SHA-256 under VIDEO_DIR (default instance/videos): the approval
binds to that hash (content.compute_hash), so bytes changed on disk are bytes not approved.
ffprobe and ffmpeg are Debian's (scripts/install-system-deps.sh); missing, they fail loudly.
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext as _
from werkzeug.exceptions import ClientDisconnected

from govmedia import audit
from govmedia.auth import require_roles, require_unit_access
from govmedia.errors import DomainError, Invalid, NotFound
from govmedia.extensions import db
from govmedia.models import User
from govmedia.wording import N_, message, say
from registry.labels import PLATFORMS

from .covers import store_cover
from .models import ArticleVideo

FIELD = "video"
BLOCK = 1024 * 1024
# ffprobe's format_name -> the type we store; anything else is refused as not a video we take.
FORMATS = {"mov,mp4,m4a,3gp,3g2,mj2": "video/mp4", "matroska,webm": "video/webm",
           "flv": "video/x-flv", "avi": "video/x-msvideo", "mpegts": "video/mp2t"}


@dataclass(frozen=True)
class Limits:
    """One platform's limits on a video (None: no limit of that kind)."""

    max_bytes: int | None
    max_seconds: float | None
    types: tuple[str, ...]


# From each platform's upload documentation (docs/ADAPTERS.md, "Douyin"): Douyin takes up to
# 4 GB in parts, 15 minutes, mp4 or webm (mov plays as mp4). The platforms that get the
# video's page as a link (WeChat, Weibo) carry no video of their own.
PLATFORM_LIMITS = {
    "douyin": Limits(4 * 1024 ** 3, 15 * 60, ("video/mp4", "video/webm")),
}
# The platforms whose adapter posts the video itself (the others link to the video's page;
# staff posting by hand from a task download it).
CARRY_VIDEO = frozenset(PLATFORM_LIMITS)


class ToolMissing(DomainError):
    """ffprobe or ffmpeg is not installed: the server cannot read videos (a 503)."""

    status = 503
    code = "unavailable"


def video_dir() -> str:
    path = current_app.config["VIDEO_DIR"] or os.path.join(current_app.instance_path, "videos")
    os.makedirs(path, exist_ok=True)
    return path


def video_path(video: ArticleVideo) -> str:
    return os.path.join(video_dir(), video.filename)


def _tool(setting: str) -> str:
    program = current_app.config[setting]
    found = shutil.which(program)
    if found is None:
        raise ToolMissing(_("%(program)s is not installed on the server (Debian package "
                            "ffmpeg); videos cannot be read", program=program))
    return found


# ---------------------------------------------------------------------- receiving
def receive_video(actor: User, stream, content_length: int | None,
                  original_name: str = "") -> ArticleVideo:
    """Stream an upload to disk, hashing it; refuse a cut-off upload or a file that is not
    a video; keep it under its hash with a cover frame. Adds the row to the transaction."""
    require_roles(actor, "editor", "source")
    limit = int(current_app.config["VIDEO_MAX_BYTES"])
    if content_length is None:
        raise Invalid(_("The upload must state its length (Content-Length)"),
                      fields={FIELD: "Content-Length required"})
    if content_length > limit:
        raise Invalid(_("The video is larger than %(gib)s GB", gib=f"{limit / 1024 ** 3:g}"),
                      code="too_large", status=413, fields={FIELD: f"larger than {limit} bytes"})
    probe_tool, frame_tool = _tool("FFPROBE_PATH"), _tool("FFMPEG_PATH")
    directory = video_dir()
    handle, temp = tempfile.mkstemp(dir=directory, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            sha, size = _copy(stream, out, content_length)
        if size != content_length:
            raise Invalid(_("The upload was cut off: %(got)s of %(expected)s bytes arrived; "
                            "nothing was kept, upload the video again", got=size,
                            expected=content_length), fields={FIELD: "truncated upload"})
        info = probe(probe_tool, temp, original_name)
        filename = f"{sha}.{info['ext']}"
        os.replace(temp, os.path.join(directory, filename))
    finally:
        if os.path.exists(temp):
            os.remove(temp)
    frame = store_cover(cover_frame(frame_tool, os.path.join(directory, filename),
                                    info["duration"]))
    video = ArticleVideo(sha256=sha, filename=filename, original_name=original_name[:255],
                         size=size, format_name=info["format_name"], mime=info["mime"],
                         codec=info["codec"], duration=info["duration"], width=info["width"],
                         height=info["height"], frame=frame, created_by_id=actor.id)
    db.session.add(video)
    db.session.flush()
    audit.record("video.upload", "video", video.id, user=actor,
                 after={"sha256": sha, "size": size, "duration": info["duration"],
                        "width": info["width"], "height": info["height"]})
    return video


def _copy(stream, out, expected: int) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while size < expected:
        try:
            block = stream.read(min(BLOCK, expected - size))
        except ClientDisconnected:
            break
        if not block:
            break  # the client stopped sending: a truncated upload
        digest.update(block)
        out.write(block)
        size += len(block)
    return digest.hexdigest(), size


def probe(tool: str, path: str, name: str = "") -> dict:
    """Type, duration, resolution and codec, read from the file itself (not its name)."""
    shown = name or _("the file")
    not_video = Invalid(_("%(name)s is not a video: no video stream was found in it",
                          name=shown), fields={FIELD: "not a video"})
    result = subprocess.run([tool, "-v", "error", "-print_format", "json", "-show_format",
                             "-show_streams", path], capture_output=True, timeout=60,
                            check=False)
    if result.returncode != 0:
        raise not_video
    data = json.loads(result.stdout or b"{}")
    stream = next((s for s in data.get("streams") or [] if s.get("codec_type") == "video"
                   and not (s.get("disposition") or {}).get("attached_pic")), None)
    format_name = (data.get("format") or {}).get("format_name", "")
    if stream is None or format_name not in FORMATS:
        raise not_video
    duration = float((data.get("format") or {}).get("duration") or stream.get("duration") or 0)
    if duration <= 0:
        raise not_video
    mime = FORMATS[format_name]
    return {"format_name": format_name, "mime": mime, "codec": stream.get("codec_name", ""),
            "duration": round(duration, 3), "width": int(stream.get("width") or 0),
            "height": int(stream.get("height") or 0),
            "ext": {"video/mp4": "mp4", "video/webm": "webm"}.get(mime, "video")}


def cover_frame(tool: str, path: str, duration: float) -> bytes:
    """A JPEG frame a second in (or halfway through a shorter video)."""
    at = f"{min(1.0, duration / 2):.3f}"
    result = subprocess.run([tool, "-v", "error", "-ss", at, "-i", path, "-frames:v", "1",
                             "-f", "image2", "-c:v", "mjpeg", "pipe:1"],
                            capture_output=True, timeout=60, check=False)
    if result.returncode != 0 or not result.stdout:
        raise Invalid(_("No frame could be taken from the video for its cover; upload a cover "
                        "image"), fields={FIELD: "no cover frame"})
    return result.stdout


def get_video(actor: User, video_id: int) -> ArticleVideo:
    """A video of the uploader's unit: its people see it (the reviewers play it); another
    unit's is refused (403), as every unit-bound object is."""
    video = db.session.get(ArticleVideo, video_id)
    if video is None:
        raise NotFound(_("Video %(id)s does not exist", id=video_id),
                       fields={"video_id": "not found"})
    if video.created_by_id != actor.id:
        uploader = db.session.get(User, video.created_by_id)
        require_unit_access(actor, uploader.unit_id if uploader else None)
    return video


def video_json(video: ArticleVideo) -> dict:
    return {"id": video.id, "sha256": video.sha256, "size": video.size, "mime": video.mime,
            "format": video.format_name, "codec": video.codec, "duration": video.duration,
            "width": video.width, "height": video.height, "name": video.original_name,
            "frame": None if video.frame is None else {"sha256": video.frame.sha256,
                                                       "width": video.frame.width,
                                                       "height": video.frame.height}}


# ---------------------------------------------------------------------- limits
def limit_findings(video: ArticleVideo | None, platforms, by_api=None,
                   has_cover: bool = False) -> list[dict]:
    """Blocking findings for each target platform whose limits the video breaks (and for a
    Douyin target published by API with neither a video nor a cover: the adapter posts a
    video, or an image-text post of the cover; staff posting by hand, a publishing task, may
    post anything). `by_api`: the platforms published to by API (default: all of them)."""
    findings = []
    by_api = platforms if by_api is None else by_api
    for platform in sorted(platforms or ()):
        name = message(PLATFORMS.get(platform, platform))
        limits = PLATFORM_LIMITS.get(platform)
        if limits is None:
            continue
        if video is None:
            if platform in by_api and not has_cover:
                findings.append(_finding(message(N_("%(platform)s posts a video or a picture: "
                                                    "add a video or a cover image"),
                                                 platform=name), platform))
            continue
        if limits.max_bytes is not None and video.size > limits.max_bytes:
            findings.append(_finding(message(
                N_("The video is %(size)s MB; %(platform)s takes at most %(limit)s MB"),
                size=f"{video.size / 1024 ** 2:.1f}", platform=name,
                limit=f"{limits.max_bytes / 1024 ** 2:g}"), platform))
        if limits.max_seconds is not None and video.duration > limits.max_seconds:
            findings.append(_finding(message(
                N_("The video lasts %(seconds)s s; %(platform)s takes at most %(limit)s s"),
                seconds=f"{video.duration:g}", platform=name,
                limit=f"{limits.max_seconds:g}"), platform))
        if video.mime not in limits.types:
            findings.append(_finding(message(
                N_("The video is of type %(type)s; %(platform)s takes %(types)s"),
                type=video.mime, platform=name, types=", ".join(limits.types)), platform))
    return findings


def _finding(said: dict, platform: str) -> dict:
    return {"rule": "video_limits", "severity": "block", "message": say(said), "said": said,
            "excerpt": platform}
