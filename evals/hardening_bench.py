"""What the worst request of each hardening finding does to everyone else: RSS and p95 of a normal question
while it runs beside, on this version and (optionally) another checkout, measured in one run.

    python -m evals hardening-bench --seconds 15 --before /work/wt-h-before --out results/hardening.json

For each checkout a server is started on a fresh copy of the corpus (`serve` builds its own index, rate
limiting off: every client here has one address), with an admin token. Then, per scenario, one client asks
a normal question in a closed loop while `attackers` clients repeat the scenario's worst request for
`seconds`; reported: the normal question's p50/p95 and count, its non-200 answers, the attackers' status
codes, and the server's peak RSS (VmRSS of the process and its children, sampled every 0.2 s).

The scenarios (the finding numbers of issue 17; every document is INVENTED, 测试市 does not exist):
    baseline      nothing beside
    f2-passage    a one-line document without punctuation is uploaded first; then questions that match
                  nothing well (500 × 的, top_k 50), which retrieve its passages
    f3-swaps      a small document uploaded and removed again and again (an index swap each time)
    f7-surrogate  lone surrogates in the question
    llm10-max     the largest request the API takes: a 500-character question, 20 long history messages,
                  top_k 50
"""
from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import httpx

from evals.load import _pct, rss_kb, serve

TOKEN = "bench-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NORMAL = {"question": "大科城的建设目标是什么？"}
UNIT = "测试市科技创新券支持企业购买检验检测服务和技术开发服务"
SWAP_DOC = "测试市科技创新券管理办法（测试用虚构文件）\n第一条 每家企业每年申领的创新券额度最高为20万元。\n"
SCENARIOS = ("baseline", "f2-passage", "f3-swaps", "f7-surrogate", "llm10-max")


def _one_line(chars: int) -> bytes:
    return ("测试市无标点长文（测试用虚构文件）\n" + (UNIT * (chars // len(UNIT) + 1))[:chars] + "\n").encode()


def _upload(http: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return http.post("/v1/documents", headers=AUTH, files={"file": (name, data, "text/plain")}, timeout=900)


def _attack(name: str, http: httpx.Client) -> Callable[[], int]:
    """One worst request of scenario `name` (returns its status; 0: a transport failure)."""
    if name == "f2-passage":
        return lambda: http.post("/v1/ask", json={"question": "的" * 500, "top_k": 50}).status_code
    if name == "f3-swaps":
        def swap() -> int:
            r = _upload(http, "bench-swap.txt", SWAP_DOC.encode())
            if r.status_code != 200:
                return r.status_code
            return http.delete(f"/v1/documents/{r.json()['doc_id']}", headers=AUTH).status_code
        return swap
    if name == "f7-surrogate":
        body = b'{"question": "\\ud800\xe9\xab\x98\xe6\x96\xb0"}'
        return lambda: http.post("/v1/ask", content=body, headers={"content-type": "application/json"}).status_code
    if name == "llm10-max":
        history = [{"role": "user" if i % 2 == 0 else "assistant", "content": UNIT * 24} for i in range(20)]
        body = {"question": ("长沙市科技创新" * 72)[:500], "history": history, "top_k": 50}
        return lambda: http.post("/v1/ask", json=body).status_code
    raise ValueError(f"unknown scenario {name!r}")


def _scenario(url: str, pid: int, name: str, seconds: float, attackers: int) -> dict[str, Any]:
    stop = threading.Event()
    attack_codes: Counter = Counter()
    latencies: list[float] = []
    normal_codes: Counter = Counter()
    peak = [rss_kb(pid)]

    def attacker() -> None:
        with httpx.Client(base_url=url, timeout=300) as http:
            one = _attack(name, http)
            while not stop.is_set():
                try:
                    attack_codes[one()] += 1
                except httpx.HTTPError:
                    attack_codes[0] += 1

    def sampler() -> None:
        while not stop.wait(0.2):
            peak.append(rss_kb(pid))

    threads = [threading.Thread(target=sampler, daemon=True)]
    if name != "baseline":
        threads += [threading.Thread(target=attacker, daemon=True) for _ in range(attackers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=300) as http:
        while time.monotonic() < deadline:
            t0 = time.perf_counter()
            try:
                code = http.post("/v1/ask", json=NORMAL).status_code
            except httpx.HTTPError:
                code = 0
            normal_codes[code] += 1
            if code == 200:
                latencies.append((time.perf_counter() - t0) * 1000)
    stop.set()
    for t in threads:
        t.join(300)  # an attack request still running is waited for: its cost belongs to this scenario
    return {"normal_count": len(latencies), "normal_p50_ms": _pct(latencies, 0.5),
            "normal_p95_ms": _pct(latencies, 0.95), "normal_status": dict(normal_codes),
            "attack_status": dict(attack_codes), "peak_rss_mb": round(max(peak) / 1024, 1)}


def bench_checkout(checkout: Path, corpus: Path, seconds: float, attackers: int, f2_chars: int,
                   scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Any]:
    """Start `checkout`'s server on a copy of `corpus` and run every scenario against it."""
    root = Path(tempfile.mkdtemp(prefix="pa-hbench-"))
    try:
        shutil.copytree(corpus, root / "corpus")
        env = {"PA_DATA_DIR": str(root / "data"), "PA_CORPUS_DIR": str(root / "corpus"), "PA_ADMIN_TOKEN": TOKEN,
               "PA_RATE_LIMIT_PER_MINUTE": "0", "PYTHONPATH": str(checkout)}
        with serve(env, timeout=900, cwd=checkout, log_path=root / "server.log") as served:
            out: dict[str, Any] = {"checkout": str(checkout), "ready_s": round(served.seconds, 1),
                                   "idle_rss_mb": round(rss_kb(served.pid) / 1024, 1)}
            for name in scenarios:
                if name == "f2-passage":
                    with httpx.Client(base_url=served.url) as http:
                        t0 = time.perf_counter()
                        r = _upload(http, "bench-one-line.txt", _one_line(f2_chars))
                        out["f2_upload"] = {"status": r.status_code, "seconds": round(time.perf_counter() - t0, 1),
                                            "chars": f2_chars}
                out[name] = _scenario(served.url, served.pid, name, seconds, attackers)
            return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_hardening_bench(after: Path, before: Path | None, seconds: float = 15, attackers: int = 2,
                        f2_chars: int = 20_000) -> dict[str, Any]:
    corpus = after / "corpus"
    result: dict[str, Any] = {"seconds_per_scenario": seconds, "attackers": attackers, "normal": NORMAL["question"]}
    if before is not None:
        result["before"] = bench_checkout(before, corpus, seconds, attackers, f2_chars)
    result["after"] = bench_checkout(after, corpus, seconds, attackers, f2_chars)
    return result
