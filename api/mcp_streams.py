"""The event streams of `GET /mcp` (Accept: text/event-stream), bounded.

A client may hold such a stream open for server-initiated messages; each one holds a connection and a task.
`StreamGate` lets a stream open only when

* the client has fewer than STREAMS_PER_CLIENT open, and all clients together fewer than PA_MCP_MAX_STREAMS
  (else 429, naming the limit, with Retry-After), and
* the client's rate-limit bucket (the one its /v1 requests and MCP tool calls use) gives a token,

and closes a stream on which nothing was sent for PA_MCP_STREAM_IDLE_SECONDS (the response ends cleanly; a
client reconnects when it needs to). Counted per process, like the rate limit.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from typing import Any

import anyio

from api.limits import reply
from api.ratelimit import TokenBuckets, client_key, limit_message

STREAMS_PER_CLIENT = 2
CHECK_EVERY = 0.5  # s between two looks at an open stream's idle time (at most this late)


def is_stream(scope: dict[str, Any]) -> bool:
    """A GET asking for an event stream."""
    if scope.get("type") != "http" or scope.get("method") != "GET":
        return False
    accept = next((v for k, v in scope.get("headers", []) if k == b"accept"), b"")
    return b"text/event-stream" in accept.lower()


class StreamGate:
    def __init__(self, max_streams: int, idle_seconds: float, trust_forwarded: bool = False,
                 buckets: TokenBuckets | None = None, per_minute: int = 0, burst: int = 0):
        self.max_streams, self.idle_seconds, self.trust_forwarded = max_streams, idle_seconds, trust_forwarded
        self.buckets, self.per_minute, self.burst = buckets, per_minute, burst
        self.open: Counter = Counter()

    def refusal(self, client: str) -> tuple[str, int] | None:
        """(why, seconds to wait) when `client` may not open a stream now, else None (a token is taken)."""
        if self.open[client] >= STREAMS_PER_CLIENT:
            return (f"this client already holds {self.open[client]} MCP event streams; at most {STREAMS_PER_CLIENT} "
                    "per client", math.ceil(self.idle_seconds))
        if sum(self.open.values()) >= self.max_streams:
            return (f"{self.max_streams} MCP event streams are open; at most {self.max_streams} in all "
                    "(PA_MCP_MAX_STREAMS)", math.ceil(self.idle_seconds))
        if self.buckets is not None and (wait := self.buckets.take(client)) > 0:
            return limit_message(self.per_minute, self.burst, max(1, math.ceil(wait))), max(1, math.ceil(wait))
        return None

    async def __call__(self, app, scope, receive, send) -> None:
        client = client_key(scope, self.trust_forwarded)
        refused = self.refusal(client)
        if refused:
            return await reply(send, 429, refused[0], {"retry-after": str(refused[1])})
        self.open[client] += 1
        try:
            await self._idle_bounded(app, scope, receive, send)
        finally:
            self.open[client] -= 1
            if self.open[client] <= 0:
                del self.open[client]

    async def _idle_bounded(self, app, scope, receive, send) -> None:
        state = {"last": time.monotonic(), "started": False, "ended": False}

        async def sending(message) -> None:
            state["last"] = time.monotonic()
            state["started"] |= message["type"] == "http.response.start"
            state["ended"] |= message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        async with anyio.create_task_group() as tasks:
            async def watch() -> None:
                while time.monotonic() - state["last"] < self.idle_seconds:
                    await anyio.sleep(min(CHECK_EVERY, self.idle_seconds))
                tasks.cancel_scope.cancel()  # idle: the stream is closed

            tasks.start_soon(watch)
            await app(scope, receive, sending)
            tasks.cancel_scope.cancel()
        if state["started"] and not state["ended"]:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
