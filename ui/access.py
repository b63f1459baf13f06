"""The admin token in the UI's 文档 and 评测 tabs (the same check as the API's, as a gr.Error), and the
files those tabs accept: only what the browser uploaded into Gradio's cache."""
from __future__ import annotations

import gradio as gr

from pathlib import Path

from assistant.service.access import admin_problem


def require_admin(settings, token: str | None) -> None:
    problem = admin_problem(settings.admin_token, token)
    if problem == "disabled":
        raise gr.Error("文档管理未启用：请在服务器上设置 PA_ADMIN_TOKEN。")
    if problem:
        raise gr.Error("管理口令不正确。")


def require_uploaded(file_path: str) -> Path:
    """The uploaded file, or gr.Error: a path outside Gradio's upload cache was not uploaded by a browser
    (api/ui_guard.py refuses such requests before they get here; this is the second line)."""
    from gradio.utils import get_upload_folder

    path = Path(file_path).resolve()
    if Path(get_upload_folder()).resolve() not in path.parents or not path.is_file():
        raise gr.Error("只接受通过本页面上传的文件。")
    return path
