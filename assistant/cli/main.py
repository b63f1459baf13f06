"""Command line: `python -m assistant index|ask|search`. Errors become one-line messages here."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from assistant.cli.versions import add_diff_command, ocr_progress as _ocr_progress, plain as _plain
from assistant.errors import AssistantError
from assistant.settings import get_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help="政策助手 Policy Assistant")
err = Console(stderr=True)
out = Console()


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(code=2)


def _progress_build(rebuild: bool):
    from assistant.core import Assistant

    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                  TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err,
                  transient=False) as bar:
        tasks: list = []

        def progress(done: int, total: int) -> None:
            if not tasks:  # only shown when something is actually embedded
                tasks.append(bar.add_task("embedding passages", total=total))
            bar.update(tasks[0], completed=done, total=total)

        return Assistant.build(get_settings(), rebuild=rebuild, progress=progress)


@app.command()
def index(rebuild: bool = typer.Option(False, "--rebuild", help="Re-embed everything, ignoring the current index.")):
    """Build or refresh the index from corpus/ (atomic: the previous index serves until the new one is complete)."""
    try:
        with _ocr_progress():
            report = _progress_build(rebuild)
    except AssistantError as exc:
        _fail(exc)
    for e in report.errors:
        err.print(f"[yellow]skipped[/] {e}")
    if report.notice:
        err.print(f"[yellow]notice:[/] {report.notice}")
    for w in report.warnings:
        err.print(f"[yellow]warning[/] {_plain(w)}")
    if report.status == "unchanged":
        err.print(f"index unchanged ({report.passages} passages from {report.documents} documents, {report.seconds:.1f}s)")
    else:
        err.print(f"index built: {report.passages} passages from {report.documents} documents; "
                  f"embedded {report.embedded}, reused {report.reused}; {report.seconds:.1f}s -> {report.collection}")


def _print_answer(ans, as_json: bool) -> None:
    if as_json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=2))
        return
    out.print(ans.answer)
    for note in ans.notices:
        out.print(f"[yellow]注意：{note}[/]")
    for c in ans.citations:
        out.print(f"[bold]\\[{c.n}][/] {c.doc_title} · {c.section}\n    {c.text}")
    if ans.related:
        out.print("[dim]相关段落：[/]" if ans.answerable is False else "[dim]另见：[/]")
        for c in ans.related[:3]:
            out.print(f"[dim]  - {c.section}：{c.text[:80]}…[/]")


@app.command()
def ask(
    question: Optional[str] = typer.Argument(None, help="The question; omit it for an interactive session."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer as JSON."),
    k: int = typer.Option(5, "--k", min=1, max=50, help="Passages to retrieve."),
):
    """Ask a question (or start an interactive session with follow-ups)."""
    from assistant.core import Assistant

    try:
        assistant = Assistant.from_settings(get_settings())
        if question is not None:
            _print_answer(assistant.ask(question, top_k=k), as_json)
            return
        history: list[dict] = []
        out.print("政策助手 — 输入问题（空行或 Ctrl-D 退出）/ ask a question (empty line or Ctrl-D to quit)")
        while True:
            try:
                q = input("问> ").strip()
            except (EOFError, KeyboardInterrupt):
                break
            if not q:
                break
            try:
                ans = assistant.ask(q, history=history, top_k=k)
            except AssistantError as exc:
                err.print(f"[red]{exc}[/]")
                continue
            _print_answer(ans, as_json)
            history += [{"role": "user", "content": q}, {"role": "assistant", "content": ans.answer}]
    except AssistantError as exc:
        _fail(exc)


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(5, "--k", min=1, max=50),
    as_json: bool = typer.Option(False, "--json"),
):
    """Show the passages hybrid search finds for a query."""
    from assistant.core import Assistant

    try:
        hits = Assistant.from_settings(get_settings()).search(query, k)
    except AssistantError as exc:
        _fail(exc)
    if as_json:
        rows = [{"passage_id": h.passage.id, "doc_id": h.passage.doc_id, "doc_title": h.passage.doc_title,
                 "section": h.passage.section_path, "text": h.passage.text, "score": round(h.score, 6)} for h in hits]
        print(json.dumps({"hits": rows}, ensure_ascii=False, indent=2))
        return
    for i, h in enumerate(hits, 1):
        out.print(f"[bold]{i}.[/] ({h.score:.3f}) {h.passage.section_path}\n    {h.passage.text}")


STATUS_STYLE = {"likely": "[green]可能适用[/]", "check": "[yellow]需核实[/]", "unlikely": "[red]可能不适用[/]"}
PROFILE_FIELDS = ("entity_type", "qualifications", "industry", "park", "district", "talent_category", "description")


def _load_profile(path: Path):
    from assistant.finder import Profile

    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        _fail(AssistantError(f"--profile {path}: cannot read the profile: {exc}"))
    if isinstance(data, dict) and isinstance(data.get("profile"), dict):
        data = data["profile"]  # the body of POST /v1/eligibility works too
    if not isinstance(data, dict) or "entity_type" not in data:
        _fail(AssistantError(f"--profile {path}: a JSON object with entity_type (enterprise | researcher | "
                             f"institution) is required; optional fields: {', '.join(PROFILE_FIELDS[1:])}"))
    unknown = sorted(set(data) - set(PROFILE_FIELDS))
    if unknown:
        _fail(AssistantError(f"--profile {path}: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(PROFILE_FIELDS)}"))
    quals = data.get("qualifications", [])
    if isinstance(quals, str):
        quals = [quals]
    if not isinstance(quals, list) or not all(isinstance(q, str) for q in quals):
        _fail(AssistantError(f"--profile {path}: qualifications must be a list of strings"))
    try:
        return Profile(entity_type=str(data["entity_type"]), qualifications=quals,
                       **{k: str(data.get(k) or "") for k in PROFILE_FIELDS[2:]})
    except AssistantError as exc:
        _fail(AssistantError(f"--profile {path}: {exc}"))


@app.command()
def match(
    profile: Path = typer.Option(..., "--profile", help="A JSON profile: {entity_type, qualifications, industry, park, "
                                                        "district, talent_category, description}."),
    limit: int = typer.Option(20, "--limit", min=1, max=50),
    as_json: bool = typer.Option(False, "--json", help="Print the same JSON as POST /v1/eligibility."),
):
    """政策匹配: the measures of the documents that apply to a profile, grouped, with conditions and citations."""
    from assistant.core import Assistant

    prof = _load_profile(profile)
    try:
        result = Assistant.from_settings(get_settings()).match(prof, limit)
    except AssistantError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    rec = result["profile"]["recognised"]
    out.print(f"[bold]识别到[/]：资质 {'、'.join(rec['targets']) or '—'}；行业 {'、'.join(rec['industries']) or '—'}；"
              f"园区 {'、'.join(rec['places']) or '—'}")
    if not result["measures"]:
        out.print("文件中没有找到与该资料对应的支持措施。")
        return
    n = 0
    for group in result["groups"]:
        out.print(f"\n[bold]■ {group['kind']}[/]")
        for m in group["measures"]:
            n += 1
            c = m["citation"]
            out.print(f"{n}. {m['title']}  {STATUS_STYLE[m['status']]}")
            out.print(f"   依据：{c['doc_title']} · {c['section']}")
            if m["why"]:
                out.print(f"   匹配：{'；'.join(m['why'])}")
            for cond in m["conditions"]:
                mark = {"met": "✓", "not_met": "✗", "unknown": "?"}[cond["status"]]
                out.print(f"   {mark} {cond['condition']}" + (f"（{cond['note']}）" if cond["note"] else ""))
            out.print(f"   原文：{c['quote']}", markup=False)


docs_app = typer.Typer(add_completion=False, no_args_is_help=True,
                       help="The policy library: add, list, remove and diff documents (incremental index updates).")
app.add_typer(docs_app, name="docs")
add_diff_command(docs_app)


def _load_meta(path: Optional[Path]) -> dict | None:
    if path is None:
        return None
    try:
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except (OSError, ValueError) as exc:
        _fail(AssistantError(f"--meta {path}: cannot read metadata: {exc}"))
    if not isinstance(data, dict):
        _fail(AssistantError(f"--meta {path}: metadata must be an object of fields (title, issuer, doc_number, …)"))
    return data


@docs_app.command("add")
def docs_add(
    paths: list[Path] = typer.Argument(..., help="Files to add (.txt .md .html .docx .pdf .xlsx .png .jpg); a new version "
                                                 "of a document keeps the previous one (superseded)."),
    meta: Optional[Path] = typer.Option(None, "--meta", help="Metadata (JSON or YAML) for the one file given."),
):
    """Copy documents into corpus/ and index them (only new or changed passages are embedded)."""
    from assistant.library.documents import add_documents

    try:
        with _ocr_progress():
            result = _with_bar(lambda bar: add_documents(get_settings(), paths, _load_meta(meta), progress=bar))
    except AssistantError as exc:
        _fail(exc)
    for d in result.documents:
        guessed = d.meta.get("guessed")
        err.print(f"{'updated' if d.replaced else 'added'} {d.doc_id}: {d.title} ({d.file})"
                  + (f" — guessed from the text: {guessed}" if guessed else "")
                  + (f" — the previous version is kept as {d.previous_version} (superseded; "
                     f"`docs diff {d.doc_id}` shows what changed)" if d.previous_version else ""))
        for w in d.warnings:
            err.print(f"[yellow]warning[/] {d.file}: {_plain(w)}")
    r = result.build
    err.print(f"index {r.status}: {r.passages} passages from {r.documents} documents; embedded {r.embedded}, "
              f"reused {r.reused}; {result.seconds:.1f}s")


@docs_app.command("list")
def docs_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """The indexed documents with their metadata and passage counts."""
    from assistant.library.documents import list_documents

    try:
        docs = list_documents(get_settings())
    except AssistantError as exc:
        _fail(exc)
    if as_json:
        print(json.dumps(docs, ensure_ascii=False, indent=2))
        return
    for d in docs:
        extra = " · ".join(str(d[k]) for k in ("doc_number", "issuer", "issued", "status", "expires") if d.get(k))
        guessed = f"  (guessed from the text: {d['guessed']})" if d.get("guessed") else ""
        out.print(f"[bold]{d['doc_id']}[/]  {d['title']}  ({d['passages']} passages){'  ' + extra if extra else ''}{guessed}")


@docs_app.command("remove")
def docs_remove(doc_id: str = typer.Argument(..., help="The doc_id shown by `docs list`.")):
    """Remove a document from corpus/ (kept in corpus/.removed/) and from the index."""
    from assistant.library.documents import remove_document

    try:
        result = remove_document(get_settings(), doc_id)
    except AssistantError as exc:
        _fail(exc)
    r = result.build
    err.print(f"removed {doc_id}; index {r.status}: {r.passages} passages from {r.documents} documents; "
              f"{result.seconds:.1f}s")


@app.command("backup")
def backup_cmd(dest: Path = typer.Argument(..., help="A new (or empty) directory for the backup.")):
    """Back up the library (corpus and metadata), the active index and the feedback; the server keeps serving."""
    from assistant.library.backup import backup

    try:
        r = backup(get_settings(), dest)
    except (AssistantError, OSError) as exc:
        _fail(exc)
    err.print(f"backed up {r.documents} documents ({r.files} files), {r.passages} passages and "
              f"{r.feedback_lines} feedback lines to {r.path} in {r.seconds:.1f}s")


@app.command("restore")
def restore_cmd(src: Path = typer.Argument(..., help="A directory written by `backup`.")):
    """Restore a backup in one step (running servers follow within PA_INDEX_POLL_SECONDS), or refuse saying why."""
    from assistant.library.backup import restore

    try:
        r = _with_bar(lambda bar: restore(get_settings(), src, progress=bar))
    except (AssistantError, OSError) as exc:
        _fail(exc)
    for note in r.notices:
        err.print(f"[yellow]notice:[/] {note}")
    err.print(f"restored {r.documents} documents ({r.files} files), {r.passages} passages and {r.feedback_lines} "
              f"feedback lines from {r.path} in {r.seconds:.1f}s; the corpus it replaced is kept at {r.kept}")


def _with_bar(fn):
    bar = _BuildBar()
    try:
        return fn(bar)
    finally:
        bar.close()


@app.command()
def serve(
    host: Optional[str] = typer.Option(None, "--host", help="Address to listen on (default PA_HOST, 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, "--port", min=0, max=65535,
                                       help="Port (default PA_PORT, 8000; a free one if that is busy)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="uvicorn worker processes (use a Chroma server for more than one)."),
):
    """Start the web service: chat UI at /ui, JSON API at /v1, docs at /docs."""
    from api.server import run

    settings = get_settings()
    explicit = port is not None or "port" in settings.model_fields_set
    bar = _BuildBar()
    try:
        run(settings, host=host or settings.host, port=settings.port if port is None else port,
            port_explicit=explicit, workers=workers, progress=bar)
    except AssistantError as exc:
        _fail(exc)
    finally:
        bar.close()


@app.command()
def mcp():
    """Serve the MCP tools over stdio, for desktop MCP clients (the same tools as /mcp on `serve`)."""
    from api.mcp import serve_stdio

    bar = _BuildBar()  # on stderr: stdout carries the protocol
    try:
        serve_stdio(get_settings(), progress=bar)
    finally:
        bar.close()


class _BuildBar:
    """A progress bar for the first-run index build, shown only if something gets embedded."""

    def __init__(self):
        self.bar = None
        self.task = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = Progress(TextColumn("building the index: embedding passages"), BarColumn(),
                                TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=err)
            self.bar.start()
            self.task = self.bar.add_task("embed", total=total)
        self.bar.update(self.task, completed=done, total=total)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def main() -> None:
    try:
        app()
    except AssistantError as exc:  # pragma: no cover - commands handle their own
        err.print(f"error: {exc}")
        sys.exit(2)
