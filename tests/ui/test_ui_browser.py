"""The chat page in a real browser (headless Debian chromium via Playwright) against a real `serve` process.

Skipped when /usr/bin/chromium (or the playwright package) is missing, unless PA_REQUIRE_BROWSER=1,
in which case the module fails loudly instead. Screenshots go to $PA_TEST_ARTIFACTS (default:
<repo>/test-artifacts): ui-answer.png, ui-phone.png, and fail-<test>.png for a failed test.
"""
from __future__ import annotations

import re

import pytest

from browser_support import artifacts, require_browser

require_browser()
from playwright.sync_api import Page, expect  # noqa: E402

pytestmark = pytest.mark.browser

ANSWER_TIMEOUT_MS = 60_000
UI_TIMEOUT_MS = 15_000

BOT = "#pa-chat [data-testid=bot]"
USER = "#pa-chat [data-testid=user]"
TOAST = "[data-testid=toast-body]"


def _open(browser, live_server: str, request, **context_options):
    (artifacts() / f"fail-{request.node.name}.png").unlink(missing_ok=True)  # no stale failure screenshot
    context = browser.new_context(locale="zh-CN", **context_options)
    page = context.new_page()
    page.set_default_timeout(UI_TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(live_server + "/", wait_until="domcontentloaded")
    page.wait_for_selector("#pa-input textarea")
    page.js_errors = errors  # inspected by tests that care
    return context, page


def _close(context, page, request, failed_before: int) -> None:
    # session.testsfailed is counted when the call phase is reported, i.e. before this teardown runs
    if request.session.testsfailed > failed_before:
        try:
            page.screenshot(path=str(artifacts() / f"fail-{request.node.name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - best effort
            pass
    context.close()


@pytest.fixture
def page(browser, live_server, request):
    failed_before = request.session.testsfailed
    context, page = _open(browser, live_server, request, viewport={"width": 1280, "height": 900})
    yield page
    _close(context, page, request, failed_before)


@pytest.fixture
def phone_page(browser, live_server, request):
    failed_before = request.session.testsfailed
    context, page = _open(browser, live_server, request, viewport={"width": 390, "height": 844},
                          device_scale_factor=2, is_mobile=True, has_touch=True)
    yield page
    _close(context, page, request, failed_before)


@pytest.fixture
def feedback_file(built_settings):
    """The live server's records database (SQLite in the session index's data dir), where feedback is kept."""
    from assistant.records import Database

    return Database(built_settings.database_config())


# ---------------------------------------------------------------------------- helpers
def _toasts(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(f"{TOAST} [data-testid=toast-text]").all_inner_texts()]


def _wait_answers(page: Page, n: int):
    """Wait until the n-th final answer (the message with citation or related cards) is shown; return it.

    While streaming, the last message holds partial text without cards. An error toast ends the wait early.
    """
    page.wait_for_function(
        """([bot, toast, n]) => document.querySelectorAll(bot + ' .pa-cards').length >= n
                                || document.querySelector(toast + '.error') !== null""",
        arg=[BOT, TOAST, n], timeout=ANSWER_TIMEOUT_MS)
    errors = page.locator(f"{TOAST}.error")
    assert errors.count() == 0, f"the UI reported an error: {_toasts(page)}"
    last = page.locator(BOT).last
    expect(last.locator(".pa-cards")).to_have_count(1)  # the latest message is the final one
    return last


def _ask(page: Page, question: str):
    _dismiss_toasts(page)
    n = page.locator(f"{BOT} .pa-cards").count()
    page.fill("#pa-input textarea", question)
    page.click("#pa-send")
    last = _wait_answers(page, n + 1)
    expect(page.locator(USER).last).to_have_text(question)
    expect(page.locator("#pa-input textarea")).to_have_value("")  # the box is cleared for the next question
    return last


def _dismiss_toasts(page: Page) -> None:
    page.locator(f"{TOAST} [data-testid=toast-close]").evaluate_all("els => els.forEach(e => e.click())")
    expect(page.locator(TOAST)).to_have_count(0)


def _open_accordion(page: Page, elem_id: str, label: str) -> None:
    page.locator(f"#{elem_id}").get_by_text(label, exact=True).click()


def _feedback_lines(records) -> list[dict]:
    from assistant.records.feedback import list_feedback

    return list_feedback(records)


def _no_horizontal_overflow(page: Page, width: int) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width + 2, f"horizontal overflow: scrollWidth={scroll_width} > viewport {width}"


# ---------------------------------------------------------------------------- tests
def test_root_redirects_to_the_chat(page, live_server):
    assert page.url == live_server + "/ui/"
    expect(page).to_have_title(re.compile("政策助手"))
    expect(page.locator("#pa-title")).to_contain_text("政策助手")
    expect(page.locator("#pa-send")).to_have_text("发送")
    expect(page.locator("#pa-clear")).to_have_text("新对话")
    expect(page.locator(BOT)).to_have_count(0)


def test_answer_with_citation_cards_context_and_staff_panel(page):
    question = "长沙对高新技术企业有哪些培育措施？"
    last = _ask(page, question)

    expect(last).to_contain_text("根据规划：")
    expect(last).to_contain_text("高新技术企业")
    expect(last.locator(".pa-cards-title")).to_have_text("引用段落")
    expect(last.locator(".pa-card").first.locator(".pa-num")).to_have_text("[1]")
    expect(last.locator(".pa-card").first.locator(".pa-doc")).to_contain_text("长沙市“十四五”科技创新发展规划")

    # the card of the 高新技术企业培育 section (the body section "2. 加强高新技术企业培育" and the 专栏 3—3 entry
    # "高新技术企业培育" both qualify; today the answer cites the latter)
    card = last.locator(".pa-card").filter(has=page.locator(".pa-sec", has_text="高新技术企业培育")).first
    expect(card).to_be_visible()
    assert " > " in card.locator(".pa-sec").inner_text()
    mark = card.locator(".pa-text mark")
    expect(mark).to_have_count(1)
    assert mark.inner_text().strip() in card.locator(".pa-text").inner_text()

    # 上下文: the neighbouring passages are hidden until the details element is opened
    ctx = card.locator("details.pa-ctx")
    neighbours = ctx.locator("p.pa-ctx-p")
    assert neighbours.count() >= 2  # the passage itself plus at least one neighbour
    expect(neighbours.first).to_be_hidden()
    ctx.locator("summary").click()
    expect(ctx).to_have_attribute("open", "")
    for i in range(neighbours.count()):
        expect(neighbours.nth(i)).to_be_visible()
    expect(ctx.locator("p.pa-ctx-self")).to_have_text(card.locator(".pa-text").inner_text().strip())
    others = ctx.locator("p.pa-ctx-p:not(.pa-ctx-self)")
    assert others.count() >= 1 and all(t.strip() for t in others.all_inner_texts())

    # the staff panel (closed by default) lists what was retrieved for this question
    staff_table = page.locator("#pa-staff-table")
    expect(staff_table).to_be_hidden()
    _open_accordion(page, "pa-staff", "工作人员面板：上一问题的检索结果")
    expect(page.locator("#pa-staff")).to_contain_text(f"检索问题：{question}")
    expect(page.locator("#pa-staff")).to_contain_text("模式：extractive")
    headers = [h.strip() for h in staff_table.locator("[role=columnheader]").all_inner_texts()]
    assert headers == ["排名", "综合分", "BM25", "向量", "章节", "段落"]
    ranks = staff_table.locator("[role=gridcell][aria-colindex='1']")
    expect(ranks.first).to_have_text("1")
    assert ranks.count() >= 3
    expect(staff_table.locator("[role=gridcell][aria-colindex='5']").first).to_contain_text("高新技术企业培育")

    shot = artifacts() / "ui-answer.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    assert not page.js_errors, page.js_errors


def test_follow_up_question_in_the_same_chat(page):
    first = _ask(page, "到2025年高新技术企业数量目标是多少？")
    expect(first).to_contain_text("6000")

    second = _ask(page, "那2020年呢？")
    expect(second).to_contain_text("4142")
    expect(second.locator(".pa-card .pa-sec").first).to_contain_text("（三）发展目标")
    expect(page.locator(USER)).to_have_count(2)
    expect(page.locator(BOT)).to_have_count(2)
    expect(page.locator(BOT).first).to_contain_text("6000")  # the first answer stays as it was
    # the follow-up was searched as a standalone question
    _open_accordion(page, "pa-staff", "工作人员面板：上一问题的检索结果")
    expect(page.locator("#pa-staff")).to_contain_text("检索问题：到2020年高新技术企业数量目标是多少？")


def test_example_button_asks_its_question(page):
    question = "到2025年高新技术企业数量目标是多少？"
    examples = page.locator("#pa-examples")
    for group in ("企业 · 支持与补贴", "科研人员 · 人才政策", "工作人员 · 指标目标"):
        expect(examples).to_contain_text(group)
    examples.get_by_role("button", name=question, exact=True).click()

    last = _wait_answers(page, 1)
    expect(page.locator(USER)).to_have_count(1)
    expect(page.locator(USER).first).to_have_text(question)
    expect(last).to_contain_text("6000")
    expect(last.locator(".pa-card .pa-num").first).to_have_text("[1]")
    expect(last.locator(".pa-card .pa-sec").first).to_contain_text("（三）发展目标")
    expect(page.locator("#pa-input textarea")).to_have_value("")


def test_refused_question_shows_related_reading_without_numbers(page):
    last = _ask(page, "深圳的高企政策是什么？")
    expect(last).to_contain_text("规划中未找到")
    expect(last.locator(".pa-cards.pa-related")).to_have_count(1)
    expect(last.locator(".pa-cards-title")).to_have_text("最接近的段落（仅供参考）")
    nums = last.locator(".pa-card .pa-num")
    assert nums.count() >= 1
    assert set(t.strip() for t in nums.all_inner_texts()) == {"·"}
    assert not re.search(r"\[\d+\]", last.inner_text())
    expect(last.locator(".pa-notice")).to_contain_text("注意：")


def test_html_in_a_question_is_not_executed(page):
    question = '<img src=x onerror="window.__pa_xss=1">深圳的高企政策是什么？'
    n = page.locator(f"{BOT} .pa-cards").count()
    page.fill("#pa-input textarea", question)
    page.click("#pa-send")
    last = _wait_answers(page, n + 1)
    expect(last.locator(".pa-cards.pa-related")).to_have_count(1)  # refused (深圳 is not in the plan)
    expect(last).to_contain_text("<img src=x")  # the answer echoes the question as text, not as an element
    assert last.locator("img").count() == 0
    # (the user's own message is rendered by gr.Chatbot as sanitised markdown/HTML: the tag becomes an
    # <img> without its handler; see the report) -- whatever is shown, no handler may run
    assert page.locator("#pa-chat [onerror]").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__pa_xss") is None


def test_feedback_up_vote_is_recorded(page, feedback_file):
    question = "2025年技术合同成交额目标是多少？"
    last = _ask(page, question)
    answer_text = last.inner_text()
    before = len(_feedback_lines(feedback_file))

    _open_accordion(page, "pa-feedback", "反馈")
    comment_box = page.locator("#pa-feedback").get_by_label("意见（可选）")
    comment_box.fill("浏览器测试：引用清楚")
    page.click("#pa-up")
    expect(page.locator(f"{TOAST} [data-testid=toast-text]").filter(has_text="感谢反馈")).to_be_visible()
    expect(comment_box).to_have_value("")  # cleared once recorded

    lines = _feedback_lines(feedback_file)
    assert len(lines) == before + 1
    entry = lines[-1]
    assert entry["vote"] == "up"
    assert entry["comment"] == "浏览器测试：引用清楚"
    assert entry["question"] == question
    assert entry["answerable"] is True and entry["mode"] == "extractive"
    assert entry["answer"].startswith("根据规划：") and entry["answer"] in answer_text
    assert entry["citations"] and entry["citations"][0]["n"] == 1 and entry["citations"][0]["passage_id"]
    from assistant.records.questions import questions

    logged = [q for q in questions(feedback_file) if q["question"] == question and q["channel"] == "ui"]
    assert logged and logged[0]["vote"] == "up"  # the question log row got the vote too


def test_feedback_write_failure_shows_an_error(page, feedback_file):
    _ask(page, "2025年全社会研发经费投入强度目标是多少？")
    from sqlalchemy import text

    with feedback_file.session() as s:  # the table gone: every write fails, as with a broken database
        s.execute(text("ALTER TABLE feedback RENAME TO feedback_away"))
    try:
        _open_accordion(page, "pa-feedback", "反馈")
        page.locator("#pa-feedback").get_by_label("意见（可选）").fill("写不进去")
        page.click("#pa-down")
        error = page.locator(f"{TOAST}.error [data-testid=toast-text]")
        expect(error).to_contain_text("反馈未能保存")
        expect(error).to_contain_text("feedback")  # the database's own words: no such table: feedback
        assert not any("感谢反馈" in t for t in _toasts(page))
    finally:
        with feedback_file.session() as s:
            s.execute(text("ALTER TABLE feedback_away RENAME TO feedback"))


def test_feedback_needs_an_answer_and_new_chat_resets(page, feedback_file):
    before = len(_feedback_lines(feedback_file))
    _open_accordion(page, "pa-feedback", "反馈")
    page.click("#pa-up")
    expect(page.locator(f"{TOAST}.error [data-testid=toast-text]").first).to_contain_text("请先提问")

    _ask(page, "科技型中小企业可以得到哪些支持？")
    _open_accordion(page, "pa-staff", "工作人员面板：上一问题的检索结果")
    expect(page.locator("#pa-staff")).to_contain_text("检索问题：")
    page.click("#pa-clear")
    expect(page.locator(BOT)).to_have_count(0)
    expect(page.locator(USER)).to_have_count(0)
    expect(page.locator("#pa-staff")).not_to_contain_text("检索问题：")
    expect(page.locator("#pa-staff-table [role=gridcell]")).to_have_count(0)

    _dismiss_toasts(page)
    page.click("#pa-down")  # the last answer was forgotten with the chat
    expect(page.locator(f"{TOAST}.error [data-testid=toast-text]").first).to_contain_text("请先提问")
    assert len(_feedback_lines(feedback_file)) == before

    # the cleared chat has no history: a follow-up-like question is not rewritten against the old one
    last = _ask(page, "到2025年高新技术企业数量目标是多少？")
    expect(last).to_contain_text("6000")
    expect(page.locator(BOT)).to_have_count(1)


def test_empty_question_warns_and_asks_nothing(page):
    page.fill("#pa-input textarea", "   ")
    page.click("#pa-send")
    expect(page.locator(f"{TOAST} [data-testid=toast-text]").first).to_contain_text("请输入问题")
    expect(page.locator(BOT)).to_have_count(0)


def test_phone_width_has_no_horizontal_overflow(phone_page):
    page = phone_page
    _no_horizontal_overflow(page, 390)
    last = _ask(page, "长沙如何引进和培育高层次科技人才？")
    cards = last.locator(".pa-card")
    assert cards.count() >= 1
    _no_horizontal_overflow(page, 390)
    card = cards.first
    card.locator("details.pa-ctx summary").click()
    expect(card.locator("p.pa-ctx-p").first).to_be_visible()
    _no_horizontal_overflow(page, 390)
    for i in range(cards.count()):
        box = cards.nth(i).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, box
    # the wide staff table scrolls inside its own box instead of widening the page
    _open_accordion(page, "pa-staff", "工作人员面板：上一问题的检索结果")
    expect(page.locator("#pa-staff-table [role=gridcell]").first).to_be_visible()
    _no_horizontal_overflow(page, 390)

    shot = artifacts() / "ui-phone.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
