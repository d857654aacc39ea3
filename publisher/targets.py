"""Which targets the fan-out sends to by API and which become publishing tasks, and the
copy-ready text a task hands the staff (cut to the platform's limits)."""
from sqlalchemy import select

from adapters import ADAPTERS
from adapters.platforms import TASK_WITHOUT_CREDENTIALS, cut, facts
from govmedia.extensions import db
from registry.models import Account, AccountCredential

from .checks import html_text
from .models import Article


def by_task(account: Account, has_credentials: bool) -> bool:
    """Rule of the fan-out: a target the product cannot publish to by API becomes a task —
    a platform without an adapter, or an account that has not authorised the adapter."""
    if account.platform not in ADAPTERS:
        return True
    return account.platform in TASK_WITHOUT_CREDENTIALS and not has_credentials


def task_targets(accounts: list[Account]) -> set[int]:
    """The ids of the accounts among `accounts` that get a task instead of a send job."""
    # Never authorised: a task. An authorisation that lapsed keeps the adapter's path (the
    # delivery fails cleanly and is retried once the sponsor authorises again).
    with_credentials = set(db.session.scalars(select(AccountCredential.account_id).where(
        AccountCredential.account_id.in_([a.id for a in accounts]))))
    return {a.id for a in accounts if by_task(a, a.id in with_credentials)}


def copy_text(article: Article, platform: str) -> tuple[str, str]:
    """(title, text) ready to paste on `platform`: the body's visible text (the digest when
    the body is empty) and the link to the original, cut to the platform's limits; the link
    is kept whole and the body is cut before it."""
    limits = facts(platform)
    title = cut((article.title or "").strip(), limits.title_max)
    body = html_text(article.body_html or "").text
    body = "\n".join(line.strip() for line in body.splitlines() if line.strip())
    body = body or (article.digest or "").strip()
    link = (article.source_url or "").strip()
    if not link:
        return title, cut(body, limits.text_max)
    room = None if limits.text_max is None else limits.text_max - len(link) - 1
    if room is not None and room < 1:
        return title, cut(body, limits.text_max)
    return title, f"{cut(body, room)}\n{link}".strip()
