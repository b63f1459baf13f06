"""Second round, finding 2: no upper bound on a passage or on metadata.

Found: a 5 MB one-line text without punctuation became one 1.7-million-character passage (26 CPU-minutes
of embedding under the library lock; afterwards /v1/ask answered with up to 15 MB), a 10,000-column
markdown table one 117,776-character passage, a 990 KB title was stored on every passage.

Now (settings, README): a passage is at most PA_MAX_PASSAGE_CHARS (cut even without punctuation; a wide
table row is split, each piece led by the row's name); a metadata value at most PA_MAX_META_CHARS (given:
refused, naming the field; guessed: shortened), at most 50 fields; a document at most
PA_MAX_DOCUMENT_CHARS characters and PA_MAX_DOCUMENT_PASSAGES passages (refused before anything
changes). So what one request returns is bounded by top_k and these limits.

Real library and app (in-process) on a private copy of the session index, with the limits set low so the
documents stay small. Every document here is INVENTED test data (测试市 does not exist).
"""
from __future__ import annotations

import json

import pytest
from docfixtures import private_index
from fastapi.testclient import TestClient
from test_uploads import PLAN_ID, PLAN_Q, TOKEN, State, upload

from api.app import create_app
from assistant.core import Assistant
from assistant.library.documents import list_documents
from retrieval.ingest.documents import load_document
from retrieval.ingest.segment import segment
from retrieval.storage.store import open_store

PASSAGE_MAX = 400
META_MAX = 120
DOC_MAX = 60_000
DOC_PASSAGES = 400
HEAD = "测试市无标点长文（测试用虚构文件）\n"
LABEL_MAX = 200  # retrieval.ingest.blocks.LABEL_MAX: a longer line is never a heading or caption


def one_line(n: int) -> str:
    """n characters of CJK text without any punctuation or space (INVENTED, 测试市 does not exist)."""
    unit = "测试市科技创新券支持企业购买检验检测服务和技术开发服务"
    return HEAD + (unit * (n // len(unit) + 1))[:n] + "\n"


def wide_table(columns: int) -> str:
    header = "| 指标 | " + " | ".join(f"第{i}列" for i in range(columns)) + " |"
    sep = "|" + "---|" * (columns + 1)
    row = "| 测试市补助金额 | " + " | ".join(f"{i}万元" for i in range(columns)) + " |"
    return "# 测试市宽表（测试用虚构文件）\n\n" + "\n".join([header, sep, row]) + "\n"


@pytest.fixture(scope="module")
def lib(built_settings, tmp_path_factory):
    root = tmp_path_factory.mktemp("r2-bounds")
    settings = private_index(built_settings, root / "lib", admin_token=TOKEN, max_passage_chars=PASSAGE_MAX,
                             max_meta_chars=META_MAX, max_document_chars=DOC_MAX,
                             max_document_passages=DOC_PASSAGES)
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False), ui=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, settings


def indexed(settings, doc_id: str) -> list:
    store = open_store(settings.store_config())
    passages, _ = store.read_all(store.active().collection)
    return [p for p in passages if p.doc_id == doc_id]


def test_a_line_without_punctuation_is_cut_at_the_hard_maximum(lib):
    client, settings = lib
    text = one_line(5_000)
    r = upload(client, "无标点.txt", text.encode("utf-8"))
    assert r.status_code == 200, r.text
    doc_id = r.json()["doc_id"]
    ps = indexed(settings, doc_id)
    assert ps and max(len(p.text) for p in ps) <= PASSAGE_MAX, max(len(p.text) for p in ps)
    assert len(ps) >= 5_000 // PASSAGE_MAX
    assert "".join(p.text for p in ps) == text.splitlines()[1]  # nothing lost, in order


@pytest.mark.parametrize("question", ["😀" * 500, "的" * 500, "测试市科技创新券"])
def test_a_question_that_matches_nothing_well_gets_a_bounded_answer(lib, question):
    client, settings = lib
    r = client.post("/v1/ask", json={"question": question, "top_k": 50})
    assert r.status_code == 200, r.text
    body = r.json()
    for c in body["citations"] + body["related"]:
        assert len(c["text"]) <= PASSAGE_MAX and len(c["quote"]) <= PASSAGE_MAX
    # 50 passages, each shown at most twice (text, quote) with title, section and metadata, 3 bytes a char
    assert len(r.content) <= 50 * (2 * PASSAGE_MAX + 12 * META_MAX + 3 * LABEL_MAX) * 3, len(r.content)


def test_search_returns_bounded_hits(lib):
    client, settings = lib
    r = client.post("/v1/search", json={"query": "测试市科技创新券检验检测", "top_k": 50})
    assert r.status_code == 200
    assert all(len(h["text"]) <= PASSAGE_MAX for h in r.json()["hits"])


def test_a_wide_table_row_is_split_and_keeps_its_name_and_every_cell(lib):
    client, settings = lib
    r = upload(client, "宽表.md", wide_table(300).encode("utf-8"))
    assert r.status_code == 200, r.text
    ps = [p for p in indexed(settings, r.json()["doc_id"]) if p.kind == "table_row"]
    assert len(ps) > 1 and max(len(p.text) for p in ps) <= PASSAGE_MAX
    assert all(p.text.startswith("测试市补助金额：") for p in ps)
    joined = "；".join(p.text.removeprefix("测试市补助金额：") for p in ps)
    assert all(f"第{i}列 {i}万元" in joined for i in range(300))


def test_an_overlong_chapter_line_is_not_a_section_label(tmp_path):
    path = tmp_path / "chapter.txt"
    path.write_text("测试市办法（测试用虚构文件）\n第一章 " + "总则" * 400 + "\n第一条 本办法适用于测试市。\n",
                    encoding="utf-8")
    ps = segment(load_document(path), passage_max=PASSAGE_MAX)
    assert all(len(label) <= LABEL_MAX for p in ps for label in p.section)
    assert max(len(p.text) for p in ps) <= PASSAGE_MAX


@pytest.mark.parametrize("field,value", [("title", "测" * (META_MAX + 1)), ("issuer", "局" * 5000),
                                         ("source_url", "https://a.example/" + "x" * 1000)])
def test_an_overlong_metadata_value_is_refused_naming_the_field(lib, field, value):
    client, settings = lib
    before = State(settings)
    r = upload(client, "voucher-meta.txt", one_line(200).encode("utf-8"), metadata={field: value})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert field in detail and str(META_MAX) in detail and "PA_MAX_META_CHARS" in detail, detail
    before.unchanged()


def test_too_many_metadata_fields_are_refused(lib):
    client, settings = lib
    before = State(settings)
    r = upload(client, "voucher-fields.txt", one_line(200).encode("utf-8"),
               metadata={f"field{i}": "x" for i in range(60)})
    assert r.status_code == 422 and "at most 50" in r.json()["detail"], r.text
    before.unchanged()


def test_a_guessed_title_is_shortened(tmp_path):
    from retrieval.readers import ReadLimits

    path = tmp_path / "page.html"
    path.write_text(f"<html><head><title>{'测试市' * 400}</title></head><body><p>第一条 测试市给予支持。</p>"
                    "</body></html>", encoding="utf-8")
    doc = load_document(path, ReadLimits(max_meta_chars=META_MAX))
    assert len(doc.title) <= META_MAX and doc.title.startswith("测试市")


def test_a_document_over_the_character_limit_is_refused_before_anything_changes(lib):
    client, settings = lib
    before = State(settings)
    r = upload(client, "超长.txt", one_line(DOC_MAX + 10).encode("utf-8"))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "PA_MAX_DOCUMENT_CHARS" in detail and f"{DOC_MAX:,}" in detail, detail
    before.unchanged()


def test_a_document_over_the_passage_limit_is_refused_before_anything_changes(lib):
    client, settings = lib
    before = State(settings)
    lines = [f"第{i}项 测试市对第{i}类项目给予补助。" for i in range(DOC_PASSAGES + 50)]
    text = "测试市补助清单（测试用虚构文件）\n" + "\n\n".join(lines) + "\n"
    r = upload(client, "清单.txt", text.encode("utf-8"))
    assert r.status_code == 422, r.text
    assert "PA_MAX_DOCUMENT_PASSAGES" in r.json()["detail"], r.text
    before.unchanged()


def test_a_sidecar_over_the_limits_in_corpus_is_skipped_with_the_reason(lib, tmp_path):
    from retrieval.storage.index import load_passages

    _client, settings = lib
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(one_line(300), encoding="utf-8")
    (corpus / "a.txt.meta.json").write_text(json.dumps({"title": "题" * 1000}), encoding="utf-8")
    passages, docs, errors = load_passages(corpus, settings.read_limits(), PASSAGE_MAX, DOC_PASSAGES)
    assert docs == [] and len(errors) == 1 and "PA_MAX_META_CHARS" in str(errors[0])


def test_the_plan_is_still_answered(lib):
    client, settings = lib
    assert PLAN_ID in {d["doc_id"] for d in list_documents(settings)}
    r = client.post("/v1/ask", json={"question": PLAN_Q})
    assert r.status_code == 200 and "6000" in r.json()["answer"]
