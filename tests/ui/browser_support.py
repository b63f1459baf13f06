"""Shared by the browser tests: headless Debian chromium driven by Playwright.

    from browser_support import artifacts, require_browser
    require_browser()   # module level: skip without /usr/bin/chromium or playwright (fail with PA_REQUIRE_BROWSER=1)

The `browser` fixture (tests/conftest.py) launches one chromium for the session. Screenshots go to
$PA_TEST_ARTIFACTS (default: <repo>/test-artifacts).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
REPO_ROOT = Path(__file__).resolve().parents[2]


def require_browser() -> None:
    """Skip the calling module when chromium or playwright is missing; fail it with PA_REQUIRE_BROWSER=1."""
    required = os.environ.get("PA_REQUIRE_BROWSER") == "1"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        if required:
            pytest.fail(f"PA_REQUIRE_BROWSER=1 but {CHROMIUM} is missing or not executable", pytrace=False)
        pytest.skip(f"{CHROMIUM} not installed (set PA_REQUIRE_BROWSER=1 to fail instead)", allow_module_level=True)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        if required:
            pytest.fail(f"PA_REQUIRE_BROWSER=1 but playwright cannot be imported: {exc}", pytrace=False)
        pytest.skip(f"playwright not installed: {exc}", allow_module_level=True)


def artifacts() -> Path:
    path = Path(os.environ.get("PA_TEST_ARTIFACTS", REPO_ROOT / "test-artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path
