"""Third hardening round, R3-5: no client renders a document's markup.

An INVENTED document (测试市 does not exist) whose title and text hold `<img onerror>`, a javascript: link, a
remote image, `<script>`, `<iframe>`, `<svg onload>`, an autolink and a bare URL is indexed (real embedder,
real Chroma) and asked about through `/v1/chat/completions`, plain and streamed, and through the MCP tools
(real server, the official client). The replies' text is rendered by a real CommonMark renderer with raw
HTML on (markdown-it-py, as the Markdown chat clients do): no tag, link or image comes out of it, and the
document's words are still there as text. The structured data (citations, MCP structured content) keeps
the document's text as it is.
"""
from __future__ import annotations

import json
import re

import pytest
from docfixtures import write_sidecar
from fastapi.testclient import TestClient
from helpers import ThreadedServer, mcp_calls, parse_sse, test_settings
from markdown_it import MarkdownIt

pytestmark = [pytest.mark.slow]
MARKUP = ("<img src=x onerror=alert(1)>[申报系统](javascript:alert(1))![t](http://127.0.0.1:9/beacon)"
          "<script>alert(1)</script><iframe src=https://evil.example></iframe><svg onload=alert(1)>"
          "<https://evil.example/login> https://evil.example/a www.evil.example")
TITLE = "测试市创新券办法<img src=x onerror=alert(2)>[点此](javascript:alert(3))"
DOC = ("测试市科技创新券管理办法（测试用虚构文件）\n"
       f"第一条 每家企业每年申领的创新券额度最高为20万元{MARKUP}。\n"
       "第二条 创新券自发放之日起十二个月内有效，逾期未使用的额度自动作废，企业可在下一年度重新申领。\n")
QUESTION = "测试市创新券额度最高是多少？"
RENDER = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")


def assert_inert(text: str) -> None:
    """Rendered as Markdown with raw HTML allowed: no element but paragraphs and line breaks, no live URL."""
    html = RENDER.render(text)
    tags = set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html))
    assert tags <= {"p", "br"}, (tags, html)
    assert not re.search(r"(?<!\\)https?://|(?<!\\)www\.", text), text  # a bare URL (GFM clients link it)
    assert "20万元" in text and "img src=x onerror" in html  # the words themselves, shown as text


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    from assistant.core import Assistant

    root = tmp_path_factory.mktemp("r3-markup")
    (root / "corpus").mkdir()
    doc = root / "corpus" / "markup.txt"
    doc.write_text(DOC, encoding="utf-8")
    write_sidecar(doc, {"title": TITLE})
    settings = test_settings(data_dir=root / "data", corpus_dir=root / "corpus")
    Assistant.build(settings)
    return settings


@pytest.fixture(scope="module")
def app(library):
    from api.app import create_app
    from assistant.core import Assistant

    return create_app(library, assistant=Assistant.from_settings(library, build=False), ui=False)


def test_openai_replies_plain_and_streamed_render_no_markup(app):
    body = {"model": "policy-assistant", "messages": [{"role": "user", "content": QUESTION}]}
    with TestClient(app) as client:
        plain = client.post("/v1/chat/completions", json=body)
        streamed = client.post("/v1/chat/completions", json={**body, "stream": True})
    assert plain.status_code == 200 and streamed.status_code == 200, (plain.text, streamed.text)
    reply = plain.json()
    content = reply["choices"][0]["message"]["content"]
    assert "参考来源" in content and "onerror=alert(2)" in RENDER.render(content)  # the title in the sources
    assert_inert(content)
    pieces = [json.loads(d)["choices"][0]["delta"].get("content", "") for _, d in parse_sse(streamed.text)
              if d != "[DONE]"]
    assert "".join(pieces) == content
    for i in range(1, len(pieces) + 1):  # what a client has shown at any moment renders no markup either
        assert not re.search(r"<(img|script|iframe|svg)", RENDER.render("".join(pieces[:i])))
    cited = reply["citations"][0]  # the data keeps the document's text as it is
    assert cited["doc_title"] == TITLE and "<script>" in cited["text"]


def test_mcp_text_content_renders_no_markup_and_is_the_same_json(app):
    with ThreadedServer(app) as url:
        _, results = mcp_calls(url + "/mcp", [("search_policies", {"query": QUESTION, "top_k": 3}),
                                              ("ask", {"question": QUESTION}), ("list_documents", {})])
    for result in results:
        text = result.content[0].text
        assert json.loads(text) == result.structured_content  # the same value for a parser
        strings = re.findall(r'"(?:[^"\\]|\\.)*"', text)  # the JSON's strings: what a renderer could take as markup
        assert not [s for s in strings if re.search(r"[<>\[\]()]|https?://|www\.", s)], text[:400]
        html = RENDER.render(text)
        assert set(re.findall(r"<([a-zA-Z][a-zA-Z0-9]*)", html)) <= {"p", "br"}, html[:400]
    hits = results[0].structured_content["hits"]
    assert any("<script>" in h["text"] for h in hits) and hits[0]["doc_title"] == TITLE
