"""Read the built book's HTML: pages, the text of each cell output, links and scripts.

Stdlib only (``html.parser``), so the assertions over the built book need nothing the
test extra does not already have. myst-nb renders a code cell as ``div.cell`` holding a
``div.cell_input`` and a ``div.cell_output``; the text a reader sees in an output box is
the text of the ``<pre>`` elements inside ``div.cell_output``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path


@dataclass
class Page:
    """What the tests need from one built HTML page."""

    path: Path
    outputs: list[str] = field(default_factory=list)  # text of each output <pre>
    links: list[str] = field(default_factory=list)  # href of every <a>
    anchors: list[tuple[str, str]] = field(default_factory=list)  # (href, text) of every <a>
    #: href of every <a> inside <article>: the page's own content, without the navbar, the
    #: sidebars and the prev/next footer (those link every page of the book)
    article_links: list[str] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # src of every <script src>
    images: list[str] = field(default_factory=list)  # src of every <img>
    admonitions: list[tuple[str, str]] = field(default_factory=list)  # (classes, title)
    ids: set[str] = field(default_factory=set)  # every id= (link targets)
    text: str = ""  # the article's text, outputs included

    @property
    def output_text(self) -> str:
        return "\n".join(self.outputs)


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.stack: list[tuple[str, bool]] = []  # (tag, opens a cell_output)
        self.in_output = 0
        self.in_pre = 0
        self.in_article = 0
        self.pre: list[str] = []
        self.article: list[str] = []
        self.anchor: tuple[str, list[str]] | None = None
        self.admonition: str | None = None  # classes of the admonition being read
        self.title: list[str] | None = None  # the text of its title, while inside it

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if "id" in a:
            self.page.ids.add(a["id"])
        if tag == "a" and "href" in a:
            self.page.links.append(a["href"])
            if self.in_article:
                self.page.article_links.append(a["href"])
            self.anchor = (a["href"], [])
        if tag == "script" and a.get("src"):
            self.page.scripts.append(a["src"])
        if tag == "img" and a.get("src"):
            self.page.images.append(a["src"])
        classes = a.get("class", "").split()
        if tag == "div" and "admonition" in classes:
            self.admonition = " ".join(classes)
        if tag == "p" and "admonition-title" in classes and self.admonition is not None:
            self.title = []
        if tag in ("br", "img", "meta", "link", "input", "hr", "source", "wbr"):
            return  # void elements never close
        opens = tag == "div" and "cell_output" in a.get("class", "").split()
        self.stack.append((tag, opens))
        self.in_output += opens
        self.in_article += tag == "article"
        if tag == "pre" and self.in_output:
            self.in_pre += 1
            self.pre = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "p" and self.title is not None and self.admonition is not None:
            self.page.admonitions.append((self.admonition, "".join(self.title).strip()))
            self.title = self.admonition = None
        if tag == "a" and self.anchor is not None:
            self.page.anchors.append((self.anchor[0], "".join(self.anchor[1]).strip()))
            self.anchor = None
        if all(open_tag != tag for open_tag, _ in self.stack):
            # The end of nothing open: a self-closed void element (<img .../>, for which
            # HTMLParser calls handle_endtag too) or a stray end tag. Browsers ignore it.
            return
        while self.stack:
            open_tag, opened = self.stack.pop()
            self.in_output -= opened
            self.in_article -= open_tag == "article"
            if open_tag == "pre" and self.in_pre:
                self.in_pre -= 1
                self.page.outputs.append("".join(self.pre))
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self.anchor is not None:
            self.anchor[1].append(data)
        if self.title is not None:
            self.title.append(data)
        if self.in_pre:
            self.pre.append(data)
        if self.in_article:
            self.article.append(data)


def read_page(path: Path) -> Page:
    page = Page(path)
    parser = _Parser(page)
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    page.text = "".join(parser.article)
    return page


def book_pages(html: Path) -> dict[str, Page]:
    """Every page of the book by docname (``book/04_mmap_actions``), Sphinx's own pages left out."""
    pages = {}
    for path in sorted(html.rglob("*.html")):
        rel = path.relative_to(html)
        if rel.parts[0].startswith("_") or rel.name in ("genindex.html", "search.html",
                                                        "py-modindex.html"):
            continue
        if rel.as_posix() == "index.html":
            continue  # the redirect to the root page
        pages[rel.with_suffix("").as_posix()] = read_page(path)
    return pages
