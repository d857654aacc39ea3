"""Videos on the pages: the editor's upload (sent by the page's script with a progress bar)
and the file the reviewers play. The work is publisher/videos.py's, as for the API."""
from flask import jsonify, request, send_file
from flask_login import login_required

from govmedia.auth import require_roles
from govmedia.bodies import body_limit
from govmedia.errors import DomainError
from govmedia.extensions import db

from .. import videos
from .common import actor, bp


@bp.post("/videos")
@body_limit("VIDEO_MAX_BYTES")
@login_required
def video_upload():
    """The raw file as the body (the page's XMLHttpRequest, CSRF token in X-CSRFToken)."""
    try:
        require_roles(actor(), "editor")  # a source system uses the API
        video = videos.receive_video(actor(), request.stream, request.content_length,
                                     request.args.get("name", ""))
    except DomainError as err:
        db.session.rollback()
        return jsonify({"error": {"code": err.code, "message": err.message,
                                  "fields": err.fields or {}}}), err.status
    db.session.commit()
    return jsonify(videos.video_json(video)), 201


@bp.get("/videos/<int:video_id>/file")
@login_required
def video_file_page(video_id):
    video = videos.get_video(actor(), video_id)
    return send_file(videos.video_path(video), mimetype=video.mime, conditional=True,
                     etag=video.sha256)
