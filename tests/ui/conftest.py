"""The browser shared by the UI tests (one headless chromium for the session)."""
from __future__ import annotations

import pytest
from browser_support import CHROMIUM, LAUNCH_ARGS, require_browser


@pytest.fixture(scope="session")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    except Exception:
        pw.stop()
        raise
    yield b
    b.close()
    pw.stop()
