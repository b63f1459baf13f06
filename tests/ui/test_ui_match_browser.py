"""The 政策匹配 tab in a real browser (headless Debian chromium via Playwright) against the session's `serve`
process (the `live_server` fixture). Same skip rules as test_ui_browser.py; a failed test leaves
fail-<test>.png in $PA_TEST_ARTIFACTS (default <repo>/test-artifacts), a passing one ui-match.png.
"""
from __future__ import annotations


import pytest

from browser_support import artifacts, require_browser

require_browser()
from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

RESULT_TIMEOUT_MS = 60_000
UI_TIMEOUT_MS = 15_000
TOAST = "[data-testid=toast-body]"
RESULTS = "#pa-match-results"


@pytest.fixture
def page(browser, live_server, request):
    """/ui opened on the 政策匹配 tab."""
    failed_before = request.session.testsfailed
    shot = artifacts() / f"fail-{request.node.name}.png"
    shot.unlink(missing_ok=True)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server + "/ui/", wait_until="domcontentloaded")
    page.get_by_role("tab", name="政策匹配").click()
    expect(page.locator("#pa-match-run")).to_be_visible()
    page.js_errors = errors
    yield page
    if request.session.testsfailed > failed_before:
        try:
            page.screenshot(path=str(shot), full_page=True)
        except Exception:  # noqa: BLE001, S110 - best effort
            pass
    context.close()


def _choose(page: Page, elem_id: str, value: str) -> None:
    """Pick `value` in a gr.Dropdown by typing and clicking the matching option."""
    box = page.locator(f"#{elem_id} input")
    box.click()
    box.fill(value)
    page.get_by_role("option", name=value, exact=True).click()
    expect(box).to_have_value(value)


def _run(page: Page):
    page.click("#pa-match-run")
    page.wait_for_function(
        """([results, toast]) => document.querySelector(results + ' .pa-match-card, ' + results + ' .pa-match-empty')
                                 || document.querySelector(toast + '.error')""",
        arg=[RESULTS, TOAST], timeout=RESULT_TIMEOUT_MS)
    assert page.locator(f"{TOAST}.error").count() == 0, page.locator(TOAST).all_inner_texts()
    return page.locator(RESULTS)


def test_enterprise_profile_finds_cited_measures(page):
    results = page.locator(RESULTS)
    expect(results).to_contain_text("点击“查找”")
    expect(page.locator("#pa-match-talent")).to_be_hidden()  # researchers only

    page.locator("#pa-match-entity").get_by_label("企业", exact=True).check()
    page.locator("#pa-match-quals").get_by_label("高新技术企业", exact=True).check()
    _choose(page, "pa-match-park", "浏阳经开区")
    industry = page.locator("#pa-match-industry input")  # a value that is not in the list: typed, kept on blur
    industry.fill("生物医药")
    industry.press("Enter")
    page.locator("#pa-match-desc textarea").click()
    expect(industry).to_have_value("生物医药")
    results = _run(page)

    expect(results.locator(".pa-match-facts")).to_contain_text("资格 高新技术企业")
    expect(results.locator(".pa-match-facts")).to_contain_text("园区 浏阳经开区")
    expect(results.locator(".pa-match-facts")).to_contain_text("行业 生物与新医药")  # 生物医药, understood
    cards = results.locator(".pa-match-card")
    assert cards.count() >= 5
    assert results.locator(".pa-match-group h3").count() >= 2  # grouped by kind of support

    # a card for 高新技术企业 from the 加强高新技术企业培育 / 科技金融 sections, with a status badge
    card = cards.filter(has_text="高新技术企业").filter(
        has=page.locator(".pa-sec", has_text="加强高新技术企业培育")).first
    expect(card).to_be_visible()
    expect(card.locator(".pa-badge")).to_have_count(1)
    assert card.locator(".pa-badge").inner_text().strip() in {"可能适用", "需核实", "可能不适用"}
    expect(card.locator(".pa-match-src .pa-doc")).to_contain_text("长沙市“十四五”科技创新发展规划")
    expect(cards.filter(has=page.locator(".pa-sec", has_text="科技金融")).first).to_be_visible()
    badges = [t.strip() for t in results.locator(".pa-badge").all_inner_texts()]
    assert len(badges) == cards.count() and set(badges) <= {"可能适用", "需核实", "可能不适用"}
    assert "可能适用" in badges
    likely = results.locator(".pa-badge-likely").first
    assert likely.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(220, 252, 231)"  # green badge

    # conditions with their marks; the full passage is hidden until its <details> is opened
    expect(card.locator(".pa-cond-mark").first).to_have_text("✓")
    passage = card.locator("details.pa-match-passage")
    text = passage.locator("p")
    expect(text).to_be_hidden()
    passage.locator("summary").click()
    expect(text).to_be_visible()
    quote = card.locator(".pa-match-quote").inner_text().strip()
    assert quote and quote in text.inner_text()

    page.screenshot(path=str(artifacts() / "ui-match.png"), full_page=True)
    assert not page.js_errors, page.js_errors


def test_researcher_choices_and_free_text(page):
    page.locator("#pa-match-quals").get_by_label("高新技术企业", exact=True).check()
    page.locator("#pa-match-entity").get_by_label("科研人员", exact=True).check()
    quals = page.locator("#pa-match-quals")
    expect(quals.get_by_label("青年人才", exact=True)).to_be_visible()
    expect(quals.get_by_label("高新技术企业", exact=True)).to_have_count(0)  # enterprise choices are gone
    expect(page.locator("#pa-match-talent")).to_be_visible()
    page.locator("#pa-match-talent textarea, #pa-match-talent input").first.fill("32岁博士，海外归国")
    results = _run(page)
    expect(results.locator(".pa-match-facts")).to_contain_text("主体 科研人员")
    expect(results.locator(".pa-match-facts")).to_contain_text("青年人才")
    expect(results.locator(".pa-match-facts")).to_contain_text("海外人才")
    assert results.locator(".pa-match-card").count() >= 1
    assert not page.js_errors, page.js_errors
