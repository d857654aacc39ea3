"""What each platform takes and where its posts live: text limits and the hosts of post URLs.

One table for the whole product: the publishing tasks cut their copy-ready text to these
limits and check a pasted post URL against these hosts (docs/PUBLISHER.md, "Publishing
tasks"). Limits are characters as the platforms' own publishing pages count them (at the
time of writing; change them here when a platform changes).
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class PlatformFacts:
    title_max: int | None  # None: the platform has no separate title, or no fixed limit
    text_max: int | None
    # A post's URL is on one of these hosts or a subdomain of one; empty: any http(s) host
    # (an app's or a mini program's own content system has no fixed host).
    post_hosts: tuple[str, ...] = ()


PLATFORM_FACTS: dict[str, PlatformFacts] = {
    "wechat": PlatformFacts(64, 20000, ("mp.weixin.qq.com",)),
    "weibo": PlatformFacts(None, 2000, ("weibo.com", "weibo.cn")),
    "douyin": PlatformFacts(30, 1000, ("douyin.com", "iesdouyin.com")),
    "kuaishou": PlatformFacts(None, 500, ("kuaishou.com", "kuaishouapp.com", "gifshow.com")),
    "toutiao": PlatformFacts(30, 2000, ("toutiao.com", "toutiaocdn.com")),
    "bilibili": PlatformFacts(80, 2000, ("bilibili.com", "b23.tv")),
    "xiaohongshu": PlatformFacts(20, 1000, ("xiaohongshu.com", "xhslink.com")),
    "channels": PlatformFacts(16, 1000, ("channels.weixin.qq.com",)),  # 微信视频号
    "app": PlatformFacts(None, None),
    "miniprogram": PlatformFacts(None, None),
    "other": PlatformFacts(None, None),
}
NO_FACTS = PlatformFacts(None, None)

# Platforms whose adapter publishes on an authorisation the account itself grants (OAuth):
# an account without one gets a publishing task instead of a delivery that cannot succeed.
# (WeChat and Weibo keep their credentials flow: a missing credential fails the delivery and
# the sponsor sets it, then retries.)
TASK_WITHOUT_CREDENTIALS = frozenset({"douyin"})


def facts(platform: str) -> PlatformFacts:
    return PLATFORM_FACTS.get(platform, NO_FACTS)


def host_matches(host: str, hosts) -> bool:
    host = (host or "").lower().rstrip(".")
    return any(host == h or host.endswith("." + h) for h in hosts)


def post_url_problem(platform: str, url: str) -> str | None:
    """Why `url` cannot be a post of `platform` (an English field message), or None."""
    try:
        parts = urlsplit((url or "").strip())
        host = parts.hostname
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "expected an http(s) URL"
    hosts = facts(platform).post_hosts
    if hosts and not host_matches(host, hosts):
        return f"not on {platform}'s own host ({', '.join(hosts)})"
    return None


def cut(text: str, limit: int | None, ellipsis: str = "…") -> str:
    """`text` within `limit` characters, ending with an ellipsis when it was cut."""
    text = text or ""
    if limit is None or len(text) <= limit:
        return text
    return text[:max(limit - len(ellipsis), 0)].rstrip() + ellipsis
