"""Scripted OpenAI-compatible HTTP server: the test stand-in for an LLM endpoint.

No model can run in this project's tests, so this is the ONLY allowed stand-in. It speaks the real
wire protocol (JSON chat completions and SSE streaming) over real HTTP, so the real `openai` client
is exercised end to end:

    with OpenAITestServer() as server:
        server.push("scripted answer", Reply(status=429, headers={"Retry-After": "0"}))
        client = openai.OpenAI(base_url=server.url, api_key="k", max_retries=0)

Queued replies are consumed FIFO, one per POST /v1/chat/completions. With an empty queue the reply
is "grounded": built from the <passage n=".."> blocks of the prompt (see `default_reply`).

By hand: `python tests/openai_test_server.py --port 9000` serves forever in grounded mode.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from helpers import ThreadedServer

NO_ANSWER = "资料中没有相关内容。"
REWRITE_SYSTEM_PREFIX = "你是检索查询改写器"
_PASSAGE_RE = re.compile(r'<passage n="(\d+)"(?:[^>"]|"[^"]*")*>(.*?)</passage>', re.S)  # ">" ok in quotes
_SENTENCE_RE = re.compile(r"^.*?[。；]", re.S)
_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
                404: "not_found_error", 429: "rate_limit_exceeded"}


@dataclass
class Reply:
    content: str = ""             # assistant text
    status: int = 200             # non-2xx -> OpenAI-style error JSON {"error": {...}}
    delay: float = 0.0            # seconds before the response starts (client timeout tests)
    chunk_delay: float = 0.0      # seconds between streamed chunks
    chunk_size: int = 4           # characters per streamed delta
    raw: str | None = None        # body sent verbatim (JSON or, when streaming, the SSE body)
    headers: dict[str, str] = field(default_factory=dict)  # e.g. {"Retry-After": "0"}
    finish_reason: str = "stop"


def _text(content) -> str:
    """Message content may be a string or a list of {"type": "text", "text": ...} parts."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _last(messages: list[dict], role: str) -> str:
    return next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == role), "")


def _first_sentence(text: str) -> str:
    text = text.strip()
    match = _SENTENCE_RE.match(text)
    return (match.group(0) if match else text)[:120]


def _after_last(lines: list[str], prefix: str) -> str | None:
    hits = [line[len(prefix):].strip() for line in lines if line.startswith(prefix)]
    return hits[-1] if hits else None


def default_reply(body: dict) -> str:
    """Grounded answer "<s1>[1]<s2>[2]" from passages 1-2, or the rewritten query for a rewrite call."""
    messages = body.get("messages") or []
    user = _last(messages, "user")
    if _last(messages, "system").startswith(REWRITE_SYSTEM_PREFIX):
        lines = [line.strip() for line in user.splitlines()]
        follow_up = _after_last(lines, "追问：")
        if follow_up is None:
            return user.strip()
        previous = _after_last(lines, "上一问：")
        return f"{previous} {follow_up}" if previous else follow_up
    passages = {n: text for n, text in _PASSAGE_RE.findall(user)}
    if "1" not in passages:
        return NO_ANSWER
    answer = f"{_first_sentence(passages['1'])}[1]"
    if "2" in passages:
        answer += f"{_first_sentence(passages['2'])}[2]"
    return answer


JUDGE_PREFIXES = ("你是检索结果审核员", "你是检索结果排序器")  # the relevance verdict, the LLM reranker


def is_judgement(body: dict) -> bool:
    return _last(body.get("messages") or [], "system").startswith(JUDGE_PREFIXES)


def default_judgement(body: dict) -> str:
    """A lenient relevance verdict (the passages answer; tests that need a "no" push one), or a ranking
    that keeps the given order."""
    messages = body.get("messages") or []
    if _last(messages, "system").startswith(JUDGE_PREFIXES[1]):
        n = len(_PASSAGE_RE.findall(_last(messages, "user")))
        return json.dumps({"ranking": list(range(1, n + 1))})
    return json.dumps({"answerable": True, "passages": [1], "reason": "scripted default verdict"})


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    err_type = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    code = "invalid_api_key" if status == 401 else err_type
    return JSONResponse({"error": {"message": message, "type": err_type, "code": code}},
                        status_code=status, headers=headers)


class OpenAITestServer:
    def __init__(self, model: str = "test-model", api_key: str | None = None):
        self.model, self.api_key = model, api_key
        self.requests: list[dict] = []  # answer and rewrite requests
        self.judgements: list[dict] = []  # relevance-verdict and rerank requests (answered from their own queue)
        self._queue: deque[Reply] = deque()
        self._judge_queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadedServer | None = None
        self.url = ""
        self.app = self._build_app()

    def push(self, *replies: Reply | str) -> None:
        with self._lock:
            self._queue.extend(Reply(content=r) if isinstance(r, str) else r for r in replies)

    def push_judgement(self, *replies: Reply | str) -> None:
        """Replies for the next verdict / rerank requests (default: `default_judgement`)."""
        with self._lock:
            self._judge_queue.extend(Reply(content=r) if isinstance(r, str) else r for r in replies)

    def reset(self) -> None:
        with self._lock:
            self._queue.clear()
            self._judge_queue.clear()
            self.requests.clear()
            self.judgements.clear()

    def _next(self, body: dict) -> Reply:
        judged = is_judgement(body)
        with self._lock:
            queue = self._judge_queue if judged else self._queue
            if queue:
                return queue.popleft()
        return Reply(content=default_judgement(body) if judged else default_reply(body))

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        async def models(request: Request):
            if not self._authorized(request):
                return _error(401, "Incorrect API key provided.")
            return {"object": "list",
                    "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "test"}]}

        @app.post("/v1/chat/completions")
        async def chat(request: Request):
            try:
                body = json.loads(await request.body())
            except ValueError:
                return _error(400, "request body is not valid JSON")
            with self._lock:
                (self.judgements if is_judgement(body) else self.requests).append(body)
            if not self._authorized(request):
                return _error(401, "Incorrect API key provided.")  # no queued reply is consumed
            reply = self._next(body)
            if reply.delay:
                await asyncio.sleep(reply.delay)
            stream = bool(body.get("stream"))
            if reply.raw is not None:
                media = "text/event-stream" if stream else "application/json"
                return Response(reply.raw, status_code=reply.status, media_type=media, headers=reply.headers)
            if not 200 <= reply.status < 300:
                return _error(reply.status, reply.content or f"scripted error {reply.status}", reply.headers)
            if stream:
                return StreamingResponse(self._sse(body, reply), media_type="text/event-stream",
                                         status_code=reply.status, headers=reply.headers)
            return JSONResponse(self._completion(body, reply), status_code=reply.status, headers=reply.headers)

        return app

    def _authorized(self, request: Request) -> bool:
        return not self.api_key or request.headers.get("authorization") == f"Bearer {self.api_key}"

    def _completion(self, body: dict, reply: Reply) -> dict:
        prompt = sum(len(_text(m.get("content"))) for m in body.get("messages") or [])
        return {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model") or self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.content},
                             "finish_reason": reply.finish_reason}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": len(reply.content),
                          "total_tokens": prompt + len(reply.content)}}

    async def _sse(self, body: dict, reply: Reply):
        base = {"id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model") or self.model}

        def event(delta: dict, finish: str | None = None) -> str:
            chunk = {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
            return f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"

        yield event({"role": "assistant", "content": ""})
        size = max(1, reply.chunk_size)
        for i in range(0, len(reply.content), size):
            if reply.chunk_delay:
                await asyncio.sleep(reply.chunk_delay)
            yield event({"content": reply.content[i:i + size]})
        yield event({}, reply.finish_reason)
        if (body.get("stream_options") or {}).get("include_usage"):
            usage = self._completion(body, reply)["usage"]
            yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n"
        yield "data: [DONE]\n\n"

    def start(self, port: int = 0) -> "OpenAITestServer":
        self._server = ThreadedServer(self.app, lifespan="off")
        self.url = self._server.start(port) + "/v1"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> "OpenAITestServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the grounded OpenAI-compatible test stand-in forever.")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--model", default="test-model")
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()
    server = OpenAITestServer(model=args.model, api_key=args.api_key).start(port=args.port)
    print(f"OpenAI test server (grounded mode) at {server.url}  -- Ctrl-C to stop", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
