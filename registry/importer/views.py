"""Inventory import: upload page, progress page, template downloads and the JSON API."""
import io
import os

from flask import (Blueprint, current_app, jsonify, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import get_locale, gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import BuildError

from govmedia.api import documented, error_response
from govmedia.auth import api_roles, api_user, reaches_unit, require_roles
from govmedia.errors import DomainError, Forbidden, Invalid, NotFound
from govmedia.extensions import csrf, db
from govmedia.models import User
from govmedia.queue import enqueue

from ..models import ImportJob
from . import template as templates
from .columns import COLUMNS, PLATFORM_NAMES
from .reading import FileProblem, detect_format
from .run import fail_job, run_import_job

bp = Blueprint("imports", __name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_NAME = "政务新媒体账号导入模板"
ERRORS_SHOWN = 1000


class TooLarge(DomainError):
    status = 413
    code = "too_large"


def _max_mb() -> int:
    return current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024)


def _too_large_message() -> str:
    limit = min(current_app.config["IMPORT_MAX_BYTES"], current_app.config["MAX_CONTENT_LENGTH"])
    return _("File too large: at most %(mb)s MB; import it in parts", mb=f"{limit / 1048576:.1f}")


def _truthy(value) -> bool:
    return str(value or "").strip().lower() in {"1", "true", "yes", "on"}


def start_import(user, upload, create_units: bool) -> ImportJob:
    """Store the upload as an ImportJob, commit, then enqueue its validation and write."""
    require_roles(user, "sponsor")
    if create_units:
        require_roles(user, "supervisor")
    if upload is None or not upload.filename:
        raise Invalid(_("Choose an .xlsx or .csv file to import"), fields={"file": "required"})
    content = upload.read()
    if len(content) > current_app.config["IMPORT_MAX_BYTES"]:
        raise TooLarge(_too_large_message())
    filename = os.path.basename(upload.filename.replace("\\", "/")) or "upload"
    if len(filename) > 255:  # the column's length; keep the extension, which tells the format
        stem, extension = os.path.splitext(filename)
        filename = stem[:255 - len(extension[:16])] + extension[:16]
    try:
        detect_format(filename, content)
    except FileProblem as problem:
        raise Invalid(problem.error["message"], fields={"file": problem.error["message"]}) from None
    job = ImportJob(filename=filename, content=content, status="queued", total_rows=0,
                    processed_rows=0, created_count=0, errors=[],
                    options={"create_units": bool(create_units),
                             # the problems are written in the uploader's language
                             "language": str(get_locale() or "zh")},
                    created_by_id=user.id)
    db.session.add(job)
    db.session.flush()
    job_id = job.id
    db.session.commit()
    try:
        # Outside a transaction it is sent at once: a queue that is down fails the upload now.
        enqueue(run_import_job, job_id)
    except Exception:
        current_app.logger.exception("could not enqueue import job %s", job_id)
        db.session.rollback()
        message = _("The job queue is unavailable: nothing was imported; upload the file "
                    "again later")
        fail_job(job_id, [{"row": None, "column": None, "code": "unavailable",
                                    "message": message}], message)
        raise DomainError(_("The job queue is unavailable, try again later"),
                          code="unavailable", status=503) from None
    db.session.expire_all()
    return db.session.get(ImportJob, job_id)


def job_for(user, job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise NotFound(_("Import not found"))
    if user.sees_all_units or job.created_by_id == user.id:
        return job
    # A unit's sponsors share its imports (one may upload, another follow it up), and the
    # sponsors and supervisors above it see them too.
    creator = db.session.get(User, job.created_by_id) if job.created_by_id else None
    if (creator and creator.unit_id and user.has_role("sponsor", "supervisor")
            and reaches_unit(user, creator.unit_id)):
        return job
    raise Forbidden(_("This import belongs to another unit"))


def job_json(job: ImportJob) -> dict:
    def iso(value):
        return value.isoformat() if value is not None else None

    return {"id": job.id, "status": job.status, "filename": job.filename,
            "total_rows": job.total_rows, "processed_rows": job.processed_rows,
            "created_count": job.created_count,
            "units_created": (job.options or {}).get("units_created", 0),
            "errors": job.errors or [], "message": job.message,
            "created_at": iso(job.created_at), "finished_at": iso(job.finished_at),
            "status_url": url_for("imports.api_show", job_id=job.id)}


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_err):
    # Raised while the body is parsed (by the CSRF check or the view), before any view code can
    # answer; MAX_CONTENT_LENGTH bounds every upload.
    db.session.rollback()
    if request.path.startswith("/api/"):
        return error_response(413, "too_large", _too_large_message())
    return _render_new(error=_too_large_message(), status=413)


# --- pages -------------------------------------------------------------------------------------

def _render_new(error=None, status=200):
    user = current_user
    can_create_units = bool(user.is_authenticated and user.has_role("admin", "supervisor"))
    return render_template("imports/new.html", error=error, max_mb=_max_mb(),
                           max_rows=current_app.config["IMPORT_MAX_ROWS"],
                           can_create_units=can_create_units,
                           columns=COLUMNS,
                           platform_names=PLATFORM_NAMES), status


@bp.get("/imports/new")
@login_required
def new():
    require_roles(current_user, "sponsor")
    return _render_new()


@bp.post("/imports")
@login_required
def create():
    require_roles(current_user, "sponsor")
    upload = request.files.get("file")
    try:
        job = start_import(current_user._get_current_object(), upload,
                           _truthy(request.form.get("create_units")))
    except TooLarge as err:
        return _render_new(error=err.message, status=413)
    except Invalid as err:
        db.session.rollback()
        return _render_new(error=err.message, status=400)
    return redirect(url_for("imports.show", job_id=job.id), code=303)


def _accounts_url() -> str:
    try:
        return url_for("registry.accounts")
    except BuildError:
        return "/accounts"


def _result_context(job: ImportJob) -> dict:
    errors = job.errors or []
    return {"job": job, "errors": errors[:ERRORS_SHOWN], "error_count": len(errors),
            "errors_shown": min(len(errors), ERRORS_SHOWN),
            "units_created": (job.options or {}).get("units_created", 0),
            "accounts_url": _accounts_url()}


def _live(job: ImportJob) -> dict:
    """What the page shows of a job under way, in the reader's language."""
    if job.status == "queued":
        label = _("Waiting to start…")
    elif job.total_rows and job.processed_rows >= job.total_rows:
        label = _("Writing the accounts…")
    else:
        label = _("Checking rows…")
    count_label = (_("%(done)s of %(total)s rows checked", done=job.processed_rows,
                     total=job.total_rows) if job.total_rows else "")
    return {"label": label, "count_label": count_label}


@bp.get("/imports/<int:job_id>")
@login_required
def show(job_id):
    job = job_for(current_user, job_id)
    return render_template("imports/show.html", live=_live(job), **_result_context(job))


@bp.get("/imports/<int:job_id>.json")
@login_required
def status_json(job_id):
    """The job as the API gives it, plus what its page shows (polled by static/js/live.js):
    the progress in words while it runs, then the outcome's HTML, so the page that watched it
    shows the result without a reload."""
    job = job_for(current_user, job_id)
    body = job_json(job) | _live(job)
    if job.status in ("done", "failed"):
        body["html"] = render_template("imports/_result.html", **_result_context(job))
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/imports/template.xlsx")
@login_required
def template_xlsx():
    return send_file(io.BytesIO(templates.template_xlsx()), mimetype=XLSX_MIME,
                     as_attachment=True, download_name=TEMPLATE_NAME + ".xlsx", max_age=0)


@bp.get("/imports/template.csv")
@login_required
def template_csv():
    return send_file(io.BytesIO(templates.template_csv()), mimetype="text/csv; charset=utf-8",
                     as_attachment=True, download_name=TEMPLATE_NAME + ".csv", max_age=0)


# --- API -----------------------------------------------------------------------------------------

@bp.post("/api/v1/imports")
@documented("Upload an inventory (multipart/form-data: `file` .xlsx or .csv, optional "
            "`create_units=true`, which also needs the supervisor role); sponsors import; "
            "validated in the background and "
            "written all or nothing", tag="imports",
            responses={202: "{id, status, status_url}", 403: "forbidden", 413: "too_large"})
@api_roles("sponsor")
def api_create():
    upload = request.files.get("file")
    job = start_import(api_user(), upload, _truthy(request.form.get("create_units")))
    body = {"id": job.id, "status": job.status,
            "status_url": url_for("imports.api_show", job_id=job.id)}
    response = jsonify(body)
    response.headers["Location"] = body["status_url"]
    return response, 202


@bp.get("/api/v1/imports/<int:job_id>")
@documented("An import's progress and outcome: status queued/running/done/failed, rows "
            "processed, accounts created, errors [{row, column, message, code}]", tag="imports",
            responses={200: "import", 403: "forbidden", 404: "not_found"})
def api_show(job_id):
    return jsonify(job_json(job_for(api_user(), job_id)))


# Bearer tokens, not cookies, authenticate these: CSRF cannot ride on them.
csrf.exempt(api_create)
csrf.exempt(api_show)
