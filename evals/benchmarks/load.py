"""HTTP load and soak against a real server: closed-loop clients on /v1/search and /v1/ask.

    python -m evals load --clients 50 --duration 60 --endpoint ask      # starts its own server on the warm index
    python -m evals load --url http://127.0.0.1:8000 --endpoint search  # or load a running one
    python -m evals soak --requests 10000 --clients 8                    # ask + search mix, server RSS over time

Each client sends one request at a time (closed loop), cycling through the questions of an eval set.
`load` reports the count, requests/s, latency percentiles (of 2xx answers), the count of every HTTP
status, the 5xx count and transport failures. `soak` sends a fixed number of requests and samples the
server process's resident memory (VmRSS of /proc/<pid>/status, its child processes included) every
`sample_every` requests, to see whether memory keeps growing after a warm-up.

The server started here runs with rate limiting off (PA_RATE_LIMIT_PER_MINUTE=0): the load comes from
one address, which a per-client limit would otherwise throttle to 429s.
"""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx

ENDPOINTS = ("search", "ask")
LOAD_ENV = {"PA_RATE_LIMIT_PER_MINUTE": "0"}  # one client address: a per-client rate limit would only measure itself


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 1)


def _body(endpoint: str, question: str) -> dict[str, Any]:
    return {"query": question, "top_k": 5} if endpoint == "search" else {"question": question}


class _Tally:
    """Outcomes of a run: latency of 2xx answers, every status code, transport failures."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.status: dict[str, int] = {}
        self.transport: dict[str, int] = {}
        self.samples: list[str] = []  # the first transport failures, with when they happened
        self.started = time.perf_counter()

    def add(self, status: int | None, ms: float, error: str = "", detail: str = "") -> None:
        if status is None:
            self.transport[error] = self.transport.get(error, 0) + 1
            if len(self.samples) < 5:
                self.samples.append(f"at {time.perf_counter() - self.started:.1f} s: {error}: {detail}"[:300])
            return
        self.status[str(status)] = self.status.get(str(status), 0) + 1
        if 200 <= status < 300:
            self.latencies.append(ms)

    @property
    def count(self) -> int:
        return sum(self.status.values()) + sum(self.transport.values())

    def summary(self, elapsed: float) -> dict[str, Any]:
        ok = len(self.latencies)
        non_2xx = {k: v for k, v in self.status.items() if not k.startswith("2")}
        return {
            "count": self.count, "ok": ok,
            "rps": round(self.count / elapsed, 1) if elapsed else 0.0,
            "ok_rps": round(ok / elapsed, 1) if elapsed else 0.0,
            "p50_ms": _pct(self.latencies, 0.50), "p95_ms": _pct(self.latencies, 0.95),
            "p99_ms": _pct(self.latencies, 0.99), "max_ms": round(max(self.latencies), 1) if self.latencies else 0.0,
            "status_codes": dict(sorted(self.status.items())),
            "5xx": sum(v for k, v in self.status.items() if k.startswith("5")),
            "transport_errors": dict(self.transport),
            **({"transport_error_samples": list(self.samples)} if self.samples else {}),
            # any answer that is not 2xx, or no answer at all
            "errors": sum(non_2xx.values()) + sum(self.transport.values()),
        }


async def _send(client: httpx.AsyncClient, endpoint: str, question: str, tally: _Tally) -> None:
    t0 = time.perf_counter()
    try:
        r = await client.post(f"/v1/{endpoint}", json=_body(endpoint, question))
    except httpx.HTTPError as exc:
        cause = exc.__cause__ or exc.__context__
        tally.add(None, 0.0, type(exc).__name__, f"{exc!r}" + (f" <- {cause!r}" if cause else ""))
        return
    tally.add(r.status_code, (time.perf_counter() - t0) * 1000)


def _client(url: str, clients: int, timeout: float) -> httpx.AsyncClient:
    # an idle connection is dropped after 2 s, well before uvicorn's 5 s keep-alive timeout: with httpx's
    # default (also 5 s) a connection the server is closing gets reused, and the request fails with ReadError
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients, keepalive_expiry=2.0)
    return httpx.AsyncClient(base_url=url, timeout=timeout, limits=limits)


async def _clients(url: str, endpoint: str, questions: list[str], concurrency: int, seconds: float, timeout: float,
                   tally: _Tally) -> float:
    """`concurrency` closed-loop clients for `seconds`; the seconds they took (the last answers included). The
    clock starts once the client exists (making one loads the TLS context, which takes seconds on a busy
    machine: a deadline set before it could pass before the first request)."""
    async with _client(url, concurrency, timeout) as client:
        deadline = time.perf_counter() + seconds

        async def worker(n: int) -> None:
            i = n
            while time.perf_counter() < deadline:
                await _send(client, endpoint, questions[i % len(questions)], tally)
                i += concurrency

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        return time.perf_counter() - started


async def _run(url: str, endpoint: str, questions: list[str], concurrency: int, duration: float,
               warmup: float, timeout: float) -> dict[str, Any]:
    if warmup > 0:
        # the server's first requests served, not counted. Its connections are closed afterwards: one left idle
        # past the server's keep-alive timeout while slower clients finish would fail the first measured request.
        await _clients(url, endpoint, questions, concurrency, warmup, timeout, _Tally())
    tally = _Tally()
    elapsed = await _clients(url, endpoint, questions, concurrency, duration, timeout, tally)
    return {"endpoint": f"/v1/{endpoint}", "clients": concurrency, "duration_s": round(elapsed, 1),
            "warmup_s": warmup, **tally.summary(elapsed)}


def run_load(url: str, endpoint: str, questions: list[str], concurrency: int = 8, duration: float = 30,
             warmup: float = 0.0, timeout: float = 60.0) -> dict[str, Any]:
    """`concurrency` closed-loop clients for `duration` seconds (after `warmup` seconds not counted)."""
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint={endpoint!r}; allowed: {', '.join(ENDPOINTS)}")
    if not questions:
        raise ValueError("no questions to send")
    return asyncio.run(_run(url, endpoint, questions, concurrency, duration, warmup, timeout))


# ---------------------------------------------------------------------------------------------- soak
def rss_kb(pid: int) -> int:
    """Resident memory (VmRSS, kB) of a process and its descendants, from /proc."""
    total = 0
    for p in [pid, *_descendants(pid)]:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except (OSError, ValueError, IndexError):
            continue  # exited meanwhile
    return total


def _descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for t in tasks:
            try:
                kids = [int(k) for k in Path(f"/proc/{p}/task/{t}/children").read_text().split()]
            except (OSError, ValueError):
                continue
            out += kids
            todo += kids
    return out


def _is_ask(i: int, ask_share: float) -> bool:
    """Request i is an ask for an evenly spread `ask_share` of the requests (0.5: every other one)."""
    return int((i + 1) * ask_share) > int(i * ask_share)


async def _soak(url: str, questions: list[str], requests: int, concurrency: int, ask_share: float,
                pid: int | None, sample_every: int, timeout: float) -> dict[str, Any]:
    tallies = {"ask": _Tally(), "search": _Tally()}
    samples: list[dict[str, Any]] = []
    state = {"next": 0, "done": 0}
    started = time.perf_counter()

    def sample() -> None:
        if pid is not None:
            samples.append({"requests": state["done"], "t_s": round(time.perf_counter() - started, 1),
                            "rss_mb": round(rss_kb(pid) / 1024, 1)})

    sample()  # before the first request
    async with _client(url, concurrency, timeout) as client:
        async def worker() -> None:
            while state["next"] < requests:
                i = state["next"]
                state["next"] += 1
                endpoint = "ask" if _is_ask(i, ask_share) else "search"
                await _send(client, endpoint, questions[i % len(questions)], tallies[endpoint])
                state["done"] += 1
                if state["done"] % sample_every == 0 and state["done"] < requests:
                    sample()

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    sample()  # after the last one
    merged = _Tally()
    for t in tallies.values():
        merged.latencies += t.latencies
        for k, v in t.status.items():
            merged.status[k] = merged.status.get(k, 0) + v
        for k, v in t.transport.items():
            merged.transport[k] = merged.transport.get(k, 0) + v
        merged.samples += t.samples[: 5 - len(merged.samples)]
    report: dict[str, Any] = {
        "requests": requests, "clients": concurrency, "ask_share": ask_share, "duration_s": round(elapsed, 1),
        **{k: v for k, v in merged.summary(elapsed).items() if k not in ("p50_ms", "p95_ms", "p99_ms", "max_ms")},
        "endpoints": {f"/v1/{ep}": t.summary(elapsed) for ep, t in tallies.items()},
        "rss": rss_report(samples, warmup_requests=max(1, requests // 10)) if samples else None,
    }
    return report


def rss_report(samples: list[dict[str, Any]], warmup_requests: int) -> dict[str, Any]:
    """First / after-warm-up / last / peak RSS and the growth after the warm-up.

    The warm-up sample is the first one taken after `warmup_requests` (10% of the run): the memory of
    caches, allocator pools and lazily loaded models is there by then, so growth after it is the leak signal.
    """
    first, last = samples[0], samples[-1]
    warm = next((s for s in samples if s["requests"] >= warmup_requests), last)
    growth = (last["rss_mb"] - warm["rss_mb"]) / warm["rss_mb"] * 100 if warm["rss_mb"] else 0.0
    after = [s for s in samples if s["requests"] >= warm["requests"]]
    return {
        "first_mb": first["rss_mb"], "after_warmup_mb": warm["rss_mb"], "after_warmup_at": warm["requests"],
        "last_mb": last["rss_mb"], "peak_mb": max(s["rss_mb"] for s in samples),
        "peak_after_warmup_mb": max(s["rss_mb"] for s in after),
        "growth_after_warmup_pct": round(growth, 2),
        "samples": samples,
    }


def run_soak(url: str, questions: list[str], requests: int = 10000, concurrency: int = 8, ask_share: float = 0.5,
             pid: int | None = None, sample_every: int = 500, timeout: float = 60.0) -> dict[str, Any]:
    """`requests` requests (an `ask_share` of them /v1/ask, the rest /v1/search) from `concurrency` clients;
    with `pid`, the server's RSS every `sample_every` requests (and before the first, after the last)."""
    if requests < 1 or concurrency < 1 or sample_every < 1:
        raise ValueError("requests, concurrency and sample_every must be >= 1")
    if not 0.0 <= ask_share <= 1.0:
        raise ValueError(f"ask_share={ask_share}; must be within [0, 1]")
    if not questions:
        raise ValueError("no questions to send")
    return asyncio.run(_soak(url, questions, requests, concurrency, ask_share, pid, sample_every, timeout))


# ---------------------------------------------------------------------------------------------- server
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Served(tuple):
    """What `serve` yields: unpacks as (url, seconds to ready); also .pid and .log_path of the server."""

    url: str
    seconds: float
    pid: int
    log_path: Path

    def __new__(cls, url: str, seconds: float, pid: int, log_path: Path) -> Served:
        self = super().__new__(cls, (url, seconds))
        self.url, self.seconds, self.pid, self.log_path = url, seconds, pid, log_path
        return self


@contextmanager
def serve(env: dict[str, str] | None = None, timeout: float = 300,
          log_path: Path | None = None, args: tuple[str, ...] = (), cwd: Path | None = None) -> Iterator[Served]:
    """Start `python -m assistant serve [args]` on a free port; yield (url, seconds from spawn to /readyz 200),
    a `Served` that also carries the server's `pid` (for RSS sampling) and `log_path`.

    The server's output goes to `log_path` (a temporary file when not given), quoted when it fails.
    `cwd`: the checkout to run (another version of the product, for a before/after benchmark).
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_path or Path(tempfile.mkstemp(prefix="pa-serve-", suffix=".log")[1])
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port),
                                 *args],
                                env={**LOAD_ENV, **os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
                                cwd=cwd)
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}:\n"
                                   f"{log_path.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"server not ready after {timeout} s:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.05)
        yield Served(url, time.perf_counter() - t0, proc.pid, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
