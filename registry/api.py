"""The registry's JSON API: auth, users, units, accounts, filings (shared/API.md)."""
from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from govmedia import users
from govmedia.api import (build_openapi, documented, listing, page_params, parse_body,
                          query_as_of, query_choice, query_int)
from govmedia.auth import api_roles, api_user, authenticate, current_api_token, issue_token
from govmedia.errors import Invalid
from govmedia.extensions import csrf, db
from govmedia.listing import requested_sort, sorted_by
from govmedia.models import User
from govmedia.pagination import paginate
from govmedia.schemas import TokenIn, UserIn, UserPatch
from govmedia.types import utcnow

from . import apps, filings, posts, services, wechat
from .models import FILING_STATUSES, PLATFORMS, STATUSES, Account, Filing
from .schemas import (AccountIn, AppDetailsIn, FilingComplete, PlatformExceptionIn, PostIn, StatsIn, UnitIn,
                      UnitPatch, WechatCredentials, WechatOptionsIn, WeiboCredentials)
from .serialize import account_json, event_json, filing_json, iso, unit_json, user_json

bp = Blueprint("registry_api", __name__, url_prefix="/api/v1")
SORT_VALUES = {name: [v for key in sorts for v in (key, "-" + key)]
               for name, sorts in (("units", services.UNIT_SORTS),
                                   ("accounts", services.ACCOUNT_SORTS))}
csrf.exempt(bp)  # bearer tokens, not cookies: CSRF cannot ride on them


def _page(query, serialize):
    page = paginate(query, window=page_params())
    return listing([serialize(r) for r in page.items], page.total)


# --- auth ----------------------------------------------------------------------------------

@bp.post("/auth/tokens")
@documented("Log in and get a bearer token", body=TokenIn, auth=False, tag="auth",
            responses={201: "token", 401: "invalid_credentials", 429: "too_many_attempts"})
def create_token():
    data = parse_body(TokenIn)
    user = authenticate(data.username, data.password)
    token, row = issue_token(user)
    db.session.commit()
    return jsonify({"token": token, "expires_at": iso(row.expires_at)}), 201


@bp.delete("/auth/tokens/current")
@documented("Revoke the token of this request", tag="auth", responses={204: "revoked"})
def revoke_token():
    current_api_token().revoked_at = utcnow()
    db.session.commit()
    return "", 204


# --- users ---------------------------------------------------------------------------------

@bp.post("/users")
@documented("Create a user (admin)", body=UserIn, tag="users",
            responses={201: "user", 403: "forbidden", 409: "username_taken"})
@api_roles("admin")
def create_user():
    data = parse_body(UserIn)
    user = users.create_user(api_user(), data)
    db.session.commit()
    return jsonify(user_json(user)), 201


@bp.get("/users")
@documented("List users (admin)", tag="users", query={"unit_id": "integer", "limit": "integer",
                                                      "offset": "integer"},
            responses={200: "list", 403: "forbidden"})
@api_roles("admin")
def list_users():
    query = users.users_query(query_int("unit_id"), api_user())
    return _page(query.order_by(User.id), user_json)


@bp.get("/users/<int:user_id>")
@documented("One user (admin)", tag="users", responses={200: "user", 404: "not_found"})
@api_roles("admin")
def get_user(user_id):
    return jsonify(user_json(users.get_user(user_id, api_user())))


@bp.patch("/users/<int:user_id>")
@documented("Change roles or unit, disable, reset password (admin)", body=UserPatch, tag="users",
            responses={200: "user", 404: "not_found"})
@api_roles("admin")
def patch_user(user_id):
    user = users.get_user(user_id, api_user())
    data = parse_body(UserPatch)
    users.update_user(api_user(), user, data)
    db.session.commit()
    return jsonify(user_json(user))


# --- units ---------------------------------------------------------------------------------

@bp.post("/units")
@documented("Create a unit (主办单位)", body=UnitIn, tag="units",
            responses={201: "unit", 403: "forbidden", 409: "code_taken"})
@api_roles("supervisor")
def create_unit():
    data = parse_body(UnitIn)
    unit = services.save_unit(api_user(), data)
    db.session.commit()
    return jsonify(unit_json(unit)), 201


@bp.get("/units")
@documented("List units", tag="units",
            query={"q": "string", "sort": {"type": "string", "enum": SORT_VALUES["units"]},
                   "limit": "integer", "offset": "integer"}, responses={200: "list"})
def list_units():
    """?q= part of the name; ?sort=name (natural order: 第9 before 第99), -name, code, id."""
    sort = requested_sort(services.UNIT_SORTS, "id")
    return _page(services.units_list_query(api_user(), request.args.get("q") or "", sort),
                 unit_json)


@bp.get("/units/<int:unit_id>")
@documented("One unit", tag="units", responses={200: "unit", 403: "forbidden", 404: "not_found"})
def get_unit(unit_id):
    return jsonify(unit_json(services.get_unit(api_user(), unit_id)))


@bp.put("/units/<int:unit_id>")
@documented("Update a unit", body=UnitIn, tag="units", responses={200: "unit", 404: "not_found"})
@api_roles("supervisor")
def put_unit(unit_id):
    unit = services.get_unit(api_user(), unit_id)
    data = parse_body(UnitIn)
    services.save_unit(api_user(), data, unit)
    db.session.commit()
    return jsonify(unit_json(unit))


@bp.patch("/units/<int:unit_id>")
@documented("Change some of a unit's fields; a new parent_id moves the unit and its subtree",
            body=UnitPatch, tag="units",
            responses={200: "unit", 400: "invalid (parent_id: a cycle; name: taken under the "
                       "parent)", 403: "forbidden (the unit or the new parent out of reach)",
                       404: "not_found"})
@api_roles("supervisor")
def patch_unit(unit_id):
    unit = services.get_unit(api_user(), unit_id)
    data = parse_body(UnitPatch)
    services.patch_unit(api_user(), unit, data)
    db.session.commit()
    return jsonify(unit_json(unit))


@bp.post("/units/<int:unit_id>/platform-exceptions")
@documented("Let a unit hold more than one account on a platform (supervisor)",
            body=PlatformExceptionIn, tag="units", responses={201: "exception", 403: "forbidden"})
@api_roles("supervisor")
def add_platform_exception(unit_id):
    unit = services.get_unit(api_user(), unit_id)
    data = parse_body(PlatformExceptionIn)
    row = services.add_platform_exception(api_user(), unit, data.platform, data.reason)
    db.session.commit()
    return jsonify({"id": row.id, "unit_id": unit.id, "platform": row.platform,
                    "reason": row.reason, "created_at": iso(row.created_at)}), 201


# --- accounts ------------------------------------------------------------------------------

@bp.post("/accounts")
@documented("Register an account; its opening filing is created", body=AccountIn,
            tag="accounts", responses={201: "account with filings and warnings",
                                       403: "forbidden", 409: "one_account_per_platform or handle_taken"})
def create_account():
    user = api_user()
    data = parse_body(AccountIn)
    account, warnings = services.register_account(user, data)
    db.session.commit()
    return jsonify(account_json(account, query_as_of(), warnings=warnings)), 201


@bp.get("/accounts")
@documented("List accounts", tag="accounts",
            query={"unit_id": "integer", "platform": {"type": "string", "enum": list(PLATFORMS)},
                   "status": {"type": "string", "enum": list(STATUSES)}, "as_of": "string",
                   "q": "string",
                   "sort": {"type": "string", "enum": SORT_VALUES["accounts"]},
                   "limit": "integer", "offset": "integer"}, responses={200: "list"})
def list_accounts():
    """?q= part of the name or the handle; ?sort= name (natural order), platform, handle,
    status, opened_on, unit or id (the default), each also descending with a leading -."""
    user = api_user()
    as_of = query_as_of()
    query = services.accounts_query(user, unit_id=query_int("unit_id"),
                                    platform=query_choice("platform", PLATFORMS),
                                    status=query_choice("status", STATUSES),
                                    q=request.args.get("q") or "")
    query = sorted_by(query.options(selectinload(Account.unit)),
                      requested_sort(services.ACCOUNT_SORTS, "id"), services.ACCOUNT_SORTS,
                      Account.id)
    return _page(query, lambda a: account_json(a, as_of, with_filings=False))


@bp.get("/accounts/<int:account_id>")
@documented("One account with filings, last post and dormancy", tag="accounts",
            query={"as_of": "string"}, responses={200: "account", 403: "forbidden", 404: "not_found"})
def get_account(account_id):
    account = services.get_account(api_user(), account_id)
    return jsonify(account_json(account, query_as_of()))


@bp.get("/accounts/<int:account_id>/events")
@documented("An account's lifecycle events", tag="accounts", responses={200: "list"})
def list_events(account_id):
    account = services.get_account(api_user(), account_id)
    events = [event_json(e) for e in account.events]
    return listing(events, len(events))


@bp.put("/accounts/<int:account_id>/credentials")
@documented("Set the platform credentials (never returned); WeChat: app_id, app_secret and "
            "the callback's token and encoding_aes_key", tag="accounts", body=None, responses={204: "stored", 403: "forbidden"})
def put_credentials(account_id):
    user = api_user()
    account = services.get_account(user, account_id)
    model = {"wechat": WechatCredentials, "weibo": WeiboCredentials}.get(account.platform)
    if model is None:
        raise Invalid(_("No credentials are kept for this platform"),
                      fields={"platform": "credentials are kept for wechat and weibo only"})
    data = parse_body(model)
    services.set_credentials(user, account, data.model_dump(exclude_none=True))
    db.session.commit()
    return "", 204


@bp.put("/accounts/<int:account_id>/app")
@documented("A mobile client's filing number with the cyberspace administration (网信备案号) "
            "and version; an app without a filing number is flagged", tag="accounts",
            body=AppDetailsIn, responses={200: "account", 400: "invalid", 403: "forbidden"})
def put_app_details(account_id):
    user = api_user()
    account = services.get_account(user, account_id)
    apps.update_details(user, account, parse_body(AppDetailsIn))
    db.session.commit()
    return jsonify(account_json(account, query_as_of()))


@bp.put("/accounts/<int:account_id>/wechat")
@documented("A WeChat official account's publishing mode (发布 publish or 群发 mass) and type "
            "(订阅号 subscription: one mass send a day; 服务号 service: four a month)",
            tag="accounts", body=WechatOptionsIn,
            responses={200: "account", 400: "invalid", 403: "forbidden"})
def put_wechat_options(account_id):
    user = api_user()
    account = services.get_account(user, account_id)
    wechat.update_options(user, account, parse_body(WechatOptionsIn))
    db.session.commit()
    return jsonify(account_json(account, query_as_of()))


@bp.post("/accounts/<int:account_id>/posts")
@documented("Record an update made outside the product", body=PostIn, tag="accounts",
            responses={201: "post", 403: "forbidden"})
def create_post(account_id):
    user = api_user()
    account = services.get_account(user, account_id)
    data = parse_body(PostIn)
    post = posts.record_post_as(user, account, data.published_at, data.title, data.url)
    db.session.commit()
    return jsonify({"id": post.id, "account_id": account.id,
                    "published_at": iso(post.published_at), "title": post.title,
                    "url": post.url}), 201


@bp.post("/accounts/<int:account_id>/stats")
@documented("Record audience figures", body=StatsIn, tag="accounts",
            responses={201: "stats", 403: "forbidden"})
def create_stats(account_id):
    user = api_user()
    account = services.get_account(user, account_id)
    data = parse_body(StatsIn)
    stat = posts.record_stats(user, account, data.as_of, data.followers, data.reads)
    db.session.commit()
    return jsonify({"id": stat.id, "account_id": account.id, "as_of": iso(stat.as_of),
                    "followers": stat.followers, "reads": stat.reads}), 201


# --- filings -------------------------------------------------------------------------------

@bp.get("/filings")
@documented("Filings with their status as of a day", tag="filings",
            query={"status": {"type": "string", "enum": list(FILING_STATUSES)},
                   "unit_id": "integer", "account_id": "integer", "as_of": "string",
                   "limit": "integer", "offset": "integer"}, responses={200: "list"})
def list_filings():
    user = api_user()
    as_of = query_as_of()
    query = filings.filings_query(user, status=query_choice("status", FILING_STATUSES),
                                  unit_id=query_int("unit_id"),
                                  account_id=query_int("account_id"), as_of=as_of)
    return _page(query.order_by(Filing.due_on, Filing.id), lambda f: filing_json(f, as_of))


@bp.post("/filings/<int:filing_id>/complete")
@documented("Record that a filing was made (sponsor), or correct a recorded one (sponsor, "
            "supervisor); a date in the future or before the event is refused",
            body=FilingComplete, tag="filings",
            responses={200: "filing", 400: "invalid (fields.filed_on)", 403: "forbidden",
                       404: "not_found"})
def complete_filing(filing_id):
    user = api_user()
    filing = filings.get_filing(user, filing_id)
    data = parse_body(FilingComplete)
    filings.complete_filing(user, filing, data.filed_on, data.reference)
    db.session.commit()
    return jsonify(filing_json(filing, max(query_as_of(), data.filed_on)))


@bp.get("/openapi.json")
def openapi():
    return jsonify(build_openapi(current_app))
