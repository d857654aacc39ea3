"""Importing an inventory: validate every row, then write it all in one transaction or nothing;
and the background job that runs an upload."""
import gc
import logging
import time
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale, gettext as _
from sqlalchemy import update
from sqlalchemy.exc import DBAPIError

from govmedia.auth import require_roles
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.models import User
from govmedia.queue import job
from govmedia.types import utcnow

from ..models import ImportJob
from .columns import COLUMN, REQUIRED
from .plan import plan_import
from .reading import FileProblem, read_table
from .rows import Errors, Memo, is_example, parse_row
from .writing import lock_registry, write_plan

log = logging.getLogger(__name__)

PROGRESS_EVERY = 200
PROGRESS_SECONDS = 0.2             # a job commits its progress at most this often


@dataclass
class ImportResult:
    created: int = 0
    errors: list = field(default_factory=list)
    units_created: int = 0
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors


def import_inventory(actor, filename: str, content: bytes, create_units: bool = False,
                     progress=None, before_commit=None) -> ImportResult:
    """Validate every row of an inventory file; write it all in one transaction, or nothing.

    progress(done, total) is called about every 200 rows while the rows are validated (the
    callback may commit the session: nothing of the import is pending then). before_commit(result)
    runs inside the write transaction just before it commits (a job records its own outcome
    there, so "done" and the accounts commit together). Raises DomainError for a user not
    allowed to import (sponsor role, or supervisor role to create units).
    """
    # The rows, their values and the rows to write are millions of objects that live until
    # the end and form no cycles: the cyclic collector would walk them all again and again
    # (a tenth of an import of 100,000 rows). It runs again once the import is over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _import_inventory(actor, filename, content, create_units, progress,
                                 before_commit)
    finally:
        if collecting:
            gc.enable()


def _import_inventory(actor, filename, content, create_units, progress,
                      before_commit) -> ImportResult:
    require_roles(actor, "sponsor")
    if create_units:
        require_roles(actor, "supervisor")
    progress = progress or (lambda done, total: None)
    result = ImportResult()
    started = time.perf_counter()
    try:
        table = read_table(filename, content)
    except FileProblem as problem:
        result.errors = [problem.error]
        return result
    errors = Errors(table)
    default_unit = bool(getattr(actor, "unit_id", None)) and not actor.sees_all_units
    missing = [k for k in REQUIRED if k not in table.columns]
    if "unit_name" not in table.columns and "unit_code" not in table.columns and not default_unit:
        missing.insert(0, "unit_name")
    for key in missing:
        errors.add(table.header_row, key, _("The required column “%(column)s” is missing",
                                            column=COLUMN[key].header), code="missing_column")
    if missing:
        result.errors = errors.items
        return result

    total = len(table.rows)
    result.total_rows = total
    progress(0, total)
    rows = []
    memo = Memo()
    for done, (number, values) in enumerate(table.rows, start=1):
        row = parse_row(number, values, table, errors, default_unit, memo)
        if not is_example(row):
            rows.append(row)
        if done % PROGRESS_EVERY == 0:
            progress(done, total)
    progress(total, total)
    table.rows = []   # the cells are read: what is kept of them is in `rows`
    result.total_rows = len(rows)
    if not rows and not errors.items:
        errors.items.append({"row": None, "column": None, "code": "empty",
                             "message": _("The file has no accounts (the rows below the "
                                          "header are empty or only the example row)")})
    parsed_at = time.perf_counter()
    try:
        if not errors.items:
            lock_registry()
        plan = plan_import(rows, actor, create_units, errors)
        if errors.items:
            db.session.rollback()
            result.errors = sorted(errors.items, key=lambda e: (e["row"] or 0))
            return result
        checked_at = time.perf_counter()
        result.created, result.units_created, audit_seconds = write_plan(actor, plan, filename)
        if before_commit is not None:
            before_commit(result)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finished = time.perf_counter()
    current_app.logger.info(
        "import %s: %s accounts, %s units in %.2fs (read+parse %.2fs, check %.2fs, write %.2fs "
        "of which audit %.2fs)", filename, result.created, result.units_created,
        finished - started, parsed_at - started, checked_at - parsed_at, finished - checked_at,
        audit_seconds)
    return result


@job("imports")
def run_import_job(job_id: int) -> str | None:
    """Queue entry point: claim the job, import its file, record done or failed on the row."""
    claimed = db.session.execute(update(ImportJob).where(ImportJob.id == job_id,
                                                         ImportJob.status == "queued")
                                 .values(status="running", processed_rows=0))
    db.session.commit()
    if claimed.rowcount != 1:
        log.info("import job %s is not queued (already taken or finished); nothing to do", job_id)
        return None
    job = db.session.get(ImportJob, job_id)
    last = [0.0]

    def progress(done, total):
        # Short commits of the job row only, while validating: the import has nothing pending.
        now = time.monotonic()
        if done != total and done != 0 and now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        db.session.execute(update(ImportJob).where(ImportJob.id == job_id)
                           .values(processed_rows=done, total_rows=total))
        db.session.commit()

    def finish(result):
        db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(
            status="done", created_count=result.created, errors=[], message=None,
            total_rows=result.total_rows, processed_rows=result.total_rows,
            finished_at=utcnow(), content=None,
            options=dict(job.options or {}) | {"units_created": result.units_created}))

    # The problems are written for the person who uploaded, in the language they chose then.
    with force_locale((job.options or {}).get("language") or "zh"):
        return _import(job, progress, finish)


def _import(job: ImportJob, progress, finish) -> str:
    job_id = job.id
    try:
        actor = db.session.get(User, job.created_by_id) if job.created_by_id else None
        if actor is None or not actor.active:
            raise DomainError(_("The user who submitted the import does not exist or is "
                                "deactivated"))
        options = job.options or {}
        result = import_inventory(actor, job.filename, job.content,
                                  create_units=bool(options.get("create_units")),
                                  progress=progress, before_commit=finish)
        if result.errors:
            fail_job(job_id, result.errors, _("Problems found: %(count)s; no data imported",
                                              count=len(result.errors)),
                     total=result.total_rows)
            return "failed"
        log.info("import job %s done: %s accounts", job_id, result.created)
        return "done"
    except DomainError as exc:
        db.session.rollback()
        log.warning("import job %s refused: %s", job_id, exc.message)
        fail_job(job_id, [{"row": None, "column": None, "message": exc.message, "code": exc.code}],
                 exc.message)
        return "failed"
    except Exception as exc:
        db.session.rollback()
        log.exception("import job %s failed", job_id)
        message = _("The import failed and no data was imported: %(reason)s",
                    reason=_reason(exc))[:2000]
        fail_job(job_id, [{"row": None, "column": None, "message": message, "code": "error"}],
                 message)
        return "failed"


def _reason(exc: Exception) -> str:
    """The error for the person who uploaded. A database error keeps the database's own first
    line and drops SQLAlchemy's [SQL: ...] [parameters: ...], which quote the file's rows."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        lines = str(exc.orig).strip().splitlines()
        return _("The database refused the write (%(error)s): try again later",
                 error=f"{type(exc.orig).__name__}: {lines[0] if lines else ''}")
    return f"{type(exc).__name__}: {exc}"


def fail_job(job_id: int, errors: list, message: str, total: int | None = None) -> None:
    values = {"status": "failed", "errors": errors, "message": message, "created_count": 0,
              "finished_at": utcnow(), "content": None}
    if total is not None:
        values["total_rows"] = values["processed_rows"] = total
    db.session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
    db.session.commit()


