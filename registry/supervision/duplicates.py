"""Rule 3, set-based: more than one account per unit and platform, and likely duplicates."""
from collections import defaultdict

from flask import current_app
from sqlalchemy import exists, func, or_, select

from govmedia.auth import in_units, unit_scope
from govmedia.extensions import db

from ..models import COUNTED_STATUSES, Account, PlatformException
from .figure_cache import cached_figure
from .models import DuplicateDismissal, NamePair
from .pending import apply_pending


@cached_figure
def duplicates(actor, unit_id: int | None = None) -> dict:
    """Rule 3: units holding more than one counted account on a platform, and likely
    duplicates: near-same names, one verified subject, low-use clean-up candidates."""
    units = unit_scope(actor, unit_id)
    apply_pending()   # the name index follows renames through the outbox
    counted = Account.status.in_(COUNTED_STATUSES)

    q = (select(Account.unit_id, Account.platform,
                func.count().label("n"))
         .where(counted, Account.platform != "other")
         .group_by(Account.unit_id, Account.platform).having(func.count() > 1))
    if units is not None:
        q = q.where(in_units(Account.unit_id, units))
    groups = db.session.execute(q).all()
    items = []
    if groups:
        keys = {(u, p) for u, p, _n in groups}
        unit_ids = sorted({u for u, _p in keys})
        members = defaultdict(list)
        excepted = {}
        for start in range(0, len(unit_ids), 900):
            chunk = unit_ids[start:start + 900]
            for aid, u, p in db.session.execute(
                    select(Account.id, Account.unit_id, Account.platform)
                    .where(counted, Account.unit_id.in_(chunk)).order_by(Account.id)):
                if (u, p) in keys:
                    members[(u, p)].append(aid)
            for u, p, reason in db.session.execute(
                    select(PlatformException.unit_id, PlatformException.platform,
                           PlatformException.reason).where(PlatformException.unit_id.in_(chunk))):
                excepted[(u, p)] = reason
        for key in sorted(keys):
            items.append({"unit_id": key[0], "platform": key[1], "account_ids": members[key],
                          "exception": key in excepted,
                          "exception_reason": excepted.get(key)})

    similar = []
    low, high = Account.__table__.alias("low"), Account.__table__.alias("high")
    # A pair a supervisor decided is not a duplicate stays off the list (lists.dismiss_pair).
    dismissed = exists().where(DuplicateDismissal.low_id == NamePair.low_id,
                               DuplicateDismissal.high_id == NamePair.high_id)
    q = (select(NamePair.low_id, NamePair.high_id, NamePair.score, low.c.platform)
         .join(low, low.c.id == NamePair.low_id).join(high, high.c.id == NamePair.high_id)
         .where(low.c.status.in_(COUNTED_STATUSES), high.c.status.in_(COUNTED_STATUSES),
                low.c.unit_id != high.c.unit_id, low.c.platform == high.c.platform, ~dismissed)
         .order_by(NamePair.low_id, NamePair.high_id))
    if units is not None:   # both within reach: a unit beside is absent (issue 16)
        q = q.where(in_units(low.c.unit_id, units), in_units(high.c.unit_id, units))
    for a, b, score, platform in db.session.execute(q):
        similar.append({"account_ids": [a, b], "reason": "similar_name", "platform": platform,
                        "score": round(score, 1)})

    reach = set(units or ())
    subject = func.trim(Account.verified_subject)
    # "more than one unit" as min <> max: a hash aggregate, where count(DISTINCT) sorts.
    q = (select(Account.platform, subject, func.count())
         .where(counted, Account.platform != "other", Account.verified_subject.is_not(None),
                subject != "")
         .group_by(Account.platform, subject)
         .having(func.min(Account.unit_id) != func.max(Account.unit_id)))
    subject_groups = db.session.execute(q).all()
    for platform, name, _n in subject_groups:
        ids = db.session.execute(select(Account.id, Account.unit_id).where(
            counted, Account.platform == platform, func.trim(Account.verified_subject) == name)
            .order_by(Account.id)).all()
        if units is not None:   # only the accounts within reach, and only if several units
            ids = [(i, u) for i, u in ids if u in reach]
            if len({u for _i, u in ids}) < 2:
                continue
        similar.append({"account_ids": [i for i, _u in ids], "reason": "same_verified_subject",
                        "platform": platform, "verified_subject": name})

    low_followers = current_app.config["SUPERVISION_LOW_FOLLOWERS"]
    low_reads = current_app.config["SUPERVISION_LOW_READS"]
    q = (select(Account.id, Account.unit_id, Account.platform)
         .where(counted, Account.followers.is_not(None), Account.followers < low_followers,
                or_(Account.reads.is_(None), Account.reads < low_reads)).order_by(Account.id))
    if units is not None:
        q = q.where(in_units(Account.unit_id, units))
    low_use = defaultdict(list)
    for aid, u, p in db.session.execute(q):
        low_use[u].append((aid, p))
    if low_use:
        unit_ids = sorted(low_use)
        platforms = defaultdict(set)
        for start in range(0, len(unit_ids), 900):
            for u, p in db.session.execute(select(Account.unit_id, Account.platform).where(
                    counted, Account.unit_id.in_(unit_ids[start:start + 900]))):
                platforms[u].add(p)
        for u in unit_ids:
            if len(platforms[u]) > 1:
                similar.append({"account_ids": [a for a, _p in low_use[u]], "reason": "low_use",
                                "unit_id": u,
                                "platforms": sorted({p for _a, p in low_use[u]}),
                                "thresholds": {"followers": low_followers, "reads": low_reads}})
    return {"items": items, "total": len(items), "similar": similar,
            "thresholds": {"followers": low_followers, "reads": low_reads,
                           "name_similarity": current_app.config["SUPERVISION_NAME_SIMILARITY"]}}
