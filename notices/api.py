"""The notices API for sponsors and supervisors (bearer tokens): lifecycle events with their
notices, notices with their days remaining, amendments, withdrawal, and the take-down checklist
of apps and mini programs."""
from flask import Blueprint, jsonify

from govmedia.api import documented, listing, page_params, parse_body, query_as_of
from govmedia.auth import api_roles, api_user
from govmedia.extensions import csrf, db
from govmedia.holidays import load_calendar
from govmedia.pagination import paginate
from govmedia.types import today_shanghai
from registry.schemas import EventIn
from registry.serialize import event_json, filing_json
from registry.services import get_account

from . import services, takedown
from .models import Notice
from .schemas import AmendmentIn, TakedownDoneIn, TakedownIn, WithdrawIn

bp = Blueprint("notices_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


@bp.post("/accounts/<int:account_id>/events")
@documented("Record a change, closing, reopening or deregistration", body=EventIn,
            tag="accounts", responses={201: "event, filing, notice", 403: "forbidden",
                                       404: "not_found", 409: "invalid_transition and rule codes"})
def create_event(account_id):
    user = api_user()
    account = get_account(user, account_id)
    data = parse_body(EventIn)
    event, filing, notice = services.record_event_with_notice(user, account, data)
    db.session.commit()
    body = {"event": event_json(event), "filing": filing_json(filing, query_as_of())}
    if notice is not None:
        body["notice"] = services.notice_json(notice)
    return jsonify(body), 201


@bp.get("/notices")
@documented("Every notice the user may see, with days remaining and warnings", tag="notices",
            query={"limit": "integer", "offset": "integer"}, responses={200: "list"})
def list_notices():
    query = services.notices_query(api_user()).order_by(Notice.ends_on.desc(), Notice.id.desc())
    page = paginate(query, window=page_params())
    today, calendar = today_shanghai(), load_calendar()
    return listing([services.notice_admin_json(n, today, calendar) for n in page.items],
                   page.total)


@bp.get("/notices/<int:notice_id>")
@documented("One notice with its amendments", tag="notices",
            responses={200: "notice", 403: "forbidden", 404: "not_found"})
def get_notice(notice_id):
    notice = services.get_notice(api_user(), notice_id)
    return jsonify(services.notice_admin_json(notice, today_shanghai()))


@bp.post("/notices/<int:notice_id>/amendments")
@documented("Amend a notice's text (sponsor); every version is kept", body=AmendmentIn,
            tag="notices", responses={201: "notice", 403: "forbidden", 409: "notice_withdrawn"})
def amend_notice(notice_id):
    user = api_user()
    notice = services.get_notice(user, notice_id)
    data = parse_body(AmendmentIn)
    services.amend_notice(user, notice, data.text, data.note)
    db.session.commit()
    return jsonify(services.notice_admin_json(notice, today_shanghai())), 201


@bp.post("/notices/<int:notice_id>/withdraw")
@documented("Withdraw a notice with a reason (supervisor); it stays in the record",
            body=WithdrawIn, tag="notices",
            responses={200: "notice", 403: "forbidden", 409: "notice_withdrawn"})
@api_roles("supervisor")
def withdraw_notice(notice_id):
    user = api_user()
    notice = services.get_notice(user, notice_id)
    data = parse_body(WithdrawIn)
    services.withdraw_notice(user, notice, data.reason)
    db.session.commit()
    return jsonify(services.notice_admin_json(notice, today_shanghai()))


@bp.get("/accounts/<int:account_id>/takedown")
@documented("The take-down checklist of an app or mini program", tag="notices",
            responses={200: "list", 403: "forbidden"})
def list_takedown(account_id):
    account = get_account(api_user(), account_id)
    items = [takedown.takedown_json(i) for i in takedown.checklist(account.id)]
    return listing(items, len(items))


@bp.post("/accounts/<int:account_id>/takedown")
@documented("Add an app store or a portal link to the take-down checklist", body=TakedownIn,
            tag="notices", responses={201: "item", 400: "invalid", 403: "forbidden"})
def add_takedown(account_id):
    user = api_user()
    account = get_account(user, account_id)
    data = parse_body(TakedownIn)
    item = takedown.add_takedown_item(user, account, data.kind, data.label)
    db.session.commit()
    return jsonify(takedown.takedown_json(item)), 201


@bp.post("/takedown/<int:item_id>/done")
@documented("Tick a take-down checklist item", body=TakedownDoneIn, tag="notices",
            responses={200: "item", 403: "forbidden", 404: "not_found"})
def tick_takedown(item_id):
    user = api_user()
    item = takedown.get_takedown_item(user, item_id)
    data = parse_body(TakedownDoneIn)
    takedown.tick_takedown_item(user, item, data.done_on)
    db.session.commit()
    return jsonify(takedown.takedown_json(item))
