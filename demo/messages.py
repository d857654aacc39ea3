"""Messages from the public in the embedded run: the stand-in WeChat pushes them, signed, into
govmedia's callback URL, as a follower writing to the demo account would."""
import requests
from sqlalchemy import select

from govmedia.extensions import db
from interaction.jobs import account_credentials
from registry.models import Account

DEMO_MESSAGES = ("您好，请问居住证办理需要准备哪些材料？", "小区门口的路灯坏了一个星期了，什么时候能修？")


def push_demo_messages(standin_url: str, base_url: str) -> list[str]:
    """Two messages (plaintext and safe mode) to every active WeChat account with a callback
    token; fixed MsgIds, so a restart stores nothing twice but reopens the reply window."""
    lines = []
    accounts = select(Account).where(Account.platform == "wechat", Account.status == "active")
    for account in db.session.scalars(accounts):
        credentials = account_credentials(account.id)
        if not credentials.get("token"):
            continue
        for n, (text, mode) in enumerate(zip(DEMO_MESSAGES, ("plain", "aes"))):
            answer = requests.post(f"{standin_url}/_standin/wechat/messages", json={
                "url": f"{base_url}/callbacks/wechat/{account.id}", "mode": mode,
                "token": credentials["token"], "appid": credentials.get("app_id"),
                "encoding_aes_key": credentials.get("encoding_aes_key"),
                "from_user": f"oDemoFollower{n:04d}", "content": text,
                "msg_id": str(9_000_000_000 + account.id * 10 + n)}, timeout=15).json()
            lines.append(f"message to {account.name} ({mode}): HTTP {answer['status']} "
                         f"{answer['body']}")
    return lines
