"""Per-platform previews (issue 15): for every target of an article, what will go out there and
which of that platform's limits it breaks, before sign-off.

Nothing here is a second copy of a rule: the text is what the fan-out sends (checks.weibo_post
for Weibo) or what a publishing task hands the staff (targets.copy_text, cut to the
platform's limits); the limits are the checks' own (platform_limits, videos.limit_findings).
"""
from dataclasses import dataclass, field

from flask_babel import gettext as _

from adapters.platforms import facts
from govmedia.wording import say
from registry.labels import label

from .. import checks, videos
from ..content import content_of
from ..models import Article
from ..platform_limits import Problem, limit_problems, problem_message
from ..targets import copy_text, task_targets
from .articles import target_accounts


@dataclass
class TargetPreview:
    account_id: int
    account_name: str
    platform: str
    platform_label: str
    by_task: bool                # posted by the unit's staff from a publishing task
    title: str | None            # None: the platform shows no separate title
    text: str
    text_limit: int | None
    cover: bool
    video: bool
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def _problem_words(problem: Problem) -> str:
    """A broken limit in the reader's language."""
    return say(problem_message(problem))


def _cut_note(text: str, full: str, limit: int | None) -> list[str]:
    if limit is not None and len(full) > limit and text != full:
        return [_("The text is cut to %(n)s characters for this platform", n=limit)]
    return []


def _one(article: Article, account, by_task: bool, content) -> TargetPreview:
    platform = account.platform
    has_cover, has_video = article.cover is not None, article.video is not None
    problems = [_problem_words(p) for p in limit_problems(
        platform, title=content.title, digest=content.digest, body_html=content.body_html,
        cover_size=content.cover_size, cover_mime=content.cover_mime,
        pictures=content.pictures)]
    problems += [f["message"] for f in videos.limit_findings(
        article.video, [platform], by_api=[] if by_task else [platform], has_cover=has_cover)]
    notes = []
    if platform == "wechat" and not by_task:
        title, text, limit = article.title or "", article.digest or "", None
    elif platform == "weibo" and not by_task:
        title, text, limit = None, checks.weibo_post(content), checks.WEIBO_LIMIT
        if len(text) > limit:
            problems.append(_("The Weibo text with its link has %(n)s characters; Weibo takes "
                              "at most %(limit)s", n=len(text), limit=limit))
    else:
        title, text = copy_text(article, platform)
        limits = facts(platform)
        limit = limits.text_max
        title = title if limits.title_max is not None else None
        full_title, full_text = copy_text_uncut(article)
        notes += _cut_note(text, full_text, limit)
        if title is not None and title != full_title:
            notes.append(_("The title is cut to %(n)s characters for this platform",
                           n=limits.title_max))
    return TargetPreview(account_id=account.id, account_name=account.name, platform=platform,
                         platform_label=label("platform", platform), by_task=by_task,
                         title=title, text=text, text_limit=limit, cover=has_cover,
                         video=has_video and (by_task or platform in videos.CARRY_VIDEO),
                         problems=problems, notes=notes)


def copy_text_uncut(article: Article) -> tuple[str, str]:
    """The copy-ready title and text before any platform's cut (for saying what was cut)."""
    return copy_text(article, "other")


def target_previews(article: Article) -> list[TargetPreview]:
    """One preview per target account, in the order the article lists them."""
    accounts = target_accounts(article)
    ordered = [accounts[i] for i in (article.target_account_ids or []) if i in accounts]
    by_task = task_targets(ordered)
    content = content_of(article)
    return [_one(article, account, account.id in by_task, content) for account in ordered]
