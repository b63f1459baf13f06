"""`python -m assistant docs diff` and the CLI's OCR progress bar (the rest of `docs` is in assistant/cli/main.py)."""
from __future__ import annotations

import json
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.errors import AssistantError
from assistant.settings import get_settings

err = Console(stderr=True)
out = Console()


def add_diff_command(docs_app: typer.Typer) -> None:
    docs_app.command("diff")(docs_diff)


def docs_diff(
    doc_id: str = typer.Argument(..., help="The doc_id of a document with versions (see `docs list`)."),
    from_version: Optional[int] = typer.Option(None, "--from", min=1, help="The older version (default: the one before --to)."),
    to_version: Optional[int] = typer.Option(None, "--to", min=1, help="The newer version (default: the current one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the same JSON as GET /v1/documents/{doc_id}/diff."),
):
    """What changed between two versions of a document, clause by clause, with the changed figures."""
    from assistant.core import Assistant
    from assistant.library.versions import diff

    try:
        result = diff(Assistant.from_settings(get_settings()).passages, doc_id, from_version, to_version)
    except AssistantError as exc:
        err.print(f"[bold red]error:[/] {plain(str(exc))}")
        raise typer.Exit(code=2) from None
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    c = result["counts"]
    out.print(f"《{result['title']}》 version {result['from']['version']} → {result['to']['version']}: "
              f"{c['changed']} changed, {c['removed']} removed, {c['added']} added", markup=False)
    mark = {"changed": "~ changed", "removed": "- removed", "added": "+ added"}
    for ch in result["changes"]:
        where = ch["section"] + (f" (was {ch['old_section']})" if ch.get("old_section") else "")
        out.print(f"\n{mark[ch['kind']]}  {where}", markup=False)
        if ch.get("old"):
            out.print(f"    - {ch['old']}", markup=False)
        if ch.get("new"):
            out.print(f"    + {ch['new']}", markup=False)
        for fig in ch.get("figures", []):
            out.print(f"    数字变化：{fig}", markup=False)


def plain(text: str) -> str:
    """Text for rich with its square brackets escaped (a file's words are not markup)."""
    from rich.markup import escape

    return escape(text)


class ocr_progress:
    """A progress bar for the pages read by OCR while inside (long scans take minutes)."""

    def __enter__(self):
        from retrieval.readers import reading_progress

        self.bar = None
        self.tasks: dict[str, object] = {}
        self.ctx = reading_progress(self.update)
        self.ctx.__enter__()
        return self

    def update(self, name: str, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Progress(TextColumn("OCR {task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} pages"),
                                TimeElapsedColumn(), console=err)
            self.bar.start()
        if name not in self.tasks:
            self.tasks[name] = self.bar.add_task(plain(name), total=total)
        self.bar.update(self.tasks[name], completed=done, total=total)

    def __exit__(self, *exc):
        self.ctx.__exit__(*exc)
        if self.bar is not None:
            self.bar.stop()
        return False


