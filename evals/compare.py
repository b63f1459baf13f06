"""Compare two evaluation runs (directories written by `python -m evals run --out DIR`).

    python -m evals.compare RUN_A RUN_B [--html compare.html]

Metric deltas are B − A, overall and per category (from each run's summary.json). Items are matched
by id and judged per item on hit@1, fact_recall and refusal correctness (results.jsonl): an item
regressed if some check got worse and none got better, improved in the opposite case, and is "mixed"
when both happened.
"""
from __future__ import annotations

import argparse
import json
import unicodedata
from html import escape
from pathlib import Path
from typing import Any

from evals.report import (
    CATEGORY_LABELS,
    METRIC_LABELS,
    diagnose,
    fmt,
    load_run,
    metric_keys,
    page,
    refused,
)

LOWER_IS_BETTER = {"false_refusal", "latency_p50_ms", "latency_p95_ms"}
NEUTRAL = {"items", "median_citation_chars"}
CATEGORY_METRICS = ("hit@1", "hit@5", "mrr", "citation_precision", "fact_recall", "refusal_acc", "false_refusal")
EPS = 1e-9


# ---------------------------------------------------------------- computation

def _delta(key: str, a: Any, b: Any) -> dict[str, Any]:
    num = lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
    d = round(b - a, 4) if num(a) and num(b) else None
    better = None
    if d is not None and abs(d) > EPS and key not in NEUTRAL:
        better = (d < 0) if key in LOWER_IS_BETTER else (d > 0)
    return {"a": a, "b": b, "delta": d, "better": better}


def _metric_deltas(a: dict[str, Any], b: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: _delta(k, a.get(k), b.get(k)) for k in metric_keys(a, b)}


def item_checks(row: dict[str, Any]) -> dict[str, float]:
    """Per-item success checks (1.0 is best): refusal correctness, and for answerable items hit@1 and fact_recall."""
    if row.get("category") == "unanswerable":
        return {"refusal_ok": float(refused(row))}
    m = row.get("metrics") or {}
    return {"refusal_ok": float(not refused(row)),
            "hit@1": float(m.get("hit@1") or 0.0),
            "fact_recall": float(m.get("fact_recall") or 0.0)}


def item_ok(row: dict[str, Any]) -> bool:
    return all(v >= 1 - EPS for v in item_checks(row).values())


def _item_change(ra: dict[str, Any], rb: dict[str, Any]) -> dict[str, Any] | None:
    ca, cb = item_checks(ra), item_checks(rb)
    changes = [{"check": k, "a": ca.get(k), "b": cb.get(k)}
               for k in dict.fromkeys([*ca, *cb])
               if ca.get(k) is not None and cb.get(k) is not None and abs(ca[k] - cb[k]) > EPS]
    if not changes:
        return None
    return {"id": rb.get("id"), "category": rb.get("category"), "question": rb.get("question", ""),
            "changes": changes, "ok_a": item_ok(ra), "ok_b": item_ok(rb),
            "diagnosis_a": diagnose(ra), "diagnosis_b": diagnose(rb),
            "answer_a": ra.get("answer", ""), "answer_b": rb.get("answer", "")}


def compare(dir_a: str | Path, dir_b: str | Path) -> dict[str, Any]:
    """Deltas (B − A) overall and per category, settings that differ, and items that regressed / improved."""
    rows_a, sum_a = load_run(dir_a)
    rows_b, sum_b = load_run(dir_b)
    set_a, set_b = sum_a.get("settings") or {}, sum_b.get("settings") or {}
    cats_a, cats_b = sum_a.get("by_category") or {}, sum_b.get("by_category") or {}
    by_a = {r["id"]: r for r in rows_a}
    by_b = {r["id"]: r for r in rows_b}
    result: dict[str, Any] = {
        "a": str(dir_a), "b": str(dir_b),
        "settings_changed": {k: {"a": set_a.get(k), "b": set_b.get(k)}
                             for k in dict.fromkeys([*set_a, *set_b]) if set_a.get(k) != set_b.get(k)},
        "overall": _metric_deltas(sum_a.get("metrics") or {}, sum_b.get("metrics") or {}),
        "by_category": {c: _metric_deltas(cats_a.get(c) or {}, cats_b.get(c) or {})
                        for c in sorted({*cats_a, *cats_b})},
        "regressed": [], "improved": [], "mixed": [],
        "only_a": [i for i in by_a if i not in by_b],
        "only_b": [i for i in by_b if i not in by_a],
        "ok_count": {"a": sum(map(item_ok, rows_a)), "b": sum(map(item_ok, rows_b))},
    }
    for item_id, rb in by_b.items():
        if item_id not in by_a:
            continue
        change = _item_change(by_a[item_id], rb)
        if change is None:
            continue
        worse = any(c["b"] < c["a"] for c in change["changes"])
        better = any(c["b"] > c["a"] for c in change["changes"])
        result["mixed" if worse and better else "regressed" if worse else "improved"].append(change)
    return result


# ---------------------------------------------------------------- text

def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _table(rows: list[list[str]]) -> str:
    widths = [max(_width(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for n, r in enumerate(rows):
        cells = [c + " " * (w - _width(c)) if i == 0 else " " * (w - _width(c)) + c
                 for i, (c, w) in enumerate(zip(r, widths))]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _signed(d: dict[str, Any]) -> str:
    if d["delta"] is None:
        return "–"
    if abs(d["delta"]) <= EPS:
        return "0"
    mark = {True: " ✓", False: " ✗", None: ""}[d["better"]]
    return f"{d['delta']:+.4g}{mark}"


def _change_text(c: dict[str, Any]) -> str:
    return ", ".join(f"{x['check']} {x['a']:.3g}→{x['b']:.3g}" for x in c["changes"])


def _setting(v: Any) -> str:
    return fmt(v) if v is None or isinstance(v, (str, int, float)) else json.dumps(v, ensure_ascii=False)


def _diag_text(c: dict[str, Any]) -> str:
    return f"{c['diagnosis_a'] or 'ok'} → {c['diagnosis_b'] or 'ok'}"


def format_text(result: dict[str, Any]) -> str:
    lines = [f"A: {result['a']}", f"B: {result['b']}  (Δ = B − A; ✓ better, ✗ worse)", ""]
    if result["settings_changed"]:
        lines.append("设置变化:")
        lines += [f"  {k}: {_setting(v['a'])} → {_setting(v['b'])}" for k, v in result["settings_changed"].items()]
        lines.append("")
    lines.append("总体指标:")
    rows = [["metric", "A", "B", "Δ"]]
    rows += [[k, fmt(d["a"]), fmt(d["b"]), _signed(d)] for k, d in result["overall"].items()]
    lines += [_table(rows), ""]
    cats = result["by_category"]
    if cats:
        keys = [k for k in CATEGORY_METRICS if any(k in m for m in cats.values())]
        lines.append("各类别 Δ:")
        rows = [["category"] + keys]
        rows += [[c] + [_signed(m[k]) if k in m else "–" for k in keys] for c, m in cats.items()]
        lines += [_table(rows), ""]
    ok = result["ok_count"]
    lines.append(f"通过题数: A {ok['a']} → B {ok['b']}")
    for key, title in (("regressed", "退步"), ("improved", "改进"), ("mixed", "有升有降")):
        items = result[key]
        lines.append(f"{title} ({len(items)}):")
        for c in items:
            lines.append(f"  {c['id']} [{c['category']}] {_change_text(c)}; {_diag_text(c)}")
            lines.append(f"      {c['question']}")
    for key, title in (("only_a", "仅在 A 中"), ("only_b", "仅在 B 中")):
        if result[key]:
            lines.append(f"{title}: {', '.join(result[key])}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- HTML

def _delta_cell(d: dict[str, Any]) -> str:
    cls = {True: ' class="up"', False: ' class="down"', None: ""}[d["better"]]
    return f"<td{cls}>{escape(_signed(d))}</td>"


def _items_html(title: str, items: list[dict[str, Any]]) -> str:
    parts = [f"<h2>{escape(title)}（{len(items)}）</h2>"]
    if not items:
        return parts[0] + '<p class="muted">（无）</p>'
    parts.append("<table><tr><th>编号</th><th>类别</th><th>问题</th><th>变化</th><th>诊断 A → B</th></tr>")
    for c in items:
        parts.append(
            f"<tr><td>{escape(str(c['id']))}</td><td>{escape(CATEGORY_LABELS.get(c['category'], str(c['category'])))}</td>"
            f'<td class="l">{escape(c["question"])}'
            f'<details><summary class="muted">回答</summary><p class="muted">A：</p><pre>{escape(c["answer_a"])}</pre>'
            f'<p class="muted">B：</p><pre>{escape(c["answer_b"])}</pre></details></td>'
            f'<td class="l">{escape(_change_text(c))}</td><td class="l">{escape(_diag_text(c))}</td></tr>')
    parts.append("</table>")
    return "\n".join(parts)


def render_html(result: dict[str, Any]) -> str:
    body = ["<h1>评测对比</h1>",
            f'<p>A：<code>{escape(result["a"])}</code><br>B：<code>{escape(result["b"])}</code></p>',
            '<p class="muted">Δ = B − A；绿色为变好，红色为变差。</p>']
    if result["settings_changed"]:
        rows = "".join(f"<tr><td>{escape(k)}</td><td>{escape(_setting(v['a']))}</td><td>{escape(_setting(v['b']))}</td></tr>"
                       for k, v in result["settings_changed"].items())
        body.append(f"<h2>设置变化</h2><table><tr><th>设置</th><th>A</th><th>B</th></tr>{rows}</table>")
    rows = "".join(f"<tr><td>{escape(METRIC_LABELS.get(k, k))}</td><td>{escape(fmt(d['a']))}</td>"
                   f"<td>{escape(fmt(d['b']))}</td>{_delta_cell(d)}</tr>" for k, d in result["overall"].items())
    body.append(f"<h2>总体指标</h2><table><tr><th>指标</th><th>A</th><th>B</th><th>Δ</th></tr>{rows}</table>")
    cats = result["by_category"]
    if cats:
        keys = [k for k in CATEGORY_METRICS if any(k in m for m in cats.values())]
        head = "".join(f"<th>{escape(METRIC_LABELS.get(k, k))}</th>" for k in keys)
        rows = "".join(
            f"<tr><td>{escape(CATEGORY_LABELS.get(c, c))} ({escape(c)})</td>"
            + "".join(_delta_cell(m[k]) if k in m else "<td>–</td>" for k in keys) + "</tr>"
            for c, m in cats.items())
        body.append(f"<h2>各类别 Δ</h2><table><tr><th>类别</th>{head}</tr>{rows}</table>")
    ok = result["ok_count"]
    body.append(f"<p>通过题数：A {ok['a']} → B {ok['b']}</p>")
    body += [_items_html("退步", result["regressed"]), _items_html("改进", result["improved"]),
             _items_html("有升有降", result["mixed"])]
    for key, title in (("only_a", "仅在 A 中"), ("only_b", "仅在 B 中")):
        if result[key]:
            body.append(f"<p>{escape(title)}：{escape(', '.join(map(str, result[key])))}</p>")
    return page("评测对比", "\n".join(body))


def write_html(result: dict[str, Any], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(result), encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m evals.compare", description="Compare two evaluation runs.")
    ap.add_argument("run_a")
    ap.add_argument("run_b")
    ap.add_argument("--html", help="also write a self-contained HTML page here")
    args = ap.parse_args(argv)
    try:
        result = compare(args.run_a, args.run_b)
    except ValueError as exc:
        ap.error(str(exc))
    print(format_text(result), end="")
    if args.html:
        print(f"written to {write_html(result, args.html)}")


if __name__ == "__main__":
    main()
