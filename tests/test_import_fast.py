"""The import's fast paths give exactly the answers of the straightforward ones (issue 13).

The audit chain's entries written in bulk hash what entry_hash hashes; the importer's cell,
date, platform and staff shortcuts read every cell as cell_text, parse_date, parse_platform and
parse_staff do; the set-based checks find what a query per entry finds.
"""
import random
from datetime import date, datetime, timezone

from sqlalchemy import select

from govmedia import audit
from govmedia.bulk import COPY_FROM
from govmedia.extensions import db
from govmedia.models import AuditEntry
from govmedia.types import UNPRINTABLE
from registry.checks import handle_clashes, one_per_platform_clashes
from registry.importer.columns import ROLE_KEYS, norm_word
from registry.importer.reading import _INVISIBLE, cell_text
from registry.importer.rows import (_PARTS, _PEOPLE, _PHONE, _STAFF_LABELS, Memo, parse_date,
                                    parse_platform, parse_staff)
from registry.models import COUNTED_STATUSES, Account, PlatformException


def _payloads(rng: random.Random, n: int) -> list:
    words = ["某县发布", "gh_0123", "", " 空格 ", "line\nbreak", "tab\t", "\u3000全角", "quote\"",
             "back\\slash", "emoji 😀", "\x00nul", "é"]
    values = [None, 0, -1, 2**40, 1.5, True, False, date(2024, 3, 15),
              datetime(2024, 3, 15, 8, 30, tzinfo=timezone.utc)] + words
    items = []
    for k in range(n):
        after = {rng.choice(words) or "k": rng.choice(values) for _ in range(rng.randint(0, 6))}
        after["staff"] = [{"name": rng.choice(words), "phone": "13800000000"}
                          for _ in range(rng.randint(0, 3))]
        if k % 7 == 0:
            after["by_unit"] = {10: "ten", 9: "nine", 100: [date(2020, 1, 1)]}   # int keys
        before = None if k % 3 else {"name": rng.choice(words), "n": (1, 2, rng.choice(values))}
        items.append(("account.open", "account", rng.choice([k, None]), before, after,
                      rng.choice([None, 1, 2])))
    return items


def test_bulk_audit_entries_hash_what_entry_hash_hashes(app):
    rng = random.Random(13)
    audit.record_many(_payloads(rng, 5))                # a plain INSERT
    audit.record_many(_payloads(rng, COPY_FROM + 50))   # COPY
    audit.record_many(_payloads(rng, 3))
    db.session.commit()
    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert len(entries) == COPY_FROM + 58
    prev = audit.GENESIS
    for entry in entries:
        assert entry.prev_hash == prev
        assert entry.hash == audit.entry_hash(prev, entry.at, entry.username, entry.action,
                                              entry.object_type, entry.object_id, entry.before,
                                              entry.after)
        prev = entry.hash
    assert audit.verify().ok


def test_bulk_audit_entries_store_the_plain_values(app):
    items = _payloads(random.Random(7), COPY_FROM + 1)
    audit.record_many(items)
    db.session.commit()
    db.session.expire_all()
    entries = db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    for (_action, _type, _id, before, after, unit_id), entry in zip(items, entries):
        assert entry.before == audit.plain(before) and entry.after == audit.plain(after)
        assert entry.unit_id == unit_id


# --- cells, dates, platforms, staff --------------------------------------------------------

def _cell_reference(value) -> str:
    """cell_text as it was written before its quick path for printable text (issue 13)."""

    if value is None:
        return ""
    if isinstance(value, str):
        return UNPRINTABLE.sub("", value.translate(_INVISIBLE)).strip()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() \
            else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).translate(_INVISIBLE).strip()


def test_cell_text_reads_every_character_as_before():

    for code in list(range(0x10000)) + [0x1F600, 0xE0001, 0x10FFFF]:
        for text in (chr(code), f" a{chr(code)}b ", f"{chr(code)}x{chr(code)}"):
            assert cell_text(text) == _cell_reference(text), hex(code)
    for value in (None, 0, 12, 1.5, 3.0, True, date(2024, 3, 5), datetime(2024, 3, 5, 8, 1)):
        assert cell_text(value) == _cell_reference(value)


def _staff_reference(value):
    """parse_staff as it was written before it was made quicker (issue 13)."""

    people = []
    for chunk in _PEOPLE.split(cell_text(value)):
        chunk = chunk.strip()
        person = None
        for part in (p for p in _PARTS.split(chunk) if p):
            word = norm_word(part)
            if word in _STAFF_LABELS:
                continue
            is_phone, role = bool(_PHONE.fullmatch(part)), ROLE_KEYS.get(word)
            if not is_phone and role is None:
                person = {"name": part, "phone": "", "platform_role": "operator"}
                people.append(person)
                continue
            if person is None:
                raise ValueError("no name")
            if is_phone:
                if person["phone"]:
                    raise ValueError("two phones")
                person["phone"] = part
            else:
                person["platform_role"] = role
    return people


def test_staff_cells_read_as_the_straightforward_reading_does(app):

    rng = random.Random(13)
    words = ["张三", "李四", "Ｗａｎｇ", "ADMIN", "管理员", "运营", "运维", "编辑", "姓名", "电话：",
             "13800000000", "0771-1234567", "+86-138-0000-0000", "138", "ﬁ", "Ⅻ", "operator",
             "小编", "Tel", "１３８００００００００", "a\u0308", "x"]
    separators = ["/", "／", "；", ";", "、", " ", "\n", ",", "（", "）", "|", "\u3000", ":"]
    for _ in range(3000):
        text = "".join(rng.choice(words) + rng.choice(separators)
                       for _ in range(rng.randint(0, 6)))
        try:
            expected = _staff_reference(text)
        except ValueError:
            expected = ValueError
        try:
            got = parse_staff(text)
        except ValueError:
            got = ValueError
        assert got == expected, text


def test_a_memo_answers_as_parse_date_and_parse_platform_do(app):

    memo = Memo()
    values = ["2024-03-15", "2024/3/5", "2024年3月5日", "20240305", "2024-02-30", "soon", "2024.3.5",
              "微信公众号", "微博", "wechat", "B站", "抖音号", "QQ", "", " 微博 ", 20240305,
              45000.0, date(2024, 3, 5), datetime(2024, 3, 5, 10, 0), True]
    for _round in range(2):                          # the second time from the memo
        for value in values:
            for reference, memoised in ((parse_date, memo.date),
                                        (parse_platform, memo.platform)):
                try:
                    expected = reference(value)
                except ValueError as exc:
                    expected = str(exc)
                args = (value, cell_text(value)) if memoised == memo.date else (cell_text(value),)
                try:
                    got = memoised(*args)
                except ValueError as exc:
                    got = str(exc)
                assert got == expected, value


# --- the rules over a whole file -------------------------------------------------------------

def test_set_based_rules_find_what_one_query_per_entry_finds(world):

    rng = random.Random(5)
    units = [world.unit_a["id"], world.unit_b["id"]]
    platforms = ["wechat", "weibo", "douyin", "other"]
    handles = [f"h{k}" for k in range(12)]
    for k in range(30):
        db.session.add(Account(unit_id=rng.choice(units), platform=rng.choice(platforms),
                               name=f"账号{k}", handle=rng.choice(handles),
                               status=rng.choice(["active", "active", "deregistered", "closed"]),
                               opened_on=date(2024, 1, 1), staff=[]))
    db.session.add(PlatformException(unit_id=units[1], platform="weibo", reason="试点"))
    db.session.flush()
    accounts = db.session.scalars(select(Account).order_by(Account.id)).all()
    excepted = {(e.unit_id, e.platform) for e in db.session.scalars(select(PlatformException))}
    new_unit = ("new", 0)
    entries = [(n, rng.choice(units + [new_unit]), rng.choice(platforms), rng.choice(handles))
               for n in range(200)]

    expected_handles, seen = {}, {}
    for n, _unit, platform, handle in entries:
        taken = [a.id for a in accounts if a.platform == platform and a.handle == handle
                 and a.status != "deregistered"]
        if taken:
            expected_handles[n] = (taken[0], None)
        elif (platform, handle) in seen:
            expected_handles[n] = (None, seen[(platform, handle)])
        else:
            seen[(platform, handle)] = n
    got = handle_clashes((n, platform, handle) for n, _u, platform, handle in entries)
    assert {n: (c.account_id, c.earlier) for n, c in got.items()} == expected_handles

    expected_units, seen = {}, {}
    for n, unit, platform, _handle in entries:
        if platform == "other" or (unit, platform) in excepted:
            continue
        counted = [a.id for a in accounts if a.unit_id == unit and a.platform == platform
                   and a.status in COUNTED_STATUSES]
        if counted:
            expected_units[n] = (min(counted), None)
        elif (unit, platform) in seen:
            expected_units[n] = (None, seen[(unit, platform)])
        else:
            seen[(unit, platform)] = n
    got = one_per_platform_clashes((n, unit, platform) for n, unit, platform, _h in entries)
    assert {n: (c.account_id, c.earlier) for n, c in got.items()} == expected_units
