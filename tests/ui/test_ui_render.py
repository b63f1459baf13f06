"""ui.render (the chat message HTML) and the staff panel rows, on hand-made citations and real answers."""
from __future__ import annotations

import re

import pytest

from assistant.answer import Answer, Citation
from ui.app import STAFF_COLUMNS, staff_rows
from ui.render import NOTICE_TEXT, answer_markdown, citation_card, highlight, plain, strip_html

TARGET_Q = "到2025年高新技术企业数量目标是多少？"
REFUSED_Q = "深圳的高企政策是什么？"


def _citation(**kw) -> Citation:
    base = dict(n=1, passage_id="plan:0001", doc_id="plan", doc_title="长沙市“十四五”科技创新发展规划（2021—2025年）",
                section="一、总体要求 > （三）发展目标", text="到2025年，高新技术企业数量达到6000家。其他内容。",
                quote="高新技术企业数量达到6000家。", meta={"doc_number": "长政办发〔2021〕30号", "issued": "2021-06-22"})
    base.update(kw)
    return Citation(**base)


def _cards(md: str) -> list[str]:
    return re.findall(r'<div class="pa-card" .*?(?=<div class="pa-card" |$)', md, flags=re.S)


# ---------------------------------------------------------------------------- highlight
def test_highlight_escapes_html_and_marks_the_quote():
    out = highlight("前言<script>alert('x')</script>重点句子。后文 & more", "重点句子。")
    assert "<script>" not in out
    assert plain("<script>alert('x')</script>") in out  # HTML and Markdown punctuation as entities
    assert "&lt;script&gt;alert&#40;&#x27;x&#x27;&#41;&lt;&#47;script&gt;" in out
    assert "<mark>重点句子。</mark>" in out
    assert out.endswith("后文 &amp; more")
    assert strip_html(out) == "前言<script>alert('x')</script>重点句子。后文 & more"


def test_highlight_escapes_the_quote_itself():
    out = highlight('a <b>"粗体"</b> z', '<b>"粗体"</b>')
    assert out == 'a <mark>&lt;b&gt;&quot;粗体&quot;&lt;&#47;b&gt;</mark> z'


@pytest.mark.parametrize("quote", ["", "不在文中的句子"])
def test_highlight_without_a_matching_quote_only_escapes(quote):
    out = highlight("文本 <i>x</i>", quote)
    assert out == "文本 &lt;i&gt;x&lt;&#47;i&gt;"
    assert "<mark>" not in out


def test_highlight_marks_only_the_first_occurrence():
    assert highlight("甲乙甲乙", "甲") == "<mark>甲</mark>乙甲乙"


# ---------------------------------------------------------------------------- citation cards
def test_citation_card_fields():
    card = citation_card(_citation())
    assert card.startswith('<div class="pa-card" data-passage-id="plan&#58;0001">')
    assert '<span class="pa-num">&#91;1&#93;</span>' in card
    assert '<span class="pa-doc">长沙市“十四五”科技创新发展规划（2021—2025年）</span>' in card
    assert "长政办发〔2021〕30号 · 2021&#45;06&#45;22" in card
    assert '<div class="pa-sec">一、总体要求 &gt; （三）发展目标</div>' in card
    assert "<mark>高新技术企业数量达到6000家。</mark>" in card
    assert "pa-ctx" not in card  # no assistant, no context


def test_citation_card_escapes_every_field():
    evil = '"><img src=x onerror=alert(1)>'
    card = citation_card(_citation(passage_id=evil, doc_title=evil, section=evil, text=evil + "正文", quote="正文",
                                   meta={"doc_number": evil}), label=evil)
    assert "<img" not in card
    assert card.count("&lt;img src&#61;x onerror&#61;alert&#40;1&#41;&gt;") == 6
    assert 'data-passage-id="&quot;&gt;&lt;img' in card  # the attribute cannot be closed early


def test_citation_card_label_replaces_the_number():
    card = citation_card(_citation(n=0), label="·")
    assert '<span class="pa-num">·</span>' in card and "[0]" not in card


# ---------------------------------------------------------------------------- answer_markdown on real answers
def test_answer_markdown_for_a_cited_answer(assistant):
    ans = assistant.ask(TARGET_Q)
    assert ans.answerable and ans.citations
    md = answer_markdown(ans, assistant)

    text = strip_html(md)
    assert text.startswith(ans.answer.split("\n")[0])
    assert "6000" in text and "[1]" in text
    assert '<div class="pa-cards"><div class="pa-cards-title">引用段落</div>' in md
    assert "pa-related" not in md
    cards = _cards(md)
    assert len(cards) == len(ans.citations)
    for c, card in zip(ans.citations, cards):
        assert f'data-passage-id="{plain(c.passage_id)}"' in card
        assert f'<span class="pa-num">{plain(f"[{c.n}]")}</span>' in card
        assert plain(c.doc_title) in card
        # the section path, levels joined by " > " (escaped in the HTML, readable after stripping tags)
        assert f'<div class="pa-sec">{plain(c.section)}</div>' in card
        assert " > " in strip_html(card)
        assert f"<mark>{plain(c.quote)}</mark>" in card
    first = cards[0]
    assert "（三）发展目标" in ans.citations[0].section

    # the context: the cited passage between its neighbours in the same document
    before, after = assistant.neighbours(ans.citations[0].passage_id, 1)
    assert before or after
    assert '<details class="pa-ctx"><summary>上下文</summary>' in first
    ctx = first[first.index('<details class="pa-ctx">'):]
    assert f'<p class="pa-ctx-p pa-ctx-self">{plain(ans.citations[0].text)}</p>' in ctx
    for p in before + after:
        assert p.doc_id == ans.citations[0].doc_id
        assert plain(p.text) in ctx
        assert plain(p.section_path) in ctx
    if before:
        assert ctx.index(plain(before[0].text)) < ctx.index("pa-ctx-self")
    if after:
        assert ctx.index("pa-ctx-self") < ctx.index(plain(after[-1].text))


def test_answer_markdown_for_a_list_answer_has_the_section_path(assistant):
    ans = assistant.ask("长沙对高新技术企业有哪些培育措施？")
    assert ans.answerable
    md = answer_markdown(ans, assistant)
    assert any("高新技术企业培育" in c.section for c in ans.citations), [c.section for c in ans.citations]
    for c in ans.citations:
        assert plain(c.section) in md
    assert md.count('<details class="pa-ctx">') == len(ans.citations)


def test_answer_markdown_without_assistant_has_no_context(assistant):
    md = answer_markdown(assistant.ask(TARGET_Q))
    assert "pa-card" in md and "pa-ctx" not in md


def test_answer_markdown_for_a_refusal(assistant):
    ans = assistant.ask(REFUSED_Q)
    assert not ans.answerable and not ans.citations and ans.related
    md = answer_markdown(ans, assistant)
    text = strip_html(md)
    assert text.startswith("规划中未找到")
    assert '<div class="pa-cards pa-related"><div class="pa-cards-title">最接近的段落（仅供参考）</div>' in md
    assert "[1]" not in md
    assert not re.search(r'<span class="pa-num">\[\d+\]</span>', md)
    cards = _cards(md)
    assert 1 <= len(cards) == min(3, len(ans.related))
    assert all('<span class="pa-num">·</span>' in card for card in cards)
    assert all('<details class="pa-ctx">' in card for card in cards)  # related reading opens in context too
    notice = re.search(r'<div class="pa-notice">(.*?)</div>', md)
    assert notice and notice.group(1).startswith(f"注意：{NOTICE_TEXT['refused']}")
    assert "深圳" in strip_html(notice.group(1))  # the reason is shown as a detail


def test_answer_markdown_escapes_the_echoed_question(assistant):
    """A refusal echoes the question ("未找到关于“…”的具体规定"): markup in it is shown as text."""
    from assistant.pipeline.compose import refusal_answer
    from assistant.pipeline.evidence import Refusal

    query = assistant.understand('<img src=x onerror="alert(1)">深圳的高企政策是什么？')
    ans = refusal_answer(query, assistant.fused(query)[:3], Refusal("test"))
    assert not ans.answerable and "<img src=x" in ans.answer
    md = answer_markdown(ans, assistant)
    assert "<img" not in md
    assert "&lt;img src&#61;x" in md


def test_answer_markdown_newlines_and_notices():
    ans = Answer(question="q", answer="第一行\n第二行 <b>", answerable=True, citations=[_citation()],
                 notices=["something new <i>", "refused: x <y>"])
    md = answer_markdown(ans)
    assert md.startswith("第一行<br>第二行 &lt;b&gt;")
    assert '<div class="pa-notice">注意：something new &lt;i&gt;</div>' in md  # unknown notices shown as they are
    known = re.search(r'<div class="pa-notice">(注意：' + re.escape(NOTICE_TEXT["refused"]) + r'.*?)</div>', md)
    assert known and strip_html(known.group(1)) == f"注意：{NOTICE_TEXT['refused']}（x <y>）"
    assert "<y>" not in md


def test_answer_markdown_with_neither_citations_nor_related():
    md = answer_markdown(Answer(question="q", answer="规划中未找到。", answerable=False))
    assert md == "规划中未找到。"


def test_strip_html():
    assert strip_html('<p class="x">a &gt; b<br>c</p>') == "a > bc"


# ---------------------------------------------------------------------------- app bug (documented)
def test_house_price_question_is_refused(assistant):
    ans = assistant.ask("长沙市的房价是多少？")
    assert not ans.answerable, ans.answer
    assert "规划中未找到" in strip_html(answer_markdown(ans, assistant))


# ---------------------------------------------------------------------------- staff panel rows
def test_staff_rows(assistant):
    rows = staff_rows(assistant, TARGET_Q, 5)
    assert len(rows) == 5
    assert all(len(r) == len(STAFF_COLUMNS) for r in rows)
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5]
    scores = [r[1] for r in rows]
    assert scores == sorted(scores, reverse=True)
    assert "（三）发展目标" in rows[0][4]
    assert "6000" in rows[0][5]
    assert all(len(r[5]) <= 160 for r in rows)


def test_staff_rows_on_an_invalid_query_is_empty(assistant):
    assert staff_rows(assistant, "   ", 5) == []
