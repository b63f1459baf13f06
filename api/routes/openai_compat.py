"""OpenAI-compatible chat: POST /v1/chat/completions (streaming and not), GET /v1/models.

The last user message is the question and earlier messages are the history. The answer text ends with a
参考来源 list, and the structured citations travel in an extra `citations` field (on the response, or on
the final chunk when streaming), so chat clients that only show text keep the references, and
integrators get them as data. The reply's text is inert Markdown (assistant.integrations.markdown): the chat
clients render Markdown, and what a document says must not become a tag, a link or an image there.
"""
from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import asdict
from typing import Any, Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.deps import AssistantDep, DeskDep, SettingsDep
from api.routes.ask import ERRORS
from api.schemas import ChatMessage, ChatRequest
from api.sse import SSE_HEADERS, event
from assistant.answer import Answer
from assistant.errors import InvalidQuery
from assistant.integrations.markdown import MarkdownStream, markdown_safe, sources_safe
from assistant.integrations.records import SOURCES_HEADER, curated_mark
from assistant.language.validation import check_message, check_text

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["OpenAI 兼容 OpenAI-compatible"])

_SOURCES_RE = re.compile(r"\n+" + SOURCES_HEADER + r".*\Z", re.S)


def _text(m: ChatMessage) -> str:
    if m.content is None:
        return ""
    if isinstance(m.content, str):
        return m.content
    return "".join(part.text or "" for part in m.content if part.type in {"text", "input_text"})


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """(question, history): the last user message, and the user/assistant turns before it."""
    last = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last is None:
        raise InvalidQuery("messages contain no user message; the last user message is the question", field="messages")
    history = []
    for m in messages[:last]:
        if m.role in {"user", "assistant"}:
            text = _text(m)
            if m.role == "assistant":
                text = _SOURCES_RE.sub("", text)  # our own reference list is not part of the conversation
            history.append({"role": m.role, "content": text})
    return _text(messages[last]), history


def _extra(answer: Answer) -> dict[str, Any]:
    return {"citations": [asdict(c) for c in answer.citations],
            "answerable": answer.answerable, "mode": answer.mode, "notices": answer.notices, "source": answer.source}


def _usage(question: str, text: str) -> dict[str, int]:
    return {"prompt_tokens": len(question), "completion_tokens": len(text), "total_tokens": len(question) + len(text)}


@router.get("/models", summary="The assistant as an OpenAI model")
def models(settings: SettingsDep) -> dict[str, Any]:
    return {"object": "list", "data": [{"id": settings.model_name, "object": "model", "created": 1735689600,
                                        "owned_by": "policy-assistant"}]}


@router.post("/chat/completions", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": (
        "A chat.completion object, or with `stream: true` Server-Sent Events of chat.completion.chunk objects "
        "ending with `data: [DONE]`.")}}, summary="OpenAI-compatible chat completion with citations")
def chat_completions(req: ChatRequest, assistant: AssistantDep, settings: SettingsDep, desk: DeskDep):
    question, history = split_messages(req.messages)
    check_text("messages", question, settings.max_question_chars)  # the field at fault is `messages`
    for m in history:
        check_message("messages", m["content"], settings.max_message_chars)
    cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    model = settings.model_name
    if not req.stream:
        answer, _ = desk.ask(assistant, question, history, channel="openai")
        text = markdown_safe(answer.answer) + curated_mark(answer) + sources_safe(answer.citations)
        return {"id": cid, "object": "chat.completion", "created": created, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": _usage(question, text), **_extra(answer)}

    events = desk.ask_stream(assistant, question, history, channel="openai")

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}
        return event(None, body)

    def stream() -> Iterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        shown, safe = "", MarkdownStream()
        try:
            for ev in events:
                if ev.type == "delta":
                    shown += ev.text
                    if piece := safe.feed(ev.text):
                        yield chunk({"content": piece})
                elif ev.type == "answer" and ev.answer is not None:
                    answer = ev.answer
                    if not answer.answer.startswith(shown):  # the checked answer differs from what streamed
                        tail = safe.flush() + "\n\n（以下为核对后的回答）\n" + markdown_safe(answer.answer)
                    else:
                        tail = safe.feed(answer.answer[len(shown):]) + safe.flush()
                    tail += curated_mark(answer) + sources_safe(answer.citations)
                    if tail:
                        yield chunk({"content": tail})
                    yield chunk({}, "stop", usage=_usage(question, answer.answer + tail), **_extra(answer))
        except Exception as exc:  # noqa: BLE001 - status already sent: close the stream cleanly
            log.exception("chat stream failed")
            yield chunk({"content": f"\n\n（回答未能完成：{type(exc).__name__}）"}, "stop")
        yield event(None, "[DONE]")

    return StreamingResponse(stream(), media_type="text/event-stream", headers=SSE_HEADERS)
