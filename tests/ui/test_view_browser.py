"""The citation view in a real browser: the chat's 查看原文 link opens the original document, scrolled to
the cited passage and highlighting it, its page image beside it with the passage boxed. Headless Debian
chromium against a real `serve` process on a library with an INVENTED scanned PDF (tests/scanfixtures.py).
Screenshots: $PA_TEST_ARTIFACTS/view-scan.png and view-from-chat.png."""
from __future__ import annotations

import os

import pytest
import scanfixtures as sf
from browser_support import artifacts, require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def scan_server(scan_library, tmp_path_factory):
    from evals.benchmarks.load import serve

    s = scan_library.settings
    env = {**os.environ, "PA_DATA_DIR": str(s.data_dir), "PA_CORPUS_DIR": str(s.corpus_dir), "PA_RATE_LIMIT_PER_MINUTE": "0",
           "PYTHONIOENCODING": "utf-8"}
    with serve(env, timeout=240, log_path=tmp_path_factory.mktemp("view-server") / "server.log") as served:
        yield served[0]


def _in_view(page, selector: str) -> bool:
    return page.eval_on_selector(selector, """e => { const r = e.getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight && r.height > 0; }""")


def test_the_view_scrolls_to_and_highlights_the_cited_passage(browser, scan_server):
    import httpx

    answer = httpx.post(scan_server + "/v1/ask", json={"question": sf.SCAN_Q}, timeout=60).json()
    cited = answer["citations"][0]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 640})
    page = context.new_page()
    try:
        page.goto(scan_server + cited["view_url"], wait_until="load")
        mark = page.locator("#pa-cited")
        expect(mark).to_contain_text(sf.SCAN_FIGURE)
        page.wait_for_function("() => document.querySelector('figure.pa-scan img').naturalWidth > 0")
        assert _in_view(page, "#pa-cited")  # scrolled to it
        background = mark.evaluate("e => getComputedStyle(e).backgroundColor")
        assert background == "rgb(255, 243, 163)", background  # highlighted
        box = page.locator("figure.pa-scan .pa-box").bounding_box()
        image = page.locator("figure.pa-scan img").bounding_box()
        assert box and image and box["width"] > 0.3 * image["width"] and box["y"] < image["y"] + image["height"] / 2
        page.screenshot(path=str(artifacts() / "view-scan.png"))
    finally:
        context.close()


def test_the_chat_citation_card_opens_the_original(browser, scan_server):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        page.goto(scan_server + "/ui/", wait_until="domcontentloaded")
        page.fill("#pa-input textarea", sf.SCAN_Q)
        page.click("#pa-send")
        link = page.locator("#pa-chat .pa-card a.pa-view").first
        expect(link).to_have_text("查看原文")
        assert link.get_attribute("target") == "_blank"
        with context.expect_page() as opened:
            link.click()
        view = opened.value
        view.wait_for_load_state("load")
        expect(view.locator("#pa-cited")).to_be_visible()
        expect(view.locator("#pa-cited")).to_contain_text(sf.SCAN_FIGURE)
        view.screenshot(path=str(artifacts() / "view-from-chat.png"))
    finally:
        context.close()


@pytest.fixture(scope="module")
def admin_server(built_settings, tmp_path_factory):
    from docfixtures import private_index
    from evals.benchmarks.load import serve

    root = tmp_path_factory.mktemp("versions-tab")
    s = private_index(built_settings, root / "lib")
    env = {**os.environ, "PA_DATA_DIR": str(s.data_dir), "PA_CORPUS_DIR": str(s.corpus_dir), "PA_RATE_LIMIT_PER_MINUTE": "0",
           "PA_ADMIN_TOKEN": sf.TOKEN, "PYTHONIOENCODING": "utf-8"}
    with serve(env, timeout=240, log_path=root / "server.log") as served:
        yield served[0], root


def test_the_docs_tab_keeps_the_old_version_and_shows_what_changed(browser, admin_server):
    url, root = admin_server
    v1, v2 = sf.policy_versions()
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    page.set_default_timeout(90_000)
    try:
        for n, text in enumerate((v1, v2), start=1):  # a fresh page for each upload (an empty file input)
            page.goto(url + "/ui/", wait_until="domcontentloaded")
            page.wait_for_selector("#pa-input textarea")
            page.get_by_role("tab", name="文档").click()
            page.fill("#pa-admin-token input", sf.TOKEN)
            folder = root / f"v{n}"
            folder.mkdir()
            (folder / "cxq.txt").write_text(text, encoding="utf-8")
            page.set_input_files("#pa-docs-file input[type=file]", str(folder / "cxq.txt"))
            page.wait_for_timeout(800)
            page.click("#pa-docs-add")
            page.wait_for_selector(f"#pa-docs-status:has-text('{'已添加' if n == 1 else '已更新'}')")
        expect(page.locator("#pa-docs-status")).to_contain_text("旧版本保留为 cxq@v1（已修订）")
        page.reload(wait_until="domcontentloaded")  # the versions list is filled when the page loads
        page.get_by_role("tab", name="文档").click()
        page.click("#pa-versions button, #pa-versions .label-wrap")
        page.click("#pa-versions-doc input")
        page.keyboard.type("cxq")
        page.wait_for_selector("[role=option]:has-text('cxq')")
        page.keyboard.press("Enter")
        page.wait_for_timeout(500)
        page.click("#pa-versions-show")
        diff = page.locator("#pa-versions-diff")
        expect(diff).to_contain_text("第1版 → 第2版：修改 2 条，删除 1 条，新增 0 条")
        expect(diff).to_contain_text("数字变化：额度最高为20万元 → 30万元")
        expect(diff).to_contain_text("删除 · 第四条")
        diff.screenshot(path=str(artifacts() / "docs-versions.png"))
    finally:
        page.close()
