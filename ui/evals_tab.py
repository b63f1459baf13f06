"""The 评测 tab for staff: upload an evaluation set, watch its progress, read the summary, the failures
and the HTML report. Needs the admin token. Runs share the API's background jobs."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import gradio as gr

from assistant.service.service import Service
from assistant.errors import AssistantError
from assistant.errors import DatasetError, InvalidQuery
from assistant.records.evalitems import named_sets, set_path
from evals.dataset import load_set
from evals.report import diagnose
from evals.workbench import Jobs
from ui.access import require_admin, require_uploaded
from ui.render import plain

METRICS = ["hit@1", "hit@5", "mrr", "ndcg@10", "citation_precision", "fact_recall", "refusal_acc", "false_refusal",
           "latency_p50_ms", "latency_p95_ms"]


def evals_tab(service: Service, jobs: Jobs) -> None:
    settings = service.settings

    def start(token: str, file_path: str | None, named: str | None = None):
        require_admin(settings, token)
        if not file_path and not named:
            raise gr.Error("请先选择评测集文件（.jsonl / .csv / .xlsx），或已保存的评测集。")
        try:
            path = require_uploaded(file_path) if file_path else set_path(settings.data_dir, named)
            items = load_set(path, settings.max_question_chars)
        except (DatasetError, InvalidQuery) as exc:
            raise gr.Error(f"评测集有误：{exc}") from exc
        try:
            assistant = service.get()
        except AssistantError as exc:
            raise gr.Error(f"索引尚未就绪：{exc}") from exc
        meta = {"set": Path(file_path).name if file_path else named, "embedder": assistant.info.embedder, "fusion": settings.fusion,
                "top_k": settings.top_k, "mode": "llm" if assistant.llm is not None else "extractive",
                "index": assistant.info.collection}
        job = jobs.start(assistant, items, meta)
        return job.run_id, f"已开始：{job.run_id}，共 {job.total} 题。"

    def poll(run_id: str | None):
        job = jobs.get(run_id) if run_id else None
        if job is None:
            return gr.update(), gr.update(), gr.update(), gr.update(), gr.Timer(active=False)
        if job.status == "running":
            return f"进行中：{job.done}/{job.total}", gr.update(), gr.update(), gr.update(), gr.Timer(active=True)
        if job.status == "failed":
            return plain(f"失败：{job.error}"), gr.update(), gr.update(), gr.update(), gr.Timer(active=False)
        m = job.summary["metrics"]
        rows = [[k, m.get(k)] for k in METRICS if k in m]
        failures = []
        for line in (job.out / "results.jsonl").read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            d = diagnose(r)
            if d:
                failures.append([r["id"], r["question"], d, r["answer"][:120]])
        copy = Path(tempfile.mkdtemp(prefix="pa-report-")) / f"report-{job.run_id}.html"
        shutil.copy(job.out / "report.html", copy)
        return f"完成：{job.total} 题（{job.run_id}）", rows, failures, str(copy), gr.Timer(active=False)

    gr.Markdown("评测：上传评测集（JSONL，或含 问题、标准答案要点、依据原文、类别 列的 CSV / XLSX），"
                "在后台运行，完成后查看指标、失败项和 HTML 报告。需要管理口令。")
    token = gr.Textbox(label="管理口令", type="password", elem_id="pa-eval-token")
    file = gr.File(label="评测集", file_types=[".jsonl", ".csv", ".xlsx"], type="filepath", elem_id="pa-eval-file")
    start_btn = gr.Button("开始评测", variant="primary", elem_id="pa-eval-start")
    with gr.Row():  # the named sets: PA_DATA_DIR/evals/NAME.jsonl, where 审核 turns fixes into items
        named = gr.Dropdown(choices=named_sets(settings.data_dir), label="已保存的评测集（审核修正生成）", value=None,
                            allow_custom_value=False, elem_id="pa-eval-named", scale=3)
        refresh = gr.Button("刷新列表", elem_id="pa-eval-named-refresh", scale=1, min_width=80)
        run_named = gr.Button("运行所选评测集", elem_id="pa-eval-named-start", scale=1, min_width=80)
    run_id = gr.State(None)
    status = gr.Markdown("", elem_id="pa-eval-status")
    summary = gr.Dataframe(headers=["指标", "数值"], value=[], interactive=False, elem_id="pa-eval-summary")
    failures = gr.Dataframe(headers=["编号", "问题", "诊断", "回答"], value=[], interactive=False, wrap=True,
                            elem_id="pa-eval-failures")
    report = gr.File(label="HTML 报告", interactive=False, elem_id="pa-eval-report")
    timer = gr.Timer(1.0, active=False)  # polls only while a run is going
    start_btn.click(start, [token, file], [run_id, status]).then(lambda: gr.Timer(active=True), None, timer)
    refresh.click(lambda: gr.update(choices=named_sets(settings.data_dir)), None, named)
    run_named.click(lambda t, n: start(t, None, n), [token, named], [run_id, status]).then(
        lambda: gr.Timer(active=True), None, timer)
    timer.tick(poll, run_id, [status, summary, failures, report, timer])
