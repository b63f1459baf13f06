"""The 审核 tab for staff (admin token): the review queue (questions grouped by meaning: refused,
downvoted or all), curated answers that need review, a form to write a curated answer by picking passages
from search, and charts of questions per day, the refusal rate and 👍/👎 over time."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import gradio as gr

from assistant.errors import AssistantError, InvalidQuery
from assistant.records import Database
from assistant.records import curated as store
from assistant.records.desk import Desk
from assistant.records.feedback import list_feedback
from assistant.records.queue import group
from assistant.records.questions import questions
from assistant.service.service import Service
from ui.access import require_admin

QUEUE_COLUMNS = ["问题", "次数", "拒答", "差评", "首次", "最近", "示例"]
REVIEW_COLUMNS = ["编号", "问题", "原因"]
STATUS = {"拒答": "refused", "差评": "downvoted", "全部": "all"}
DAYS = 30


def day_counts(times: list[str]) -> Counter:
    return Counter(t[:10] for t in times)


def charts(rows: list[dict], votes: list[dict]):
    """Questions per day, the refusal rate per day, 👍/👎 per day (matplotlib figures for gr.Plot)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    today = datetime.now(timezone.utc).date()
    days = [(today - timedelta(days=i)).isoformat() for i in range(DAYS - 1, -1, -1)]
    asked = day_counts([r["time"] for r in rows])
    refused = day_counts([r["time"] for r in rows if r["refused"]])
    up = day_counts([v["time"] for v in votes if v["vote"] == "up"])
    down = day_counts([v["time"] for v in votes if v["vote"] == "down"])
    labels = [d[5:] for d in days]
    figs = []
    for title, draw in (
            ("questions per day", lambda ax: ax.bar(labels, [asked[d] for d in days], color="#2563eb")),
            ("refusal rate", lambda ax: ax.plot(labels, [refused[d] / asked[d] if asked[d] else 0 for d in days],
                                                marker="o", color="#dc2626")),
            ("feedback", lambda ax: (ax.bar(labels, [up[d] for d in days], color="#16a34a", label="up"),
                                     ax.bar(labels, [down[d] for d in days], bottom=[up[d] for d in days],
                                            color="#ea580c", label="down"), ax.legend()))):
        fig, ax = plt.subplots(figsize=(6, 2.4))
        draw(ax)
        ax.set_title(title)
        ax.set_xticks(range(0, DAYS, 5), [labels[i] for i in range(0, DAYS, 5)])
        fig.tight_layout()
        figs.append(fig)
        plt.close(fig)
    return figs


def review_tab(service: Service, records: Database, desk: Desk) -> None:
    settings = service.settings

    def assistant():
        try:
            return service.get()
        except AssistantError as exc:
            raise gr.Error(f"索引尚未就绪：{exc}") from exc

    def load(token: str, status: str):
        require_admin(settings, token)
        a = assistant()
        since = datetime.now(timezone.utc) - timedelta(days=DAYS)
        try:
            rows = questions(records, "all", since)
            groups = group(questions(records, STATUS.get(status, "all"), since), a, settings.curated_min_similarity)
            review = store.listing(records, a, "needs_review")
            votes = list_feedback(records, since)
        except AssistantError as exc:
            raise gr.Error(f"记录数据库不可用：{exc}") from exc
        table = [[g["question"], g["count"], g["refused"], g["downvoted"], g["first_seen"][:16].replace("T", " "),
                  g["last_seen"][:16].replace("T", " "), " | ".join(g["examples"])] for g in groups]
        needs = [[c["id"], c["question"], c["review_reason"]] for c in review]
        per_day, refusal, feedback = charts(rows, votes)
        return table, needs, per_day, refusal, feedback, f"共 {len(rows)} 个问题（近 {DAYS} 天），{len(groups)} 组。"

    def search(token: str, query: str):
        require_admin(settings, token)
        if not (query or "").strip():
            raise gr.Error("请输入检索内容。")
        try:
            hits = assistant().search(query, 8)
        except AssistantError as exc:
            raise gr.Error(f"检索失败：{exc}") from exc
        choices = [(f"{h.passage.doc_title} · {h.passage.section_path} · {h.passage.text[:80]}", h.passage.id)
                   for h in hits]
        return gr.update(choices=choices, value=[])

    def save(token: str, question: str, answer: str, passage_ids: list[str]):
        require_admin(settings, token)
        try:
            created = store.create(records, assistant(), question or "", answer or "", list(passage_ids or []))
        except InvalidQuery as exc:
            raise gr.Error(f"未能保存：{exc}") from exc
        except AssistantError as exc:
            raise gr.Error(f"记录数据库不可用：{exc}") from exc
        desk.curated.invalidate()
        return f"已保存人工审核答案 #{created['id']}：相近的问题将直接得到此答案。"

    gr.Markdown("审核：查看用户提出的问题（按含义分组）、拒答和差评，为其撰写人工审核答案（引用检索到的段落），"
                "并查看每日问题数、拒答率和反馈趋势。需要管理口令。")
    token = gr.Textbox(label="管理口令", type="password", elem_id="pa-review-token")
    with gr.Row():
        status = gr.Radio(list(STATUS), value="拒答", label="队列", elem_id="pa-review-status", scale=3)
        refresh = gr.Button("刷新", variant="primary", elem_id="pa-review-load", scale=1, min_width=80)
    info = gr.Markdown("", elem_id="pa-review-info")
    queue = gr.Dataframe(headers=QUEUE_COLUMNS, value=[], interactive=False, wrap=True, elem_id="pa-review-queue")
    needs = gr.Dataframe(headers=REVIEW_COLUMNS, value=[], interactive=False, wrap=True, label="需复核的人工答案",
                         elem_id="pa-review-needs")
    with gr.Row():
        per_day = gr.Plot(label="每日问题数", elem_id="pa-review-per-day")
        refusal = gr.Plot(label="拒答率", elem_id="pa-review-refusal")
        feedback = gr.Plot(label="好评 / 差评", elem_id="pa-review-feedback")
    with gr.Accordion("撰写人工审核答案", open=True, elem_id="pa-review-form"):
        question = gr.Textbox(label="问题", max_length=settings.max_question_chars, elem_id="pa-review-question")
        with gr.Row():
            query = gr.Textbox(label="检索段落", scale=4, elem_id="pa-review-query")
            find = gr.Button("检索", scale=1, min_width=80, elem_id="pa-review-search")
        passages = gr.CheckboxGroup(choices=[], label="引用段落（勾选）", elem_id="pa-review-passages")
        answer = gr.Textbox(label="答案（数字、金额、日期须出自所选段落；用 [1] [2] 标注引用）", lines=4,
                            max_length=5000, elem_id="pa-review-answer")
        save_btn = gr.Button("保存", variant="primary", elem_id="pa-review-save")
        saved = gr.Markdown("", elem_id="pa-review-saved")
    refresh.click(load, [token, status], [queue, needs, per_day, refusal, feedback, info])
    find.click(search, [token, query], passages)
    save_btn.click(save, [token, question, answer, passages], saved)
