"""Text from an HTML-only email, and HTML safe to show in the console.

The stdlib parser walks the markup (block elements become line breaks, scripts and styles are
skipped); nh3 (the Ammonia sanitizer) decides what HTML may reach an agent's browser.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

_BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote",
           "pre", "table", "ul", "ol", "hr", "section", "article", "header", "footer"}
_SKIPPED = {"script", "style", "head", "title"}


class _TextCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED:
            self._skipping += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED:
            self._skipping = max(0, self._skipping - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", line).strip()
             for line in "".join(collector.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def safe_html(html: str) -> str:
    """What the console may render: no scripts, handlers, forms or styles that escape the
    message; links open apart from the console; `cid:` images stay, for the console to
    show the inline attachments they name."""
    return nh3.clean(html, link_rel="noopener noreferrer nofollow",
                     url_schemes={"http", "https", "mailto", "tel", "cid"})
