"""HTTP load generator: N concurrent clients for D seconds against /v1/search or /v1/ask.

    python -m evals load --concurrency 8 --duration 30            # starts its own server on the warm index
    python -m evals load --url http://127.0.0.1:8000 --endpoint ask

Each client sends one request at a time (closed loop), cycling through the questions of an eval set.
Reports requests/s, latency percentiles and errors (any non-2xx answer or transport failure).
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


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(round(q * (len(s) - 1))))], 1)


def _body(endpoint: str, question: str) -> dict[str, Any]:
    return {"query": question, "top_k": 5} if endpoint == "search" else {"question": question}


async def _run(url: str, endpoint: str, questions: list[str], concurrency: int, duration: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + duration
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as client:
        async def worker(n: int) -> None:
            i = n
            while time.perf_counter() < deadline:
                q = questions[i % len(questions)]
                i += concurrency
                t0 = time.perf_counter()
                try:
                    r = await client.post(f"/v1/{endpoint}", json=_body(endpoint, q))
                    if r.status_code >= 300:
                        errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                        continue
                except httpx.HTTPError as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(concurrency)))
        elapsed = time.perf_counter() - started
    return {
        "endpoint": f"/v1/{endpoint}", "concurrency": concurrency, "duration_s": round(elapsed, 1),
        "requests": len(latencies) + sum(errors.values()), "ok": len(latencies),
        "errors": sum(errors.values()), "error_kinds": errors,
        "rps": round(len(latencies) / elapsed, 1) if elapsed else 0.0,
        "p50_ms": _pct(latencies, 0.50), "p95_ms": _pct(latencies, 0.95), "p99_ms": _pct(latencies, 0.99),
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
    }


def run_load(url: str, endpoint: str, questions: list[str], concurrency: int = 8, duration: float = 30) -> dict[str, Any]:
    if endpoint not in ENDPOINTS:
        raise ValueError(f"endpoint={endpoint!r}; allowed: {', '.join(ENDPOINTS)}")
    return asyncio.run(_run(url, endpoint, questions, concurrency, duration))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(env: dict[str, str] | None = None, timeout: float = 300,
          log_path: Path | None = None) -> Iterator[tuple[str, float]]:
    """Start `python -m assistant serve` on a free port; yield (url, seconds from spawn to /readyz 200).

    The server's output goes to `log_path` (a temporary file when not given), quoted when it fails.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = log_path or Path(tempfile.mkstemp(prefix="pa-serve-", suffix=".log")[1])
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                env={**os.environ, **(env or {})}, stdout=log, stderr=subprocess.STDOUT)
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
        yield url, time.perf_counter() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
