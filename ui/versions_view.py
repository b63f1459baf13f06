"""What changed between versions of a document, in the 文档 tab: pick a document with versions, see the
changes clause by clause (修改 / 删除 / 新增), the changed figures called out. Public like the list."""
from __future__ import annotations

import html

import gradio as gr

from assistant.errors import AssistantError, IndexNotReady
from assistant.service.service import Service
from assistant.library.versions import base_id, diff, versions

KIND_TEXT = {"changed": "修改", "removed": "删除", "added": "新增"}
CSS = """
.pa-diff-head {font-weight: 600; margin-bottom: .4em}
.pa-chg {border-left: 4px solid #8c959f; padding: .3em .6em; margin: .5em 0; background: var(--background-fill-secondary)}
.pa-chg.changed {border-color: #d4a72c} .pa-chg.removed {border-color: #cf222e} .pa-chg.added {border-color: #1a7f37}
.pa-chg-sec {font-size: .85em; color: var(--body-text-color-subdued)}
.pa-old {color: #cf222e; text-decoration: line-through} .pa-new {color: #1a7f37}
.pa-fig {font-weight: 600; color: #9a6700}
"""


def _esc(text: str | None) -> str:
    return html.escape(str(text or ""), quote=True)


def diff_html(result: dict) -> str:
    """The diff (assistant.library.versions.diff) as HTML; every text escaped."""
    counts = result["counts"]
    head = (f"《{_esc(result['title'])}》 第{result['from']['version']}版 → 第{result['to']['version']}版："
            f"修改 {counts['changed']} 条，删除 {counts['removed']} 条，新增 {counts['added']} 条")
    parts = [f'<div class="pa-diff"><div class="pa-diff-head">{head}</div>']
    if not result["changes"]:
        parts.append("<p>两个版本的条文相同。</p>")
    for c in result["changes"]:
        where = _esc(c["section"]) + (f"（原{_esc(c['old_section'])}）" if c.get("old_section") else "")
        parts.append(f'<div class="pa-chg {_esc(c["kind"])}"><div class="pa-chg-sec">{KIND_TEXT[c["kind"]]} · {where}</div>')
        if c.get("old"):
            parts.append(f'<div class="pa-old">{_esc(c["old"])}</div>')
        if c.get("new"):
            parts.append(f'<div class="pa-new">{_esc(c["new"])}</div>')
        parts += [f'<div class="pa-fig">数字变化：{_esc(f)}</div>' for f in c.get("figures", [])]
        parts.append("</div>")
    parts.append("</div>")
    return "".join(parts)


def _version(value: float | None) -> int | None:
    """A version number typed in the panel; empty (None or 0) = the default one."""
    if not value:
        return None
    if value < 1:
        raise gr.Error(f"版本号须为正整数：{value:g}")
    return int(value)


def versions_panel(service: Service):
    """The panel's components; returns its loader (the choices of documents that have versions)."""

    def choices() -> list[str]:
        try:
            passages = service.get().passages
        except (IndexNotReady, AssistantError):
            return []
        ids = sorted({base_id(p.doc_id) for p in passages if base_id(p.doc_id) != p.doc_id})
        return [i for i in ids if len(versions(passages, i)) > 1]

    def show(doc_id: str | None, from_v: float | None, to_v: float | None) -> str:
        if not doc_id:
            raise gr.Error("请先选择有多个版本的文档。")
        try:
            result = diff(service.get().passages, doc_id, _version(from_v), _version(to_v))
        except AssistantError as exc:
            raise gr.Error(f"无法比较：{exc}") from exc
        return diff_html(result)

    with gr.Accordion("版本对比：修订前后有什么变化", open=False, elem_id="pa-versions"):
        with gr.Row():
            doc = gr.Dropdown(label="文档（有多个版本）", choices=[], elem_id="pa-versions-doc")
            # no `minimum`: an empty Number is sent as 0, which means "留空" here (a version below 1 is not asked)
            from_v = gr.Number(label="旧版本（留空：上一版）", precision=0, elem_id="pa-versions-from")
            to_v = gr.Number(label="新版本（留空：现行版）", precision=0, elem_id="pa-versions-to")
        button = gr.Button("比较", size="sm", elem_id="pa-versions-show")
        out = gr.HTML("", elem_id="pa-versions-diff")
    button.click(show, [doc, from_v, to_v], out)

    def load():
        return gr.update(choices=choices(), value=None)

    return load, doc
