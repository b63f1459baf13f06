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
and of issue 22 (the files are written by evals/benchmarks/hardening_files.py):
    r3-xlsx       uploading a 1.5 KB .xlsx whose sheet merges A1:J100000 (R3-3)
    r3-pdf        uploading a 3 KB PDF of three 14,400 pt pages, each drawing a 4x4 image (R3-4)
    r3-restore    once: `python -m assistant restore` of a backup whose passages.jsonl holds a 200,004-character
                  passage, doc_id `../../evil` and a 100,000-character title, checksums recomputed (R3-2); the
                  normal question goes on for `seconds` after it ends (the server follows the index pointer)
For r3-xlsx and r3-pdf one upload is first measured alone (`one`: seconds, the server's CPU seconds and its
peak RSS growth); for r3-restore the restore process itself (exit code, seconds, CPU seconds, peak RSS) and
the server's /readyz after it.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import httpx

from evals.benchmarks.hardening_files import huge_pages_pdf, issue_22_passages, merged_xlsx, tamper_passages
from evals.benchmarks.load import _descendants, _pct, rss_kb, serve

TOKEN = "bench-admin-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NORMAL = {"question": "大科城的建设目标是什么？"}
UNIT = "测试市科技创新券支持企业购买检验检测服务和技术开发服务"
SWAP_DOC = "测试市科技创新券管理办法（测试用虚构文件）\n第一条 每家企业每年申领的创新券额度最高为20万元。\n"
SCENARIOS = ("baseline", "f2-passage", "f3-swaps", "f7-surrogate", "llm10-max", "r3-xlsx", "r3-pdf", "r3-restore")
ONCE = ("r3-restore",)  # run once beside the normal question, not in a loop


def _one_line(chars: int) -> bytes:
    return ("测试市无标点长文（测试用虚构文件）\n" + (UNIT * (chars // len(UNIT) + 1))[:chars] + "\n").encode()


def _upload(http: httpx.Client, name: str, data: bytes) -> httpx.Response:
    return http.post("/v1/documents", headers=AUTH, files={"file": (name, data, "text/plain")}, timeout=900)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process, its reaped children and its live descendants, from /proc."""
    total = 0
    for i, p in enumerate([pid, *_descendants(pid)]):
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        total += sum(int(v) for v in fields[11:13 if i else 15])  # utime stime (+ cutime cstime of the server)
    return total / os.sysconf("SC_CLK_TCK")


def _one(pid: int, request: Callable[[], int]) -> dict[str, Any]:
    """One request alone: its status, seconds, the server's CPU seconds and peak RSS growth while it ran."""
    idle, cpu0, peak, stop = rss_kb(pid), cpu_seconds(pid), [0], threading.Event()

    def sampler() -> None:
        while not stop.wait(0.1):
            peak.append(rss_kb(pid))

    watcher = threading.Thread(target=sampler, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    status = request()
    seconds = time.perf_counter() - t0
    stop.set()
    watcher.join()
    return {"status": status, "seconds": round(seconds, 2), "server_cpu_s": round(cpu_seconds(pid) - cpu0, 2),
            "server_rss_growth_mb": round(max(0, max(peak) - idle) / 1024, 1)}


def _restore(checkout: Path, env: dict[str, str], root: Path, url: str) -> Callable[[], dict[str, Any]]:
    """R3-2: a backup written by `checkout`, tampered as issue 22 did it, restored by `checkout`: the process's
    exit code, seconds, CPU seconds and peak RSS (wait4), and the server's /readyz after it."""
    backup = root / "r3-backup"
    shutil.rmtree(backup, ignore_errors=True)
    cli_env = {**os.environ, **env}
    subprocess.run([sys.executable, "-m", "assistant", "backup", str(backup)], env=cli_env, cwd=checkout, check=True,
                   capture_output=True, timeout=600)
    tamper_passages(backup, issue_22_passages)

    def restore() -> dict[str, Any]:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "assistant", "restore", str(backup)], env=cli_env, cwd=checkout,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
        _, code, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(code)
        seconds = time.perf_counter() - t0
        time.sleep(2)  # the server follows the pointer (PA_INDEX_POLL_SECONDS=1)
        try:
            ready = httpx.get(url + "/readyz", timeout=30)
            readyz = f"{ready.status_code} {json.loads(ready.text).get('status', '')}".strip()
        except (httpx.HTTPError, ValueError) as exc:
            readyz = type(exc).__name__
        return {"exit_code": proc.returncode, "seconds": round(seconds, 2),
                "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
                "readyz_after": readyz, "message": " ".join(err.split())[-300:]}

    return restore


def _attack(name: str, http: httpx.Client, files: dict[str, bytes] | None = None) -> Callable[[], int]:
    """One worst request of scenario `name` (returns its status; 0: a transport failure)."""
    if name in ("r3-xlsx", "r3-pdf"):
        filename = "测试市人才奖补标准.xlsx" if name == "r3-xlsx" else "测试市扫描件.pdf"
        return lambda: http.post("/v1/documents", headers=AUTH, files={"file": (filename, files[name])},
                                 timeout=900).status_code
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


def _scenario(url: str, pid: int, name: str, seconds: float, attackers: int,
              files: dict[str, bytes] | None = None, once: Callable[[], dict[str, Any]] | None = None) -> dict[str, Any]:
    stop = threading.Event()
    once_result: dict[str, Any] = {}
    attack_codes: Counter = Counter()
    latencies: list[float] = []
    normal_codes: Counter = Counter()
    peak = [rss_kb(pid)]

    def attacker() -> None:
        if once is not None:
            once_result.update(once())
            return
        with httpx.Client(base_url=url, timeout=300) as http:
            one = _attack(name, http, files)
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
        threads += [threading.Thread(target=attacker, daemon=True) for _ in range(1 if once else attackers)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=url, timeout=300) as http:
        while time.monotonic() < deadline or (once and not once_result):
            if once and once_result and "ended" not in once_result:  # then `seconds` more with what it left
                once_result["ended"], deadline = True, time.monotonic() + seconds
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
    once_result.pop("ended", None)
    return {"normal_count": len(latencies), "normal_p50_ms": _pct(latencies, 0.5),
            "normal_p95_ms": _pct(latencies, 0.95), "normal_status": dict(normal_codes),
            "attack_status": dict(attack_codes), "peak_rss_mb": round(max(peak) / 1024, 1),
            **({"once": once_result} if once else {})}


def bench_checkout(checkout: Path, corpus: Path, seconds: float, attackers: int, f2_chars: int,
                   scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Any]:
    """Start `checkout`'s server on a copy of `corpus` and run every scenario against it."""
    root = Path(tempfile.mkdtemp(prefix="pa-hbench-"))
    try:
        shutil.copytree(corpus, root / "corpus")
        env = {"PA_DATA_DIR": str(root / "data"), "PA_CORPUS_DIR": str(root / "corpus"), "PA_ADMIN_TOKEN": TOKEN,
               "PA_RATE_LIMIT_PER_MINUTE": "0", "PYTHONPATH": str(checkout), "PA_INDEX_POLL_SECONDS": "1"}
        files = {"r3-xlsx": merged_xlsx(root / "r3.xlsx").read_bytes(), "r3-pdf": huge_pages_pdf(root / "r3.pdf").read_bytes()}
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
                if name in files:
                    with httpx.Client(base_url=served.url) as http:
                        out[f"{name}_one"] = _one(served.pid, _attack(name, http, files))
                once = _restore(checkout, env, root, served.url) if name in ONCE else None
                out[name] = _scenario(served.url, served.pid, name, seconds, attackers, files, once)
            return out
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run_hardening_bench(after: Path, before: Path | None, seconds: float = 15, attackers: int = 2,
                        f2_chars: int = 20_000, scenarios: tuple[str, ...] = SCENARIOS) -> dict[str, Any]:
    """`scenarios` in the order given, except r3-restore last (it changes the library)."""
    corpus = after / "corpus"
    scenarios = tuple(sorted(scenarios, key=lambda name: name in ONCE))
    result: dict[str, Any] = {"seconds_per_scenario": seconds, "attackers": attackers, "normal": NORMAL["question"],
                              "scenarios": list(scenarios)}
    if before is not None:
        result["before"] = bench_checkout(before, corpus, seconds, attackers, f2_chars, scenarios)
    result["after"] = bench_checkout(after, corpus, seconds, attackers, f2_chars, scenarios)
    return result
