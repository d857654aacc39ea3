"""The body's text as a reader sees it: its characters (what a passage's offsets count), its
paragraphs (what the comparison of two revisions lines up) and passages marked in the markup.

Offsets count code points of the text the browser shows for the sanitized body (the
DOM's textContent: every text node in order, character references decoded), so a passage a
reviewer selects on the page and the one the server marks are the same characters.
"""
from html import escape
from html.parser import HTMLParser

# Elements that end a paragraph for the comparison (a line of its own on each side).
BLOCKS = {"p", "h2", "h3", "h4", "blockquote", "ul", "ol", "li", "table", "thead", "tbody",
          "tr", "th", "td", "hr", "figure", "figcaption", "br", "div"}


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.lines: list[str] = [""]

    def _break(self):
        if self.lines[-1].strip():
            self.lines.append("")

    def handle_starttag(self, tag, attrs):
        if tag in BLOCKS:
            self._break()
        if tag == "img":  # an image is a line of the comparison: its address
            self._break()
            self.lines[-1] = "[" + (dict(attrs).get("src") or "") + "]"
            self._break()

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in BLOCKS:
            self._break()

    def handle_data(self, data):
        self.parts.append(data)
        self.lines[-1] += data


def _parse(html: str) -> _Text:
    parser = _Text()
    parser.feed(html or "")
    parser.close()
    return parser


def body_text(html: str) -> str:
    """The body's text, the characters a passage's offsets count."""
    return "".join(_parse(html).parts)


def paragraphs(html: str) -> list[str]:
    """The body as lines: one per paragraph, heading, list item, cell or image."""
    return [" ".join(line.split()) for line in _parse(html).lines if line.strip()]


class _Marker(HTMLParser):
    """Re-emits sanitized markup with <mark> around the given ranges of its text."""

    def __init__(self, ranges):
        super().__init__(convert_charrefs=True)
        self.ranges = ranges  # [(start, end, attributes)], sorted, not overlapping
        self.out: list[str] = []
        self.at = 0

    @staticmethod
    def _tag(tag, attrs, close=""):
        text = "".join(f' {name}="{escape(value or "", quote=True)}"' for name, value in attrs)
        return f"<{tag}{text}{close}>"

    def handle_starttag(self, tag, attrs):
        self.out.append(self._tag(tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.out.append(self._tag(tag, attrs))

    def handle_endtag(self, tag):
        self.out.append(f"</{tag}>")

    def handle_data(self, data):
        start, end = self.at, self.at + len(data)
        self.at = end
        cut = start
        for first, last, attributes in self.ranges:
            lo, hi = max(first, start), min(last, end)
            if lo >= hi:
                continue
            self.out.append(escape(data[cut - start:lo - start], quote=False))
            attrs = "".join(f' {k}="{escape(str(v), quote=True)}"' for k, v in attributes.items())
            self.out.append(f"<mark{attrs}>{escape(data[lo - start:hi - start], quote=False)}"
                            "</mark>")
            cut = hi
        self.out.append(escape(data[cut - start:], quote=False))


def mark_ranges(html: str, ranges: list[tuple[int, int, dict]]) -> str:
    """The markup with each (start, end) range of its text inside <mark …attributes>; a
    range across elements becomes one mark per piece of text. Overlaps are merged."""
    merged: list[tuple[int, int, dict]] = []
    for start, end, attributes in sorted(ranges, key=lambda r: (r[0], r[1])):
        if end <= start:
            continue
        if merged and start < merged[-1][1]:
            last = merged[-1]
            ids = f'{last[2].get("data-comments", "")} {attributes.get("data-comments", "")}'
            merged[-1] = (last[0], max(last[1], end),
                          last[2] | {"data-comments": ids.strip()})
        else:
            merged.append((start, end, attributes))
    marker = _Marker(merged)
    marker.feed(html or "")
    marker.close()
    return "".join(marker.out)
