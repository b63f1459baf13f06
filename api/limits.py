"""Request body limit for the JSON API (pure ASGI, so streamed responses pass untouched)."""
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
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # client went away
            body = message.get("body", b"")
            seen += len(body)
            if seen > self.max_bytes:
                return await self._reject(send, seen)
            chunks.append(body)
            if not message.get("more_body", False):
                break
        replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def buffered_receive():
            if replay:
                return replay.pop()
            return await receive()

        await self.app(scope, buffered_receive, send)

    async def _reject(self, send, size: int) -> None:
        body = json.dumps({"detail": f"request body of {size} bytes is over the limit of {self.max_bytes} bytes "
                                     "(PA_MAX_BODY_BYTES)"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
