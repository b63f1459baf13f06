"""The 政策匹配 tab's saved-profile panel: save the form as a profile (webhook optional), see the measures
pushed to it (unread / read), the next application deadlines, and the calendar (.ics) and feed links.

`render_inbox(items)` and `render_deadlines(rows)` are pure functions, unit-tested without a browser; every
piece of text is escaped. The token is shown once when saved; reopening a profile asks for its id and token.
"""
from __future__ import annotations

import html
from dataclasses import asdict
from datetime import date
from typing import Any, Callable
from urllib.parse import quote

import gradio as gr

from assistant.core import in_force
from assistant.errors import AccessDenied, AssistantError, IndexNotReady
from assistant.finder.calendar import Window, upcoming, windows_of
from assistant.records import Database
from assistant.records.feed import window_text
from assistant.records.profiles import Profiles
from assistant.records.push import Measures
from assistant.records.webhook import check_url
from assistant.service.service import Service

CSS = """
.pa-inbox-item {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .45em .7em; margin: .4em 0}
.pa-inbox-item.pa-unread {border-left: 4px solid var(--color-accent)}
.pa-inbox-flag {font-size: .8em; font-weight: 600; margin-right: .4em}
.pa-inbox-meta, .pa-deadline-src {font-size: .85em; color: var(--body-text-color-subdued)}
.pa-deadlines li {margin: .2em 0}
"""
EMPTY_INBOX = "还没有推送的措施。文件库新增或更新与画像相符的措施时，会出现在这里。"


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_inbox(items: list[dict[str, Any]]) -> str:
    """The pushed measures, newest first: unread ones marked, each with why, amount, deadline and its source."""
    if not items:
        return f'<div class="pa-match-empty">{_esc(EMPTY_INBOX)}</div>'
    out = []
    for it in items:
        flag = "已读" if it.get("read") else "未读"
        cite = (it.get("citations") or [{}])[0]
        parts = [f'<span class="pa-inbox-flag">{flag}</span><b>{_esc(it.get("title"))}</b>',
                 f'<div>{_esc("；".join(it.get("why") or []))}</div>']
        if it.get("amount"):
            parts.append(f'<div>金额：{_esc(it["amount"])}</div>')
        if it.get("deadline"):
            parts.append(f'<div>申报时间：{_esc(window_text(it["deadline"]))}</div>')
        link = f'<a href="{_esc(cite.get("view_url", ""))}" target="_blank">原文</a>' if cite.get("view_url") else ""
        parts.append(f'<div class="pa-inbox-meta">{_esc(cite.get("doc_title"))} · {_esc(cite.get("section"))} {link}'
                     f' · {_esc(str(it.get("time", ""))[:16].replace("T", " "))}</div>')
        cls = "pa-inbox-item" + ("" if it.get("read") else " pa-unread")
        out.append(f'<div class="{cls}" data-item-id="{_esc(it.get("id"))}">{"".join(parts)}</div>')
    return "".join(out)


def render_deadlines(rows: list[tuple[date, Window]], links: list[tuple[str, str]]) -> str:
    """The next last days to apply, soonest first, each with its clause, and the calendar links."""
    items = "".join(f'<li><b>{d.isoformat()}</b> {_esc(w.text)} <span class="pa-deadline-src">（{_esc(w.doc_title)} '
                    f'{_esc(w.section)}）</span></li>' for d, w in rows)
    body = f'<ul class="pa-deadlines">{items}</ul>' if items else "<p>文件中没有读到即将截止的申报时间。</p>"
    return ("<div><b>近期申报截止</b>" + body + "".join(f'<a href="{_esc(u)}" target="_blank">{_esc(t)}</a> '
                                                      for t, u in links) + "</div>")


def saved_profile_panel(service: Service, records: Database, profile_of: Callable[..., Any], inputs: list) -> None:
    """Below the match form: `profile_of(*inputs)` gives the form's finder Profile."""
    profiles = Profiles(records)

    def ready():
        try:
            return service.get()
        except IndexNotReady as exc:
            raise gr.Error(f"索引尚未就绪：{exc}") from exc

    def deadlines(pid: str = "", token: str = "") -> str:
        assistant = ready()
        links = [("订阅全部申报日历 (.ics)", "/v1/calendar.ics")]
        ws = [w for ps in windows_of(in_force(assistant.passages)).values() for w in ps]
        if pid and token:
            snap = Measures(assistant).snapshot(profiles.get(pid, token)["profile"])
            ws = [Window(**w) for m in snap.measures.values() for w in m["measure"]["windows"]]
            q = f"?token={quote(token)}"
            links += [("本画像的申报日历 (.ics)", f"/v1/profiles/{pid}/calendar.ics{q}"),
                      ("本画像的订阅源 (Atom)", f"/v1/profiles/{pid}/feed.atom{q}")]
        return render_deadlines(upcoming(ws, date.today()), links)

    def first_deadlines() -> str:
        try:
            return deadlines()
        except (gr.Error, AssistantError):
            return "<div>索引就绪后显示近期申报截止。<a href=\"/v1/calendar.ics\">申报日历 (.ics)</a></div>"

    def save(name: str, webhook: str, *form):
        settings = service.settings
        try:
            profile = asdict(profile_of(*form))
            url = check_url((webhook or "").strip() or None, settings.webhook_allow_private)
            saved = profiles.create(name, profile, url, Measures(ready(), settings.public_url).snapshot(profile))
        except AssistantError as exc:
            raise gr.Error(f"无法保存：{exc}") from exc
        note = (f"已保存。画像编号 `{saved.id}`；访问令牌 `{saved.token}`；签名密钥 `{saved.signing_secret}`。"
                "令牌和密钥只显示这一次，请妥善保存。")
        return note, saved.id, saved.token, *show(saved.id, saved.token)

    def show(pid: str, token: str):
        try:
            _, items = profiles.items((pid or "").strip(), (token or "").strip())
            return render_inbox(items), deadlines(pid.strip(), token.strip())
        except AccessDenied as exc:
            raise gr.Error("画像编号或令牌不正确。") from exc
        except AssistantError as exc:
            raise gr.Error(f"出错了：{exc}") from exc

    def read_all(pid: str, token: str):
        try:
            profiles.mark_read((pid or "").strip(), (token or "").strip(), None)
        except AccessDenied as exc:
            raise gr.Error("画像编号或令牌不正确。") from exc
        return show(pid, token)

    with gr.Accordion("保存画像，接收新政策推送", open=False, elem_id="pa-profile-panel"):
        gr.Markdown("保存上面填写的资料：文件库新增或更新与之相符的措施时，推送到这里、订阅源和（可选的）Webhook。")
        with gr.Row():
            name = gr.Textbox(label="画像名称", max_length=200, elem_id="pa-profile-name")
            webhook = gr.Textbox(label="Webhook 地址（可选）", max_length=2000, elem_id="pa-profile-webhook")
        save_btn = gr.Button("保存画像", elem_id="pa-profile-save")
        note = gr.Markdown("", elem_id="pa-profile-note")
        with gr.Row():
            pid = gr.Textbox(label="画像编号", max_length=64, elem_id="pa-profile-id")
            token = gr.Textbox(label="访问令牌", type="password", max_length=200, elem_id="pa-profile-token")
        with gr.Row():
            open_btn = gr.Button("查看推送", elem_id="pa-profile-open")
            read_btn = gr.Button("全部标为已读", elem_id="pa-profile-read")
        inbox = gr.HTML("", css_template=CSS, elem_id="pa-profile-inbox")
    soon = gr.HTML(first_deadlines, css_template=CSS, elem_id="pa-deadlines")  # a callable: read on each page load
    save_btn.click(save, [name, webhook, *inputs], [note, pid, token, inbox, soon])
    open_btn.click(show, [pid, token], [inbox, soon])
    read_btn.click(read_all, [pid, token], [inbox, soon])
