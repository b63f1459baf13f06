"""A saved profile's pushed measures as an Atom feed (RFC 4287): one entry per measure, newest first, with
why it matches, its conditions, amount and deadline, and its citations linking to the original view."""
from __future__ import annotations

from datetime import datetime, timezone
from html import escape
from typing import Any
from xml.sax.saxutils import escape as xml_escape, quoteattr

from assistant.finder.calendar import Window


def _abs(base: str, url: str) -> str:
    return url if url.startswith(("http://", "https://")) else base.rstrip("/") + url


def window_text(d: dict[str, Any] | None) -> str:
    """A deadline as a person reads it: dates when they were read, else the clause itself."""
    if not d:
        return ""
    w = Window(**{k: d.get(k) for k in ("kind", "text", "start", "end")})
    if w.kind == "window":
        return f"{w.start} 至 {w.end}（{w.text}）"
    if w.kind == "deadline":
        return f"截止 {w.end}（{w.text}）"
    if w.kind == "yearly":
        return f"每年 {w.start} 至 {w.end}（{w.text}）"
    return w.text


def entry_html(m: dict[str, Any], base: str) -> str:
    parts = [f"<p><b>为何匹配：</b>{escape('；'.join(m.get('why', [])))}</p>"]
    if m.get("amount"):
        parts.append(f"<p><b>金额：</b>{escape(m['amount'])}</p>")
    if m.get("deadline"):
        parts.append(f"<p><b>申报时间：</b>{escape(window_text(m['deadline']))}</p>")
    conds = "".join(f"<li>{escape(c['condition'])}：{escape(c['text'] or c['status'])}</li>"
                    for c in m.get("conditions", []))
    if conds:
        parts.append(f"<p><b>条件：</b></p><ul>{conds}</ul>")
    for c in m.get("citations", []):
        parts.append(f"<blockquote>{escape(c['quote'])}</blockquote><p>——<a href=\"{escape(_abs(base, c['view_url']))}\">"
                     f"{escape(c['doc_title'])} {escape(c['section'])}</a></p>")
    return "".join(parts)


def atom_feed(profile: dict[str, Any], items: list[dict[str, Any]], base: str, self_url: str) -> str:
    """The feed of a profile (`Profiles.items`); `base`: the address the service was requested at."""
    updated = items[0]["time"] if items else profile["created"]
    out = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
           f"<id>urn:policy-assistant:profile:{profile['id']}</id>",
           f"<title>{xml_escape('政策推送：' + profile['name'])}</title>", f"<updated>{_rfc3339(updated)}</updated>",
           f"<link rel=\"self\" href={quoteattr(self_url)}/>", "<author><name>政策助手</name></author>"]
    for it in items:
        cites = it.get("citations") or [{}]
        link = _abs(base, cites[0].get("view_url", "/"))
        out += ["<entry>", f"<id>urn:policy-assistant:item:{profile['id']}:{it['id']}</id>",
                f"<title>{xml_escape(it['title'])}</title>", f"<updated>{_rfc3339(it['time'])}</updated>",
                f"<link rel=\"alternate\" type=\"text/html\" href={quoteattr(link)}/>",
                f"<summary>{xml_escape('；'.join(it.get('why', [])))}</summary>",
                f"<content type=\"html\">{xml_escape(entry_html(it, base))}</content>", "</entry>"]
    out.append("</feed>")
    return "\n".join(out) + "\n"


def _rfc3339(iso: str) -> str:
    t = datetime.fromisoformat(iso)
    t = t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t.astimezone(timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")
