"""The working-day calendar page: how a year is counted, and entering its official schedule."""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.auth import require_roles
from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.holidays import confirmed_year, enter_schedule, year_overrides, years_with_entries
from govmedia.types import ascii_int, today_shanghai
from govmedia.workdays import ScheduleError, library_knows, parse_schedule, statutory_holidays

from .. import filings
from .common import actor, bp, refusal_of


def _schedule_text(overrides) -> str:
    return "\n".join(f"{o.day.isoformat()},{'workday' if o.workday else 'holiday'},{o.name}"
                     .rstrip(",") for o in overrides)


def _decode_upload(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # files saved on Chinese Windows are often GBK
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("undecodable")


def _enter(user, year: int, text: str, confirm: bool):
    """Enter the posted schedule: (redirect, None) when saved, else (None, the error)."""
    try:
        entries = parse_schedule(text)
    except ScheduleError as exc:
        return None, exc.message
    if not entries and confirm:
        return None, _("Enter the year's schedule before confirming it as complete.")
    try:
        result = enter_schedule(user, year, entries, confirm=confirm)
    except DomainError as err:
        return None, refusal_of(err).message
    db.session.commit()
    flash(_("Schedule for %(year)s saved (%(days)s days). Deadlines recomputed: %(changed)s.",
            year=year, days=result["entries"], changed=result["deadlines_changed"]), "success")
    return redirect(url_for("registry.holidays", year=year)), None


@bp.route("/holidays", methods=["GET", "POST"])
@login_required
def holidays():
    user = actor()
    today = today_shanghai()
    year_arg = (request.form.get("year") if request.method == "POST"
                else request.args.get("year")) or ""
    valid_year = 1950 <= (ascii_int(year_arg) or 0) <= 2200
    year = int(year_arg) if valid_year else today.year
    error, text, confirm = None, None, False
    if request.method == "POST":
        require_roles(user)  # admin only: enter_schedule itself does not check
        if not valid_year:
            abort(400)
        confirm = request.form.get("confirm") == "1"
        text = request.form.get("schedule") or ""
        upload = request.files.get("schedule_file")
        if upload is not None and upload.filename:
            try:
                text = _decode_upload(upload.read())
            except ValueError:
                error = _("The file is not UTF-8 or GB18030 text.")
        if error is None:
            done, error = _enter(user, year, text, confirm)
            if done is not None:
                return done
    overrides = year_overrides(year)
    confirmed = confirmed_year(year)
    knows = library_knows(year)
    return render_template(
        "registry/holidays.html", year=year,
        years=sorted(years_with_entries() | {today.year, today.year + 1}), knows=knows,
        statutory=statutory_holidays(year) if not knows else {}, overrides=overrides,
        confirmed=confirmed, provisional_year=not knows and confirmed is None,
        can_edit=user.has_role("admin"), error=error,
        schedule=text if text is not None else _schedule_text(overrides),
        confirm=confirm if request.method == "POST" else confirmed is not None,
        provisional_count=filings.provisional_unfiled(user, today)), (400 if error else 200)
