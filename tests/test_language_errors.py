"""One language at a time (issue 12) for every error code the application answers with: each
code is provoked by a real request, as the role that meets it, in Chinese (no header, and
`Accept-Language: zh-CN`) and in English, and every message of the answer must speak the
language asked for (tests/test_languages.py has the checker). The codes are not listed by
hand: the test reads them from the source of the application's packages and fails on one
that no call here produced, save the few that no request can produce (UNREACHABLE).

An answer's messages are its `error.message`, the messages nested in it (a check's finding,
a row of a file, a quota) and, for an inventory import, the job's message and its rows'.
Two codes are only met on pages (the Douyin authorisation): those calls read the page.
"""
import ast
import io
import pathlib
import zipfile

from conftest import PASSWORD, account_body
from error_world import CREDIT_CODE, Office
from sqlalchemy import select
from test_languages import CJK, file_vocabulary, language_problems, typed_data, visible_text
from test_security_matrix import DOUYIN_APPS, DOUYIN_KEY, douyin_standin, page_login

from govmedia.errors import DomainError
from govmedia.extensions import db
from govmedia.models import User
from govmedia.types import today_shanghai
from govmedia.worker import run_burst
from publisher.editorial import platform_auth
from registry.models import PLATFORMS, ImportJob

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("govmedia", "registry", "publisher", "interaction", "notices", "adapters")
# Codes in the source that no request can produce; each says why.
UNREACHABLE = {
    # an import job's unexpected failure (an exception the import does not expect: a bug, or
    # the database lost in the middle of the job): nothing a request can ask for
    "error",
    # an import's unit-name clash: a name the registry holds is the unit the row means, so
    # the import creates no unit of a taken name, unless another request creates one between
    # the import's lookup and its check (a race, not a request)
    "unit_name_taken",
}
LANGUAGES = (("zh", {}), ("zh", {"Accept-Language": "zh-CN,zh;q=0.9"}),
             ("en", {"Accept-Language": "en-US,en;q=0.8"}))
MISSING_TOOL = "ffprobe-not-installed"
IMPORT_HEADER = "主办单位,统一社会信用代码,平台,账号名称,账号ID,开设日期"


# --- the codes in the source ---------------------------------------------------------------

def _text(node):
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _name(call: ast.Call):
    return getattr(call.func, "id", getattr(call.func, "attr", None))


def _codes_of(node) -> list:
    """The code strings one node of the source names (None where it names none)."""
    if isinstance(node, ast.Call):
        codes = [_text(k.value) for k in node.keywords if k.arg == "code"]
        if _name(node) == "error_response" and len(node.args) > 1:
            codes.append(_text(node.args[1]))
        return codes
    if isinstance(node, ast.FunctionDef):   # def add(..., code="invalid")
        args = node.args.posonlyargs + node.args.args
        pairs = list(zip(args[len(args) - len(node.args.defaults):], node.args.defaults))
        pairs += list(zip(node.args.kwonlyargs, node.args.kw_defaults))
        return [_text(default) for arg, default in pairs if arg.arg == "code" and default]
    if isinstance(node, ast.Dict):          # a row's problem: {"row": .., "code": ..}
        keys = [_text(k) if k is not None else None for k in node.keys]
        return [_text(node.values[keys.index("code")])] if {"code", "row"} <= set(keys) else []
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict) and any(
            getattr(t, "id", None) == "codes" for t in node.targets):   # HTTP status -> code
        return [_text(value) for value in node.value.values]
    return []


def codes_in_source() -> dict[str, set[str]]:
    """code -> where: every `code="..."` a call passes (a DomainError's, a file row's), a
    `code` parameter's default, `error_response`'s code, a row dict's "code", the values of
    the HTTP errors' `codes` map, and an error class's own `code` where it is raised without
    one."""
    found: dict[str, set[str]] = {}
    class_codes: dict[str, str] = {}
    calls = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            where = str(path.relative_to(ROOT))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                for code in filter(None, _codes_of(node)):
                    found.setdefault(code, set()).add(f"{where}:{node.lineno}")
                if isinstance(node, ast.Call):
                    calls.append((node, where))
                elif isinstance(node, ast.ClassDef):   # class TooLarge(DomainError): code = ..
                    for statement in node.body:
                        if (isinstance(statement, ast.Assign) and _text(statement.value)
                                and any(getattr(t, "id", None) == "code"
                                        for t in statement.targets)):
                            class_codes[node.name] = _text(statement.value)
    for node, where in calls:
        if _name(node) in class_codes and not any(k.arg == "code" for k in node.keywords):
            found.setdefault(class_codes[_name(node)], set()).add(f"{where}:{node.lineno}")
    return found


def test_the_source_scan_finds_the_codes():
    codes = codes_in_source()
    assert {"invalid", "forbidden", "not_found", "unauthenticated", "too_many_attempts",
            "method_not_allowed", "unavailable", "checks_failed", "handle_taken",
            "missing_column", "file", "empty"} <= set(codes), sorted(codes)
    assert "conflict" not in codes   # RuleConflict's default: every one names its own code
    assert not UNREACHABLE - set(codes), UNREACHABLE - set(codes)   # no stale exemption


# --- one call per code -----------------------------------------------------------------------

def _bearer(api, headers):
    return {"Authorization": f"Bearer {api.token}"} | headers


CELLS: set[str] = set()   # what the files sent hold: typed data, quoted as typed


def _csv(*rows) -> bytes:
    CELLS.update(cell for row in rows for cell in row.split(",") if cell)
    return ("\n".join(rows) + "\n").encode("utf-8")


def _junk_workbook() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "不是工作簿")
    return buffer.getvalue()


def import_calls(o):
    """Inventory files, each with the problems one code names (rows, header, the file)."""
    today = today_shanghai().isoformat()
    b_name, ambiguous = o.world.unit_b["name"], "某乡人民政府"

    def upload(name, content):
        def call(_language, h):
            client = o.sponsor.client
            started = client.post("/api/v1/imports", headers=_bearer(o.sponsor, h),
                                  data={"file": (io.BytesIO(content), name)})
            if started.status_code != 202:
                return started
            run_burst(o.app)
            return client.get(started.get_json()["status_url"], headers=_bearer(o.sponsor, h))
        return call

    rows = _csv(IMPORT_HEADER,
                f",,微信公众号,某县发布新号,gh_0123456789ab,{today}",          # handle_taken
                f",,微博,某县发布新微博,9234567890,{today}",                 # one per platform
                f"某县不存在局,,抖音,某局抖音,dy-9,{today}",                   # unit_not_found
                f"某县另一局,{CREDIT_CODE},快手,某局快手,ks-9,{today}",       # unit_mismatch
                f"{ambiguous},,快手,某乡快手,ks-8,{today}",                    # unit_ambiguous
                f"{b_name},,快手,教育快手,ks-7,{today}",                       # forbidden
                f",,火星,某县火星号,mars-1,{today}",                          # unknown_platform
                ",,快手,某县快手号,ks-6,2026-13-45",                         # bad_date
                f",,快手,,ks-5,{today}",                                      # required
                f",,快手,某县快手二号,ks-4,{today},多余,的格子")             # broken_row
    return {
        "unit_not_found (and the other row codes)": upload("inventory.csv", rows),
        "duplicate_column": upload("columns.csv", _csv(
            "平台,账号名称,账号ID,开设日期,账号名", f"快手,某县快手,ks-3,{today},重名")),
        "no_header": upload("notes.csv", _csv("说明,备注", "本表为草稿,无")),
        "missing_column": upload("short.csv", _csv("平台,账号名称,账号ID", "快手,某县快手,ks-2")),
        "empty (an import)": upload("header.csv", _csv(IMPORT_HEADER)),
        "file": upload("inventory.xlsx", _junk_workbook()),
        "file (a CSV row)": upload("quotes.csv", (IMPORT_HEADER + '\n"' + "某" * 140_000)
                                   .encode("utf-8")),
    }


def post_log_calls(o):
    def upload(name, content):
        return lambda _language, h: o.sponsor.client.post(
            "/api/v1/supervision/post-logs", headers=_bearer(o.sponsor, h),
            data={"file": (io.BytesIO(content), name)})

    rows = _csv("发布时间,标题,账号ID,平台",
                "2026-11-20 09:30,,gh_0123456789ab,",              # required
                "2026-11-20 09:30,通知,gh_0123456789ab,火星",       # unknown_platform
                "2026-11-20 09:30,通知,gh_nobody,",                # unknown_account
                "2026-11-20 09:30,通知,3001,",                     # ambiguous_account
                "2026-11-20 09:30,通知,2234567890,",               # forbidden
                "昨天上午,通知,gh_0123456789ab,")                   # invalid (the time)
    return {
        "unknown_account (and the other row codes)": upload("log.csv", rows),
        "no_header (a post log)": upload("notes.csv", _csv("说明,备注", "草稿,无")),
        "missing_column (a post log)": upload("log.csv", _csv("发布时间,标题",
                                                              "2026-11-20 09:30,通知")),
        "empty": upload("log.csv", _csv("发布时间,标题,账号ID", ",,")),
    }


def page_calls(o):
    """The Douyin authorisation answers on its page, in the page's language (?lang=)."""
    sponsor, sponsor_b = page_login(o.app, "sponsor_a"), page_login(o.app, "sponsor_b")

    def unconfigured(language, _h):
        o.app.config.update(DOUYIN_CLIENT_KEY="", DOUYIN_CLIENT_SECRET="")
        return sponsor.post(f"/accounts/{o.account['douyin']}/douyin/authorise?lang={language}")

    def refused(language, _h):
        o.app.config.update(DOUYIN_API_BASE_URL=douyin_standin(), DOUYIN_CLIENT_KEY=DOUYIN_KEY,
                            DOUYIN_CLIENT_SECRET=DOUYIN_APPS[DOUYIN_KEY])
        user = db.session.scalar(select(User.id).where(User.username == "sponsor_a"))
        state = platform_auth._signer().dumps({"account": o.account["douyin"], "user": user})
        return sponsor.get("/douyin/callback", query_string={
            "state": state, "code": "not-a-code", "lang": language})

    return {
        "not_configured": unconfigured,
        "authorisation_failed": refused,
        "invalid_transition (a closed Douyin account)": lambda language, _h: sponsor_b.post(
            f"/accounts/{o.closed_douyin_b}/douyin/authorise?lang={language}"),
    }


def error_calls(o):
    """name (its first word: the code it must produce) -> call(language, headers)."""
    client = o.sponsor.client

    def api(user, method, path, **kwargs):
        return lambda _language, h: client.open(path, method=method,
                                                headers=(_bearer(user, {}) if user else {}) | h,
                                                **kwargs)

    def too_large(_language, h):
        limit = o.app.config["MAX_CONTENT_LENGTH"]
        o.app.config["MAX_CONTENT_LENGTH"] = 512 * 1024
        try:
            return client.post("/api/v1/accounts", headers=_bearer(o.sponsor, h), json=account_body(
                o.a, office="县政府办公室" * 100_000))
        finally:
            o.app.config["MAX_CONTENT_LENGTH"] = limit

    def no_ffprobe(_language, h):
        o.app.config["FFPROBE_PATH"] = MISSING_TOOL
        return client.post("/api/v1/videos", data=b"\x00" * 64, headers=_bearer(o.editor, h) | {
            "Content-Type": "video/mp4"})

    article = lambda a, action: f"/api/v1/articles/{a['id']}/{action}"   # noqa: E731
    today = today_shanghai().isoformat()
    calls = {
        "invalid (malformed JSON)": api(o.sponsor, "POST", "/api/v1/accounts", data="{",
                                        content_type="application/json"),
        "invalid (a field)": api(o.sponsor, "POST", "/api/v1/accounts", json=account_body(
            o.a, opened_on="2026-13-40", handle="gh_0123456789ff")),
        "invalid (credit code)": api(o.supervisor, "POST", "/api/v1/units",
                                     json={"name": "某县新单位", "code": "91110000"}),
        "invalid (same unit name under one parent)": api(o.supervisor, "POST", "/api/v1/units",
                                                         json={"name": o.world.unit_a["name"]}),
        "invalid (a date in the future)": api(o.sponsor, "POST", "/api/v1/accounts",
                                              json=account_body(o.a, platform="other",
                                                                handle="x-1",
                                                                opened_on="2099-01-01")),
        "unauthenticated": api(None, "GET", "/api/v1/accounts"),
        "invalid_credentials": api(None, "POST", "/api/v1/auth/tokens", json={
            "username": "sponsor_a", "password": PASSWORD + "x"}),
        "too_many_attempts": api(None, "POST", "/api/v1/auth/tokens", json={
            "username": "nobody", "password": "wrong-pass1"}),
        "forbidden": api(o.sponsor, "GET", f"/api/v1/units/{o.b}"),
        "not_found": api(o.sponsor, "GET", "/api/v1/accounts/999999"),
        "not_found (a route)": api(o.sponsor, "GET", "/api/v1/nothing-here"),
        "method_not_allowed": api(o.sponsor, "PUT", "/api/v1/accounts", json={}),
        "too_large": too_large,
        "unavailable": no_ffprobe,
        "invalid_transition (an account event)": api(
            o.sponsor, "POST", f"/api/v1/accounts/{o.account['wechat']}/events",
            json={"kind": "reopen", "event_date": today, "reason": "恢复"}),
        "one_account_per_platform": api(o.sponsor, "POST", "/api/v1/accounts",
                                        json=account_body(o.a, handle="gh_0123456789cd")),
        "handle_taken": api(o.world.sponsor_b, "POST", "/api/v1/accounts", json=account_body(
            o.b, name="某县教育发布")),
        "username_taken": api(o.admin, "POST", "/api/v1/users", json={
            "username": "sponsor_a", "password": "Another-pass1", "roles": ["editor"],
            "unit_id": o.a}),
        "code_taken": api(o.admin, "POST", "/api/v1/units", json={
            "name": "某县另一局", "code": CREDIT_CODE}),
        "checks_failed": api(o.editor, "POST", article(o.secret, "submit"), json={}),
        "invalid_transition (an article)": api(o.editor, "POST", article(o.waiting, "submit"),
                                               json={}),
        "invalid_transition (a withdrawal)": api(o.editor, "POST",
                                                 article(o.secret, "withdraw"),
                                                 json={"reason": "撤回"}),
        "revision_changed": api(o.reviewer, "POST", article(o.waiting, "review"), json={
            "decision": "approve", "content_hash": "0" * 64}),
        "separation_of_duties": api(o.both, "POST", article(o.acted, "review"),
                                    json={"decision": "approve"}),
        "invalid_target": api(o.signer, "POST", article(o.closing, "review"),
                              json={"decision": "approve"}),
        "mass_quota_exceeded": api(o.signer, "POST", article(o.mass, "review"),
                                   json={"decision": "approve"}),
        "not_failed": api(o.editor, "POST",
                          f"/api/v1/deliveries/{o.delivery_of(o.queued)}/retry"),
        "withdrawn": api(o.editor, "POST", f"/api/v1/deliveries/{o.delivery_of(o.done)}/retry"),
        "already_withdrawn": api(o.editor, "POST", article(o.done, "withdraw"),
                                 json={"reason": "再撤一次"}),
        "already_done": api(o.editor, "POST", f"/api/v1/tasks/{o.done_task}/complete", json={
            "post_url": "https://www.kuaishou.com/short-video/other"}),
        "task_cancelled": api(o.editor, "POST", f"/api/v1/tasks/{o.cancelled_task}/complete",
                              json={"post_url": "https://www.bilibili.com/video/BV1xx"}),
        "notice_withdrawn": api(o.sponsor, "POST",
                                f"/api/v1/notices/{o.withdrawn_notice}/amendments",
                                json={"text": "更正后的公告"}),
        "notice_ended": api(o.sponsor, "POST", f"/api/v1/notices/{o.ended_notice}/amendments",
                            json={"text": "更正后的公告"}),
        "already_completed": api(o.supervisor, "POST",
                                 f"/api/v1/notices/{o.ended_notice}/withdraw",
                                 json={"reason": "单位撤回申请"}),
        "already_rejected": api(o.supervisor, "POST", f"/api/v1/evidence/{o.evidence}/reject",
                                json={"reason": "截图与链接不符"}),
        "already_drawn": api(o.supervisor, "POST", "/api/v1/supervision/spot-checks",
                             json=o.quarter | {"unit_id": o.a}),
        "already_voided": api(o.supervisor, "POST",
                              f"/api/v1/supervision/spot-checks/{o.void_draw}/void",
                              json={"reason": "再作废一次"}),
        "already_issued": api(o.supervisor, "POST", "/api/v1/supervision/annual", json={
            "year": today_shanghai().year - 1, "unit_id": o.a}),
        "reply_window_closed": api(o.sponsor, "POST",
                                   f"/api/v1/messages/{o.messages['wechat']}/reply",
                                   json={"text": "您好，工作日上午九点至下午五点。"}),
        "reply_not_supported": api(o.sponsor, "POST",
                                   f"/api/v1/messages/{o.messages['kuaishou']}/reply",
                                   json={"text": "您好，工作日上午九点至下午五点。"}),
    }
    files = import_calls(o) | post_log_calls(o)
    o.file_calls, o.cells = set(files), sorted(CELLS)
    return calls | files | page_calls(o)


# --- the test ------------------------------------------------------------------------------

def messages_and_codes(value, codes: set, messages: list) -> None:
    """Every message of an answer (a dict with "message"), and the code beside it."""
    if isinstance(value, dict):
        if isinstance(value.get("message"), str):
            messages.append(value["message"])
            if isinstance(value.get("code"), str):
                codes.add(value["code"])
        for item in value.values():
            messages_and_codes(item, codes, messages)
    elif isinstance(value, list):
        for item in value:
            messages_and_codes(item, codes, messages)


def typed() -> list[str]:
    """What users typed, without the import jobs' own answers (stored as the job's message
    and errors: the very texts under test)."""
    answers = set()
    for message, errors in db.session.execute(select(ImportJob.message, ImportJob.errors)):
        answers.add(message)
        answers.update(error["message"] for error in errors or [])
    return [value for value in typed_data() if value not in answers]


def test_every_api_error_code_answers_in_the_language_asked_for(app, world, login, tmp_path,
                                                                 monkeypatch):
    o = Office(app, world, login, tmp_path)
    raised: list[DomainError] = []
    constructor = DomainError.__init__

    def recording(self, *args, **kwargs):
        constructor(self, *args, **kwargs)
        raised.append(self)

    monkeypatch.setattr(DomainError, "__init__", recording)
    problems, seen = [], {}
    for name, call in error_calls(o).items():
        expected = name.split(" ")[0]
        for language, headers in LANGUAGES:
            raised.clear()
            response = call(language, headers)
            codes, messages, fields = set(), [], []
            if response.mimetype == "text/html":   # a page: the refusal it shows
                assert response.status_code >= 400, (name, response.status_code)
                texts = visible_text(response.get_data(as_text=True))
                shown = " ".join(texts)
                codes = {error.code for error in raised if error.message in shown}
                messages = texts
            else:
                body = response.get_json()
                assert response.status_code >= 400 or body.get("status") == "failed", (
                    name, response.status_code, body)
                messages_and_codes(body, codes, messages)
                fields = list((body.get("error") or {}).get("fields") or {})
            seen.setdefault(expected, set()).update(codes)
            # Quoted as they are: what was typed (in the database, or in the file sent), the
            # fields' JSON keys, the names of settings, the configured tool; in English the
            # file's Chinese column and platform words; for a file, the platform codes a cell
            # may hold instead of the names.
            quoted = [*fields, *typed(), *o.app.config, MISSING_TOOL]
            if name in o.file_calls:
                quoted += [*PLATFORMS, *o.cells]
            if language == "en":
                quoted += file_vocabulary()
            quoted = sorted(set(quoted), key=len, reverse=True)
            for message in messages:
                found = language_problems([message], language, quoted)
                if (language == "zh" and response.mimetype != "text/html"
                        and not CJK.search(message)):
                    found.append(f"no Chinese in {message!r}")
                problems += [f"{name} [{language}]: {p}" for p in found]
        assert expected in seen[expected], (name, seen[expected])
    answered = set().union(*seen.values())
    in_source = codes_in_source()
    missing = {code: sorted(in_source[code])
               for code in set(in_source) - answered - UNREACHABLE}
    assert not missing, f"codes no call produced (code: where it is raised): {missing}"
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
