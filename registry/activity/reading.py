"""What one sync pass reads of one account on its platform, step by step.

Each step reads a listing through the adapter and returns the posts it found and the cursor
fields to store with them; the caller writes both in one transaction, so a pass that stops
between steps (a quota, a killed worker) resumes after the last step it committed.
"""
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from adapters import DouyinAdapter, ListedPost, WechatAdapter, WeiboAdapter
from govmedia.types import today_shanghai

PAGE = 20          # freepublish/batchget's largest page (and Douyin's video_list's)
WEIBO_PAGE = 100   # statuses/user_timeline's largest page


@dataclass
class Cursor:
    """Where the last pass stopped (activity_cursors' fields the steps read)."""

    since_id: str | None = None
    publish_time: int | None = None
    datacube_day: date | None = None


@dataclass
class Step:
    what: str
    posts: list[ListedPost] = field(default_factory=list)
    cursor: dict = field(default_factory=dict)


def wechat_steps(adapter: WechatAdapter, cursor: Cursor, *, max_pages: int,
                 datacube_days: int) -> Iterator[Step]:
    yield _published(adapter, cursor, max_pages)
    yield from _mass_sent(adapter, cursor, datacube_days)


def _published(adapter: WechatAdapter, cursor: Cursor, max_pages: int) -> Step:
    """发布 items, newest first, until the newest time the last pass saw (equal times are
    read again: the platform's ids make that harmless)."""
    step, seen = Step("freepublish"), cursor.publish_time
    newest = seen
    for page in range(max_pages):
        listed, total = adapter.list_published(page * PAGE, PAGE)
        times = [int(p.published_at.timestamp()) for p in listed]
        newest = max([newest or 0, *times]) or None
        step.posts += [p for p, t in zip(listed, times) if seen is None or t >= seen]
        if (seen is not None and any(t < seen for t in times)) or (page + 1) * PAGE >= total:
            break
    step.cursor = {"publish_time": newest}
    return step


def _mass_sent(adapter: WechatAdapter, cursor: Cursor, datacube_days: int):
    """Mass-sent articles from the data API: one call a day, from the day after the last one
    read up to yesterday (the API has no data for today)."""
    yesterday = today_shanghai() - timedelta(days=1)
    first = (cursor.datacube_day + timedelta(days=1) if cursor.datacube_day
             else yesterday - timedelta(days=datacube_days - 1))
    day: date = first
    while day <= yesterday:
        yield Step(f"datacube {day.isoformat()}", adapter.mass_sent_on(day),
                   {"datacube_day": day})
        day += timedelta(days=1)


def weibo_steps(adapter: WeiboAdapter, cursor: Cursor, *, max_pages: int,
                **_) -> Iterator[Step]:
    """The account's statuses newer than the highest id the last pass saw, paged."""
    step = Step("user_timeline")
    for page in range(1, max_pages + 1):
        listed = adapter.user_timeline(cursor.since_id, page, WEIBO_PAGE)
        step.posts += listed
        if len(listed) < WEIBO_PAGE:
            break
    ids = [int(p.platform_id) for p in step.posts if p.platform_id.isdigit()]
    if ids:
        step.cursor = {"since_id": str(max([*ids, int(cursor.since_id or 0)]))}
    yield step


def douyin_steps(adapter: DouyinAdapter, cursor: Cursor, *, max_pages: int,
                 **_) -> Iterator[Step]:
    """The account's public works from the newest time the last pass saw, paged (equal times
    are read again: the platform's ids make that harmless). A work still under review is no
    update yet; the cursor stays at its time so that a later pass finds it once public."""
    step, seen = Step("video_list"), cursor.publish_time
    newest, reviewing, page_cursor = seen, None, 0
    for _page in range(max_pages):
        listed, under_review, page_cursor, more = adapter.list_videos(page_cursor, PAGE)
        times = [int(p.published_at.timestamp()) for p in listed]
        newest = max([newest or 0, *times]) or None
        if under_review is not None:
            reviewing = min(reviewing or under_review, under_review)
        step.posts += [p for p, t in zip(listed, times) if seen is None or t >= seen]
        oldest = min([*times, *([under_review] if under_review is not None else [])],
                     default=None)
        if not more or page_cursor is None or (
                seen is not None and oldest is not None and oldest < seen):
            break
    if reviewing is not None:
        newest = min(newest or reviewing, reviewing)
    step.cursor = {"publish_time": newest}
    yield step


STEPS = {"wechat": wechat_steps, "weibo": weibo_steps, "douyin": douyin_steps}
