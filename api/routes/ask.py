"""Questions and search: POST /v1/ask, /v1/ask/stream, /v1/search."""
from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from api.convert import answer_out, hit_out
from api.deps import AssistantDep, DeskDep
from api.schemas import AnswerOut, AskRequest, Problem, SearchRequest, SearchResponse
from api.sse import SSE_HEADERS, event
from assistant.answer import StreamEvent
from assistant.errors import BudgetExceeded

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["问答 ask"])

ERRORS = {413: {"model": Problem, "description": "Body over PA_MAX_BODY_BYTES"},
          422: {"description": "A field is invalid (`detail[].loc` names it), or the request would cost more than "
                               "PA_MAX_REQUEST_CPU_SECONDS / PA_MAX_RESPONSE_BYTES allow (`detail[].type`: "
                               "budget_exceeded)"},
          503: {"model": Problem, "description": "The index is not loaded yet"}}


def history_of(req: AskRequest) -> list[dict]:
    """The wire messages as the assistant takes them (it validates and trims them: PA_MAX_HISTORY_MESSAGES)."""
    return [m.model_dump() for m in req.history]


@router.post("/ask", response_model=AnswerOut, responses=ERRORS, summary="Ask a question; get a cited answer")
def ask(req: AskRequest, assistant: AssistantDep, desk: DeskDep) -> AnswerOut:
    answer, _ = desk.ask(assistant, req.question, history_of(req), req.top_k, req.filters, channel="api")
    return answer_out(answer)


def sse_events(events: Iterator[StreamEvent]) -> Iterator[str]:
    try:
        for ev in events:
            if ev.type == "citations":
                yield event("citations", {"citations": [asdict(c) for c in ev.citations]})
            elif ev.type == "delta":
                yield event("delta", {"text": ev.text})
            elif ev.type == "answer" and ev.answer is not None:
                yield event("answer", answer_out(ev.answer).model_dump())
    except BudgetExceeded as exc:  # the request's own cost: say which limit
        yield event("error", {"detail": str(exc)})
    except Exception as exc:  # noqa: BLE001 - the status line is gone; report in-band, no traceback
        log.exception("stream failed")
        yield event("error", {"detail": f"the answer could not be completed: {type(exc).__name__}"})


@router.post("/ask/stream", responses={**ERRORS, 200: {"content": {"text/event-stream": {}}, "description": (
        "Server-Sent Events: `citations` {citations}, then `delta` {text} events, then `answer` "
        "(the complete answer JSON, authoritative), or `error` {detail}.")}},
             summary="Ask a question; stream the answer as Server-Sent Events")
def ask_stream(req: AskRequest, assistant: AssistantDep, desk: DeskDep) -> StreamingResponse:
    events = desk.ask_stream(assistant, req.question, history_of(req), req.top_k, req.filters, channel="stream")
    return StreamingResponse(sse_events(events), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/search", response_model=SearchResponse, responses=ERRORS, tags=["检索 search"],
             summary="Hybrid search (BM25 + vectors) over the passages")
def search(req: SearchRequest, assistant: AssistantDep) -> SearchResponse:
    return SearchResponse(hits=[hit_out(h) for h in assistant.search(req.query, req.top_k, req.filters)])
