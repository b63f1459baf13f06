"""Request body and response size limits for the JSON API (pure ASGI, so streams stream)."""
from __future__ import annotations

import json


class BodyLimit:
    """Answer 413 when a request under one of `prefixes` carries more than `max_bytes` of body.

    Checked on the Content-Length header first; a body without one (chunked) is read here, up to the
    limit, before the route sees it.
    """

    def __init__(self, app, max_bytes: int, prefixes: tuple[str, ...] = ("/v1/", "/dify/"),
                 overrides: dict[str, int] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = prefixes
        self.overrides = overrides or {}  # exact path -> its own limit (uploads)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        limit = self.overrides.get(scope["path"].rstrip("/"), self.max_bytes)
        if limit != self.max_bytes:
            return await BodyLimit(self.app, limit, self.prefixes)(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    length = 0
                if length > self.max_bytes:
                    return await self._reject(send, length)
        # no (trustworthy) length: read the body here, up to the limit, then hand it on
        body = await read_body(receive, self.max_bytes)
        if body is None:
            return await self._reject(send, self.max_bytes + 1)
        await self.app(scope, replay(body, receive), send)

    async def _reject(self, send, size: int) -> None:
        await reply(send, 413, f"request body of {size} bytes is over the limit of {self.max_bytes} bytes "
                               "(PA_MAX_BODY_BYTES)")


async def read_body(receive, limit: int) -> bytes | None:
    """The whole request body, or None as soon as it is over `limit` bytes."""
    chunks, seen = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks)  # the client went away: what there was
        body = message.get("body", b"")
        seen += len(body)
        if seen > limit:
            return None
        chunks.append(body)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive):
    """A `receive` that gives `body` once, then waits on the real one (for the client's disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replayed():
        return pending.pop() if pending else await receive()

    return replayed


async def reply(send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """A JSON `{"detail": …}` response from a middleware."""
    body = json.dumps({"detail": detail}).encode()
    extra = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                + extra})
    await send({"type": "http.response.body", "body": body})


class ResponseLimit:
    """Hold what a route under one of `prefixes` sends to `max_bytes` of body (PA_MAX_RESPONSE_BYTES).

    A response with a Content-Length over the limit is replaced by a 422 naming the setting (before any of
    it is sent); a stream (no Content-Length) is cut where it would pass the limit, ending with an SSE
    `error` event, and what the route yields after that is dropped.
    """

    def __init__(self, app, max_bytes: int, prefixes: tuple[str, ...] = ("/v1/", "/dify/")):
        self.app = app
        self.max_bytes = max_bytes
        self.prefixes = prefixes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            return await self.app(scope, receive, send)
        state = {"start": None, "sent": 0, "cut": False}
        why = (f"the response would be over the limit of {self.max_bytes} bytes (PA_MAX_RESPONSE_BYTES); "
               "ask for fewer passages (top_k) or narrow the filters")

        async def limited_send(message):
            if state["cut"]:
                return
            if message["type"] == "http.response.start":
                length = dict(message.get("headers", [])).get(b"content-length")
                if length is not None and int(length) > self.max_bytes:
                    state["cut"] = True
                    detail = {"detail": [{"loc": ["body"], "msg": why, "type": "budget_exceeded"}]}
                    body = json.dumps(detail).encode()
                    await send({"type": "http.response.start", "status": 422,
                                "headers": [(b"content-type", b"application/json"),
                                            (b"content-length", str(len(body)).encode())]})
                    await send({"type": "http.response.body", "body": body})
                    return
                return await send(message)
            if message["type"] == "http.response.body":
                state["sent"] += len(message.get("body", b""))
                if state["sent"] > self.max_bytes:
                    state["cut"] = True
                    tail = "event: error\ndata: " + json.dumps({"detail": why}) + "\n\n"
                    return await send({"type": "http.response.body", "body": tail.encode(), "more_body": False})
            return await send(message)

        await self.app(scope, receive, limited_send)
