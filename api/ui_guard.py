"""The Gradio UI's own HTTP API (`/ui/gradio_api/…`) held to the same rules as `/v1` (pure ASGI).

* An event (`queue/join`, `call/…`, `run/…`, `api/…`, `component_server`) has a body of at most
  `max_body` bytes (PA_MAX_BODY_BYTES, 413 above): a client cannot send a 10 MB chat history.
* Every file object in an event (`{"path": …}`) must be a file THIS client uploaded through
  `/ui/gradio_api/upload` within the last hour; anything else (a path on the host, a URL, another
  client's upload) is refused with 403 before Gradio copies it anywhere. (Gradio checks this itself only
  for apps started with `launch()`, not for an app mounted in FastAPI.)
* Uploads: at most `uploads_per_hour` files and `upload_bytes_per_hour` bytes per client (429 above,
  with Retry-After), counted as the request streams (the files by the multipart boundaries, the bytes as
  they arrive, whatever Content-Length says): a request that passes the budget is cut there and refused,
  nothing of it kept. The reply names each file relative to Gradio's cache, never by the server's path;
  such relative names are mapped back for this client's events and `file=` downloads.
* Only the routes the page and the event API use are open (OPEN, OPEN_PREFIXES); every other Gradio
  route under the mount (`process_recording`, `stream/…`, `proxy=`, `vibe-…`, `run-history`, `monitoring`
  and whatever a later Gradio adds) answers 404.

The per-minute rate limit of events is `api.ratelimit.RateLimit` (the same bucket as `/v1`).
"""
from __future__ import annotations

import json
import math
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from api.limits import read_body, replay, reply
from api.ratelimit import client_key

HOUR = 3600.0
EVENTS = ("/queue/join", "/call/", "/run/", "/api/", "/component_server")
OPEN = {"/queue/join", "/queue/data", "/queue/status", "/cancel", "/reset", "/upload", "/upload_progress", "/info",
        "/startup-events", "/app_id", "/deep_link", "/component_server", "/login_check", "/user", "/theme.css"}
OPEN_PREFIXES = ("/file=", "/heartbeat/", "/call/", "/run/", "/api/")
CLOSED_PAGES = ("/monitoring",)  # Gradio pages beside its API that the app does not use


class UploadCut(Exception):
    """An upload passed the client's budget while it streamed."""


class UploadLedger:
    """client -> the files it uploaded in the last hour (path -> time) and the bytes it sent."""

    def __init__(self, files_per_hour: int, bytes_per_hour: int, max_clients: int = 10_000, clock=time.time):
        self.files_per_hour, self.bytes_per_hour = files_per_hour, bytes_per_hour
        self.max_clients, self.clock = max_clients, clock
        self.clients: OrderedDict[str, dict[str, Any]] = OrderedDict()

    def _entry(self, client: str) -> dict[str, Any]:
        now = self.clock()
        entry = self.clients.pop(client, None) or {"files": OrderedDict(), "sent": []}
        entry["sent"] = [(t, n) for t, n in entry["sent"] if now - t < HOUR]
        for path in [p for p, t in entry["files"].items() if now - t >= HOUR]:
            del entry["files"][path]
        self.clients[client] = entry
        while len(self.clients) > self.max_clients:
            self.clients.popitem(last=False)
        return entry

    def refusal(self, client: str, size: int, files: int = 0) -> tuple[str, int] | None:
        """(why, seconds to wait) when `client` may not upload `size` more bytes now (and `files` more files,
        when given), else None."""
        entry = self._entry(client)
        sent = sum(n for _, n in entry["sent"])
        if len(entry["files"]) + files > self.files_per_hour or len(entry["files"]) >= self.files_per_hour:
            why = f"at most {self.files_per_hour} files per hour per client (PA_UI_UPLOADS_PER_HOUR)"
        elif sent + size > self.bytes_per_hour:
            why = f"at most {self.bytes_per_hour} bytes per hour per client (PA_UI_UPLOAD_BYTES_PER_HOUR)"
        else:
            return None
        oldest = min([t for _, t in entry["files"].items()] + [t for t, _ in entry["sent"]], default=self.clock())
        return why, max(1, math.ceil(oldest + HOUR - self.clock()))

    def record(self, client: str, size: int, paths: list[str]) -> None:
        entry = self._entry(client)
        now = self.clock()
        entry["sent"].append((now, size))
        for p in paths:
            entry["files"][p] = now

    def owns(self, client: str, path: str) -> bool:
        return path in self._entry(client)["files"]


class PartCounter:
    """The parts of a multipart/form-data body seen so far (each starts with the boundary line), counted
    across chunks; 0 for any other body."""

    def __init__(self, scope):
        ctype = next((v for k, v in scope.get("headers", []) if k == b"content-type"), b"")
        boundary = next((p.split(b"=", 1)[1].strip().strip(b'"') for p in ctype.split(b";")
                         if p.strip().lower().startswith(b"boundary=")), b"")
        self.delimiter = b"\r\n--" + boundary if boundary else b""
        self.tail = b"\r\n"  # the body's first boundary has no CRLF before it
        self.count = 0

    def feed(self, chunk: bytes) -> int:
        """The parts started so far, the closing delimiter not counted as one."""
        if not self.delimiter:
            return 0
        data, size = self.tail + chunk, len(self.delimiter)
        at = data.find(self.delimiter)
        while at >= 0 and at + size + 2 <= len(data):  # decided once the 2 bytes after it (`--`: the end) are here
            self.count += data[at + size:at + size + 2] != b"--"
            at = data.find(self.delimiter, at + 1)
        self.tail = data[-(size + 1):]  # a delimiter not decided yet starts in here; a decided one cannot
        return self.count


class UIGuard:
    def __init__(self, app, upload_folder: str, max_body: int, uploads_per_hour: int, upload_bytes_per_hour: int,
                 trust_forwarded: bool = False, prefix: str = "/ui/gradio_api"):
        self.app = app
        self.mount = prefix.rsplit("/", 1)[0]
        self.folder = Path(upload_folder).resolve()
        self.max_body = max_body
        self.ledger = UploadLedger(uploads_per_hour, upload_bytes_per_hour)
        self.trust_forwarded = trust_forwarded
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(tuple(self.mount + p for p in CLOSED_PAGES)):
            return await reply(send, 404, "Not Found")
        if not path.startswith(self.prefix + "/"):
            return await self.app(scope, receive, send)
        sub, client = path[len(self.prefix):], client_key(scope, self.trust_forwarded)
        if sub.rstrip("/") not in OPEN and not sub.startswith(OPEN_PREFIXES):
            return await reply(send, 404, "Not Found")  # a Gradio route this app does not use
        if scope["method"] == "POST" and sub.rstrip("/") == "/upload":
            return await self._upload(scope, receive, send, client)
        if scope["method"] == "POST" and sub.startswith(EVENTS):
            return await self._event(scope, receive, send, client)
        if sub.startswith("/file="):
            scope = self._download(scope, sub, client)
        return await self.app(scope, receive, send)

    # ------------------------------------------------------------------ paths
    def _absolute(self, client: str, name: str) -> str | None:
        """The server path of a file `client` uploaded, from the name it was given (or None)."""
        if not name or "\x00" in name or "://" in name:
            return None
        candidate = (self.folder / name).resolve()
        if self.folder not in candidate.parents:
            return None
        return str(candidate) if self.ledger.owns(client, str(candidate)) else None

    def _download(self, scope, sub: str, client: str):
        from urllib.parse import quote, unquote

        real = self._absolute(client, unquote(sub[len("/file="):]))
        if real is None:
            return scope
        path = f"{self.prefix}/file={real}"
        return {**scope, "path": path, "raw_path": quote(path).encode()}

    # ------------------------------------------------------------------ events
    async def _event(self, scope, receive, send, client: str):
        body = await read_body(receive, self.max_body)
        if body is None:
            return await reply(send, 413, f"request body over the limit of {self.max_body} bytes (PA_MAX_BODY_BYTES)")
        try:
            data = json.loads(body)
        except ValueError:
            return await self.app(scope, replay(body, receive), send)  # Gradio answers a malformed body itself
        refused: list[str] = []

        def visit(node):
            if isinstance(node, dict):
                if isinstance(node.get("path"), str):
                    real = self._absolute(client, node["path"])
                    if real is None:
                        refused.append(node["path"])
                    else:
                        node["path"] = real
                for v in node.values():
                    visit(v)
            elif isinstance(node, list):
                for v in node:
                    visit(v)

        visit(data)
        if refused:
            return await reply(send, 403, "a file in this request was not uploaded by this client through the "
                                          "page's upload button (within the last hour); only such files are accepted")
        new = json.dumps(data).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"content-length"]
        headers.append((b"content-length", str(len(new)).encode()))
        await self.app({**scope, "headers": headers}, replay(new, receive), send)

    # ------------------------------------------------------------------ uploads
    async def _upload(self, scope, receive, send, client: str):
        declared = next((int(v) for k, v in scope.get("headers", []) if k == b"content-length" and v.isdigit()), None)
        refusal = self.ledger.refusal(client, declared or 0)
        if refusal:
            return await reply(send, 429, f"upload refused: {refusal[0]}; retry in {refusal[1]} s",
                               {"retry-after": str(refusal[1])})
        seen = {"bytes": 0}
        parts = PartCounter(scope)
        cut: list[tuple[str, int]] = []

        async def counting():
            message = await receive()
            body = message.get("body", b"")
            seen["bytes"] += len(body)
            refusal = self.ledger.refusal(client, seen["bytes"], parts.feed(body))
            if refusal and message["type"] == "http.request":
                cut.append(refusal)
                raise UploadCut(refusal[0])
            return message

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message):
            if cut:
                return  # the request was cut: its refusal is sent instead of whatever Gradio answers
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            try:
                paths = json.loads(body) if start.get("status") == 200 else None
            except ValueError:
                paths = None
            if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
                real = [str(Path(p).resolve()) for p in paths]
                self.ledger.record(client, seen["bytes"], real)
                body = json.dumps([self._relative(p) for p in real]).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
            await send({**start, "headers": headers + [(b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, counting, capture)
        except Exception:  # noqa: BLE001 - UploadCut, as it is or wrapped by Gradio or an exception group
            if not cut:
                raise
        if cut:
            self.ledger.record(client, seen["bytes"], [])  # what was read counts; no file of it is usable
            await reply(send, 429, f"upload refused: {cut[0][0]}; retry in {cut[0][1]} s",
                        {"retry-after": str(cut[0][1])})

    def _relative(self, path: str) -> str:
        try:
            return str(Path(path).relative_to(self.folder))
        except ValueError:
            return Path(path).name
