"""The admin token in the UI's 文档 and 评测 tabs (the same check as the API's, as a gr.Error)."""
from __future__ import annotations

import gradio as gr

from assistant.access import admin_problem


def require_admin(settings, token: str | None) -> None:
    problem = admin_problem(settings.admin_token, token)
    if problem == "disabled":
        raise gr.Error("文档管理未启用：请在服务器上设置 PA_ADMIN_TOKEN。")
    if problem:
        raise gr.Error("管理口令不正确。")
