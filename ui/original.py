"""The original document as a readable HTML page, scrolled to a cited passage and highlighting it.

`original_page(title, meta, items, cited, scans, nonce)` renders `retrieval.ingest.outline` items: the title,
headings, paragraphs (each passage a span; the cited one a <mark id="pa-cited">), tables (each row its
passage), page marks (第N页). For a PDF or an image, `scans` are the page images to show beside the text,
each with the boxes of the cited passage drawn over it. Every piece of document text is escaped: a
document holding HTML or Markdown shows it as text. The one script (scroll to the passage) carries the
response's CSP nonce.
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field

from retrieval.ingest.outline import Item

Box = tuple[float, float, float, float]

CSS = """
body {margin: 0; font: 16px/1.75 "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif;
      color: #1f2328; background: #f6f7f9}
.pa-bar {position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid #d0d7de;
         padding: .5em 1em; font-size: .9em}
.pa-bar a {color: #0969da; text-decoration: none}
.pa-meta {color: #57606a}
.pa-main {display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 440px); gap: 1.2em; max-width: 1280px;
          margin: 0 auto; padding: 1em}
.pa-main.pa-text-only {grid-template-columns: minmax(0, 1fr)}
article {background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 1.2em 1.6em; overflow-wrap: anywhere}
h1 {font-size: 1.35em; text-align: center}
h2 {font-size: 1.15em} h3 {font-size: 1.05em} h4 {font-size: 1em}
.pa-page {color: #57606a; font-size: .8em; border-top: 1px dashed #d0d7de; margin: 1.2em 0 .6em; padding-top: .2em}
mark.pa-cited, tr.pa-cited td {background: #fff3a3; outline: 2px solid #d4a72c}
table {border-collapse: collapse; width: 100%; margin: .6em 0; font-size: .95em}
th, td {border: 1px solid #8c959f; padding: .25em .5em; text-align: left; vertical-align: top}
th {background: #eef1f4}
aside {position: sticky; top: 3.2em; align-self: start}
figure {margin: 0 0 1em; position: relative; border: 1px solid #d0d7de; background: #fff}
figure img {display: block; width: 100%}
.pa-box {position: absolute; border: 3px solid #e5534b; background: rgba(255, 230, 0, .18); border-radius: 3px}
figcaption {font-size: .8em; color: #57606a; padding: .2em .5em}
.pa-note {color: #9a6700; font-size: .9em}
@media (max-width: 860px) { .pa-main {grid-template-columns: minmax(0, 1fr)} aside {position: static} }
"""


@dataclass
class Scan:
    """A page image shown beside the text, with the cited passage's boxes (fractions of the page)."""

    page: int
    url: str
    boxes: list[Box] = field(default_factory=list)
    caption: str = ""


def _esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def _marked(text: str, marks: list[tuple[int, int, str]], cited: str | None) -> str:
    """A paragraph's text with its passages as spans (the cited one a <mark>), escaped."""
    out, at = [], 0
    for start, end, pid in sorted(marks):
        if start < at:
            continue  # overlaps the passage before it
        out.append(_esc(text[at:start]))
        body = _esc(text[start:end])
        if pid == cited:
            out.append(f'<mark class="pa-psg pa-cited" id="pa-cited" data-passage-id="{_esc(pid)}">{body}</mark>')
        else:
            out.append(f'<span class="pa-psg" data-passage-id="{_esc(pid)}">{body}</span>')
        at = end
    out.append(_esc(text[at:]))
    return "".join(out)


def _table(item: Item, cited: str | None) -> str:
    head, *body = item.rows if len(item.rows) > 1 else ([], *item.rows)
    parts = ["<table>"]
    if head:
        parts.append("<thead><tr>" + "".join(f"<th>{_esc(c)}</th>" for c in head) + "</tr></thead>")
    parts.append("<tbody>")
    first = 1 if head else 0
    for r, row in enumerate(body, start=first):
        pid = item.row_marks.get(r)
        attrs = ""
        if pid is not None:
            attrs = f' data-passage-id="{_esc(pid)}"' + (' class="pa-cited" id="pa-cited"' if pid == cited else "")
        parts.append(f"<tr{attrs}>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>")
    parts.append("</tbody></table>")
    return "".join(parts)


def _item(item: Item, cited: str | None) -> str:
    if item.kind == "page":
        return f'<div class="pa-page" id="page-{item.page}">第{item.page}页</div>'
    if item.kind == "table":
        return _table(item, cited)
    body = _marked(item.text, item.marks, cited)
    if item.kind == "title":
        return f"<h1>{body}</h1>"
    if item.kind == "heading":
        return f"<h{item.level}>{body}</h{item.level}>"
    return f"<p>{body}</p>"


def _scan(scan: Scan) -> str:
    boxes = "".join(
        f'<div class="pa-box" style="left:{x0 * 100:.2f}%;top:{y0 * 100:.2f}%;'
        f'width:{(x1 - x0) * 100:.2f}%;height:{(y1 - y0) * 100:.2f}%"></div>' for x0, y0, x1, y1 in scan.boxes)
    return (f'<figure class="pa-scan" data-page="{scan.page}"><img src="{_esc(scan.url)}" alt="第{scan.page}页原件">'
            f"{boxes}<figcaption>{_esc(scan.caption or f'第{scan.page}页原件')}</figcaption></figure>")


def _one_anchor(article: str) -> str:
    """A passage over several lines is marked on each; the first mark alone is the scroll target."""
    anchor = ' id="pa-cited"'
    first = article.find(anchor)
    if first < 0:
        return article
    end = first + len(anchor)
    return article[:end] + article[end:].replace(anchor, "")


def original_page(title: str, meta: list[str], items: list[Item], cited: str | None, scans: list[Scan],
                  nonce: str, note: str = "") -> str:
    """The whole page (see the module docstring)."""
    article = _one_anchor("".join(_item(i, cited) for i in items))
    aside = f"<aside>{''.join(_scan(s) for s in scans)}</aside>" if scans else ""
    info = " · ".join(_esc(m) for m in meta if m)
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)} · 原文</title><style>{CSS}</style></head><body>"
        f'<div class="pa-bar"><a href="/ui/">政策助手</a> · 原文：<strong>{_esc(title)}</strong>'
        f'{f" <span class=pa-meta>{info}</span>" if info else ""}'
        f'{f" <span class=pa-note>{_esc(note)}</span>" if note else ""}</div>'
        f'<main class="pa-main{"" if scans else " pa-text-only"}"><article>{article}</article>{aside}</main>'
        f'<script nonce="{_esc(nonce)}">var c=document.getElementById("pa-cited");'
        'if(c){c.scrollIntoView({block:"center"});}</script></body></html>'
    )
