"""The chat page: streamed answers with citation cards, example questions, a staff panel, feedback.

Handlers call the assistant in-process (the same one the API uses) through `assistant.service.service.Service`.
"""
from __future__ import annotations

import logging
from typing import Any, Iterator

import gradio as gr

from assistant.service.service import Service
from assistant.answer import Answer
from assistant.errors import AssistantError, IndexNotReady, InvalidQuery
from assistant.records import Database
from assistant.records.desk import Desk
from assistant.records.feedback import record_feedback
from evals.workbench import Jobs
from ui.docs_tab import docs_tab
from ui.evals_tab import evals_tab
from ui.match_tab import match_tab
from ui.review_tab import review_tab
from ui.render import answer_markdown, plain
from ui.versions_view import CSS as VERSIONS_CSS

log = logging.getLogger(__name__)

EXAMPLES: dict[str, list[str]] = {
    "企业 · 支持与补贴": [
        "长沙对高新技术企业有哪些培育措施？",
        "企业加大研发投入有什么支持？",
        "科技型中小企业可以得到哪些支持？",
    ],
    "科研人员 · 人才政策": [
        "长沙如何引进和培育高层次科技人才？",
        "对青年科技人才有哪些支持？",
        "科研人员转化科技成果有什么激励？",
    ],
    "工作人员 · 指标目标": [
        "到2025年高新技术企业数量目标是多少？",
        "2025年全社会研发经费投入强度目标是多少？",
        "2025年技术合同成交额目标是多少？",
    ],
}

CSS = """
.pa-cards {margin-top: .6em; border-top: 1px solid var(--border-color-primary); padding-top: .4em}
.pa-cards-title {font-size: .85em; color: var(--body-text-color-subdued); margin-bottom: .3em}
.pa-card {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .5em .7em; margin: .4em 0;
          background: var(--background-fill-secondary); overflow-wrap: anywhere}
.pa-card-head {font-weight: 600}
.pa-num {color: var(--color-accent)}
.pa-meta {font-weight: 400; font-size: .85em; color: var(--body-text-color-subdued)}
.pa-sec {font-size: .85em; color: var(--body-text-color-subdued); margin: .15em 0 .3em}
.pa-text mark {background: #fff3a3; color: inherit; padding: 0 .1em}
.pa-ctx summary {cursor: pointer; font-size: .85em; color: var(--color-accent)}
.pa-ctx-p {font-size: .85em; margin: .3em 0; opacity: .8}
.pa-ctx-self {opacity: 1; border-left: 3px solid var(--color-accent); padding-left: .4em}
.pa-ctx-sec {font-size: .9em; color: var(--body-text-color-subdued)}
.pa-view {font-weight: 400; font-size: .85em; margin-left: .4em; color: var(--color-accent)}
.pa-notice {margin-top: .4em; font-size: .9em; color: #b45309}
.pa-notice-detail {font-size: .85em; opacity: .8}
#pa-examples button {white-space: normal; text-align: left}
@media (max-width: 640px) { .pa-card {padding: .4em .5em} #pa-title h1 {font-size: 1.3em} }
""" + VERSIONS_CSS

STAFF_COLUMNS = ["排名", "综合分", "BM25", "向量", "章节", "段落"]


def _assistant(service: Service):
    try:
        return service.get()
    except IndexNotReady as exc:
        raise gr.Error(f"索引尚未就绪：{exc}") from exc


def staff_rows(assistant, query: str, top_k: int) -> list[list[Any]]:
    try:
        hits = assistant.search(query, top_k)
    except AssistantError as exc:
        log.warning("staff panel search failed: %s", exc)
        return []
    def src(h, name):  # blank when that retriever did not find the passage at all
        return round(h.sources[name], 4) if h.sources.get(name) else ""

    return [[i, round(h.score, 4), src(h, "bm25"), src(h, "dense"), h.passage.section_path, h.passage.text[:160]]
            for i, h in enumerate(hits, 1)]


def build_ui(service: Service, jobs: Jobs, records: Database | None = None, desk: Desk | None = None) -> gr.Blocks:
    settings = service.settings
    records = records or Database(settings.database_config())
    desk = desk or Desk.of(records, settings.question_log_config(), settings.curated_min_similarity)
    shown_max = 2 * max(settings.max_history_messages, 1)  # messages kept on screen (and sent back to the page)

    def respond(message: str, chat: list[dict], conv: list[dict], last: dict | None) -> Iterator[tuple]:
        """`chat` is what the page shows, kept on the server (a gr.State): the page never sends it back,
        so a client cannot make the server echo a history of its own making."""
        message = (message or "").strip()
        chat = list(chat or [])[-shown_max:]
        if not message:
            gr.Warning("请输入问题。")
            yield gr.update(), chat, chat, conv, last, gr.update(), gr.update()
            return
        assistant = _assistant(service)
        try:
            logged: list[int | None] = []
            events = desk.ask_stream(assistant, message, conv, channel="ui", on_logged=logged.append)
        except InvalidQuery as exc:
            raise gr.Error(f"问题无法处理：{exc}") from exc
        except AssistantError as exc:
            raise gr.Error(f"出错了：{exc}") from exc
        # the user's text, the streamed text and everything from a document are shown as text, never as markup
        chat = (chat + [{"role": "user", "content": plain(message)}, {"role": "assistant", "content": "…"}])[-shown_max:]
        streamed = ""
        final: Answer | None = None
        yield "", chat, chat, conv, last, gr.update(), gr.update()
        for ev in events:
            if ev.type == "delta":
                streamed += ev.text
                chat[-1] = {"role": "assistant", "content": plain(streamed).replace("\n", "<br>")}
                yield "", chat, chat, conv, last, gr.update(), gr.update()
            elif ev.type == "answer":
                final = ev.answer
        if final is None:
            raise gr.Error("回答未能完成，请重试。")
        chat[-1] = {"role": "assistant", "content": answer_markdown(final, assistant)}
        said = final.answer[:settings.max_message_chars]  # what a follow-up is read against
        conv = (conv + [{"role": "user", "content": message}, {"role": "assistant", "content": said}])[-shown_max:]
        last = {"question": message, "answer": final.to_dict(), "question_id": logged[-1] if logged else None}
        rows = staff_rows(assistant, final.standalone_question or message, settings.top_k)
        info = plain(f"检索问题：{final.standalone_question or message}　模式：{final.mode}　" + (
            f"提示：{'；'.join(final.notices)}" if final.notices else ""))
        yield "", chat, chat, conv, last, gr.update(value=rows), gr.update(value=info)

    def clear():
        return [], [], [], None, gr.update(value=[]), gr.update(value="")

    def feedback(vote: str, comment: str, last: dict | None):
        if not last:
            raise gr.Error("还没有可以评价的回答：请先提问。")
        try:
            record_feedback(records, question=last["question"], answer=last["answer"], vote=vote,
                            comment=comment or "", question_id=last.get("question_id"))
        except AssistantError as exc:
            raise gr.Error(f"反馈未能保存：{exc}") from exc
        gr.Info("感谢反馈，已记录。")
        return ""

    with gr.Blocks(title="政策助手 · 长沙科技创新政策问答", fill_width=False,
                   delete_cache=(3600, 3600)) as demo:  # uploads in the Gradio cache are deleted after an hour
        gr.Markdown("# 政策助手\n长沙市“十四五”科技创新规划及相关政策问答。每个回答都附有可展开上下文的引用段落；"
                    "文档中没有的内容会直接说明。", elem_id="pa-title")
        with gr.Tab("问答", id="chat", elem_id="pa-tab-chat"):
            conv = gr.State([])
            last = gr.State(None)
            shown = gr.State([])  # the chat as shown, kept here (see respond)
            chatbot = gr.Chatbot(label="对话", height=520, elem_id="pa-chat", buttons=["copy"],
                                 feedback_options=None, placeholder="请在下方输入问题，或点击示例问题。",
                                 latex_delimiters=[])  # document text is never rendered as formulas either
            with gr.Row(equal_height=True):
                msg = gr.Textbox(placeholder="例如：到2025年高新技术企业数量目标是多少？", show_label=False, scale=5,
                                 max_length=settings.max_question_chars, elem_id="pa-input", submit_btn=False)
                send = gr.Button("发送", variant="primary", scale=1, min_width=80, elem_id="pa-send")
                reset = gr.Button("新对话", scale=1, min_width=80, elem_id="pa-clear")
            with gr.Accordion("示例问题", open=True, elem_id="pa-examples"):
                example_buttons = []
                for group, questions in EXAMPLES.items():
                    gr.Markdown(f"**{group}**")
                    with gr.Row():
                        for q in questions:
                            example_buttons.append((gr.Button(q, size="sm", min_width=160), q))
            with gr.Accordion("反馈", open=False, elem_id="pa-feedback"):
                comment = gr.Textbox(label="意见（可选）", lines=2, max_length=2000)
                with gr.Row():
                    up = gr.Button("👍 有帮助", elem_id="pa-up", min_width=100)
                    down = gr.Button("👎 没帮助", elem_id="pa-down", min_width=100)
            with gr.Accordion("工作人员面板：上一问题的检索结果", open=False, elem_id="pa-staff"):
                staff_info = gr.Markdown("")
                staff = gr.Dataframe(headers=STAFF_COLUMNS, value=[], interactive=False, wrap=True,
                                     elem_id="pa-staff-table")

        with gr.Tab("政策匹配", id="match", elem_id="pa-tab-match"):
            match_tab(service, records)
        with gr.Tab("文档", id="docs", elem_id="pa-tab-docs"):
            docs_load, docs_outputs = docs_tab(service)
        with gr.Tab("评测", id="evals", elem_id="pa-tab-evals"):
            evals_tab(service, jobs)
        with gr.Tab("审核", id="review", elem_id="pa-tab-review"):
            review_tab(service, records, desk)

        outputs = [msg, chatbot, shown, conv, last, staff, staff_info]
        inputs = [msg, shown, conv, last]
        msg.submit(respond, inputs, outputs)
        send.click(respond, inputs, outputs)
        reset.click(clear, None, [chatbot, shown, conv, last, staff, staff_info])
        for button, q in example_buttons:
            button.click(lambda q=q: q, None, msg).then(respond, inputs, outputs)
        up.click(lambda c, s: feedback("up", c, s), [comment, last], comment)
        down.click(lambda c, s: feedback("down", c, s), [comment, last], comment)
        demo.load(docs_load, None, docs_outputs)
    # a full queue refuses new events ("queue is full") instead of making everyone wait behind a flood
    demo.queue(max_size=settings.ui_queue_max, default_concurrency_limit=settings.ui_concurrency)
    return demo
