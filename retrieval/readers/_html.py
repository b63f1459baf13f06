"""HTML: a saved web page -> the article body as segmenter text.

trafilatura finds the article (it drops navigation, menus, sidebars, footers) and returns it as XML;
when it finds nothing, or suspiciously little, the page itself is read without its navigation. Both
trees are read by ONE walker (`tree_lines`), told by a `Markup` what their tags mean: paragraphs and
headings -> lines, data tables -> TAB rows (header first), layout tables (old government sites) ->
running text. Page furniture that survives (`当前位置：…`, `分享到`, `版权所有`) is dropped line by line.
"""
from __future__ import annotations

import codecs
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from retrieval.errors import DocumentError
from retrieval.ingest.header import detect_labelled, looks_like_organ
from retrieval.readers import Extracted, ReadLimits, Reader
from retrieval.readers._sniff import bom_encoding
from retrieval.readers._text import check_text_bytes, check_text_chars, clean_line, decode_text, read_bytes, tab_row

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.IGNORECASE)
_CHARSET_ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030",
                    "gb_2312-80": "gb18030", "utf8": "utf-8"}
_NOT_PAGE_CHARSETS = {"idna", "punycode", "unicode-escape", "raw-unicode-escape", "unicode_escape",
                      "raw_unicode_escape", "undefined"}
_TITLE_SPLIT = re.compile(r"\s*(?:_|\s[-|–—]\s|\|)\s*")
_BOILERPLATE_TAGS = ("script", "style", "noscript", "nav", "header", "footer", "aside", "form", "iframe",
                     "button", "select", "template", "svg")
# class/id tokens of page furniture: `nav`, `main-nav`, `footer-links`, `header`… (not `article-header`)
_BOILERPLATE_TOKEN = re.compile(
    r"^(?:nav|navbar|menu|footer|foot|breadcrumbs?|crumbs?|sidebar|side|aside|topbar|top-bar|top|toolbar|share|"
    r"copyright|banner|login|search|links?|header|head|weizhi|dqwz)(?:[-_].*)?$"
    r"|^.*[-_](?:nav|navbar|menu|footer|breadcrumbs?|sidebar|share|copyright|links)$", re.IGNORECASE)
LAYOUT_CELL_CHARS = 300  # a cell this long holds running text, not a value
LAYOUT_CELL_BLOCKS = 4  # a cell with this many paragraphs is a page region, not a value
SHORT_ARTICLE = 200  # characters: below this, trafilatura's article is checked against the whole page


def html_charset(raw: bytes) -> str | None:
    """The page's character set: its BOM, else a `<meta charset>` naming a real page encoding."""
    if (bom := bom_encoding(raw)) is not None:
        return bom
    if m := _META_CHARSET.search(raw[:4096]):
        name = m.group(1).decode("ascii", "ignore").lower()
        name = _CHARSET_ALIASES.get(name, name)
        try:
            info = codecs.lookup(name)
        except LookupError:
            return None
        # only a character set a web page can be written in (not base64/zlib/rot13, idna, unicode_escape…)
        if not getattr(info, "_is_text_encoding", True) or info.name in _NOT_PAGE_CHARSETS:
            return None
        return info.name
    return None


def _is_site_name(title: str) -> bool:
    """`测试市科学技术局` / `测试市人民政府门户网站`: a <title> that names the site, not the page."""
    return bool(looks_like_organ(title) or re.search(r"(?:网站|门户|首页|网)$", title))


def clean_title(title: str | None) -> str | None:
    """`…的通知_政策文件_测试市科学技术局` -> `…的通知` (the longest part, site names dropped)."""
    if not title:
        return None
    title = clean_line(title)
    parts = [p for p in _TITLE_SPLIT.split(title) if p]
    if len(parts) > 1:
        title = max(parts, key=len)
    return title or None


# ----------------------------------------------------------------------------- the one tree walker


@dataclass(frozen=True)
class Markup:
    """What the tags of one kind of tree mean to `element_text` and `tree_lines`."""

    breaks: frozenset[str]  # a line break (<br>, trafilatura's <lb/>)
    paragraphs: frozenset[str]  # in element_text, their text stands on lines of its own
    containers: frozenset[str]  # an element with one of these among its children is walked into
    skip: frozenset[str]  # elements that give no text (only their tails)
    see_through: frozenset[str]  # elements whose children alone are walked (trafilatura's <list>)
    rows: Callable  # a <table> -> its rows, each the list of its cell elements


def _xml_rows(table) -> list[list]:
    return [[c for c in row if c.tag == "cell"] for row in table.iter("row")]


def _html_rows(table) -> list[list]:
    return [[c for c in tr if c.tag in ("td", "th")] for tr in table.iter("tr")
            if tr.getparent() is table or tr.getparent().getparent() is table]  # not a nested table's rows


TRAFILATURA = Markup(
    breaks=frozenset({"lb", "br"}),
    paragraphs=frozenset({"p", "head", "item", "list", "quote"}),
    containers=frozenset({"p", "head", "quote", "code", "item", "list", "table", "div", "main", "doc", "section"}),
    skip=frozenset({"graphic", "comments", "fig"}),
    see_through=frozenset({"list"}),
    rows=_xml_rows,
)
HTML = Markup(
    breaks=frozenset({"br"}),
    paragraphs=frozenset({"p", "div", "li", "ul", "ol", "dl", "dt", "dd", "h1", "h2", "h3", "h4", "h5", "h6", "tr",
                          "td", "th", "table", "section", "article", "blockquote", "pre", "header", "footer", "nav",
                          "aside", "center"}),
    containers=frozenset({"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article", "main", "body",
                          "ul", "ol", "dl", "dt", "dd", "blockquote", "pre", "center", "table"}),
    skip=frozenset({"script", "style"}),
    see_through=frozenset(),
    rows=_html_rows,
)


def element_text(el, markup: Markup) -> str:
    """An element's text, with a newline for each line break and around each paragraph; skipped
    elements (and comments) give no text, only their tails."""
    parts: list[str] = []

    def walk(e) -> None:
        if e.text:
            parts.append(e.text)
        for child in e:
            if not isinstance(child.tag, str) or child.tag in markup.skip:
                pass
            elif child.tag in markup.breaks:
                parts.append("\n")
            elif child.tag in markup.paragraphs:
                parts.append("\n")
                walk(child)
                parts.append("\n")
            else:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts)


def _is_layout_table(rows: list[list[tuple[str, int]]]) -> bool:
    """A table used for page layout (old government sites): one column, or cells full of paragraphs.

    rows: per row, per cell (text, number of block children)."""
    cells = [c for row in rows for c in row]
    if not cells:
        return True
    if all(len(row) <= 1 for row in rows):
        return True
    return any(len(text.strip()) > LAYOUT_CELL_CHARS or blocks >= LAYOUT_CELL_BLOCKS for text, blocks in cells)


def _blocks_in(el, markup: Markup) -> int:
    return sum(1 for child in el if isinstance(child.tag, str) and child.tag in markup.containers)


def tree_lines(el, markup: Markup, out: list[str]) -> None:
    """Append el's lines to out: text lines, a data table's TAB rows followed by "" (a layout table's
    cells are read as running text)."""
    tag = el.tag if isinstance(el.tag, str) else ""
    if tag == "table":
        rows = markup.rows(el)
        shape = [[(element_text(cell, markup), _blocks_in(cell, markup)) for cell in row] for row in rows]
        if _is_layout_table(shape):
            for row in rows:  # its cells are regions of the page: read them as running text
                for cell in row:
                    tree_lines(cell, markup, out)
            return
        out.extend(r for row in shape if (r := tab_row([text for text, _ in row])) is not None)
        out.append("")
    elif tag in markup.see_through:
        for child in el:
            tree_lines(child, markup, out)
    elif tag in markup.skip:
        return
    elif not _blocks_in(el, markup):
        out.extend(line for line in map(clean_line, element_text(el, markup).split("\n")) if line)
    else:
        if el.text and (t := clean_line(el.text)):
            out.append(t)
        for child in el:
            tree_lines(child, markup, out)
            if child.tail and (t := clean_line(child.tail)):
                out.append(t)


# ----------------------------------------------------------------------------- article and fallback

# page furniture that survives extraction on Chinese government sites, one line at a time
_FURNITURE_START = re.compile(r"^(?:当前位置|您当前的位置|您现在的位置|您的位置|所在位置|上一篇|下一篇|上一条|下一条|"
                              r"相关链接|相关文章|相关阅读|热点推荐|友情链接)\s*[:：>]?")
_FURNITURE_WORDS = re.compile(r"分享到|打印本页|关闭窗口|【打印】|【关闭】|字号[:：]|【字体|字体[:：]|收藏本页|扫一扫|"
                              r"浏览次数|访问量|阅读次数|点击数|点击量|版权所有|网站标识码|ICP备|备案号|主办单位|承办单位|"
                              r"技术支持[:：]|网站地图|联系我们|无障碍|长者模式|适老化")
_MENU_SEP = re.compile(r"\s*[|｜·•]\s*")


def is_furniture(line: str) -> bool:
    """A navigation/footer/share line (`当前位置：首页 > …`, `分享到：微信`, `首页 | 机构 | …`), not content."""
    if "\t" in line:
        return False
    if _FURNITURE_START.match(line):
        return True
    if len(line) < 120 and _FURNITURE_WORDS.search(line) and not line.endswith(("。", "；")):
        return True
    parts = [p for p in _MENU_SEP.split(line) if p]
    return len(parts) >= 3 and all(len(p) <= 8 and not re.search(r"[。，；]", p) for p in parts)


def _article_lines(html: str, path: Path) -> list[str]:
    """trafilatura's article as lines (one blank line after a table); [] when it found none."""
    try:
        import trafilatura
        from lxml import etree

        xml = trafilatura.extract(html, output_format="xml", include_tables=True, include_formatting=False,
                                  include_comments=False, include_images=False, favor_recall=True,
                                  with_metadata=False)
    except Exception as exc:  # noqa: BLE001 - trafilatura/lxml internals: fall back to the simple walk
        log.warning("%s: trafilatura failed (%s); using the page without navigation", path, exc)
        return []
    if not xml:
        return []
    try:
        root = etree.fromstring(xml.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        log.warning("%s: trafilatura returned unreadable XML (%s)", path, exc)
        return []
    main = root.find("main")
    out: list[str] = []
    tree_lines(main if main is not None else root, TRAFILATURA, out)
    # collapse blank lines used as table separators
    lines: list[str] = []
    for line in out:
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _fallback_lines(tree) -> list[str]:
    """Without trafilatura's verdict: drop script/nav/header/footer/aside and nav-like classes, keep the
    rest (no blank lines). Modifies tree."""
    body = tree.find(".//body")
    root = body if body is not None else tree
    for bad in list(root.iter(*_BOILERPLATE_TAGS)):
        if bad.getparent() is not None:
            bad.getparent().remove(bad)
    for el in list(root.iter()):
        if not isinstance(el.tag, str) or el.getparent() is None:
            continue
        tokens = f"{el.get('class', '')} {el.get('id', '')}".split()
        if any(_BOILERPLATE_TOKEN.match(t) for t in tokens):
            el.getparent().remove(el)
    out: list[str] = []
    tree_lines(root, HTML, out)
    return [line for line in out if line]


# ----------------------------------------------------------------------------- the reader


class HtmlReader(Reader):
    """A saved web page: the article body (trafilatura drops navigation, menus, sidebars, footers).

    Paragraphs and headings -> lines; tables -> TAB rows (header first). The page <title> (site names
    dropped) or the first <h1> is the title candidate. Labelled fields anywhere on the page
    (发文字号：…, 成文日期：…, 发文机关：…) are returned as hints."""

    name = "html"
    suffixes = (".html", ".htm", ".xhtml")
    kinds = ("html", "text")  # a fragment without <html> is still HTML

    def decode(self, raw: bytes, path: Path) -> str:
        text = decode_text(raw, path, html_charset(raw))
        return text.removeprefix("\ufeff")

    def extract(self, path: Path, limits: ReadLimits | None = None) -> Extracted:
        raw = read_bytes(path)
        check_text_bytes(raw, path, "an HTML page")
        html = self.decode(raw, path)
        check_text_chars(html, path, "an HTML page")
        try:
            return self._extract_html(html, path)
        except DocumentError:
            raise
        except Exception as exc:  # lxml/trafilatura internals on a hostile page
            raise DocumentError(f"not a readable HTML page ({type(exc).__name__}: {exc})", path=str(path)) from exc

    def _extract_html(self, html: str, path: Path) -> Extracted:
        # lxml refuses str input that carries an encoding declaration; we decoded already
        html = re.sub(r"^\s*<\?xml[^>]*\?>", "", html)
        try:
            import lxml.html

            tree = lxml.html.document_fromstring(html) if html.strip() else None
        except Exception as exc:  # lxml.etree.ParserError and friends
            raise DocumentError(f"not a readable HTML page: {exc}", path=str(path)) from exc
        if tree is None:
            raise DocumentError("the document is empty", path=str(path))
        title = self._title(tree)
        h1 = next((t for h in tree.iter("h1") if 4 <= len(t := clean_line(h.text_content())) <= 120), None)
        if h1 and (title is None or len(title) < 6 or _is_site_name(title)):
            title = h1
        hints = self._hints(tree)
        lines = [line for line in _article_lines(html, path) if not is_furniture(line)]
        found = sum(len(line) for line in lines)
        if found < SHORT_ARTICLE:
            # nothing, or suspiciously little (a table-layout page trafilatura does not understand):
            # the page without its navigation, when that has clearly more to say
            fallback = [line for line in _fallback_lines(tree) if not is_furniture(line)]  # (modifies tree)
            if sum(len(line) for line in fallback) > max(3 * found, 20):
                log.info("%s: trafilatura found %s; using the page without navigation", path,
                         "no article body" if not lines else f"only {found} characters")
                lines = fallback
        text = "\n".join(lines).strip("\n")
        return Extracted(text=text + "\n" if text else "", title=title, hints=hints or None)

    @staticmethod
    def _title(tree) -> str | None:
        t = tree.find(".//title")
        return clean_title(t.text_content()) if t is not None else None

    @staticmethod
    def _hints(tree) -> dict[str, str]:
        body = tree.find(".//body")
        if body is None:
            return {}
        return detect_labelled(element_text(body, HTML))
