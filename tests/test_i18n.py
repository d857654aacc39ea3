"""The Chinese catalogues are complete, compiled, and the pages speak both languages.

Each package keeps its own catalogue (translations/ for govmedia and the registry,
publisher/translations/, notices/translations/, registry/supervision/translations/); Flask-Babel merges them. After changing any
_() text, add the new msgids to the catalogue of the package that uses them, then:
    .venv/bin/pybabel compile -d translations   (or -d publisher/translations, …)
To list what is missing: .venv/bin/pybabel extract -F babel.cfg -o /tmp/all.pot .
"""
import io
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "translations" / "zh" / "LC_MESSAGES" / "messages.po"
CATALOGUES = [PO] + sorted(ROOT.glob("*/translations/zh/LC_MESSAGES/messages.po")) + sorted(
    ROOT.glob("*/*/translations/zh/LC_MESSAGES/messages.po"))


def extracted_msgids() -> dict[str, str]:
    """What `pybabel extract -F babel.cfg .` finds: msgid -> first place it is used."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS):
        msgid = message[0] if isinstance(message, tuple) else message
        if msgid:
            found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def read_catalog(po: Path):
    with open(po, "rb") as fh:
        return read_po(fh, locale="zh")


def zh_catalog():
    """Every package's catalogue merged, as Flask-Babel merges them at run time."""
    merged = read_catalog(CATALOGUES[0])
    for po in CATALOGUES[1:]:
        for message in read_catalog(po):
            if message.id:
                merged[message.id] = message
    return merged


def test_every_extracted_message_has_a_chinese_translation():
    found = extracted_msgids()
    assert len(found) > 100  # the extraction really read the templates and the code
    catalog = zh_catalog()
    missing = {msgid: where for msgid, where in found.items() if msgid not in catalog}
    assert not missing, "not in messages.po (run pybabel extract/update): " + repr(missing)
    untranslated = sorted(m.id for m in catalog if m.id and (not m.string or m.fuzzy))
    assert not untranslated, "untranslated or fuzzy in messages.po: " + repr(untranslated)
    # %(name)s placeholders must survive translation
    problems = [(message.id, [str(e) for e in errors]) for message, errors in catalog.check()]
    assert not problems, problems


def test_the_compiled_catalogues_match_the_po_files():
    for po in CATALOGUES:
        mo = po.with_suffix(".mo")
        assert mo.exists(), f"run: .venv/bin/pybabel compile -d {po.parents[2]}"
        buffer = io.BytesIO()
        write_mo(buffer, read_catalog(po))
        buffer.seek(0)
        expected = {m.id: m.string for m in read_mo(buffer) if m.id}
        with open(mo, "rb") as fh:
            compiled = {m.id: m.string for m in read_mo(fh) if m.id}
        assert compiled == expected, f"{mo} is stale: run .venv/bin/pybabel compile -d {po.parents[2]}"


def test_pages_speak_chinese_by_default_and_english_on_request(app, world):
    client = app.test_client()
    response = client.get("/login")
    assert '<html lang="zh-CN">' in response.get_data(as_text=True)
    assert "登录" in response.get_data(as_text=True)
    client.post("/login", data={"username": "sponsor_a", "password": "Passw0rd-test"})
    page = client.get("/accounts/new").get_data(as_text=True)
    assert "登记账号" in page and "微信公众号" in page and "原始ID，以 gh_ 开头" in page
    assert "Register an account" not in page and "WeChat official account" not in page

    response = client.get("/lang/en", headers={"Referer": "http://localhost/accounts/new"})
    assert response.status_code == 302 and response.headers["Location"] == "/accounts/new"
    page = client.get("/accounts/new").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert "Register an account" in page and "WeChat official account" in page
    assert "登记账号" not in page and "微信公众号" not in page
    # a refusal is in English too, the service's message included
    client.post("/accounts/new", data={"platform": "wechat", "name": "某县发布",
                                       "handle": "gh_0123456789ab", "opened_on": "2026-11-02"})
    page = client.post("/accounts/new", data={"platform": "wechat", "name": "某县发布",
                                              "handle": "gh_0123456789ac",
                                              "opened_on": "2026-11-02"}).get_data(as_text=True)
    assert "View the existing account" in page
    assert "a unit opens one account per platform" in page
    assert "一个单位在同一平台原则上只能开设一个账号" not in page

    client.get("/lang/zh")
    assert "登记账号" in client.get("/accounts/new").get_data(as_text=True)


def test_a_stale_session_cookie_does_not_undo_a_signed_in_readers_switch(app, world):
    """A live page polls while its reader switches to English; the poll's answer carries the
    session it loaded, with the old choice. The choice stored on the user decides."""
    client = app.test_client()
    client.post("/login", data={"username": "sponsor_a", "password": "Passw0rd-test"})
    assert '<html lang="zh-CN">' in client.get("/accounts/new").get_data(as_text=True)
    stale = client.get_cookie("session").value        # what a poll begun now would write back
    client.get("/lang/en", headers={"Referer": "http://localhost/accounts/new"})
    client.set_cookie("session", stale)                # ... and the poll's answer lands late
    with client.session_transaction() as saved:
        assert saved.get("lang") != "en"               # the cookie itself says the old choice
    assert '<html lang="en">' in client.get("/accounts/new").get_data(as_text=True)
    client.get("/lang/zh")
    assert '<html lang="zh-CN">' in client.get("/accounts/new").get_data(as_text=True)


def test_words_that_were_mistranslated_keep_their_meaning():
    """Issue 12 saw the article title labelled 职务 (a person's job title) and a closed-out
    rectification order labelled 已关停 (an account shut down). Each msgid says which it is."""
    catalog = zh_catalog()

    def chinese(msgid):
        return catalog[msgid].string

    assert chinese("Article title") == "标题"
    assert chinese("Job title") == "职务"
    assert chinese("Closed out") == "已办结"
    assert chinese("Closed") == "已关停"   # an account's status: shut down, not finished
    from registry.labels import GROUPS
    from registry.supervision import rectification  # noqa: F401 - adds its label group

    assert GROUPS["rectification"]["closed"] == "Closed out"
    used = extracted_msgids()
    assert "Article title" in used and "Job title" in used
    assert "Title" not in used, f"an ambiguous 'Title' is back: {used.get('Title')}"
