"""What the public sees without logging in: notices (page, Atom, JSON), the registry lookup,
`verify`, account pages and the open data downloads. Every response is cached per registry
version with an ETag (notices/cache.py)."""
import csv
import io
import json
from datetime import UTC, datetime, time

from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, jsonify, render_template, request, url_for
from flask_babel import force_locale, gettext as _

from govmedia.api import documented, listing, page_params, query_choice
from govmedia.errors import Invalid, NotFound
from govmedia.extensions import csrf
from govmedia.pagination import paginate
from govmedia.types import SHANGHAI, UNPRINTABLE, today_shanghai
from registry.labels import N_, label
from registry.models import PLATFORMS

from . import lookup, services
from .cache import public_cached

api = Blueprint("notices_public_api", __name__, url_prefix="/api/v1/public")
pages = Blueprint("notices_public", __name__)
csrf.exempt(api)
csrf.exempt(pages)

PAGE_SIZE = 50
LOOKUP_PAGE_SIZE = 20   # a phone screen or two; small pages are also fast pages


def _notices(window=None, per_page: int = PAGE_SIZE):
    return paginate(lookup.public_notices_query(), per_page=per_page, window=window,
                    count=lookup.public_notices_count())


# --- JSON ------------------------------------------------------------------------------------

@api.get("/notices")
@documented("Current and past public notices (no login)", auth=False, tag="public",
            query={"limit": "integer", "offset": "integer"}, responses={200: "list"})
@public_cached(localized=False)
def notices_json():
    page = _notices(window=page_params())
    today = today_shanghai()
    return listing([services.notice_json(n, today) for n in page.items], page.total)


@api.get("/accounts")
@documented("The registry as the public may see it (no login)", auth=False, tag="public",
            query={"q": "string", "platform": {"type": "string", "enum": list(PLATFORMS)},
                   "limit": "integer", "offset": "integer"}, responses={200: "list"})
@public_cached(localized=False)
def accounts_json():
    limit, offset = page_params()
    items, total = lookup.search_accounts(request.args.get("q"),
                                          query_choice("platform", PLATFORMS), limit, offset)
    return listing(items, total)


@api.get("/accounts/<int:account_id>")
@documented("One account as the public may see it, with the history of its names", auth=False,
            tag="public", responses={200: "account", 404: "not_found"})
@public_cached(localized=False)
def account_json(account_id):
    return jsonify(lookup.public_account(account_id))


@api.get("/verify")
@documented("Is this account official? (no login)", auth=False, tag="public",
            query={"platform": {"type": "string", "enum": list(PLATFORMS)},
                   "handle": "string"}, responses={200: "{official, account | former}"})
@public_cached(localized=False)
def verify_json():
    platform = query_choice("platform", PLATFORMS)
    handle = (request.args.get("handle") or "").strip()
    fields = {}
    if not platform:
        fields["platform"] = "required"
    if not handle:
        fields["handle"] = "required"
    if fields:
        raise Invalid(_("Platform and handle are required"), fields=fields)
    return jsonify(lookup.verify(platform, handle))


# --- pages -----------------------------------------------------------------------------------

@pages.get("/notices")
@public_cached()
def notices_page():
    today = today_shanghai()
    page = _notices()
    current = [n for n in page.items if services.notice_state(n, today) == "running"]
    past = [n for n in page.items if n not in current]
    return render_template("public/notices.html", current=current, past=past, today=today,
                           state=services.notice_state, **page.nav)


@pages.get("/notices.atom")
@public_cached(localized=False)
def notices_atom():
    rows = _notices(window=(100, 0)).items
    page_url = url_for("notices_public.notices_page", _external=True)
    feed = FeedGenerator()
    feed.id(page_url)
    feed.title("政务新媒体账号公告")
    feed.subtitle("注销、关停和变更公告（公示期以各条公告所载为准）")
    feed.author({"name": "政务新媒体管理平台"})
    feed.link(href=page_url, rel="alternate")
    feed.link(href=url_for("notices_public.notices_atom", _external=True), rel="self")
    feed.language("zh-CN")
    stamps = []
    for notice in reversed(rows):  # feedgen prepends: oldest first gives newest at the top
        updated = max([notice.created_at] + [a.created_at for a in notice.amendments]
                      + ([notice.withdrawn_at] if notice.withdrawn_at else []))
        stamps.append(updated)
        entry = feed.add_entry()
        entry.id(f"{page_url}#notice-{notice.id}")
        # Text stored before input refused control characters must not break the XML.
        text = UNPRINTABLE.sub("", notice.text or "")
        title = text.splitlines()[0] if text else UNPRINTABLE.sub("", notice.account_name)
        if notice.withdrawn_at:
            title = "【已撤回】" + title
        entry.title(title)
        entry.link(href=url_for("notices_public.account_page", account_id=notice.account_id,
                                _external=True))
        entry.content(text, type="text")
        entry.summary(f"{UNPRINTABLE.sub('', notice.unit_name)} · "
                      f"{notice.starts_on.isoformat()} 至 {notice.ends_on.isoformat()}")
        entry.published(datetime.combine(notice.starts_on, time.min, tzinfo=SHANGHAI))
        entry.updated(updated)
    feed.updated(max(stamps) if stamps else datetime(2000, 1, 1, tzinfo=UTC))
    return Response(feed.atom_str(pretty=True), mimetype="application/atom+xml")


@pages.get("/public")
@public_cached()
def lookup_page():
    q = (request.args.get("q") or "").strip()[:100]
    platform = request.args.get("platform") or None
    if platform not in PLATFORMS:
        platform = None
    searched = bool(q or platform)
    items, nav = [], {"page": 1, "pages": 1, "total": 0}
    if searched:
        rows, count = lookup.search(q, platform)
        page = paginate(rows, per_page=LOOKUP_PAGE_SIZE, count=count, rows=True)
        items, nav = [lookup.public_row(r) for r in page.items], page.nav
    return render_template("public/lookup.html", q=q, platform=platform, items=items,
                           searched=searched, **nav)


@pages.get("/public/verify")
@public_cached()
def verify_page():
    """The verification interface for people: the same answer as /api/v1/public/verify, and
    how a program asks it (the footer links here, not to raw JSON)."""
    platform = query_choice("platform", PLATFORMS) if request.args.get("platform") else None
    handle = (request.args.get("handle") or "").strip()[:200]
    answer = lookup.verify(platform, handle) if platform and handle else None
    return render_template("public/verify.html", platform=platform, handle=handle,
                           answer=answer)


@pages.get("/public/accounts/<int:account_id>")
@public_cached()
def account_page(account_id):
    try:
        account = lookup.public_account(account_id)
    except NotFound:
        return render_template("public/not_found.html"), 404
    return render_template("public/account.html", account=account)


def _csv_cell(value) -> str:
    text = "" if value is None else str(value)
    # Excel would run a cell starting with = + - @ as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# The CSV is for people (Excel): headings and codes in words. Its language comes from the
# link alone (?lang=en), never the session, so one URL is one file and caches as such.
OPEN_DATA_COLUMNS = (("id", N_("Registry number")), ("platform", N_("Platform")), ("name", N_("Name")),
                     ("handle", N_("Handle")), ("unit_name", N_("Sponsor unit")),
                     ("status", N_("Status")), ("opened_on", N_("Opened on")),
                     ("former_names", N_("Former names")))


def _open_data_cell(key: str, value) -> str:
    if key == "platform":
        return label("platform", value)
    if key == "status":
        return label("status", value)
    if key == "former_names":
        return _("; ").join(value)
    return value


@pages.get("/public/data.csv")
@public_cached(max_age=300, localized=False)
def open_data_csv():
    language = "en" if request.args.get("lang") == "en" else "zh"
    buffer = io.StringIO()
    buffer.write("\ufeff")  # UTF-8 BOM: Excel opens Chinese text correctly
    writer = csv.writer(buffer)
    with force_locale(language):
        writer.writerow([_(heading) for _key, heading in OPEN_DATA_COLUMNS])
        for row in lookup.open_data_rows():
            writer.writerow([_csv_cell(_open_data_cell(key, row[key]))
                             for key, _heading in OPEN_DATA_COLUMNS])
    return Response(buffer.getvalue().encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=govmedia-registry.csv"})


@pages.get("/public/data.json")
@public_cached(max_age=300, localized=False)
def open_data_json():
    items = list(lookup.open_data_rows())
    body = {"title": "政务新媒体账号登记库", "generated_on": today_shanghai().isoformat(),
            "fields": ["id", "platform", "name", "handle", "unit_name", "status", "opened_on",
                       "former_names"],
            "total": len(items), "items": items}
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")),
                    mimetype="application/json",
                    headers={"Content-Disposition": "attachment; filename=govmedia-registry.json"})

