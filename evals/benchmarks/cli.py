"""The benchmark commands of `python -m evals` (bench, load, soak, integrations-bench, library-bench,
hardening-bench, ocr-bench, scale-bench), registered on the evals app by `evals/cli.py`."""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Optional

import typer
from rich.table import Table

from evals.console import console
from evals.console import load_set_or_exit as _load_set

commands = typer.Typer()
DEFAULT_SET = Path(__file__).resolve().parents[1] / "sets" / "plan_dev.jsonl"


@commands.command()
def bench(
    set_path: Path = typer.Argument(DEFAULT_SET, help="JSONL set used for latency and retrieval quality."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here too."),
    latency_only: bool = typer.Option(False, "--latency-only", help="Only the latency table (query embedding, "
                                      "search, ask) on the configured index; nothing is built."),
):
    """Index build (cold, unchanged), search/ask latency beside the query embedding's, peak RSS, fusion
    variants, naive baseline."""
    from assistant.settings import get_settings
    from evals.benchmarks.plan import latency_only as only_latency
    from evals.benchmarks.plan import run_bench

    if latency_only:
        result = only_latency(get_settings(), _load_set(set_path))
    else:
        result = run_bench(_load_set(set_path), get_settings().corpus_dir)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")


def _write_json(result: dict, out: Optional[Path]) -> None:
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"written to {out}")


def _server(url: Optional[str], env: Optional[dict[str, str]] = None):
    """A running server (--url: no pid known) or one started here on the current index, rate limiting off."""
    from contextlib import nullcontext

    from evals.benchmarks.load import LOAD_ENV, serve

    return nullcontext((url, None)) if url else serve({**LOAD_ENV, **(env or {})})


def _loadavg() -> list[float]:
    """The machine's 1/5/15-minute load averages: numbers measured on a busy machine are read with them."""
    return [round(x, 2) for x in os.getloadavg()]


def _warn_errors(name: str, r: dict) -> None:
    if r["5xx"] or r["transport_errors"]:
        console.print(f"[red]{name}: {r['5xx']} answers with 5xx, transport errors {r['transport_errors']}[/]")
    if r["status_codes"].get("429"):
        console.print(f"[yellow]{name}: {r['status_codes']['429']} answers were 429 (rate limited): "
                      "the server at --url has PA_RATE_LIMIT_PER_MINUTE set[/]")


@commands.command()
def load(
    url: Optional[str] = typer.Option(None, "--url", help="A running server; omitted: start one on the current "
                                                          "(warm) index, with rate limiting off."),
    endpoint: list[str] = typer.Option(["search", "ask"], "--endpoint", help="search and/or ask (repeatable)."),
    clients: int = typer.Option(8, "--clients", "--concurrency", min=1, max=1000,
                                help="Concurrent closed-loop clients."),
    duration: float = typer.Option(30.0, "--duration", min=1.0, help="Seconds per endpoint (measured)."),
    warmup: float = typer.Option(3.0, "--warmup", min=0.0, help="Seconds of load before each measurement, not counted."),
    timeout: float = typer.Option(60.0, "--timeout", min=1.0, help="Client timeout per request (seconds)."),
    set_path: Path = typer.Option(DEFAULT_SET, "--set", help="Questions to send (cycled)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here too."),
):
    """Concurrent HTTP load on /v1/search and /v1/ask: count, requests/s, p50/p95/p99, status codes, 5xx."""
    from evals.benchmarks.load import ENDPOINTS, run_load

    bad = [e for e in endpoint if e not in ENDPOINTS]
    if bad:
        console.print(f"[red]error:[/] --endpoint {bad[0]!r}; allowed: {', '.join(ENDPOINTS)}")
        raise typer.Exit(2)
    questions = [i.question for i in _load_set(set_path)]
    results: dict = {"cpus": os.cpu_count(), "loadavg_before": _loadavg()}
    with _server(url) as served:
        base, ready_s = served
        if ready_s is not None:
            results["server_ready_s"] = round(ready_s, 2)
        for ep in endpoint:
            results[ep] = r = run_load(base, ep, questions, clients, duration, warmup=warmup, timeout=timeout)
            console.print(f"{r['endpoint']}: {r['count']} requests in {r['duration_s']} s, {r['rps']} req/s, "
                          f"p50 {r['p50_ms']} ms, p95 {r['p95_ms']} ms, p99 {r['p99_ms']} ms, "
                          f"status {r['status_codes']}, 5xx {r['5xx']}")
            _warn_errors(ep, r)
    results["loadavg_after"] = _loadavg()
    _write_json(results, out)


@commands.command()
def soak(
    requests: int = typer.Option(10000, "--requests", min=1, help="Requests in all (ask and search mixed)."),
    clients: int = typer.Option(8, "--clients", "--concurrency", min=1, max=1000),
    ask_share: float = typer.Option(0.5, "--ask-share", min=0.0, max=1.0, help="Share of /v1/ask (rest /v1/search)."),
    sample_every: int = typer.Option(500, "--sample-every", min=1, help="Sample the server's RSS every N requests."),
    url: Optional[str] = typer.Option(None, "--url", help="A running server; omitted: start one on the current "
                                                          "(warm) index, with rate limiting off."),
    pid: Optional[int] = typer.Option(None, "--pid", help="With --url: the server's process id, for RSS samples."),
    max_growth: Optional[float] = typer.Option(None, "--max-growth-pct",
                                               help="Exit 1 if RSS grew more than this after the warm-up."),
    set_path: Path = typer.Option(DEFAULT_SET, "--set", help="Questions to send (cycled)."),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON report (default evals/runs/soak-<time>.json)."),
):
    """A fixed number of mixed requests; the server's RSS every N requests and its growth after a 10% warm-up."""
    from evals.benchmarks.load import run_soak

    questions = [i.question for i in _load_set(set_path)]
    result: dict = {"cpus": os.cpu_count(), "loadavg_before": _loadavg()}
    with _server(url) as served:
        server_pid = getattr(served, "pid", None) or pid
        if served[1] is not None:
            result["server_ready_s"] = round(served[1], 2)
        if server_pid is None:
            console.print("[yellow]no server pid (--url without --pid): memory is not sampled[/]")
        result.update(run_soak(served[0], questions, requests, clients, ask_share, server_pid, sample_every))
    result["loadavg_after"] = _loadavg()
    _warn_errors("soak", result)
    rss = result["rss"]
    if rss:
        console.print(f"RSS: first {rss['first_mb']} MB, after warm-up ({rss['after_warmup_at']} requests) "
                      f"{rss['after_warmup_mb']} MB, last {rss['last_mb']} MB, peak {rss['peak_mb']} MB; "
                      f"growth after warm-up {rss['growth_after_warmup_pct']}%")
    console.print(f"{result['count']} requests in {result['duration_s']} s ({result['rps']} req/s), "
                  f"status {result['status_codes']}, 5xx {result['5xx']}")
    _write_json(result, out or Path("evals/runs") / f"soak-{time.strftime('%Y%m%d-%H%M%S')}.json")
    if max_growth is not None and rss and rss["growth_after_warmup_pct"] > max_growth:
        console.print(f"[red]RSS grew {rss['growth_after_warmup_pct']}% after the warm-up (limit {max_growth}%)[/]")
        raise typer.Exit(1)


@commands.command("integrations-bench")
def integrations_bench(
    url: Optional[str] = typer.Option(None, "--url", help="A running server; omitted: start one on the current "
                                                          "(warm) index, with rate limiting off and a Dify key."),
    dify_key: Optional[str] = typer.Option(None, "--dify-key", help="With --url: its PA_DIFY_API_KEY (without it "
                                                                    "the Dify endpoint is not measured)."),
    rounds: int = typer.Option(20, "--rounds", min=1, help="Times each question is sent to each pair (measured)."),
    questions: int = typer.Option(10, "--questions", min=1, help="Questions of the set used."),
    set_path: Path = typer.Option(DEFAULT_SET, "--set", help="Questions to send."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here too."),
):
    """p50/p95 of each MCP tool and of POST /dify/retrieval against the /v1 call it wraps, in one run."""
    import secrets

    from evals.benchmarks.integrations import run_integrations_bench

    texts = [i.question for i in _load_set(set_path)][:questions]
    key = dify_key if url else secrets.token_urlsafe(16)
    result: dict = {"cpus": os.cpu_count(), "loadavg_before": _loadavg(), "rounds": rounds, "questions": len(texts)}
    with _server(url, {"PA_DIFY_API_KEY": key or ""}) as served:
        result["pairs"] = pairs = run_integrations_bench(served[0], texts, rounds, key)
    result["loadavg_after"] = _loadavg()
    table = Table(title="integrations: p50 / p95 ms, wrapper vs the /v1 call")
    for column in ("wrapper", "p50", "p95", "/v1 call", "p50 ", "p95 ", "p50 overhead", "of it: client check"):
        table.add_column(column, justify="left" if "/" in column or column == "wrapper" else "right")
    for r in pairs.values():
        w, d, check = r["wrapper_ms"], r["v1_ms"], r.get("client_validation_p50_ms")
        table.add_row(r["wrapper"], f"{w['p50_ms']}", f"{w['p95_ms']}", r["v1"], f"{d['p50_ms']}", f"{d['p95_ms']}",
                      f"{r['overhead_p50_ms']:+} ms ({r['overhead_p50_pct']:+}%)", "" if check is None else f"{check}")
    console.print(table)
    _write_json(result, out)


@commands.command("library-bench")
def library_bench(
    passages: int = typer.Option(2000, "--passages", min=50, help="Size of the generated corpus."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here too."),
):
    """Index throughput (passages/s) on a generated corpus: cold, incremental, one `docs add`."""
    from evals.benchmarks.library import run_library_bench

    result = run_library_bench(passages)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    print(text)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text + "\n", encoding="utf-8")


@commands.command("hardening-bench")
def hardening_bench(
    seconds: float = typer.Option(15.0, "--seconds", min=2.0, help="Seconds per scenario."),
    attackers: int = typer.Option(2, "--attackers", min=1, max=32, help="Clients repeating the worst request."),
    before: Optional[Path] = typer.Option(None, "--before", help="Another checkout (e.g. a worktree of the "
                                                                  "version before) measured in the same run."),
    f2_chars: int = typer.Option(20_000, "--f2-chars", min=1000, help="Length of finding 2's one-line document."),
    scenarios: str = typer.Option("", "--scenarios", help="Comma-separated scenarios to run (default: all)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here too."),
):
    """RSS and p95 of a normal question while the worst request of each hardening finding runs beside it."""
    from evals.benchmarks.hardening import SCENARIOS, run_hardening_bench

    chosen = tuple(n.strip() for n in scenarios.split(",") if n.strip()) or SCENARIOS
    if unknown := [n for n in chosen if n not in SCENARIOS]:
        raise typer.BadParameter(f"unknown scenarios {unknown}; allowed: {', '.join(SCENARIOS)}")
    result = run_hardening_bench(Path(__file__).resolve().parents[1], before, seconds, attackers, f2_chars, chosen)
    table = Table(title="a normal question beside the worst request of each finding")
    for col in ("version", "scenario", "p50 ms", "p95 ms", "answers", "normal status", "attack status", "peak RSS MB"):
        table.add_column(col)
    for version in ("before", "after"):
        for name in result["scenarios"] if version in result else ():
            r = result[version][name]
            table.add_row(version, name, str(r["normal_p50_ms"]), str(r["normal_p95_ms"]), str(r["normal_count"]),
                          str(r["normal_status"]), str(r["attack_status"]), str(r["peak_rss_mb"]))
    console.print(table)
    _write_json(result, out)


@commands.command("ocr-bench")
def ocr_bench(
    pages: int = typer.Option(20, "--pages", min=1, max=200, help="Pages of the generated scanned document."),
    before: Optional[str] = typer.Option(None, "--before", help="A git revision (e.g. main): compare this checkout's "
                                                                "OCR speed and text with that revision's, in one run."),
    rounds: int = typer.Option(2, "--rounds", min=1, max=10, help="With --before: turns each side takes."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the results as JSON here too."),
):
    """OCR pages/s and the index time of an n-page scanned document beside the same pages with a text layer;
    with --before REV, this checkout's OCR against REV's on the same files."""
    from evals.benchmarks.ocr import run_ocr_before, run_ocr_bench

    if before is None:
        _write_json(run_ocr_bench(pages), out)
        return
    try:
        result = run_ocr_before(before, pages, rounds)
    except ValueError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2)
    _write_json(result, out)


@commands.command("scale-bench")
def scale_bench(
    passages: str = typer.Option("1000,10000,50000", "--passages", help="Library sizes in passages, comma-separated."),
    cache_dir: Path = typer.Option(Path.home() / ".cache" / "pa-scale-bench", "--cache-dir",
                                   help="Vector cache kept between runs (PA_EMBED_CACHE_DIR of every build)."),
    json_only: bool = typer.Option(False, "--json", help="Print only the JSON {sizes: [...]}, in the order given."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the full results as JSON here too."),
):
    """A growing policy library (the plan plus invented policies): build, start-up, RSS, search/ask p95, adding
    one document to a running server, disk and the plan's hit@1 at each size, with ratios to the smallest."""
    from assistant.settings import get_settings
    from evals.benchmarks.library import RATIO_KEYS, run_scale_bench

    try:
        sizes = [int(n) for n in passages.split(",") if n.strip()]
    except ValueError:
        console.print(f"[red]error:[/] --passages {passages!r}: expected sizes like 1000,10000,50000")
        raise typer.Exit(2)
    if not sizes or min(sizes) < 200:
        console.print(f"[red]error:[/] --passages {passages!r}: at least one size, each at least 200")
        raise typer.Exit(2)
    result = run_scale_bench(sizes, cache_dir, get_settings().corpus_dir, _load_set(DEFAULT_SET))
    if json_only:
        keys = ("passages",) + RATIO_KEYS
        print(json.dumps({"sizes": [{k: r[k] for k in keys} for r in result["sizes"]]}, ensure_ascii=False))
    else:
        _write_json(result, out)
