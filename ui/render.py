"""HTML for the chat: answer text with notices, numbered citation cards with their context."""
from __future__ import annotations

import html
import re

from assistant.answer import Answer, Citation
from assistant.core import Assistant

NOTICE_TEXT = {
    "refused": "未在文档中找到可靠依据，因此不作回答",
    "fallback": "语言模型的回答不可用或未通过核对，以下为原文摘录",
    "repaired": "已删除语言模型回答中未通过核对的句子",
    "validity": "文件效力",
    "revised": "文件修订",
}


# every ASCII punctuation character as a numeric character reference: Markdown (links, images, autolinks,
# emphasis, tables, LaTeX) and HTML both see plain text; the browser shows the same characters
_PLAIN = {ord(c): f"&#{ord(c)};" for c in "!\"#$%'()*+,-./:;=?@[\\]^_`{|}~"}
_PLAIN.update({ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;", ord("'"): "&#x27;"})


def plain(s: str) -> str:
    """Document or user text for a Markdown-rendered component (chat, gr.Markdown): shown as the
    characters it is, never as markup: no link, image, autolink, HTML element or formatting."""
    return str(s).translate(_PLAIN)


_esc = plain


def highlight(text: str, quote: str, esc=plain) -> str:
    """The passage text, escaped with `esc` (default: plain text for Markdown), the quoted span in <mark>."""
    if quote and quote in text:
        i = text.index(quote)
        return esc(text[:i]) + "<mark>" + esc(quote) + "</mark>" + esc(text[i + len(quote):])
    return esc(text)


def _context(assistant: Assistant | None, c: Citation) -> str:
    if assistant is None:
        return ""
    before, after = assistant.neighbours(c.passage_id, 1)
    if not before and not after:
        return ""
    rows = [f'<p class="pa-ctx-p"><span class="pa-ctx-sec">{_esc(p.section_path)}</span><br>{_esc(p.text)}</p>'
            for p in before]
    rows.append(f'<p class="pa-ctx-p pa-ctx-self">{_esc(c.text)}</p>')
    rows += [f'<p class="pa-ctx-p"><span class="pa-ctx-sec">{_esc(p.section_path)}</span><br>{_esc(p.text)}</p>'
             for p in after]
    return f'<details class="pa-ctx"><summary>上下文</summary>{"".join(rows)}</details>'


def citation_card(c: Citation, assistant: Assistant | None = None, label: str | None = None) -> str:
    num = label if label is not None else f"[{c.n}]"
    parts = [str(c.meta[k]) for k in ("doc_number", "issued") if c.meta.get(k)]
    if c.meta.get("page"):
        parts.append(f"第{c.meta['page']}页")
    if c.meta.get("ocr"):
        parts.append("OCR识别")
    if c.meta.get("status"):
        parts.append(str(c.meta["status"]))
    if c.meta.get("expires"):
        parts.append(f"有效期至{c.meta['expires']}")
    meta = " · ".join(_esc(x) for x in parts)
    view = (f' <a class="pa-view" href="{_esc(c.view_url)}" target="_blank" rel="noopener">查看原文</a>'
            if c.view_url else "")
    return (
        f'<div class="pa-card" data-passage-id="{_esc(c.passage_id)}">'
        f'<div class="pa-card-head"><span class="pa-num">{_esc(num)}</span> '
        f'<span class="pa-doc">{_esc(c.doc_title)}</span>{f" <span class=pa-meta>{meta}</span>" if meta else ""}'
        f"{view}</div>"
        f'<div class="pa-sec">{_esc(c.section)}</div>'
        f'<div class="pa-text">{highlight(c.text, c.quote)}</div>'
        f"{_context(assistant, c)}</div>"
    )


def notices_html(answer: Answer) -> str:
    items = []
    for note in answer.notices:
        key, _, detail = note.partition(":")
        if key in NOTICE_TEXT and not detail.strip():
            items.append(_esc(NOTICE_TEXT[key]))
        elif key in NOTICE_TEXT:
            items.append(f'{_esc(NOTICE_TEXT[key])}<span class="pa-notice-detail">（{_esc(detail.strip())}）</span>')
        else:
            items.append(_esc(note))
    return "".join(f'<div class="pa-notice">注意：{n}</div>' for n in items)


def answer_markdown(answer: Answer, assistant: Assistant | None = None) -> str:
    """The chat message for a finished answer: text, notices, citation cards (or related reading)."""
    parts = [_esc(answer.answer).replace("\n", "<br>"), notices_html(answer)]
    if answer.citations:
        parts.append('<div class="pa-cards"><div class="pa-cards-title">引用段落</div>'
                     + "".join(citation_card(c, assistant) for c in answer.citations) + "</div>")
    elif answer.related:
        parts.append('<div class="pa-cards pa-related"><div class="pa-cards-title">最接近的段落（仅供参考）</div>'
                     + "".join(citation_card(c, assistant, "·") for c in answer.related[:3]) + "</div>")
    return "\n".join(p for p in parts if p)


def strip_html(s: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", s))
