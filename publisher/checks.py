"""Automated content checks (rule 9): pure functions over an article's fields and a compiled matcher.

Nothing here touches the database: `publisher.check_lists` loads the supervisors' lists and
severities, `compiled_matcher` caches the Aho-Corasick automaton per list version, and
`run_checks` returns findings with offsets into each field as stored (for the body: into
the sanitized HTML), so the editor can select exactly what a finding points at.
"""
import bisect
import html
import re
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from threading import Lock
from urllib.parse import urlsplit

import ahocorasick_rs
import opencc
from flask_babel import force_locale
from stdnum.cn import ric

from govmedia.wording import N_, message, say
from registry.labels import PLATFORMS

from .platform_limits import Problem, limit_problems, problem_message


# rule -> (default severity per shared/API.md, display name msgid)
RULES: dict[str, tuple[str, str]] = {
    "banned_word": ("block", N_("Banned word")),
    "secrecy_mark": ("block", N_("Secrecy mark")),
    "id_number": ("block", N_("Resident ID number")),
    "missing_title": ("block", N_("Missing title")),
    "missing_cover": ("block", N_("Missing cover (WeChat)")),
    "missing_link": ("block", N_("Missing link (Weibo)")),
    "weibo_too_long": ("block", N_("Weibo post over 140 characters")),
    "platform_limit": ("block", N_("Over a target platform's limit")),
    "missing_body": ("block", N_("Empty body")),
    # publisher/videos.py: a target platform's limits on the video (Douyin: a video at all).
    "video_limits": ("block", N_("Video outside a platform's limits")),
    "caution_word": ("warn", N_("Caution word")),
    "mobile_number": ("warn", N_("Mobile number")),
    "external_link": ("warn", N_("Link outside the allow-list")),
    "advertising": ("warn", N_("Advertising phrase")),
    "traditional_chars": ("warn", N_("Traditional or variant character")),
}
SEVERITIES = ("block", "warn")
# Rules whose severity no supervisor may lower: the platform refuses the article anyway.
FIXED_BLOCK = ("platform_limit",)
DEFAULT_SEVERITIES = {rule: spec[0] for rule, spec in RULES.items()}

# 《广告法》第九条 absolute terms and the usual superlatives; supervisors edit the list.
DEFAULT_ADVERTISING = (
    "国家级", "世界级", "最高级", "最佳", "最优", "最好", "最大", "最强", "最低价", "最便宜",
    "最先进", "最高档", "最时尚", "最受欢迎", "第一品牌", "全国第一", "全网第一", "销量第一",
    "排名第一", "行业第一", "唯一", "首选", "顶级", "极品", "顶尖", "王牌", "领袖品牌", "独一无二",
    "史无前例", "前无古人", "万能", "绝对", "100%有效", "永久", "特供", "专供", "抢购", "秒杀",
    "限时抢购", "全网最低", "NO.1", "TOP1",
)
DEFAULT_DOMAINS = ("gov.cn",)
WEIBO_LIMIT = 140
SELF_CHECK_ITEMS = ("sensitive_words", "typos", "names_places", "confidentiality", "layout")

# Secrecy marks: literals through a small automaton (one pass), the spaced forms of
# 秘密★ by a regex that only runs when a star is in the text.
SECRECY_MARKS = ("绝密", "机密", "秘密★", "秘密☆", "秘密＊", "秘密*", "★绝密", "★机密", "★秘密",
                 "秘密级", "内部资料", "内部文件", "内部材料", "内部刊物", "内部参考", "注意保存",
                 "不得外传", "严禁外传")
SECRECY_SPACED = re.compile(r"秘密\s+[★☆＊*]|[★☆]\s+(?:绝密|机密|秘密)")
_SECRECY_AC = ahocorasick_rs.AhoCorasick(list(SECRECY_MARKS),
                                         matchkind=ahocorasick_rs.MatchKind.LeftmostLongest)
# Boundaries are checked in Python: a pattern that starts with a literal lets `re` skip ahead
# fast, where a leading look-behind costs milliseconds on a 50,000-character article.
ID_NUMBER = re.compile(r"\d{17}[\dXx]")
MOBILE = re.compile(r"1[3-9]\d(?:[-\s]?\d{4}){2}")
MOBILE_PREFIX = re.compile(r"(?:\+|00)?86[-\s]?$")
TEXT_URL = re.compile(r"(?:https?://|www\.)[^\s<>\"'（）()，。；、“”]+", re.IGNORECASE)
# nh3 writes attributes as name="value": literal prefixes let `re` scan fast.
ATTR_URLS = (re.compile(r'href="([^"]*)"'), re.compile(r'src="([^"]*)"'))
BLOCK_TAGS = {"p", "br", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "tr",
              "td", "th", "table", "blockquote", "section", "hr", "img", "pre"}
_TOKEN = re.compile(r"<!--.*?-->|<[^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);"
                    r"|[^<&]+|[<&]", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9]*)")
MAX_POSITIONS = 100
MAX_WORD_FINDINGS = 200
WORD_MESSAGES = {"banned_word": "含禁用词“{word}”", "caution_word": "含慎用词“{word}”，请核实用法",
                 "advertising": "含广告用语“{word}”（《广告法》禁止使用绝对化用语）"}


# --- the body as text, with a map back to offsets in the HTML ------------------------------

@dataclass
class TextMap:
    """Text of an HTML fragment; segment k covers text[t0[k]:t0[k]+tl[k]] = html[h0[k]:+hl[k]]."""

    text: str
    t0: list = field(default_factory=list)
    h0: list = field(default_factory=list)
    tl: list = field(default_factory=list)
    hl: list = field(default_factory=list)

    def _segment(self, index: int) -> int:
        return max(0, bisect.bisect_right(self.t0, index) - 1)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Text [start, end) -> the HTML [start, end) that shows it."""
        if not self.t0:
            return start, end
        k = self._segment(start)
        plain = self.tl[k] == self.hl[k]
        hs = self.h0[k] + (start - self.t0[k] if plain else 0)
        k = self._segment(max(start, end - 1))
        plain = self.tl[k] == self.hl[k]
        he = self.h0[k] + (end - self.t0[k] if plain else self.hl[k])
        return hs, he


def html_text(fragment: str) -> TextMap:
    """Visible text of sanitized HTML: entities decoded, block tags as line breaks.

    Inline tags add nothing, so a word split by markup (机<b>密</b>) is still found.
    """
    parts, result = [], TextMap("")
    length = 0
    for match in _TOKEN.finditer(fragment):
        token = match.group()
        if token[0] == "<" and len(token) > 1:
            name = _TAG_NAME.match(token)
            if not name or name.group(1).lower() not in BLOCK_TAGS:
                continue
            piece = "\n"
        elif token[0] == "&" and len(token) > 1:
            piece = html.unescape(token)
        else:
            piece = token
        result.t0.append(length)
        result.h0.append(match.start())
        result.tl.append(len(piece))
        result.hl.append(len(token))
        parts.append(piece)
        length += len(piece)
    result.text = "".join(parts)
    return result


# --- compiled lists ---------------------------------------------------------------------

@dataclass
class Matcher:
    automaton: object | None
    domains: tuple[str, ...]
    words: int
    owners: list = field(default_factory=list)  # per pattern: ((rule, word as listed), ...)


def build_matcher(terms: dict[str, list[str]]) -> Matcher:
    """One Aho-Corasick automaton over the banned, caution and advertising lists.

    ahocorasick_rs (the Rust aho-corasick crate) rather than pyahocorasick: with tens of
    thousands of Chinese words the trie's root has thousands of children, which
    pyahocorasick searches linearly for every character (110 ms for 50,000 characters
    against 20,000 words here, against about 1 ms; docs/PUBLISHER.md).
    Matching is case-insensitive for Latin letters (words and text are lower-cased).
    """
    rules = {"banned": "banned_word", "caution": "caution_word", "advertising": "advertising"}
    payloads: dict[str, list[tuple[str, str]]] = {}
    for name in ("banned", "caution", "advertising"):
        for word in terms.get(name, ()):
            key = word.strip().lower()
            if key:
                payloads.setdefault(key, []).append((rules[name], word.strip()))
    automaton, owners = None, []
    if payloads:
        keys = list(payloads)
        owners = [tuple(payloads[key]) for key in keys]
        automaton = ahocorasick_rs.AhoCorasick(keys, matchkind=ahocorasick_rs.MatchKind.Standard)
    domains = tuple(sorted({d.strip().lower().lstrip(".") for d in terms.get("domain", ())
                            if d.strip()}))
    return Matcher(automaton, domains, len(payloads), owners)


_CACHE: "OrderedDict[str, Matcher]" = OrderedDict()
_CACHE_LOCK = Lock()


def compiled_matcher(version: str, load_terms) -> Matcher:
    """The matcher for a list version, built once per process (load_terms() only on a miss)."""
    with _CACHE_LOCK:
        if version in _CACHE:
            _CACHE.move_to_end(version)
            return _CACHE[version]
    matcher = build_matcher(load_terms())
    with _CACHE_LOCK:
        _CACHE[version] = matcher
        while len(_CACHE) > 4:
            _CACHE.popitem(last=False)
    return matcher


_T2S = None


def _converter():
    global _T2S
    if _T2S is None:
        _T2S = opencc.OpenCC("t2s")
    return _T2S


# --- the checks ----------------------------------------------------------------------------

@dataclass
class Content:
    title: str = ""
    body_html: str = ""
    digest: str | None = None
    author: str | None = None
    source_url: str | None = None
    weibo_text: str | None = None
    has_cover: bool = False
    platforms: frozenset = frozenset()
    cover_size: int | None = None
    cover_mime: str | None = None
    pictures: tuple = ()   # (src, mime, size) of body pictures uploaded here


def weibo_post(content: Content) -> str:
    """The Weibo share text: the post text (or the title) and the link to the portal article."""
    text = (content.weibo_text or content.title or "").strip()
    link = (content.source_url or "").strip()
    return f"{text} {link}".strip() if link else text


def host_allowed(host: str, domains) -> bool:
    host = host.lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in domains)


class _Collector:
    def __init__(self, severities: dict):
        self.severities = severities
        self.found: OrderedDict[tuple, dict] = OrderedDict()

    def add(self, rule, field_name, match, message, excerpt, span, suggestion=None, count=1,
            said=None):
        """span: (start, end), a list of them, or None; the first one locates the finding.
        `said`: the message's words (govmedia.wording) for a finding whose words are not
        its rule's alone, said again in each reader's language."""
        spans = span if isinstance(span, list) else ([span] if span else [])
        key = (rule, field_name, match)
        finding = self.found.get(key)
        if finding is None:
            first = spans[0] if spans else (None, None)
            finding = {"rule": rule, "severity": self.severities.get(rule, RULES[rule][0]),
                       "message": message, "excerpt": excerpt, "field": field_name,
                       "match": match, "start": first[0], "end": first[1], "count": 0,
                       "positions": []}
            if suggestion is not None:
                finding["suggestion"] = suggestion
            if said is not None:
                finding["said"] = said
            self.found[key] = finding
        finding["count"] += count
        room = MAX_POSITIONS - len(finding["positions"])
        finding["positions"].extend([list(s) for s in spans[:room]])


def _excerpt(text: str, start: int, end: int, width: int = 14) -> str:
    left, right = max(0, start - width), min(len(text), end + width)
    piece = text[left:start] + "【" + text[start:end] + "】" + text[end:right]
    piece = piece.replace("\n", " ").replace("\r", " ").replace("\t", " ")
    return ("…" if left > 0 else "") + piece + ("…" if right < len(text) else "")


def _scan_text(out: _Collector, field_name: str, text: str, span, matcher: Matcher) -> None:
    """Every text rule over one field; span(start, end) maps text offsets to the field's."""
    if matcher.automaton is not None:
        lowered = text.lower()
        if len(lowered) != len(text):  # a rare letter whose lower case is longer
            lowered = text
        by_pattern: dict[int, list] = defaultdict(list)
        for index, start, end in matcher.automaton.find_matches_as_indexes(lowered,
                                                                            overlapping=True):
            by_pattern[index].append((start, end))
        hits: dict[tuple[str, str], list] = {}
        for index, spans in by_pattern.items():
            for owner in matcher.owners[index]:
                hits[owner] = spans
        listed: dict[str, int] = {}
        untold: dict[str, list] = {}
        for (rule, word), spans in hits.items():
            count = len(spans)
            listed[rule] = listed.get(rule, 0) + 1
            if listed[rule] > MAX_WORD_FINDINGS:
                # Past this many different words the list stops helping anyone (and costs
                # time): the rest are counted in one finding.
                more = untold.setdefault(rule, [0, 0])
                more[0] += 1
                more[1] += count
                continue
            out.add(rule, field_name, word, WORD_MESSAGES[rule].format(word=word),
                    _excerpt(text, *spans[0]),
                    [span(s, e) for s, e in spans[:MAX_POSITIONS]], count=count)
        for rule, (words, count) in untold.items():
            said = message(N_("%(words)s more different words (%(count)s places) are not "
                              "listed one by one"), words=words, count=count)
            out.add(rule, field_name, "…", _in_chinese(said), "", None, count=count, said=said)
    marks = [(s, e) for _i, s, e in _SECRECY_AC.find_matches_as_indexes(text)]
    if "★" in text or "☆" in text or "*" in text or "＊" in text:
        marks += [m.span() for m in SECRECY_SPACED.finditer(text)]
    for start, end in marks:
        mark = text[start:end]
        out.add("secrecy_mark", field_name, mark, f"含密级标志“{mark}”，涉密内容不得公开发布",
                _excerpt(text, start, end), span(start, end))
    for m in ID_NUMBER.finditer(text):
        start, end = m.span()
        if (start and text[start - 1].isascii() and text[start - 1].isalnum()) or (
                end < len(text) and text[end].isascii() and text[end].isalnum()):
            continue
        if ric.is_valid(m.group()):
            out.add("id_number", field_name, m.group(),
                    "含有效的居民身份证号码，不得公开个人隐私", _excerpt(text, start, end),
                    span(start, end))
    for m in MOBILE.finditer(text):
        start, end = m.span()
        prefix = MOBILE_PREFIX.search(text, max(0, start - 6), start)
        if prefix:
            start = prefix.start()
        if (start and (text[start - 1].isdigit() or text[start - 1] == "+")) or (
                end < len(text) and text[end].isdigit()):
            continue
        number = text[start:end]
        out.add("mobile_number", field_name, number, f"含手机号码“{number}”，请确认不是个人隐私",
                _excerpt(text, start, end), span(start, end))
    _scan_traditional(out, field_name, text, span)


def _scan_traditional(out: _Collector, field_name: str, text: str, span) -> None:
    # OpenCC t2s converts with phrase context (乾隆 stays, 乾燥 becomes 干燥); whatever it
    # changes is a traditional or variant form (002 §12(三)1).
    converter = _converter()
    converted = converter.convert(text)
    if converted == text:
        return
    offset = 0
    for line, new_line in zip(text.splitlines(keepends=True),
                              converted.splitlines(keepends=True)
                              if len(converted) == len(text) else [None] * len(text)):
        if new_line is None:  # a phrase changed length somewhere: convert line by line
            new_line = converter.convert(line)
        if new_line != line:
            if len(new_line) == len(line):
                pairs = [(i, a, b) for i, (a, b) in enumerate(zip(line, new_line)) if a != b]
            else:  # compare character by character
                pairs = [(i, ch, converter.convert(ch)) for i, ch in enumerate(line)
                         if converter.convert(ch) != ch]
            for i, old, new in pairs:
                start = offset + i
                out.add("traditional_chars", field_name, old,
                        f"繁体字或异体字“{old}”，规范字为“{new}”", _excerpt(text, start, start + 1),
                        span(start, start + 1), suggestion=new)
        offset += len(line)


def _scan_links(out: _Collector, field_name: str, text: str, span, matcher: Matcher,
                raw_html: str | None = None) -> None:
    seen_spans = set()

    def check(url: str, s: int, e: int, mapped, in_markup: bool = False) -> None:
        candidate = url if "://" in url else "http://" + url
        try:
            host = urlsplit(candidate).hostname
        except ValueError:
            host = None
        if not host or host_allowed(host, matcher.domains):
            return
        if mapped in seen_spans:
            return
        seen_spans.add(mapped)
        # An address inside a tag is quoted by itself: an excerpt of the markup around it
        # would show the reader HTML as text.
        excerpt = _excerpt(url, 0, len(url)) if in_markup else _excerpt(text, s, e)
        out.add("external_link", field_name, host, f"链接域名“{host}”不在允许的域名范围内",
                excerpt, mapped)

    if raw_html is not None and "=\"" in raw_html:
        for m in (m for pattern in ATTR_URLS for m in pattern.finditer(raw_html)):
            url = html.unescape(m.group(1)).strip()
            if url.lower().startswith(("http://", "https://", "//")):
                check(url if not url.startswith("//") else "http:" + url, m.start(1), m.end(1),
                      (m.start(1), m.end(1)), in_markup=True)
    if "://" in text or "www." in text.lower():
        for m in TEXT_URL.finditer(text):
            check(m.group(), m.start(), m.end(), span(m.start(), m.end()))


def run_checks(content: Content, matcher: Matcher, severities: dict | None = None) -> list[dict]:
    """All findings, blocking ones first: {rule, severity, message, excerpt, field, match,
    start, end, count, positions}. Offsets index the field as stored."""
    sev = dict(DEFAULT_SEVERITIES)
    sev.update(severities or {})
    sev.update({rule: "block" for rule in FIXED_BLOCK})
    out = _Collector(sev)
    if not (content.title or "").strip():
        out.add("missing_title", "title", "", "标题为空", "", None)
    body = html_text(content.body_html or "")
    if not body.text.strip() and "<img" not in (content.body_html or ""):
        out.add("missing_body", "body_html", "", "正文为空", "", None)
    if "wechat" in content.platforms and not content.has_cover:
        out.add("missing_cover", "cover_image_base64", "", "发布到微信公众号须有封面图片", "", None)
    if "weibo" in content.platforms and not (content.source_url or "").strip():
        out.add("missing_link", "source_url", "", "发布到微博须有门户网站文章链接（source_url）", "",
                None)

    def identity(s, e):
        return (s, e)

    for name in ("title", "digest", "author", "weibo_text"):
        value = getattr(content, name) or ""
        if value:
            _scan_text(out, name, value, identity, matcher)
            _scan_links(out, name, value, identity, matcher)
    _scan_text(out, "body_html", body.text, body.span, matcher)
    _scan_links(out, "body_html", body.text, body.span, matcher, raw_html=content.body_html or "")
    if content.source_url:
        _scan_links(out, "source_url", content.source_url, identity, matcher)
    if "weibo" in content.platforms:
        post = weibo_post(content)
        if len(post) > WEIBO_LIMIT:
            said = message(N_("The Weibo text with its link has %(n)s characters; Weibo takes "
                              "at most %(limit)s"), n=len(post), limit=WEIBO_LIMIT)
            out.add("weibo_too_long", "weibo_text", "", _in_chinese(said), post[:40] + "…",
                    None, said=said)
    _scan_platform_limits(out, content)
    findings = list(out.found.values())
    findings.sort(key=lambda f: 0 if f["severity"] == "block" else 1)
    return findings


def _limit_message(problem: Problem) -> dict:
    return message(N_("%(platform)s: %(problem)s"),
                   platform=message(PLATFORMS.get(problem.platform, problem.platform)),
                   problem=problem_message(problem))


def _in_chinese(said: dict) -> str:
    """A finding's text as stored (the checks' language, Chinese, whoever ran them); readers
    get its words said in their own language (publisher.labels.finding_message)."""
    with force_locale("zh"):
        return say(said)


def _scan_platform_limits(out: _Collector, content: Content) -> None:
    for platform in sorted(content.platforms):
        for problem in limit_problems(platform, title=content.title, digest=content.digest,
                                      body_html=content.body_html,
                                      cover_size=content.cover_size,
                                      cover_mime=content.cover_mime,
                                      pictures=content.pictures):
            said = _limit_message(problem)
            out.add("platform_limit", problem.field, f"{platform}:{problem.what}:{problem.value}",
                    _in_chinese(said), "", None, said=said)


def blocking(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["severity"] == "block"]


def warnings(findings: list[dict]) -> list[dict]:
    return [f for f in findings if f["severity"] == "warn"]
