"""Shared plumbing for the JSON API: body and query parsing, errors, lists, the OpenAPI document."""
import re
from datetime import date

from flask import current_app, jsonify, render_template, request
from flask_babel import gettext as _
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from .errors import DomainError, Invalid
from .extensions import db
from .types import DATE_MAX, DATE_MIN, ascii_int, date_in_range, today_shanghai
from .validation import problem_text

MAX_LIMIT = 500


def error_response(status: int, code: str, message: str, fields=None, extra=None):
    body = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    body.update(extra or {})
    return jsonify({"error": body}), status


def domain_error_response(err: DomainError):
    return error_response(err.status, err.code, err.message, err.fields, err.extra)


def _field_errors(exc: ValidationError) -> tuple[dict, dict, bool]:
    """(fields: pydantic's terse note per field, for scripts; problems: the same in the
    reader's language, for the message; whether the body was not JSON at all)."""
    fields, problems, malformed = {}, {}, False
    for item in exc.errors():
        if item["type"] == "json_invalid":
            malformed = True
            continue
        loc = ".".join(str(part) for part in item["loc"]) or "body"
        fields.setdefault(loc, "required" if item["type"] == "missing" else item["msg"])
        problems.setdefault(loc, problem_text(item))
    return fields, problems, malformed


def parse_body(model: type[BaseModel]):
    """Validate the JSON body strictly (wrong types are errors, not coerced)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        raw = b"{}"
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        fields, problems, malformed = _field_errors(exc)
        if malformed:
            raise Invalid(_("Malformed JSON body"), fields={"body": "malformed JSON"}) from None
        raise Invalid(_("Invalid request: %(problems)s", problems=_("; ").join(
            _("%(key)s: %(value)s", key=name, value=problem)
            for name, problem in problems.items())), fields=fields) from None


def parse_date(value: str | None, field: str) -> date | None:
    if value in (None, ""):
        return None
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise Invalid(_("%(field)s: expected YYYY-MM-DD", field=field),
                      fields={field: "expected YYYY-MM-DD"})
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise Invalid(_("%(field)s: not a real date", field=field),
                      fields={field: "not a real date"}) from None
    if not date_in_range(day):
        raise Invalid(_("%(field)s must be from %(first)s to %(last)s", field=field,
                        first=DATE_MIN, last=DATE_MAX),
                      fields={field: f"from {DATE_MIN} to {DATE_MAX}"})
    return day


def query_as_of() -> date:
    return parse_date(request.args.get("as_of"), "as_of") or today_shanghai()


def query_int(name: str) -> int | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    number = ascii_int(value)
    if number is None:
        raise Invalid(_("%(name)s: expected an integer", name=name),
                      fields={name: "expected a non-negative integer"})
    return number


def query_choice(name: str, choices) -> str | None:
    value = request.args.get(name)
    if value in (None, ""):
        return None
    if value not in choices:
        raise Invalid(_("%(name)s: must be one of %(choices)s", name=name,
                        choices=", ".join(choices)),
                      fields={name: f"must be one of {', '.join(choices)}"})
    return value


def page_params() -> tuple[int, int]:
    limit = query_int("limit")
    offset = query_int("offset") or 0
    if limit is None:
        limit = 50
    if limit < 1 or limit > MAX_LIMIT:
        raise Invalid(_("limit must be from 1 to %(max)s", max=MAX_LIMIT),
                      fields={"limit": f"1 to {MAX_LIMIT}"})
    return limit, offset


def listing(items: list, total: int):
    return jsonify({"items": items, "total": total})


# --- OpenAPI ---------------------------------------------------------------------------

def documented(summary: str, *, body: type[BaseModel] | None = None, responses: dict | None = None,
               auth: bool = True, query: dict | None = None, tag: str = "registry",
               media: str = "application/json"):
    """Attach OpenAPI metadata to a view; the document is built from the real URL map.
    `media` other than JSON (a platform's XML callback) makes the body and every answer text
    of that type."""

    def decorator(view):
        view._openapi = {"summary": summary, "body": body, "responses": responses or {},
                         "auth": auth, "query": query or {}, "tag": tag, "media": media}
        return view

    return decorator


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}},
}


def build_openapi(app) -> dict:
    paths: dict = {}
    schemas: dict = {"Error": ERROR_SCHEMA}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        meta = getattr(view, "_openapi", None)
        if meta is None:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        params = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer" if conv == "int" else "string"}}
                  for conv, name in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", rule.rule)]
        for name, spec in meta["query"].items():
            params.append({"name": name, "in": "query", "required": False,
                           "schema": spec if isinstance(spec, dict) else {"type": spec}})
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op = {"summary": meta["summary"], "tags": [meta["tag"]],
                  "operationId": f"{rule.endpoint}_{method.lower()}", "parameters": params,
                  "responses": {}}
            if meta["body"] is not None:
                model = meta["body"]
                schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                for name, sub in schema.pop("$defs", {}).items():
                    schemas[name] = sub
                schemas[model.__name__] = schema
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{model.__name__}"}}}}
            if meta["media"] != "application/json":
                _text_operation(op, meta)
                paths.setdefault(path, {})[method.lower()] = op
                continue
            for status, description in meta["responses"].items():
                response = {"description": description}
                if int(status) >= 400:
                    response["content"] = {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}
                elif int(status) != 204:
                    response["content"] = {"application/json": {"schema": {"type": "object"}}}
                op["responses"][str(status)] = response
            if meta["auth"]:
                op["security"] = [{"bearer": []}]
                op["responses"].setdefault("401", {"description": "missing or invalid token",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
            if meta["body"] is not None or params:
                op["responses"].setdefault("400", {"description": "invalid input",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}})
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "govmedia API", "version": "1",
                 "description": "政务新媒体 registry and publisher (see shared/API.md)."},
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": schemas,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }


def _http_messages() -> dict[int, str]:
    # werkzeug words its answers in English only: the API says them in the reader's language.
    return {400: _("Bad request"), 401: _("Log in first"), 403: _("Not allowed"),
            404: _("Not found"), 405: _("This method is not allowed here"),
            429: _("Too many attempts: try again later"),
            500: _("Internal error: try again later")}


def _text_operation(op: dict, meta: dict) -> None:
    """An operation that takes and answers text (XML) rather than JSON."""
    text = {meta["media"]: {"schema": {"type": "string"}}}
    if meta["media"] != "text/plain":   # the body the platform posts
        op["requestBody"] = {"required": False, "content": text}
    for status, description in meta["responses"].items():
        op["responses"][str(status)] = {"description": description,
                                        "content": {"text/plain": {"schema": {"type": "string"}}}}


def register_api_error_handlers(app) -> None:
    """JSON errors for /api/ paths; pages keep their HTML error pages."""

    @app.errorhandler(DomainError)
    def _domain(err):
        db.session.rollback()
        if request.path.startswith("/api/"):
            return domain_error_response(err)
        return render_template("error.html", error=err), err.status

    @app.errorhandler(HTTPException)
    def _http(err):
        if not request.path.startswith("/api/"):
            if err.code in (400, 403, 404, 405):  # the page in the user's language
                headers = [(k, v) for k, v in err.get_headers() if k.lower() != "content-type"]
                return render_template("error.html", status=err.code), err.code, headers
            if err.code == 413:  # say what the limit is, not werkzeug's English page
                limit = current_app.config["MAX_CONTENT_LENGTH"] / 1048576
                too_large = DomainError(_("Request body too large: at most %(mb)s MB",
                                          mb=f"{limit:.1f}"), code="too_large", status=413)
                return render_template("error.html", error=too_large), 413
            return err
        codes = {400: "invalid", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                 405: "method_not_allowed", 413: "too_large", 429: "too_many_attempts"}
        code = codes.get(err.code, "error")
        limit = current_app.config["MAX_CONTENT_LENGTH"] / 1048576
        message = {413: _("Request body too large: at most %(mb)s MB", mb=f"{limit:.1f}"),
                   **_http_messages()}.get(err.code, err.description or err.name)
        return error_response(err.code or 500, code, message)

    @app.errorhandler(OperationalError)
    def _db_down(err):
        current_app.logger.error("database unavailable: %s", err.orig)
        db.session.rollback()
        if request.path.startswith("/api/"):
            return error_response(503, "unavailable", _("Database unavailable, try again later"))
        return _("Database unavailable, try again later"), 503
