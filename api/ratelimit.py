"""Per-client rate limit for the public endpoints (pure ASGI, so streamed responses pass untouched).

A token bucket per client: `burst` requests at once, refilled at `per_minute` / 60 per second. Over it,
429 with `Retry-After` (whole seconds) and a JSON `detail` naming the limit and its settings.

The client is the connection's address; with `trust_forwarded` the first X-Forwarded-For address (only
behind a reverse proxy that sets that header itself, else a client could pick its own bucket).

The buckets live in this process: with several uvicorn workers or replicas each counts on its own, so the
global limit is the load balancer's / reverse proxy's job. Memory is bounded: at most `max_clients`
buckets, the least recently seen evicted first (an evicted client starts again with a full bucket, which it
would have had anyway after `burst / rate` idle seconds).
"""
from __future__ import annotations

import math
import time
from collections import OrderedDict

from api.limits import reply

# path roots limited for every method (the root itself and anything under it). MCP tool calls are counted
# against the same buckets by the MCP server itself (api/mcp.py): one per tools/call, not per HTTP message.
LIMITED = ("/v1/ask", "/v1/search", "/v1/chat/completions", "/v1/eligibility", "/v1/passages", "/dify/retrieval",
           "/v1/calendar.ics", "/v1/profiles")
# path roots limited for reads only (writes there are admin endpoints, guarded by the token)
LIMITED_READS = ("/v1/documents",)
# the chat UI's events (Gradio's own API under the /ui mount): limited like the API they stand for
UI_API = "/ui/gradio_api"
LIMITED_UI_POSTS = tuple(f"{UI_API}/{p}" for p in ("queue/join", "call", "run", "api"))
READS = frozenset({"GET", "HEAD"})
MAX_KEY = 100  # characters of a client key kept (a forged header cannot make a bucket big)


def _under(path: str, roots: tuple[str, ...]) -> bool:
    return any(path == root or path.startswith(root + "/") for root in roots)


def limited(method: str, path: str) -> bool:
    """Whether a request counts against the client's bucket (CORS preflights never do)."""
    if method == "OPTIONS":
        return False
    path = path.rstrip("/") or "/"
    return (_under(path, LIMITED) or (method in READS and _under(path, LIMITED_READS))
            or (method == "POST" and _under(path, LIMITED_UI_POSTS)))


class TokenBuckets:
    """client key -> (tokens, last refill time); least recently seen evicted beyond `max_clients`."""

    def __init__(self, per_minute: int, burst: int, max_clients: int = 10_000, clock=time.monotonic):
        if per_minute <= 0 or burst < 1:
            raise ValueError("per_minute must be > 0 and burst >= 1")
        self.rate = per_minute / 60.0  # tokens per second
        self.burst = float(burst)
        self.max_clients = max_clients
        self.clock = clock
        self.buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, key: str) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until one is available."""
        now = self.clock()
        tokens, last = self.buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.rate
        self.buckets[key] = (tokens, now)  # (re)inserted last: most recently seen
        while len(self.buckets) > self.max_clients:
            self.buckets.popitem(last=False)
        return wait

    def __len__(self) -> int:
        return len(self.buckets)


def client_key(scope, trust_forwarded: bool) -> str:
    if trust_forwarded:
        for name, value in scope.get("headers", []):
            if name == b"x-forwarded-for":
                first = value.decode("latin-1").split(",")[0].strip()
                if first:
                    return first[:MAX_KEY]
                break
    client = scope.get("client")
    return str(client[0])[:MAX_KEY] if client else "unknown"


def limit_message(per_minute: int, burst: int, retry_after: int) -> str:
    return (f"rate limit exceeded: at most {per_minute} requests per minute per client (bursts of {burst}) on the "
            "question, search and browse endpoints, the chat UI's events and MCP tool calls (PA_RATE_LIMIT_PER_MINUTE, "
            f"PA_RATE_LIMIT_BURST); retry in {retry_after} s")


class RateLimit:
    """Answer 429 (with Retry-After) when a client goes over its bucket on a limited endpoint.

    `buckets`: shared with the MCP server, so /v1 requests and MCP tool calls draw on one budget per client."""

    def __init__(self, app, per_minute: int, burst: int, trust_forwarded: bool = False, max_clients: int = 10_000,
                 buckets: TokenBuckets | None = None):
        self.app = app
        self.per_minute = per_minute
        self.burst = burst
        self.trust_forwarded = trust_forwarded
        self.buckets = TokenBuckets(per_minute, burst, max_clients) if buckets is None else buckets

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not limited(scope["method"], scope["path"]):
            return await self.app(scope, receive, send)
        wait = self.buckets.take(client_key(scope, self.trust_forwarded))
        if wait > 0:
            return await self._reject(send, max(1, math.ceil(wait)))
        await self.app(scope, receive, send)

    async def _reject(self, send, retry_after: int) -> None:
        await reply(send, 429, limit_message(self.per_minute, self.burst, retry_after),
                    {"retry-after": str(retry_after)})
