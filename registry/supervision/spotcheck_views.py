"""The quarterly spot check's pages for supervisors: the draws of the nodes they reach, drawing
a quarter's sample, one draw's accounts and its XLSX. Same blueprint as views.py."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.pagination import paginate
from govmedia.types import ascii_int, today_shanghai

from . import annual, lookups, spotcheck
from .annual_views import xlsx_response
from .export import as_percent
from .views import UNIT_CHOICES_MAX, actor, bp



@bp.route("/supervision/spot-checks", methods=["GET", "POST"])
@login_required
def spot_checks():
    user = actor()
    today = today_shanghai()
    error, values = None, {}
    filter_unit = ascii_int((request.args.get("unit_id") or "").strip())
    query = spotcheck.draws_query(user, filter_unit)   # 403 for a node out of reach
    if request.method == "POST":
        values = request.form.to_dict()
        unit_id = annual.node_of(values.get("unit_id"), user)
        year, quarter = ascii_int(values.get("year") or ""), ascii_int(values.get("quarter") or "")
        annual.require_reader(user, unit_id)
        try:
            if year is None or quarter is None:
                raise ValueError
            row = spotcheck.draw(user, year, quarter, unit_id)
            db.session.commit()
            flash(_("Sample drawn: %(n)s of %(total)s accounts", n=len(row.account_ids),
                    total=len(row.population_ids)), "success")
            return redirect(url_for("supervision.spot_check", draw_id=row.id))
        except ValueError:
            error = _("Choose a year and a quarter")
        except DomainError as err:
            if err.status in (403, 404):
                raise
            db.session.rollback()
            error = err.message
    page = paginate(query)
    return render_template("supervision/spot_checks.html", draws=page.items, **page.nav,
                           error=error, values=values, today=today,
                           this_quarter=(today.month - 1) // 3 + 1,
                           share=as_percent(spotcheck.configured_share(annual.node_of(values.get("unit_id"), user))),
                           names=lookups.unit_names(d.unit_id for d in page.items if d.unit_id),
                           unit_choices=lookups.unit_choices(user, UNIT_CHOICES_MAX),
                           unit_id=annual.node_of(values.get("unit_id"), user),
                           all_units=annual.default_node(user) is None), 400 if error else 200


@bp.get("/supervision/spot-checks/<int:draw_id>")
@login_required
def spot_check(draw_id):
    row = spotcheck.get_draw(actor(), draw_id)
    return render_template("supervision/spot_check.html", draw=row, share=as_percent(row.share),
                           node_name=spotcheck.node_name(row.unit_id),
                           drawer=spotcheck.drawer_name(row), rows=spotcheck.sample_rows(row),
                           today=today_shanghai())


@bp.post("/supervision/spot-checks/<int:draw_id>/void")
@login_required
def void_spot_check(draw_id):
    try:
        spotcheck.void(actor(), draw_id, request.form.get("reason", ""))
        db.session.commit()
        flash(_("The draw was voided; the quarter's sample can be drawn again."), "success")
    except DomainError as err:
        if err.status in (403, 404):
            raise
        db.session.rollback()
        flash(err.message, "error")
    return redirect(url_for("supervision.spot_check", draw_id=draw_id))


@bp.get("/supervision/spot-checks/<int:draw_id>.xlsx")
@login_required
def spot_check_xlsx(draw_id):
    row = spotcheck.get_draw(actor(), draw_id)
    return xlsx_response(spotcheck.to_xlsx(row), spotcheck.filename(row))
