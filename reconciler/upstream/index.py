"""Links out of a directory listing. Pure.

Listings come as Apache's and nginx's autoindex pages, the distributions' own HTML
pages (GitHub's release pages among them: tag links end in the version), or plain
text with a name a line. A link's candidate name is the last segment of its path
(`20261101/` -> `20261101`, `/org/proj/releases/tag/v1.11.3` -> `v1.11.3`),
percent-decoding undone; sort links (`?C=M;O=D`), fragments and the parent folder are
not candidates.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            for name, value in attrs:
                if name == "href" and value:
                    self.hrefs.append(value)


def is_html(text: str) -> bool:
    head = text[:4096].lower()
    return "<html" in head or "<a " in head or "<!doctype" in head or "<table" in head


def hrefs(text: str) -> list[str]:
    """The links of a listing: href attributes of an HTML page, else one per line."""
    if is_html(text):
        parser = _Links()
        parser.feed(text)
        parser.close()
        return parser.hrefs
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def names(text: str) -> list[str]:
    """Each link's candidate name (see the module docstring), in page order, once."""
    seen: dict[str, None] = {}
    for href in hrefs(text):
        if href.startswith(("?", "#", "mailto:", "javascript:")):
            continue
        path = urlsplit(href).path
        segments = [s for s in path.split("/") if s]
        if not segments or segments[-1] in (".", ".."):
            continue
        seen.setdefault(unquote(segments[-1]), None)
    return list(seen)
