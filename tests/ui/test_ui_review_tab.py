"""The 审核 tab in a real browser: a question refused in the chat shows in the queue (grouped), the charts
are drawn, and a curated answer written by picking a passage from search is then served through the API.
Runs its own server (with PA_ADMIN_TOKEN) on a private copy of the session index; the screenshot goes to
$PA_TEST_ARTIFACTS/ui-review-tab.png. Same skip rules as test_ui_browser.py."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import httpx
import pytest
from browser_support import require_browser

require_browser()
pytestmark = [pytest.mark.browser, pytest.mark.slow]

TOKEN = "review-tab-token"
REFUSED = "深圳的高企政策是什么？"
QUESTION = "到2025年长沙高企要有多少家？"
ANSWER = "到2025年，长沙高新技术企业数量目标为6000家[1]。"


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_settings, cli_env):
    """`python -m assistant serve` with the admin token on a private copy of the session index (its records
    database: SQLite in the private data directory)."""
    from evals.benchmarks.load import serve

    root = tmp_path_factory.mktemp("review-tab")
    shutil.copytree(built_settings.corpus_dir, root / "corpus")
    # the index, not the records the session's server may be writing (a new database is made)
    shutil.copytree(built_settings.data_dir, root / "data", ignore=shutil.ignore_patterns("records.sqlite3*"))
    env = {**cli_env, "PA_DATA_DIR": str(root / "data"), "PA_CORPUS_DIR": str(root / "corpus"),
           "PA_ADMIN_TOKEN": TOKEN, "PA_DATABASE_URL": ""}
    with serve(env, timeout=240, log_path=root / "server.log") as served:
        yield served.url


def test_review_tab_queue_charts_and_a_curated_answer(server, browser):
    url = server
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(url + "/ui/", wait_until="domcontentloaded")
    page.wait_for_selector("#pa-input textarea", timeout=30_000)
    page.fill("#pa-input textarea", REFUSED)  # asked in the chat: logged from the UI channel
    page.click("#pa-send")
    page.wait_for_selector("#pa-chat [data-testid=bot] .pa-cards", timeout=60_000)
    httpx.post(url + "/v1/ask", json={"question": "深圳对高新技术企业有什么政策？"}, timeout=60)  # the same, reworded

    page.get_by_role("tab", name="审核").click()
    page.fill("#pa-review-token input", "wrong")
    page.click("#pa-review-load")
    page.wait_for_selector("[data-testid=toast-body]:has-text('管理口令不正确')", timeout=15_000)
    page.fill("#pa-review-token input", TOKEN)
    page.click("#pa-review-load")
    page.wait_for_selector(f"#pa-review-queue:has-text('{REFUSED}')", timeout=30_000)
    for plot in ("#pa-review-per-day", "#pa-review-refusal", "#pa-review-feedback"):
        page.wait_for_selector(f"{plot} img", timeout=15_000)  # drawn as charts, not tables
    assert "个问题" in page.inner_text("#pa-review-info")

    page.fill("#pa-review-question textarea", QUESTION)
    page.fill("#pa-review-query textarea", "高新技术企业 2025年目标")
    page.click("#pa-review-search")
    option = page.locator("#pa-review-passages label").filter(has_text="6000").first
    option.wait_for(timeout=15_000)
    option.click()
    page.fill("#pa-review-answer textarea", "目标为9000家[1]。")  # a figure not in the passage: refused
    page.click("#pa-review-save")
    page.wait_for_selector("[data-testid=toast-body]:has-text('9000')", timeout=15_000)
    page.fill("#pa-review-answer textarea", ANSWER)
    page.click("#pa-review-save")
    page.wait_for_selector("#pa-review-saved:has-text('已保存')", timeout=15_000)

    served = httpx.post(url + "/v1/ask", json={"question": "2025年长沙高新技术企业要达到多少家？"}, timeout=60).json()
    assert served["source"] == "curated" and served["answer"] == ANSWER
    page.locator("[data-testid=toast-close]").evaluate_all("els => els.forEach(e => e.click())")
    artifacts = Path(os.environ.get("PA_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / "ui-review-tab.png"), full_page=True)
    page.close()
