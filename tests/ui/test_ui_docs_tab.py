"""The 文档 tab in a real browser: list, upload with the admin token, answer from the new document, remove.

Runs its own server (with PA_ADMIN_TOKEN) on a private copy of the session index. Same skip rules as
test_ui_browser.py. The uploaded document is invented test data.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from browser_support import require_browser

require_browser()

pytestmark = [pytest.mark.browser, pytest.mark.slow]
TOKEN = "docs-tab-token"
DOC = "测试市科技创新券管理办法（测试用虚构文件）\n第一条 科技创新券每家企业每年申领额度不超过35万元。\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory, built_settings, cli_env):
    root = tmp_path_factory.mktemp("docs-tab")
    shutil.copytree(built_settings.corpus_dir, root / "corpus")
    shutil.copytree(built_settings.data_dir, root / "data")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**cli_env, "PA_DATA_DIR": str(root / "data"), "PA_CORPUS_DIR": str(root / "corpus"),
           "PA_ADMIN_TOKEN": TOKEN}
    proc = subprocess.Popen([sys.executable, "-m", "assistant", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    (root / "voucher-test.txt").write_text(DOC, encoding="utf-8")
    yield {"url": url, "root": root}
    proc.terminate()
    proc.wait(15)


def test_docs_tab_upload_and_remove(server, browser):
    url, root = server["url"], server["root"]
    page = browser.new_page(viewport={"width": 1200, "height": 1000})
    page.goto(url + "/ui/", wait_until="domcontentloaded")
    page.wait_for_selector("#pa-input textarea", timeout=30_000)
    page.get_by_role("tab", name="文档").click()
    page.wait_for_selector("#pa-docs-table:has-text('changsha-sti-plan-2021-2025')", timeout=15_000)

    # a wrong token is refused and nothing is added
    page.fill("#pa-admin-token input", "wrong")
    page.set_input_files("#pa-docs-file input[type=file]", str(root / "voucher-test.txt"))
    page.wait_for_timeout(800)
    page.click("#pa-docs-add")
    page.wait_for_selector("[data-testid=toast-body]:has-text('管理口令不正确')", timeout=15_000)
    assert "voucher-test" not in {d["doc_id"] for d in httpx.get(url + "/v1/documents").json()["documents"]}

    page.fill("#pa-admin-token input", TOKEN)
    page.click("#pa-docs-add")
    page.wait_for_selector("#pa-docs-status:has-text('已添加')", timeout=60_000)
    page.wait_for_selector("#pa-docs-table:has-text('voucher-test')", timeout=15_000)
    answer = httpx.post(url + "/v1/ask", json={"question": "科技创新券每家企业每年申领额度是多少？"}, timeout=30).json()
    assert "35万元" in answer["answer"] and answer["citations"][0]["doc_id"] == "voucher-test"
    artifacts = Path(os.environ.get("PA_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(artifacts / "ui-docs-tab.png"), full_page=True)

    page.click("#pa-docs-choice input")
    page.keyboard.type("voucher-test")
    page.wait_for_selector("ul[role=listbox] li:has-text('voucher-test'), [role=option]:has-text('voucher-test')",
                           timeout=15_000)
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    page.click("#pa-docs-remove")
    page.wait_for_selector("#pa-docs-status:has-text('已删除')", timeout=60_000)
    assert "voucher-test" not in {d["doc_id"] for d in httpx.get(url + "/v1/documents").json()["documents"]}
    page.close()


def test_evals_tab_runs_a_staff_set(server, browser):
    url, root = server["url"], server["root"]
    staff_set = root / "staff-set.csv"
    staff_set.write_text("编号,问题,标准答案要点,依据原文,类别\n"
                         "S1,到2025年高新技术企业数量目标是多少？,6000,高新技术企业数(家),数字\n"
                         "S2,长沙市的房价是多少？,,,无答案\n", encoding="utf-8")
    page = browser.new_page(viewport={"width": 1200, "height": 1200})
    page.goto(url + "/ui/", wait_until="domcontentloaded")
    page.wait_for_selector("#pa-input textarea", timeout=30_000)
    page.get_by_role("tab", name="评测").click()
    page.fill("#pa-eval-token input", TOKEN)
    page.set_input_files("#pa-eval-file input[type=file]", str(staff_set))
    page.wait_for_timeout(800)
    page.click("#pa-eval-start")
    page.wait_for_selector("#pa-eval-status:has-text('完成')", timeout=60_000)
    summary = page.inner_text("#pa-eval-summary")
    assert "hit@1" in summary and "refusal_acc" in summary
    assert ".html" in page.inner_text("#pa-eval-report")  # the report, offered for download
    page.close()
