"""Third hardening round, R3-6 and R3-7: the Gradio UI's upload budget and its unused routes.

R3-6  One multipart request with more files than the hour's budget, and one chunked request without
      Content-Length carrying more bytes than it, were both accepted (only later uploads were refused).
      Now files and bytes are counted as the request streams and the request is cut at the limit (429),
      none of its files usable afterwards.
R3-7  `POST /ui/gradio_api/process_recording` (4 MB echoed back, not rate-limited, not budgeted) and the
      other Gradio routes the app does not use answer 404 at the mount; the page and its event API work.

The app with its UI on a real uvicorn (a small library of an INVENTED 测试市 document), real HTTP clients.
"""
from __future__ import annotations

import json

import httpx
import pytest
from docfixtures import voucher_library
from helpers import ThreadedServer, parse_sse

pytestmark = [pytest.mark.slow]
UI = "/ui/gradio_api"
FILES, BYTES = 5, 64 * 1024


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    from api.app import create_app
    from assistant.core import Assistant

    settings = voucher_library(tmp_path_factory.mktemp("r3-ui"), trust_forwarded=True, ui_uploads_per_hour=FILES,
                               ui_upload_bytes_per_hour=BYTES)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False))
    with ThreadedServer(app) as served:
        yield served


def client(url: str, ip: str, timeout: float = 60) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=timeout, headers={"X-Forwarded-For": ip})


def test_one_request_with_more_files_than_the_budget_is_cut(url):
    with client(url, "198.51.100.61") as http:
        files = [("files", (f"f{i}.txt", f"测试文件{i}".encode(), "text/plain")) for i in range(FILES + 3)]
        r = http.post(f"{UI}/upload", files=files)
        assert r.status_code == 429, (r.status_code, r.text[:300])
        assert "PA_UI_UPLOADS_PER_HOUR" in r.json()["detail"] and int(r.headers["retry-after"]) > 0
        ok = http.post(f"{UI}/upload", files=files[:FILES])  # the budget itself is still there
        assert ok.status_code == 200 and len(ok.json()) == FILES, ok.text[:300]
        assert http.post(f"{UI}/upload", files=files[:1]).status_code == 429  # and now used up


def test_a_chunked_request_without_content_length_over_the_bytes_budget_is_cut(url):
    boundary = b"r3boundary"

    def body():
        yield b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="big.txt"\r\n'
        yield b"Content-Type: text/plain\r\n\r\n"
        for _ in range(16):  # 4 x BYTES in all
            yield b"x" * (BYTES // 4)
        yield b"\r\n--" + boundary + b"--\r\n"

    with client(url, "198.51.100.62") as http:
        r = http.post(f"{UI}/upload", content=body(),
                      headers={"content-type": "multipart/form-data; boundary=" + boundary.decode()})
        assert "content-length" not in r.request.headers
        assert r.status_code == 429, (r.status_code, r.text[:300])
        assert "PA_UI_UPLOAD_BYTES_PER_HOUR" in r.json()["detail"]


@pytest.mark.parametrize("method, path", [
    ("POST", f"{UI}/process_recording"), ("POST", f"{UI}/stream/abc"), ("GET", f"{UI}/proxy=http://127.0.0.1:9/"),
    ("POST", f"{UI}/vibe-edit"), ("GET", f"{UI}/run-history/buckets"), ("GET", f"{UI}/runs"),
    ("GET", "/ui/monitoring"), ("GET", f"{UI}/file/x"), ("GET", f"{UI}/dev/reload")])
def test_routes_the_app_does_not_use_are_closed_at_the_mount(url, method, path):
    with client(url, "198.51.100.63", timeout=10) as http:  # some were streams that never ended (dev/reload)
        r = http.request(method, path, files={"audio": ("a.wav", b"\0" * 4 * 1024 * 1024, "audio/wav")}
                         if method == "POST" else None)
    assert r.status_code == 404, (path, r.status_code, r.text[:200])
    assert len(r.content) < 200  # nothing echoed


def test_the_page_and_its_event_api_still_work(url):
    with client(url, "198.51.100.64") as http:
        assert http.get("/ui/").status_code == 200 and http.get("/ui/config").status_code == 200
        assert http.get(f"{UI}/info").status_code == 200
        r = http.post(f"{UI}/call/respond", json={"data": ["测试市创新券额度最高是多少？"]})
        assert r.status_code == 200, r.text[:300]
        result = http.get(f"{UI}/call/respond/{r.json()['event_id']}").text
        data = [json.loads(d) for e, d in parse_sse(result) if e == "complete"]
        assert data and "20万元" in json.dumps(data, ensure_ascii=False), result[-500:]
