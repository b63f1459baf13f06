"""A self-contained HTML report of one evaluation run (`results.jsonl` + `summary.json`).

    python -m evals.report RUN_DIR        # writes RUN_DIR/report.html

The page has the overall and per-category metrics, an inline SVG chart of the key metrics per
category, a latency histogram, the settings used, and every failed item with a one-line diagnosis.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import math
import re
from html import escape
from pathlib import Path
from typing import Any

from retrieval.text import normalize

NOT_RETRIEVED = "not retrieved"
NOT_CITED = "retrieved but not cited"
FACTS_MISSING = "cited but facts missing"
WRONGLY_REFUSED = "wrongly refused"
SHOULD_REFUSE = "should have refused"

DIAGNOSIS_LABELS = {
    NOT_RETRIEVED: "未检索到证据",
    NOT_CITED: "检索到但未引用",
    FACTS_MISSING: "已引用但要点缺失",
    WRONGLY_REFUSED: "误拒答",
    SHOULD_REFUSE: "应拒答却作答",
}

METRIC_LABELS = {
    "items": "题数",
    "hit@1": "Hit@1",
    "hit@5": "Hit@5",
    "mrr": "MRR",
    "ndcg@10": "nDCG@10",
    "citation_precision": "引用准确率",
    "fact_recall": "要点召回",
    "refusal_acc": "拒答正确率",
    "false_refusal": "误拒率",
    "median_citation_chars": "引用中位长度",
    "latency_p50_ms": "延迟P50(ms)",
    "latency_p95_ms": "延迟P95(ms)",
}

CATEGORY_LABELS = {
    "fact": "事实", "figure": "数字", "list": "列举", "paraphrase": "改写",
    "english": "英文", "multi": "多段", "unanswerable": "不可回答", "followup": "追问",
}

CHART_METRICS = ("hit@1", "hit@5", "citation_precision", "fact_recall", "refusal_acc")
CJK_FONTS = ("WenQuanYi Zen Hei", "Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC",
             "SimHei", "Microsoft YaHei", "PingFang SC", "Droid Sans Fallback")


# ---------------------------------------------------------------- loading / diagnosis

def load_run(run_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Rows of `results.jsonl` and the `summary.json` of a run directory (ValueError naming what is missing)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ValueError(f"run directory not found: {run_dir}")
    results, summary = run_dir / "results.jsonl", run_dir / "summary.json"
    for p in (results, summary):
        if not p.is_file():
            raise ValueError(f"missing file: {p}")
    rows = [json.loads(line) for line in results.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows, json.loads(summary.read_text(encoding="utf-8"))


def should_answer(row: dict[str, Any]) -> bool:
    return row.get("category") != "unanswerable"


def refused(row: dict[str, Any]) -> bool:
    m = row.get("metrics") or {}
    return bool(m["refused"]) if "refused" in m else not row.get("answerable", True)


def holds_evidence(text: str, evidence: list[str]) -> bool:
    t = normalize(text or "")
    return any(normalize(e) in t for e in evidence if e)


def diagnose(row: dict[str, Any]) -> str | None:
    """Why an item failed (one of the constants above), or None if it succeeded."""
    if not should_answer(row):
        return SHOULD_REFUSE if not refused(row) else None
    if refused(row):
        return WRONGLY_REFUSED
    evidence = row.get("evidence") or []
    if any(holds_evidence(c.get("text", ""), evidence) for c in row.get("citations") or []):
        fact_recall = (row.get("metrics") or {}).get("fact_recall", 1.0)
        return FACTS_MISSING if fact_recall is not None and fact_recall < 1 else None
    if any(holds_evidence(c.get("text", ""), evidence) for c in row.get("related") or []):
        return NOT_CITED
    return NOT_RETRIEVED


# ---------------------------------------------------------------- charts

def _cjk_font() -> str | None:
    from matplotlib import font_manager
    available = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in available), None)


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Creator": None, "Date": None})
    text = buf.getvalue()
    text = text[text.find("<svg"):]  # drop the XML prolog / DOCTYPE so it can be inlined
    return re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.DOTALL)


def _rc(font: str | None) -> dict[str, Any]:
    rc = {"svg.fonttype": "path", "svg.hashsalt": "policy-assistant-report"}
    if font:
        rc["font.sans-serif"] = [font, "DejaVu Sans"]
        rc["font.family"] = "sans-serif"
    return rc


@contextlib.contextmanager
def _plotting(font: str | None):
    """matplotlib settings for one chart, without touching global state or logging font-weight noise."""
    import matplotlib
    log = logging.getLogger("matplotlib.font_manager")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with matplotlib.rc_context(_rc(font)):
            yield
    finally:
        log.setLevel(level)


def metrics_chart_svg(by_category: dict[str, dict[str, Any]]) -> str:
    """Grouped bar chart of CHART_METRICS per category, as an inline <svg> string ('' if nothing to plot)."""
    from matplotlib.figure import Figure

    cats = sorted(by_category)
    metrics = [k for k in CHART_METRICS if any(isinstance(by_category[c].get(k), (int, float)) for c in cats)]
    if not cats or not metrics:
        return ""
    font = _cjk_font()
    with _plotting(font):
        fig = Figure(figsize=(max(6.0, 1.1 * len(cats) + 2), 3.6))
        ax = fig.add_subplot()
        width = 0.8 / len(metrics)
        for j, key in enumerate(metrics):
            values = [by_category[c].get(key) for c in cats]
            values = [v if isinstance(v, (int, float)) else math.nan for v in values]
            xs = [i + (j - (len(metrics) - 1) / 2) * width for i in range(len(cats))]
            ax.bar(xs, values, width, label=METRIC_LABELS.get(key, key) if font else key)
        ax.set_xticks(range(len(cats)))
        ax.set_xticklabels([CATEGORY_LABELS.get(c, c) if font else c for c in cats])
        ax.set_ylim(0, 1.05)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8, ncol=len(metrics), loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
        return _svg(fig)


def latency_svg(rows: list[dict[str, Any]]) -> str:
    """Histogram of per-item latency (ms), as an inline <svg> string ('' if no latencies)."""
    from matplotlib.figure import Figure

    lat = [r["latency_ms"] for r in rows if isinstance(r.get("latency_ms"), (int, float))]
    if not lat:
        return ""
    font = _cjk_font()
    with _plotting(font):
        fig = Figure(figsize=(6, 2.8))
        ax = fig.add_subplot()
        ax.hist(lat, bins=min(30, max(5, len(lat) // 4)), color="#4c72b0")
        ax.set_xlabel("延迟 (ms)" if font else "latency (ms)")
        ax.set_ylabel("题数" if font else "items")
        ax.grid(axis="y", alpha=0.3)
        return _svg(fig)


# ---------------------------------------------------------------- HTML

CSS = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei","WenQuanYi Zen Hei",sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}
th,td{border:1px solid #ddd;padding:.3em .6em;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}
td.l{text-align:left}.up{color:#1a7f37}.down{color:#c62828}
.fail{border:1px solid #e3e3e3;border-radius:6px;padding:.6em 1em;margin:1em 0}
.fail h3{margin:.2em 0;font-size:1em}.diag{display:inline-block;background:#fdecea;color:#b3261e;border-radius:4px;padding:0 .5em;font-size:.85em}
.muted{color:#777;font-size:.85em}pre{white-space:pre-wrap;background:#fafafa;padding:.5em;margin:.3em 0;font-family:inherit}
ul{margin:.2em 0}li.ev{background:#eef7ee}svg{max-width:100%;height:auto}code{font-size:.9em}
"""


def fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) >= 10 else f"{v:.3f}"
    return str(v)


def metric_keys(*tables: dict[str, Any]) -> list[str]:
    """Known metrics in their usual order, then any others (numeric or None) that appear."""
    seen: list[str] = []
    for t in tables:
        for k, v in t.items():
            if k not in seen and (v is None or isinstance(v, (int, float))):
                seen.append(k)
    order = list(METRIC_LABELS)
    return sorted(seen, key=lambda k: (order.index(k) if k in order else len(order), k))


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>{escape(title)}</title><style>{CSS}</style></head>\n<body>\n{body}\n</body></html>\n")


def _summary_table(summary: dict[str, Any]) -> str:
    overall = summary.get("metrics") or {}
    cats = summary.get("by_category") or {}
    keys = metric_keys(overall, *cats.values())
    head = "".join(f"<th>{escape(METRIC_LABELS.get(k, k))}</th>" for k in keys)
    lines = [f"<table><tr><th>类别</th>{head}</tr>"]
    for name, m in [("全部", overall)] + [(f"{CATEGORY_LABELS.get(c, c)} ({c})", cats[c]) for c in sorted(cats)]:
        cells = "".join(f"<td>{escape(fmt(m.get(k)))}</td>" for k in keys)
        lines.append(f"<tr><td>{escape(name)}</td>{cells}</tr>")
    lines.append("</table>")
    return "\n".join(lines)


def _settings_table(summary: dict[str, Any]) -> str:
    settings = dict(summary.get("settings") or {})
    if "python" in summary:
        settings.setdefault("python", summary["python"])
    if not settings:
        return '<p class="muted">（无）</p>'
    rows = "".join(
        f'<tr><td>{escape(str(k))}</td><td class="l">'
        f"{escape(v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))}</td></tr>"
        for k, v in settings.items())
    return f"<table><tr><th>设置</th><th>值</th></tr>{rows}</table>"


def _excerpt(text: str, limit: int = 240) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit] + "…"


def _failure(row: dict[str, Any], diagnosis: str) -> str:
    e = lambda v: escape(str(v if v is not None else ""))
    evidence = row.get("evidence") or []
    parts = [
        (f'<div class="fail"><h3>{e(row.get("id"))} · {e(CATEGORY_LABELS.get(row.get("category"), row.get("category")))}'
         f' <span class="diag">{e(DIAGNOSIS_LABELS.get(diagnosis, diagnosis))} · {e(diagnosis)}</span></h3>'),
        f"<p><b>问题：</b>{e(row.get('question'))}</p>",
    ]
    sq = row.get("standalone_question")
    if sq and sq != row.get("question"):
        parts.append(f"<p><b>独立问题：</b>{e(sq)}</p>")
    parts.append(f"<p><b>应含要点：</b>{e('；'.join(row.get('expected_facts') or [])) or '（无）'}</p>")
    parts.append(f"<p><b>证据：</b>{e('；'.join(evidence)) or '（无）'}</p>")
    parts.append(f"<p><b>回答</b>{'（拒答）' if refused(row) else ''}：</p><pre>{e(row.get('answer'))}</pre>")
    if row.get("notices"):
        parts.append(f"<p class=\"muted\">提示：{e('；'.join(map(str, row['notices'])))}</p>")
    cites = row.get("citations") or []
    if cites:
        items = "".join(
            f'<li{" class=ev" if holds_evidence(c.get("text", ""), evidence) else ""}>'
            f'[{e(c.get("n"))}] <b>{e(c.get("section"))}</b> — {e(_excerpt(c.get("text", "")))}</li>'
            for c in cites)
        parts.append(f"<p><b>引用：</b></p><ul>{items}</ul>")
    else:
        parts.append("<p><b>引用：</b>（无）</p>")
    found = [c for c in row.get("related") or [] if holds_evidence(c.get("text", ""), evidence)]
    if found:
        items = "".join(f'<li class=ev><b>{e(c.get("section"))}</b> — {e(_excerpt(c.get("text", "")))}</li>'
                        for c in found)
        parts.append(f"<p><b>含证据的相关段落（未引用）：</b></p><ul>{items}</ul>")
    m = row.get("metrics") or {}
    parts.append(f'<p class="muted">{e(", ".join(f"{k}={fmt(v)}" for k, v in m.items()))}'
                 f' · 延迟 {e(fmt(row.get("latency_ms")))} ms</p></div>')
    return "\n".join(parts)


def render_report(rows: list[dict[str, Any]], summary: dict[str, Any], title: str = "评测报告") -> str:
    failures = [(r, d) for r in rows if (d := diagnose(r))]
    counts: dict[str, int] = {}
    for _, d in failures:
        counts[d] = counts.get(d, 0) + 1
    count_rows = "".join(f"<tr><td>{escape(DIAGNOSIS_LABELS[d])} ({escape(d)})</td><td>{n}</td></tr>"
                         for d, n in counts.items())
    chart = metrics_chart_svg(summary.get("by_category") or {})
    hist = latency_svg(rows)
    body = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="muted">共 {len(rows)} 题，失败 {len(failures)} 题。</p>',
        "<h2>指标汇总</h2>", _summary_table(summary),
        "<h2>各类别关键指标</h2>", chart or '<p class="muted">（无数据）</p>',
        "<h2>延迟分布</h2>", hist or '<p class="muted">（无数据）</p>',
        "<h2>运行设置</h2>", _settings_table(summary),
        f"<h2>失败条目（{len(failures)}）</h2>",
    ]
    if count_rows:
        body.append(f"<table><tr><th>诊断</th><th>题数</th></tr>{count_rows}</table>")
    body += [_failure(r, d) for r, d in failures] or ['<p class="muted">全部通过。</p>']
    return page(title, "\n".join(body))


def write_report(out_dir: str | Path, rows: list[dict[str, Any]], summary: dict[str, Any]) -> Path:
    """Write `out_dir/report.html` and return its path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "report.html"
    path.write_text(render_report(rows, summary, title=f"评测报告 · {out_dir.name}"), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evals.report", description="Write RUN_DIR/report.html.")
    ap.add_argument("run_dir")
    args = ap.parse_args(argv)
    try:
        rows, summary = load_run(args.run_dir)
    except ValueError as exc:
        ap.error(str(exc))
    print(write_report(args.run_dir, rows, summary))


if __name__ == "__main__":
    main()
