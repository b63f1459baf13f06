"""The 政策匹配 tab without a browser: `render_matches` on a real match result of the session index, escaping,
the empty result, the form's choices and the click handler (errors surface as gr.Error)."""
from __future__ import annotations

import copy
import html
import re

import gradio as gr
import pytest

from assistant.service.service import Service
from assistant.finder import Profile
from assistant.finder.vocab import load_vocabulary
from ui.match_tab import (
    EMPTY_MESSAGE,
    STATUS_LABELS,
    match_tab,
    qualification_choices,
    render_matches,
)

PROFILE = {"entity_type": "enterprise", "qualifications": ["高新技术企业"], "industry": "生物医药", "park": "浏阳经开区"}


@pytest.fixture(scope="module")
def result(assistant) -> dict:
    return assistant.match(Profile(**PROFILE))


@pytest.fixture(scope="module")
def rendered(result) -> str:
    return render_matches(result)


def _cards(page: str) -> list[str]:
    return re.findall(r'<div class="pa-match-card .*?(?=<div class="pa-match-card |</section>)', page, re.DOTALL)


def test_every_measure_is_a_card_with_title_badge_and_citation(result, rendered):
    assert result["measures"], "the sample profile should match measures"
    cards = _cards(rendered)
    assert len(cards) == len(result["measures"])
    by_id = {m["id"]: m for m in result["measures"]}
    for card in cards:
        m = by_id[html.unescape(re.search(r'data-measure-id="([^"]*)"', card).group(1))]
        assert f'<span class="pa-match-title">{html.escape(m["title"])}</span>' in card
        assert f'<span class="pa-badge pa-badge-{m["status"]}">{STATUS_LABELS[m["status"]]}</span>' in card
        assert f'pa-status-{m["status"]}' in card
        c = m["citation"]
        assert f'<span class="pa-sec">{html.escape(c["section"])}</span>' in card
        assert html.escape(c["doc_title"]) in card
        assert f'<blockquote class="pa-match-quote">{html.escape(c["quote"])}</blockquote>' in card
        # the full passage is in a closed <details>, with the quote marked when it is a span of the text
        details = re.search(r'<details class="pa-match-passage">(.*?)</details>', card, re.DOTALL).group(1)
        assert html.unescape(re.sub(r"</?mark>", "", details)).endswith(c["text"] + "</p>")
        if c["quote"] in c["text"]:
            assert f"<mark>{html.escape(c['quote'])}</mark>" in details
        for why in m["why"]:
            assert f"<li>{html.escape(why)}</li>" in card
        marks = re.findall(r'<li class="pa-cond pa-cond-(\w+)"><span class="pa-cond-mark"[^>]*>(.)</span>', card)
        assert marks == [(cond["status"], {"met": "✓", "not_met": "✗", "unknown": "?"}[cond["status"]])
                         for cond in m["conditions"]]
        for cond in m["conditions"]:
            assert html.escape(cond["condition"]) in card and html.escape(cond["note"]) in card


def test_groups_in_order_with_their_measures(result, rendered):
    kinds = re.findall(r'<h3 class="pa-match-kind">(.*?) <span', rendered)
    assert kinds == [html.escape(g["kind"]) for g in result["groups"] if g["measures"]]
    sections = rendered.split('<section class="pa-match-group">')[1:]
    for g, section in zip(result["groups"], sections):
        ids = [html.unescape(x) for x in re.findall(r'data-measure-id="([^"]*)"', section)]
        assert ids == [m["id"] for m in g["measures"]]


def test_expected_measures_and_recognised_facts(result, rendered):
    facts = re.search(r'<div class="pa-match-facts">(.*?)</div>', rendered).group(1)
    assert "主体 <b>企业</b>" in facts
    assert "资格 <b>高新技术企业</b>" in facts
    assert "行业 <b>生物与新医药</b>" in facts  # 生物医药 is read as the vocabulary's industry
    assert "园区 <b>浏阳经开区</b>" in facts
    assert f"共考察 {result['considered']} 条措施，列出 {len(result['measures'])} 条" in rendered
    # the 高新技术企业培育 section and the 科技金融 measures are among the cards
    assert "加强高新技术企业培育" in rendered
    assert "科技金融" in rendered
    assert STATUS_LABELS["likely"] in rendered


def test_statuses_are_labelled(result):
    base = result["measures"][0]
    measures = []
    for i, status in enumerate(["likely", "check", "unlikely"]):
        m = copy.deepcopy(base)
        m.update(id=f"m{i}", title=f"措施{i}", status=status)
        measures.append(m)
    page = render_matches({"profile": result["profile"], "measures": measures,
                           "groups": [{"kind": "资金奖补", "measures": measures}], "considered": 3})
    for status, label in (("likely", "可能适用"), ("check", "需核实"), ("unlikely", "可能不适用")):
        assert f'<span class="pa-badge pa-badge-{status}">{label}</span>' in page
    assert "可能适用 1 条，需核实 1 条，可能不适用 1 条" in page


def test_html_in_the_data_is_escaped(result):
    m = copy.deepcopy(result["measures"][0])
    evil = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    m["title"] = "标题" + evil
    m["why"] = ["理由" + evil]
    m["conditions"] = [{"condition": "条件" + evil, "status": "not_met", "text": "", "note": "说明" + evil}]
    m["citation"].update(quote="引文" + evil, text="前文。引文" + evil + "。后文", section="章节" + evil,
                         doc_title="文件" + evil, passage_id='p"><b>x')
    page = render_matches({"profile": {"entity_type": "enterprise",
                                       "recognised": {"targets": ["<b>t</b>"], "industries": [], "places": []}},
                           "measures": [m], "groups": [{"kind": "<i>kind</i>", "measures": [m]}],
                           "considered": 1})
    assert "<script" not in page and "<img" not in page and "<b>t</b>" not in page and "<i>" not in page
    assert 'onerror="' not in page and '"><b>x' not in page
    assert page.count("&lt;script&gt;alert(1)&lt;/script&gt;") == 8  # title, why, condition, note, quote,
    # section, doc title and the passage text: every one shown as text
    assert "<mark>引文&lt;script&gt;" in page  # the quote is still marked inside the escaped passage
    assert '<span class="pa-cond-mark" title="不符合">✗</span>' in page


def test_empty_result_says_so(result):
    page = render_matches({"profile": {"entity_type": "researcher",
                                       "recognised": {"targets": [], "industries": [], "places": []}},
                           "measures": [], "groups": [], "considered": 0})
    assert EMPTY_MESSAGE in page
    assert "pa-match-card" not in page
    assert "主体 <b>科研人员</b>" in page and "未识别出具体资格、行业或园区" in page


def test_qualification_choices_follow_the_entity_type():
    vocab = load_vocabulary()
    for entity in ("enterprise", "researcher", "institution"):
        choices = qualification_choices(entity)
        assert choices
        assert all(vocab.target(t).entity == entity and not vocab.target(t).generic for t in choices)
    assert "高新技术企业" in qualification_choices("enterprise")
    assert "企业" not in qualification_choices("enterprise")  # generic words are not offered
    assert "青年人才" in qualification_choices("researcher") and "高新技术企业" not in qualification_choices("researcher")
    assert "新型研发机构" in qualification_choices("institution")


# ---------------------------------------------------------------------------- the handlers, without a browser
def _handlers(service: Service) -> dict:
    with gr.Blocks() as demo:
        match_tab(service)
    return {f.fn.__name__: f.fn for f in demo.fns.values()}


def test_find_renders_the_match(built_settings, assistant, rendered):
    find = _handlers(Service(built_settings, assistant=assistant))["find"]
    page = find("enterprise", ["高新技术企业"], "生物医药", "浏阳经开区", "", "", "")
    assert page == rendered


def test_find_reports_errors(built_settings, assistant):
    find = _handlers(Service(built_settings, assistant=assistant))["find"]
    with pytest.raises(gr.Error, match="资料有误"):
        find("enterprise", [], "生" * 501, None, "", "", "")  # longer than a profile field may be
    with pytest.raises(gr.Error, match="主体类型"):
        find(None, [], None, None, "", "", "")
    not_loaded = _handlers(Service(built_settings))["find"]  # never started: the index is not loaded
    with pytest.raises(gr.Error, match="索引尚未就绪"):
        not_loaded("enterprise", ["高新技术企业"], None, None, "", "", "")


def test_changing_the_entity_type_changes_the_choices(built_settings, assistant):
    on_entity = _handlers(Service(built_settings, assistant=assistant))["on_entity"]
    quals, talent = on_entity("researcher")
    assert quals["choices"] == qualification_choices("researcher")
    assert quals["value"] == [] and talent["visible"] is True
    _, talent = on_entity("enterprise")
    assert talent["visible"] is False
