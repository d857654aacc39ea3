"""The publishing tasks' JSON API (shared/API.md, Publishing tasks)."""
from typing import Annotated

from flask import Blueprint, jsonify
from pydantic import StringConstraints

from govmedia.api import (documented, page_params, parse_body, query_as_of, query_choice,
                          query_int)
from govmedia.auth import api_user
from govmedia.extensions import csrf, db
from govmedia.pagination import paginate
from govmedia.schemas import Strict

from .complete import complete_task, get_task
from .models import TASK_KINDS, TASK_STATUSES
from .queries import task_json, tasks_query

bp = Blueprint("publisher_tasks_api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)


class CompleteIn(Strict):
    # Required for a publish task, checked in the domain (400 invalid, fields.post_url).
    post_url: Annotated[str, StringConstraints(strip_whitespace=True,
                                               max_length=1000)] | None = None
    screenshot_base64: str | None = None
    # A take-down task is done when the person confirms the post is gone.
    removed: bool = False


@bp.get("/tasks")
@documented("Publishing tasks: deliveries to platforms without a publishing API, done by the "
            "account's staff", tag="articles",
            query={"account_id": "integer", "unit_id": "integer",
                   "status": {"type": "string", "enum": list(TASK_STATUSES)},
                   "kind": {"type": "string", "enum": list(TASK_KINDS)},
                   "as_of": "string", "limit": "integer", "offset": "integer"},
            responses={200: "list of tasks", 403: "forbidden (another unit)"})
def list_tasks():
    user = api_user()
    as_of = query_as_of()
    query = tasks_query(user, as_of=as_of, account_id=query_int("account_id"),
                        unit_id=query_int("unit_id"),
                        status=query_choice("status", TASK_STATUSES),
                        kind=query_choice("kind", TASK_KINDS))
    page = paginate(query, window=page_params())
    return jsonify({"items": [task_json(t, as_of) for t in page.items], "total": page.total})


@bp.post("/tasks/<int:task_id>/complete")
@documented("Complete a publishing task (sponsor, editor): the post's URL on the platform's "
            "own host and an optional PNG/JPEG screenshot; its delivery becomes sent and the "
            "account gets a post. A take-down task takes {removed: true}", body=CompleteIn,
            tag="articles",
            responses={200: "task (done); the same request again answers the same",
                       400: "invalid (fields.post_url: not on the platform's host, or "
                            "fields.screenshot_base64)",
                       403: "forbidden", 404: "not_found",
                       409: "already_done (done with another URL) or task_cancelled"})
def complete(task_id):
    user = api_user()
    task = get_task(user, task_id)
    data = parse_body(CompleteIn)
    complete_task(user, task, data.post_url, data.screenshot_base64, data.removed)
    db.session.commit()
    return jsonify(task_json(task, query_as_of()))
