"""Registry pages: the filings list, its CSV export, and recording that a filing was made."""
import csv
import io

from flask import Response, flash, redirect, request, render_template, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy.orm import joinedload

from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import today_shanghai

from .. import filings as filing_services
from .. import forms, picker, services
from ..labels import N_, label
from ..models import FILING_STATUSES, Account, Filing
from ..schemas import FilingComplete
from .accounts import account_page
from .common import actor, arg_choice, arg_date, arg_int, bp, submit

# The export's headings, in the reader's language like the page (the codes in words).
CSV_HEADERS = [N_("Filing number"), N_("Account"), N_("Platform"), N_("Account ID"),
               N_("Sponsor unit"), N_("Event"), N_("Event date"), N_("Filing deadline"),
               N_("Status"), N_("Deadline provisional"), N_("Filed on"), N_("Filing reference")]


def _filings_filters():
    as_of, as_of_error = arg_date("as_of")
    as_of = as_of or today_shanghai()
    status = arg_choice("status", FILING_STATUSES)
    unit_id = arg_int("unit_id")
    query = filing_services.filings_query(actor(), status=status, unit_id=unit_id, as_of=as_of)
    query = query.options(joinedload(Filing.account).joinedload(Account.unit)).order_by(
        Filing.due_on, Filing.id)
    return query, {"status": status, "unit_id": unit_id, "as_of": as_of,
                   "as_of_error": as_of_error}


@bp.get("/filings")
@login_required
def filings():
    query, filters = _filings_filters()
    page = paginate(query)
    return render_template("registry/filings.html", filings=page.items, **page.nav,
                           filters=filters, several_units=services.reaches_several_units(actor()),
                           unit_options=picker.unit_matches(
                               actor(), request.args.get("unit_id_q") or "",
                               include_id=filters["unit_id"]))


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Excel runs a cell that starts with = + - @ as a formula: keep names inert.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_row(filing: Filing, as_of) -> list[str]:
    account = filing.account
    return [_csv_cell(v) for v in (
        filing.id, account.name, label("platform", account.platform),
        account.handle, account.unit.name, label("event", filing.event),
        filing.event_date.isoformat(), filing.due_on.isoformat(),
        label("filing", filing.status_on(as_of)), _("Yes") if filing.provisional else _("No"),
        filing.filed_on.isoformat() if filing.filed_on else "", filing.reference)]


@bp.get("/filings/export.csv")
@login_required
def filings_csv():
    query, filters = _filings_filters()
    as_of = filters["as_of"]

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")  # the BOM makes Excel read UTF-8
        writer.writerow([_(heading) for heading in CSV_HEADERS])
        for filing in db.session.scalars(query.execution_options(yield_per=500)):
            writer.writerow(_csv_row(filing, as_of))
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    filename = f"filings-{as_of.isoformat()}.csv"
    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Content-Type": "text/csv; charset=utf-8"})


@bp.post("/filings/<int:filing_id>/complete")
@login_required
def filing_complete(filing_id):
    user = actor()
    filing = filing_services.get_filing(user, filing_id)
    filing_services.require_filing_role(user, filing)
    values = {"filed_on": forms.text(request.form, "filed_on"),
              "reference": forms.text(request.form, "reference")}
    _done, errors, refusal = submit(FilingComplete, values, lambda data: (
        filing_services.complete_filing(user, filing, data.filed_on, data.reference)))
    if not errors:
        status = filing.status_on(today_shanghai())
        flash(_("Filing recorded: %(status)s.", status=label("filing", status)), "success")
        return redirect(url_for("registry.account", account_id=filing.account_id) + "#filings")
    return account_page(filing.account, filing_id=filing.id, filing_values=values,
                        filing_errors=errors, filing_refusal=refusal,
                        status=refusal.status if refusal else 400)
