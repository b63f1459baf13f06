"""`evals.benchmarks.load`: the soak run (mixed ask/search, server RSS sampled from /proc) and the load run, against a
real `python -m assistant serve` on the session's index, plus the `evals soak` / `evals load` commands.

Nothing here is timed: the assertions are on the counts, the status codes and the shape and consistency
of the reports (the measured numbers are in the README, from the full-size runs).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evals.dataset import load_set
from evals.benchmarks.load import LOAD_ENV, Served, rss_kb, rss_report, run_load, run_soak, serve

DEV_SET = "evals/sets/plan_dev.jsonl"


@pytest.fixture(scope="module")
def questions(repo_root) -> list[str]:
    return [i.question for i in load_set(repo_root / DEV_SET)]


@pytest.fixture(scope="module")
def served(cli_env, tmp_path_factory):
    """Like `live_server`, but keeping the process id (for RSS) and with rate limiting off, as `evals soak` runs it."""
    log = tmp_path_factory.mktemp("soak") / "server.log"
    with serve({**cli_env, **LOAD_ENV}, timeout=180, log_path=log) as s:
        yield s


def test_serve_exposes_the_server_process(served):
    assert isinstance(served, Served)
    url, seconds = served  # still unpacks as (url, seconds) for the existing callers
    assert url == served.url and url.startswith("http://127.0.0.1:") and seconds == served.seconds > 0
    cmdline = Path(f"/proc/{served.pid}/cmdline").read_bytes().split(b"\0")
    assert cmdline[1:4] == [b"-m", b"assistant", b"serve"]  # the pid is the server, not some other process
    assert rss_kb(served.pid) > 50 * 1024  # a Python process holding an index: well over 50 MB resident
    assert rss_kb(2 ** 22 + 12345) == 0  # no such process: nothing, no error


def test_soak_report(served, questions):
    r = run_soak(served.url, questions, requests=300, concurrency=8, ask_share=0.5, pid=served.pid, sample_every=50)

    # every request was sent once and answered 200: nothing lost, no 5xx, no rate limiting
    assert (r["requests"], r["count"], r["ok"], r["errors"], r["5xx"]) == (300, 300, 300, 0, 0)
    assert r["status_codes"] == {"200": 300} and r["transport_errors"] == {}
    ask, search = r["endpoints"]["/v1/ask"], r["endpoints"]["/v1/search"]
    assert ask["count"] == search["count"] == 150  # ask_share 0.5: an even mix
    for ep in (ask, search):
        assert ep["status_codes"] == {"200": 150} and ep["5xx"] == 0
        assert 0 < ep["p50_ms"] <= ep["p95_ms"] <= ep["p99_ms"] <= ep["max_ms"]
    assert r["duration_s"] > 0 and r["rps"] == pytest.approx(300 / r["duration_s"], rel=0.05)

    rss = r["rss"]
    samples = rss["samples"]
    # before the first request, every 50 requests, after the last one
    assert [s["requests"] for s in samples] == [0, 50, 100, 150, 200, 250, 300]
    assert all(s["rss_mb"] > 50 for s in samples)
    assert [s["t_s"] for s in samples] == sorted(s["t_s"] for s in samples)
    assert rss["first_mb"] == samples[0]["rss_mb"] and rss["last_mb"] == samples[-1]["rss_mb"]
    assert rss["after_warmup_at"] == 50  # the first sample after 10% (30 requests)
    assert rss["after_warmup_mb"] == samples[1]["rss_mb"]
    assert rss["peak_mb"] == max(s["rss_mb"] for s in samples) >= rss["last_mb"]
    assert rss["growth_after_warmup_pct"] == round(
        (rss["last_mb"] - rss["after_warmup_mb"]) / rss["after_warmup_mb"] * 100, 2)
    # the server still answers and is the same process afterwards
    assert rss_kb(served.pid) > 0


def test_rss_report_warmup_and_growth():
    samples = [{"requests": n, "t_s": n / 10, "rss_mb": mb}
               for n, mb in [(0, 400.0), (500, 480.0), (1000, 500.0), (1500, 505.0), (2000, 510.0)]]
    r = rss_report(samples, warmup_requests=1000)
    assert (r["first_mb"], r["after_warmup_mb"], r["after_warmup_at"], r["last_mb"]) == (400.0, 500.0, 1000, 510.0)
    assert r["growth_after_warmup_pct"] == 2.0 and r["peak_mb"] == 510.0
    # the warm-up point falls between samples: the first sample after it
    assert rss_report(samples, warmup_requests=700)["after_warmup_at"] == 1000
    # a run shorter than its warm-up: the last sample, no growth
    assert rss_report(samples[:2], warmup_requests=1000)["growth_after_warmup_pct"] == 0.0


def test_soak_rejects_bad_arguments(questions):
    with pytest.raises(ValueError):
        run_soak("http://127.0.0.1:9", questions, requests=0)
    with pytest.raises(ValueError):
        run_soak("http://127.0.0.1:9", questions, ask_share=1.5)
    with pytest.raises(ValueError):
        run_soak("http://127.0.0.1:9", [], requests=10)


def test_load_report(served, questions):
    r = run_load(served.url, "search", questions, concurrency=4, duration=1.5, warmup=0.5)
    assert r["endpoint"] == "/v1/search" and r["clients"] == 4
    assert r["count"] > 0 and r["ok"] == r["count"] and r["status_codes"] == {"200": r["count"]}
    assert r["5xx"] == 0 and r["errors"] == 0 and r["transport_errors"] == {}
    assert 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"] <= r["max_ms"]
    with pytest.raises(ValueError):
        run_load(served.url, "stream", questions, duration=1)


def test_transport_failures_are_counted(questions):
    """A port nobody listens on: every request fails at the transport, none is counted as answered."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    r = run_soak(f"http://127.0.0.1:{port}", questions, requests=20, concurrency=2, timeout=2)
    assert r["count"] == 20 and r["ok"] == 0 and r["errors"] == 20 and r["5xx"] == 0
    assert sum(r["transport_errors"].values()) == 20 and r["rss"] is None


def test_soak_and_load_commands(served, cli_env, tmp_path):
    env = {**cli_env, "COLUMNS": "200"}
    out = tmp_path / "soak.json"
    proc = subprocess.run([sys.executable, "-m", "evals", "soak", "--requests", "40", "--clients", "4",
                           "--sample-every", "10", "--url", served.url, "--pid", str(served.pid), "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report == json.loads(proc.stdout)
    assert report["count"] == 40 and report["status_codes"] == {"200": 40}
    assert [s["requests"] for s in report["rss"]["samples"]] == [0, 10, 20, 30, 40]
    assert "growth after warm-up" in proc.stderr

    # an impossible growth limit fails the command (exit 1), after writing the report
    proc = subprocess.run([sys.executable, "-m", "evals", "soak", "--requests", "20", "--url", served.url,
                           "--pid", str(served.pid), "--sample-every", "5", "--max-growth-pct", "-1",
                           "--out", str(tmp_path / "soak2.json")],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and "after the warm-up (limit -1.0%)" in proc.stderr
    assert (tmp_path / "soak2.json").exists()

    out = tmp_path / "load.json"
    proc = subprocess.run([sys.executable, "-m", "evals", "load", "--url", served.url, "--endpoint", "ask",
                           "--clients", "3", "--duration", "1", "--warmup", "0", "--out", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert set(result) == {"cpus", "loadavg_before", "loadavg_after", "ask"} and result["cpus"] == os.cpu_count()
    assert len(result["loadavg_before"]) == len(result["loadavg_after"]) == 3
    ask = result["ask"]
    assert ask["clients"] == 3 and ask["count"] > 0 and ask["status_codes"] == {"200": ask["count"]}
    assert ask["5xx"] == 0 and "/v1/ask:" in proc.stderr

    bad = subprocess.run([sys.executable, "-m", "evals", "load", "--url", served.url, "--endpoint", "stream"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "allowed: search, ask" in bad.stderr
