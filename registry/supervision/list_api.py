"""The API beside the pages for long lists: bulk rectification orders for dormant accounts and
"not a duplicate" decisions (same blueprint as api.py, same service functions as the pages)."""
from datetime import date
from typing import Annotated

from flask import jsonify
from pydantic import Field, StringConstraints

from govmedia.api import documented, parse_body, query_as_of
from govmedia.auth import api_roles, api_user
from govmedia.extensions import db
from govmedia.types import today_shanghai

from ..schemas import Strict
from . import lists, services
from .api import bp


class BulkOrdersIn(Strict):
    account_ids: Annotated[list[int], Field(min_length=1, max_length=lists.BULK_MAX)]
    deadline: date | None = None


class DismissalIn(Strict):
    account_ids: Annotated[list[int], Field(min_length=2, max_length=2)]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=2000)]


@bp.post("/supervision/rectifications/bulk")
@documented("Rectification orders (kind dormant) for many accounts at once, the finding worded "
            "from the dormant list; accounts with an open dormant order are skipped",
            body=BulkOrdersIn, tag="supervision",
            responses={201: "{items: [order], skipped: [account id]}", 403: "forbidden"})
@api_roles("supervisor")
def bulk_orders():
    data = parse_body(BulkOrdersIn)
    made, skipped = lists.bulk_dormant_orders(api_user(), data.account_ids, today_shanghai(),
                                              data.deadline)
    db.session.commit()
    as_of = query_as_of()
    return jsonify({"items": [services.rectification_json(o, as_of) for o in made],
                    "skipped": skipped}), 201


@bp.post("/supervision/duplicates/dismissals")
@documented("Decide that two accounts of a near-same name are not duplicates: the pair leaves "
            "the likely-duplicates list for good (audited)", body=DismissalIn, tag="supervision",
            responses={201: "{id, account_ids, reason, decided_at}", 400: "invalid",
                       403: "forbidden"})
@api_roles("supervisor")
def dismiss_duplicate():
    data = parse_body(DismissalIn)
    decision = lists.dismiss_pair(api_user(), data.account_ids[0], data.account_ids[1],
                                  data.reason)
    db.session.commit()
    return jsonify({"id": decision.id, "account_ids": [decision.low_id, decision.high_id],
                    "reason": decision.reason,
                    "decided_at": decision.decided_at.isoformat()}), 201
