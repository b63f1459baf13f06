"""The 文档 tab for staff: the library's documents, upload with metadata, removal. Needs the admin token."""
from __future__ import annotations

import json
import logging

import gradio as gr

from assistant.service.service import Service
from ui.access import require_admin, require_uploaded
from ui.render import plain
from assistant.errors import AssistantError, DocumentError
from assistant.library.documents import add_documents, list_documents, remove_document
from retrieval.readers import supported_suffixes
from ui.versions_view import versions_panel

log = logging.getLogger(__name__)
COLUMNS = ["doc_id", "标题", "段落数", "文号", "发布机关", "发布日期", "有效期至", "状态", "推断字段"]
ACCEPT = supported_suffixes()  # .txt .md .html .docx .pdf .xlsx .png .jpg …


def _rows(settings) -> list[list]:
    try:
        docs = list_documents(settings)
    except AssistantError as exc:
        raise gr.Error(f"无法读取文档列表：{exc}") from exc
    return [[d["doc_id"], d["title"], d["passages"], d.get("doc_number", ""), d.get("issuer", ""),
             d.get("issued", ""), d.get("expires", ""), d.get("status", ""), d.get("guessed", "")] for d in docs]


def docs_tab(service: Service):
    settings = service.settings

    def refresh():
        rows = _rows(settings)
        return gr.update(value=rows), gr.update(choices=[r[0] for r in rows], value=None)

    def upload(token: str, file_path: str | None, meta_text: str):
        require_admin(settings, token)
        if not file_path:
            raise gr.Error("请先选择要上传的文件。")
        meta = None
        if meta_text and meta_text.strip():
            try:
                meta = json.loads(meta_text)
            except ValueError as exc:
                raise gr.Error(f"元数据不是有效的 JSON：{exc}") from exc
            if not isinstance(meta, dict):
                raise gr.Error("元数据必须是 JSON 对象，例如 {\"title\": \"…\", \"issuer\": \"…\"}")
        path = require_uploaded(file_path)
        if path.suffix.lower() not in ACCEPT:
            raise gr.Error(f"不支持的文件类型 {path.suffix or '（无）'}；支持：{' '.join(ACCEPT)}")
        size = path.stat().st_size if path.exists() else 0
        if size > settings.max_upload_bytes:
            raise gr.Error(f"{path.name} 有 {size} 字节，超过上限 {settings.max_upload_bytes} 字节（PA_MAX_UPLOAD_BYTES）")
        try:
            result = add_documents(settings, [path], meta)
            service.reload()
        except DocumentError as exc:  # the reason and the file's own name, not the upload's temporary path
            raise gr.Error(f"未能添加 {path.name}：{exc.reason}") from exc
        except AssistantError as exc:
            raise gr.Error(f"未能添加：{str(exc).replace(str(path), path.name)}") from exc
        d = result.documents[0]
        guessed = d.meta.get("guessed")
        status = plain(f"{'已更新' if d.replaced else '已添加'}：{d.title}（{d.doc_id}），索引共 {result.build.passages} 段，"
                  f"新嵌入 {result.build.embedded} 段，用时 {result.seconds:.1f} 秒。"
                  + (f" 从正文推断的字段：{guessed}。" if guessed else "")
                  + (f" 旧版本保留为 {d.previous_version}（已修订），可在下方“版本对比”查看变化。" if d.previous_version else "")
                  + (f" 部分页面未能读取：{'；'.join(d.warnings)}。" if d.warnings else ""))
        rows, choice = refresh()
        return status, rows, choice

    def remove(token: str, doc_id: str | None):
        require_admin(settings, token)
        if not doc_id:
            raise gr.Error("请先选择要删除的文档。")
        try:
            result = remove_document(settings, doc_id)
            service.reload()
        except AssistantError as exc:
            raise gr.Error(f"未能删除：{exc}") from exc
        rows, choice = refresh()
        return plain(f"已删除：{doc_id}，索引共 {result.build.passages} 段，用时 {result.seconds:.1f} 秒。"), rows, choice

    gr.Markdown("文档库：查看已索引的文件；上传（txt / md / html / docx / pdf / xlsx / png / jpg，扫描件自动识别文字）"
                "或删除文件需要管理口令（PA_ADMIN_TOKEN）。上传同名文件即更新（旧版本保留为已修订版本），只重新嵌入变化的段落。")
    token = gr.Textbox(label="管理口令", type="password", elem_id="pa-admin-token")
    table = gr.Dataframe(headers=COLUMNS, value=[], interactive=False, wrap=True, elem_id="pa-docs-table")
    reload_btn = gr.Button("刷新列表", size="sm", elem_id="pa-docs-refresh")
    with gr.Row():
        with gr.Column():
            file = gr.File(label="上传文件", file_types=ACCEPT, type="filepath", elem_id="pa-docs-file")
            meta = gr.Textbox(label="元数据（可选，JSON）", lines=3, elem_id="pa-docs-meta",
                              placeholder='{"title": "…", "issuer": "…", "doc_number": "…", "issued": "2024-01-01", '
                                          '"expires": "2026-12-31", "status": "现行有效"}')
            add_btn = gr.Button("上传并索引", variant="primary", elem_id="pa-docs-add")
        with gr.Column():
            choice = gr.Dropdown(label="删除文档", choices=[], elem_id="pa-docs-choice")
            del_btn = gr.Button("删除", variant="stop", elem_id="pa-docs-remove")
    status = gr.Markdown("", elem_id="pa-docs-status")
    versions_load, versions_doc = versions_panel(service)
    reload_btn.click(refresh, None, [table, choice])
    add_btn.click(upload, [token, file, meta], [status, table, choice])
    del_btn.click(remove, [token, choice], [status, table, choice])

    def initial():  # on page load: never an error toast, just an empty list until the index exists
        try:
            return (*refresh(), versions_load())
        except gr.Error:
            return gr.update(value=[]), gr.update(choices=[], value=None), gr.update(choices=[], value=None)

    return initial, [table, choice, versions_doc]
