"""Second round, findings 1, 4 and 5: the Gradio UI at /ui, attacked through its own HTTP API and in a browser.

1. Host files into the public index: the 文档 tab's upload event took a file object whose `path` the client
   chose; with the admin token any readable file on the server was indexed and then public. Now only a file
   THIS client uploaded through the page is accepted (api/ui_guard.py), before Gradio copies anything.
4. Live links and remote images: the chat rendered document text as Markdown (and, while streaming, as
   raw HTML); the staff panel and the 文档 status line too. Now document text is plain text everywhere
   (ui.render.plain): a beacon server on 127.0.0.1 must receive no request, and no link to the planted
   host may ever appear in the page (a MutationObserver watches from the first byte, streaming included).
5. The UI got around the API's limits. Now its events share the per-client rate limit, the queue has a
   maximum (PA_UI_QUEUE_MAX), event bodies are capped (PA_MAX_BODY_BYTES; the chat shown is kept on the
   server, never sent back by the page), uploads are budgeted per client and reply without server paths.

One real `python -m assistant serve` for the module (private copy of the session index, admin token,
rate limit on, X-Forwarded-For trusted so each test has its own client address). Bounded: at most 60
requests at once, 127.0.0.1 only. The planted document is INVENTED (测试市 does not exist).
"""
from __future__ import annotations

import asyncio
import http.server
import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
import time

import httpx
import pytest
from docfixtures import private_index
from test_uploads import AUTH, TOKEN

pytestmark = [pytest.mark.slow]
UI = "/ui/gradio_api"
QUEUE_MAX = 10
UPLOAD_BUDGET = 10 * 1024 * 1024
Q = "测试市科技创新券每年最高可申领多少？"


def links_doc(port: int) -> str:
    return f"""测试市科技创新券申领办法
（测试用虚构文件）
第一条 测试市科技创新券通过[申报系统](https://evil.example/login)在线申领，每家企业每年最高可申领30万元。
第二条 申领材料提交至 https://evil.example/upload 或 www.evil.example，审核结果<img src="http://127.0.0.1:{port}/beacon-raw">在十个工作日内公布。
第三条 创新券使用情况见![统计图](http://127.0.0.1:{port}/beacon-md)，逾期未使用的额度自动作废。
"""


class Beacon:
    """An HTTP server on 127.0.0.1 that counts every request (a tracking pixel's point of view)."""

    def __init__(self):
        hits = self.hits = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                hits.append(self.path)
                self.send_response(200)
                self.send_header("content-type", "image/gif")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def site(built_settings, cli_env, tmp_path_factory):
    from evals.benchmarks.load import serve

    beacon = Beacon()
    root = tmp_path_factory.mktemp("r2-ui")
    settings = private_index(built_settings, root / "lib")
    doc = settings.corpus_dir / "voucher-links.txt"
    doc.write_text(links_doc(beacon.port), encoding="utf-8")
    doc.with_name(doc.name + ".meta.json").write_text(json.dumps(
        {"doc_id": "voucher-links", "title": f"测试市科技创新券申领办法![t](http://127.0.0.1:{beacon.port}/beacon-title)"},
        ensure_ascii=False), encoding="utf-8")
    secret = root / "host-secret.txt"  # a file on the server, outside anything a client uploaded
    secret.write_text("测试宿主机私有配置（测试用虚构文件）\n第一条 机密口令为 hunter2-测试，仅限本机。\n", encoding="utf-8")
    env = {**cli_env, "PA_DATA_DIR": str(settings.data_dir), "PA_CORPUS_DIR": str(settings.corpus_dir),
           "PA_ADMIN_TOKEN": TOKEN, "PA_RATE_LIMIT_PER_MINUTE": "120", "PA_RATE_LIMIT_BURST": "30",
           "PA_TRUST_FORWARDED": "true", "PA_UI_QUEUE_MAX": str(QUEUE_MAX),
           "PA_UI_UPLOAD_BYTES_PER_HOUR": str(UPLOAD_BUDGET), "PA_INDEX_POLL_SECONDS": "1"}
    with serve(env, timeout=300, log_path=root / "server.log") as served:
        yield served.url, beacon, secret, settings


def client(url: str, ip: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=120, headers={"X-Forwarded-For": ip})


def call(http: httpx.Client, name: str, data: list) -> tuple[int, str]:
    """A UI event through Gradio's REST API: (status of the call, the result stream or the refusal)."""
    r = http.post(f"{UI}/call/{name}", json={"data": data})
    if r.status_code != 200:
        return r.status_code, r.text
    return 200, http.get(f"{UI}/call/{name}/{r.json()['event_id']}").text


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def found(url: str, query: str) -> list[str]:
    r = httpx.post(url + "/v1/search", json={"query": query, "top_k": 5}, headers={"X-Forwarded-For": "192.0.2.250"}, timeout=60)
    return [h["doc_id"] for h in r.json()["hits"]]


# ================================================================= 1. host files through the upload event
def test_a_host_path_is_refused_before_anything_is_read(site):
    url, _beacon, secret, settings = site
    http = client(url, "198.51.100.11")
    status, text = call(http, "upload", [TOKEN, file_data(str(secret)), ""])
    assert status == 403, text
    assert "uploaded by this client" in json.loads(text)["detail"]
    assert "host-secret" not in found(url, "机密口令 hunter2")
    assert not (settings.corpus_dir / "host-secret.txt").exists()


def test_a_url_as_a_file_is_refused_and_never_fetched(site):
    url, beacon, _secret, _settings = site
    before = len(beacon.hits)
    status, text = call(client(url, "198.51.100.12"), "upload",
                        [TOKEN, file_data(f"http://127.0.0.1:{beacon.port}/fetched.txt"), ""])
    assert status == 403, text
    assert len(beacon.hits) == before


def test_another_clients_upload_is_refused_and_ones_own_accepted(site):
    url, _beacon, _secret, settings = site
    alice, mallory = client(url, "198.51.100.13"), client(url, "198.51.100.14")
    text = "测试市孵化器认定办法（测试用虚构文件）\n第一条 测试市对新认定的孵化器给予一次性奖励15万元。\n"
    r = alice.post(f"{UI}/upload", files={"files": ("incubator.txt", text.encode("utf-8"), "text/plain")})
    assert r.status_code == 200, r.text
    [name] = r.json()
    assert not name.startswith("/") and "/tmp" not in r.text  # no server path in the reply
    status, out = call(mallory, "upload", [TOKEN, file_data(name), ""])
    assert status == 403, out
    status, out = call(alice, "upload", [TOKEN, file_data(name), ""])
    assert status == 200 and "event: complete" in out, out
    assert "incubator" in found(url, "孵化器 一次性奖励15万元")
    assert httpx.delete(f"{url}/v1/documents/incubator", headers=AUTH, timeout=120).status_code == 200


# ================================================================= 5. the UI's own limits
def test_chat_events_share_the_per_client_rate_limit(site):
    url, *_ = site
    http = client(url, "198.51.100.21")
    # PA_RATE_LIMIT_BURST=30 at once, then 120 a minute (2 a second): how many pass depends on how fast the
    # calls go, so call until 8 were refused and check that no more passed than the bucket allows
    codes: list[int] = []
    started = time.monotonic()
    while codes.count(429) < 8 and len(codes) < 300:
        codes.append(http.post(f"{UI}/call/respond", json={"data": ["大科城"]}).status_code)
    elapsed = time.monotonic() - started
    assert codes.count(429) >= 8, codes
    assert codes.count(200) <= 30 + 2 * elapsed + 1, (round(elapsed, 1), codes)
    assert set(codes) <= {200, 429, 503}, codes  # 503: the queue's maximum (QUEUE_MAX) reached first
    r = http.post(f"{UI}/call/respond", json={"data": ["大科城"]})
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    assert "PA_RATE_LIMIT_PER_MINUTE" in r.json()["detail"]


def test_a_flood_fills_the_queue_to_its_maximum_and_no_further(site):
    url, *_ = site

    async def flood() -> list[int]:
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            async def one(n: int) -> int:
                r = await http.post(f"{UI}/call/respond", json={"data": ["岳麓山大学科技城的建设目标是什么？"]},
                                    headers={"X-Forwarded-For": f"10.9.{n // 200}.{n % 200 + 1}"})
                return r.status_code
            return list(await asyncio.gather(*(one(n) for n in range(60))))

    with ThreadPoolExecutor(1) as pool:  # its own thread: the browser tests' event loop may run in this one
        codes = pool.submit(asyncio.run, flood()).result()
    accepted = codes.count(200)
    assert codes.count(503) >= 1 and set(codes) <= {200, 503}, codes  # 503: Gradio's "queue is full"
    assert accepted <= QUEUE_MAX + 2 * 2, (accepted, codes)  # the queue plus what was already running
    # an ordinary user gets an answer as soon as the (bounded) queue has room again
    http, deadline = client(url, "198.51.100.22"), time.monotonic() + 120
    while (got := call(http, "respond", [Q]))[0] == 503 and time.monotonic() < deadline:
        time.sleep(0.5)
    status, out = got
    assert status == 200 and "event: complete" in out, out[-500:]


def test_a_big_event_body_is_refused_and_the_chat_is_not_echoed(site):
    url, *_ = site
    history = [{"role": "user", "content": [{"type": "text", "text": "甲" * 1000}]}] * 3400  # about 10 MB
    http = client(url, "198.51.100.23")
    with http.stream("POST", f"{UI}/call/respond", json={"data": ["大科城", history]}) as r:
        assert r.status_code == 413, r.status_code
        assert "PA_MAX_BODY_BYTES" in r.read().decode()
    # the chat's answer carries the conversation the server kept, not one the client made up
    status, out = call(http, "respond", ["大科城的建设目标是什么？"])
    assert status == 200 and len(out) < 200_000, len(out)


def test_uploads_are_budgeted_per_client_and_reply_without_server_paths(site):
    url, *_ = site
    http = client(url, "198.51.100.24")
    blob = b"x" * (4 * 1024 * 1024)
    codes, bodies = [], []
    for i in range(10):
        r = http.post(f"{UI}/upload", files={"files": (f"f{i}.txt", blob, "text/plain")})
        codes.append(r.status_code)
        bodies.append(r.text)
    assert codes[:2] == [200, 200] and codes.count(429) >= 7, codes
    refused = bodies[codes.index(429)]
    assert "PA_UI_UPLOAD_BYTES_PER_HOUR" in refused
    assert not any("/tmp" in b or os.sep + "gradio" in b for b in bodies), bodies[:2]
    # another client is not affected
    r = client(url, "198.51.100.25").post(f"{UI}/upload", files={"files": ("g.txt", b"hello", "text/plain")})
    assert r.status_code == 200


# ================================================================= 4. document text is plain text in the page
WATCH = """
window.__planted = [];
new MutationObserver(() => {
  for (const el of document.querySelectorAll('a[href*="evil.example"], img[src*="127.0.0.1:PORT"], iframe, script[src*="evil"]'))
    window.__planted.push(el.outerHTML.slice(0, 200));
}).observe(document, {subtree: true, childList: true, attributes: true});
"""


def test_links_and_images_in_documents_never_reach_the_page(site, browser, tmp_path):
    url, beacon, _secret, _settings = site
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1200, "height": 1000},
                                  extra_http_headers={"X-Forwarded-For": "198.51.100.31"})
    page = context.new_page()
    page.add_init_script(WATCH.replace("PORT", str(beacon.port)))
    page.set_default_timeout(120_000)
    page.goto(url + "/ui/", wait_until="domcontentloaded")
    page.fill("#pa-input textarea", Q)
    page.click("#pa-send")
    bot = page.locator("#pa-chat .message.bot, #pa-chat [data-testid=bot]").last
    expect(page.locator("#pa-chat .pa-cards").last).to_be_visible()
    answer = page.locator("#pa-chat").inner_text()
    assert "30万元" in answer
    # the planted markup is there as the characters it is
    assert "evil.example" in answer
    page.locator("#pa-staff").get_by_text("工作人员面板", exact=False).first.click()
    expect(page.locator("#pa-staff")).to_contain_text("检索问题")

    # 文档 tab: an upload whose title is Markdown; the status line and the table show it as text
    page.get_by_role("tab", name="文档").click()
    page.fill("#pa-admin-token input", TOKEN)
    doc = tmp_path / "md-title.txt"
    doc.write_text("测试市标题注入样例（测试用虚构文件）\n第一条 测试市给予支持。\n", encoding="utf-8")
    page.set_input_files("#pa-docs-file input[type=file]", str(doc))
    page.fill("#pa-docs-meta textarea", json.dumps(
        {"title": f"标题[登录](https://evil.example/t)![i](http://127.0.0.1:{beacon.port}/beacon-status)"}))
    page.click("#pa-docs-add")
    expect(page.locator("#pa-docs-status")).to_contain_text("已添加", timeout=120_000)
    expect(page.locator("#pa-docs-status")).to_contain_text("evil.example")
    page.wait_for_timeout(1000)

    planted = page.evaluate("window.__planted")
    live = page.evaluate(f"""document.querySelectorAll('a[href*="evil.example"], img[src*="127.0.0.1:{beacon.port}"]').length""")
    context.close()
    assert planted == [] and live == 0, planted
    assert beacon.hits == [], beacon.hits
    assert bot is not None
    assert httpx.delete(f"{url}/v1/documents/md-title", headers=AUTH, timeout=120).status_code == 200
