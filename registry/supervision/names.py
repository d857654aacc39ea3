"""Rule 3's name index: each account's normalised name and the near-same pairs on one platform."""
import re
import unicodedata
from collections import defaultdict

from flask import current_app
from rapidfuzz import fuzz, process
from sqlalchemy import delete, or_, select
from sqlalchemy.dialects.postgresql import insert

from govmedia.extensions import db

from ..models import Account
from .models import NameKey, NamePair

NAME_SUFFIXES = ("微发布", "发布", "在线", "微讯", "官方", "官微", "政务", "微博", "公众号", "服务号",
                 "订阅号", "头条号", "抖音号", "快手号", "视频号", "融媒", "资讯", "之声", "微信",
                 "头条", "抖音", "快手", "号")
_SUFFIX = re.compile("(?:" + "|".join(sorted(NAME_SUFFIXES, key=len, reverse=True)) + ")+$")


def name_key(name: str) -> str:
    """A name for comparison: full-width forms folded (NFKC), case folded, spaces and
    punctuation dropped, trailing common suffixes (发布, 在线, 微讯 …) removed."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    stripped = _SUFFIX.sub("", text)
    return stripped if len(stripped) >= 2 else text


def _stale(ids) -> list:
    """(id, platform, name) of these accounts, or (ids=None) of every account whose name or
    platform differs from its index row or that has none yet (one anti-join: a rebuild)."""
    if ids is None:
        return db.session.execute(
            select(Account.id, Account.platform, Account.name)
            .outerjoin(NameKey, NameKey.account_id == Account.id)
            .where(or_(NameKey.account_id.is_(None), NameKey.name != Account.name,
                       NameKey.platform != Account.platform))).all()
    ids = sorted(set(ids))
    stale = []
    for start in range(0, len(ids), 900):
        stale += db.session.execute(select(Account.id, Account.platform, Account.name)
                                    .where(Account.id.in_(ids[start:start + 900]))).all()
    return stale


def refresh_name_index(ids=None) -> int:
    """Bring the normalised-name index and the near-same pairs up to date with account names,
    for these accounts (or every stale one); returns how many accounts were indexed."""
    stale = _stale(ids)
    if not stale:
        return 0
    threshold = current_app.config["SUPERVISION_NAME_SIMILARITY"]
    changed_ids = [row[0] for row in stale]
    for start in range(0, len(changed_ids), 900):
        chunk = changed_ids[start:start + 900]
        db.session.execute(delete(NamePair).where(or_(NamePair.low_id.in_(chunk),
                                                      NamePair.high_id.in_(chunk))))
    rows = [{"account_id": i, "platform": p, "name": n, "key": name_key(n)} for i, p, n in stale]
    for start in range(0, len(rows), 1000):
        stmt = insert(NameKey).values(rows[start:start + 1000])
        stmt = stmt.on_conflict_do_update(index_elements=["account_id"], set_={
            "platform": stmt.excluded.platform, "name": stmt.excluded.name,
            "key": stmt.excluded.key})
        db.session.execute(stmt)
    by_platform = defaultdict(list)
    for row in rows:
        by_platform[row["platform"]].append(row)
    pairs = {}
    for platform, changed in by_platform.items():
        if platform == "other":
            continue
        every = db.session.execute(select(NameKey.account_id, NameKey.key)
                                   .where(NameKey.platform == platform)).all()
        all_ids = [a for a, _k in every]
        all_keys = [k for _a, k in every]
        for row in changed:
            for _key, score, j in process.extract(row["key"], all_keys, scorer=fuzz.ratio,
                                                  score_cutoff=threshold, limit=None):
                a, b = row["account_id"], all_ids[j]
                if a != b:
                    pairs[(min(a, b), max(a, b))] = float(score)
    items = [{"low_id": a, "high_id": b, "score": s} for (a, b), s in pairs.items()]
    for start in range(0, len(items), 1000):
        stmt = insert(NamePair).values(items[start:start + 1000])
        db.session.execute(stmt.on_conflict_do_nothing(index_elements=["low_id", "high_id"]))
    return len(stale)
