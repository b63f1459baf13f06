"""Validity: repealed / expired documents are left out of search and answers unless asked for; filters by
issue date and metadata; "validity:" notices for cited documents that are amended, repealed or expire.

The library is a PRIVATE copy of the session's built index with four added documents. All 测试市 documents
below are INVENTED test data (测试市 and its agencies do not exist; amounts, numbers and dates are made up);
each says so with the line （测试用虚构文件）.
"""
from __future__ import annotations

import json
from datetime import date

import pytest
from docfixtures import private_index
from fastapi.testclient import TestClient

from api.app import create_app
from assistant.core import Assistant
from assistant.errors import InvalidQuery
from assistant.library.documents import add_documents, list_documents
from assistant.settings import Settings
from retrieval.validity import is_active, validity_note

PLAN_ID = "changsha-sti-plan-2021-2025"

# ---------------------------------------------------------------- invented test data (测试市 does not exist)
DOCS = {
    # in force, expires in the future
    "voucher-2024": ("""测试市科技创新券管理办法（2024年）
（测试用虚构文件）
第一条 为支持测试市科技型中小企业购买科技服务，设立科技创新券。
第二条 每家企业每年申领的创新券额度最高为20万元，用于检验检测、技术开发和技术咨询服务。
第三条 创新券由测试市科技局统一发放，企业通过测试市科技服务平台在线申领。
""", {"title": "测试市科技创新券管理办法（2024年）", "issuer": "测试市科技局", "region": "测试市",
      "doc_number": "测科规〔2024〕3号", "issued": "2024-06-30", "status": "现行有效", "expires": "2099-12-31"}),
    # repealed
    "voucher-2019": ("""测试市科技创新券管理暂行办法（2019年）
（测试用虚构文件）
第一条 为支持测试市小微企业购买科技服务，试行发放科技创新券。
第二条 每家企业每年申领的创新券额度最高为10万元，用于检验检测服务。
第三条 创新券由测试市财政局会同测试市科技局发放。
""", {"title": "测试市科技创新券管理暂行办法（2019年）", "issuer": "测试市财政局", "region": "测试市",
      "doc_number": "测财规〔2019〕2号", "issued": "2019-05-01", "status": "已废止"}),
    # expired (no status given)
    "voucher-2018": ("""测试市科技创新券试点办法（2018年）
（测试用虚构文件）
第一条 在测试市高新区开展科技创新券试点。
第二条 试点企业每年申领的创新券额度最高为5万元，用于检验检测服务。
第三条 试点工作由测试市高新区管委会组织实施。
""", {"title": "测试市科技创新券试点办法（2018年）", "issuer": "测试市高新区管委会", "region": "测试市高新区",
      "doc_number": "测高管〔2018〕7号", "issued": "2018-03-15", "expires": "2020-01-01"}),
    # amended: still in force, but flagged
    "incubator-rent": ("""测试市孵化器房租补贴办法
（测试用虚构文件）
第一条 为降低初创企业成本，对入驻测试市孵化器的初创企业给予房租补贴。
第二条 孵化器房租补贴标准为每平方米每月30元，每家企业补贴面积不超过200平方米。
第三条 补贴期限最长为两年。
""", {"title": "测试市孵化器房租补贴办法", "issuer": "测试市科技局", "region": "测试市",
      "doc_number": "测科规〔2022〕5号", "issued": "2022-03-15", "status": "已修订"}),
}
VOUCHER_Q = "测试市创新券额度最高是多少？"
INACTIVE = {"voucher-2019", "voucher-2018"}


# ---------------------------------------------------------------- the library


@pytest.fixture(scope="module")
def lib(built_settings, tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("validity")
    settings = private_index(built_settings, root)
    src = root / "incoming"
    src.mkdir()
    paths = []
    for doc_id, (text, meta) in DOCS.items():
        path = src / f"{doc_id}.txt"
        path.write_text(text, encoding="utf-8")
        path.with_name(path.name + ".meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    result = add_documents(settings, paths)
    assert [d.doc_id for d in result.documents] == list(DOCS)
    return settings


@pytest.fixture(scope="module")
def a(lib) -> Assistant:
    return Assistant.from_settings(lib, build=False)


def doc_ids(hits) -> set[str]:
    return {h.passage.doc_id for h in hits}


def validity_notices(answer) -> list[str]:
    return [n for n in answer.notices if n.startswith("validity:")]


# ---------------------------------------------------------------- is_active / validity_note (pure)

TODAY = date(2025, 6, 1)


@pytest.mark.parametrize("meta, active", [
    ({}, True),
    ({"status": "现行有效"}, True),
    ({"status": "有效"}, True),
    ({"status": "已修订"}, True),
    ({"status": "已废止"}, False),
    ({"status": " 已废止 "}, False),
    ({"status": "废止"}, False),
    ({"status": "已失效"}, False),
    ({"status": "失效"}, False),
    ({"status": "已撤销"}, False),
    ({"status": "repealed"}, False),
    ({"expires": "2025-05-31"}, False),
    ({"expires": "2025-06-01"}, True),  # the last day it is in force
    ({"expires": "2025-06-02"}, True),
    ({"status": "现行有效", "expires": "2020-01-01"}, False),
    ({"status": "已废止", "expires": "2099-12-31"}, False),
    ({"expires": "长期有效"}, True),  # not a date: no expiry
])
def test_is_active(meta, active):
    assert is_active(meta, TODAY) is active


def test_validity_notes():
    t = "测试市某办法"
    assert validity_note(t, {"status": "现行有效"}, TODAY) is None
    assert validity_note(t, {}, TODAY) is None
    assert validity_note(t, {"status": "已废止"}, TODAY) == "validity: 《测试市某办法》状态为已废止，引用内容可能已不再适用"
    expired = validity_note(t, {"expires": "2020-01-01"}, TODAY)
    assert expired.startswith("validity: 《测试市某办法》") and "已于2020-01-01到期" in expired and "不再适用" in expired
    assert validity_note(t, {"status": "已修订"}, TODAY) == "validity: 《测试市某办法》状态为已修订，请核对最新版本"
    assert validity_note(t, {"status": "现行有效", "expires": "2099-12-31"}, TODAY) == "validity: 《测试市某办法》有效期至2099-12-31"


# ---------------------------------------------------------------- search and ask over the library


def test_the_list_shows_every_document_with_its_validity(lib):
    docs = {d["doc_id"]: d for d in list_documents(lib)}
    assert set(docs) == {PLAN_ID, *DOCS}  # inactive documents stay listed, for the admin to see
    assert docs["voucher-2019"]["status"] == "已废止"
    assert docs["voucher-2018"]["expires"] == "2020-01-01"
    assert docs["voucher-2024"]["expires"] == "2099-12-31"


def test_repealed_and_expired_documents_are_left_out_by_default(a):
    hits = a.search("测试市创新券额度", 10)
    assert "voucher-2024" in doc_ids(hits)
    assert not doc_ids(hits) & INACTIVE
    assert not any(t in h.passage.text for h in hits for t in ("10万元", "5万元"))

    answer = a.ask(VOUCHER_Q)
    assert answer.answerable is True and "20万元" in answer.answer
    assert "10万元" not in answer.answer and "5万元" not in answer.answer
    assert {c.doc_id for c in answer.citations + answer.related} & INACTIVE == set()
    cited = answer.citations[0]
    assert cited.doc_id == "voucher-2024"
    assert {k: cited.meta.get(k) for k in ("status", "expires", "issued", "doc_number")} == {
        "status": "现行有效", "expires": "2099-12-31", "issued": "2024-06-30", "doc_number": "测科规〔2024〕3号"}
    # an expiry date is worth saying even for a document in force
    assert validity_notices(answer) == ["validity: 《测试市科技创新券管理办法（2024年）》有效期至2099-12-31"]


def test_include_inactive_brings_them_back(a):
    hits = a.search("测试市创新券额度", 10, {"include_inactive": True})
    assert {"voucher-2024", "voucher-2019", "voucher-2018"} <= doc_ids(hits)
    explicit_false = a.search("测试市创新券额度", 10, {"include_inactive": False})
    assert not doc_ids(explicit_false) & INACTIVE


def test_a_repealed_document_cited_on_request_is_flagged(a):
    answer = a.ask(VOUCHER_Q, filters={"doc_id": "voucher-2019", "include_inactive": True})
    assert answer.answerable is True and "10万元" in answer.answer
    assert {c.doc_id for c in answer.citations} == {"voucher-2019"}
    assert answer.citations[0].meta["status"] == "已废止"
    assert "validity: 《测试市科技创新券管理暂行办法（2019年）》状态为已废止，引用内容可能已不再适用" in answer.notices


def test_an_expired_document_cited_on_request_is_flagged(a):
    answer = a.ask(VOUCHER_Q, filters={"doc_id": "voucher-2018", "include_inactive": True})
    assert "5万元" in answer.answer
    assert answer.citations[0].meta["expires"] == "2020-01-01"
    [note] = validity_notices(answer)
    assert note.startswith("validity: 《测试市科技创新券试点办法（2018年）》") and "已于2020-01-01到期" in note


def test_only_inactive_documents_match_nothing_by_default(a):
    assert a.search("测试市创新券额度", 10, {"doc_id": ["voucher-2019", "voucher-2018"]}) == []
    assert a.search("测试市创新券额度", 10, {"status": "已废止"}) == []
    answer = a.ask(VOUCHER_Q, filters={"status": "已废止"})
    assert answer.answerable is False and answer.citations == []


def test_an_amended_document_is_answered_with_a_notice(a):
    answer = a.ask("测试市孵化器房租补贴标准是多少？")
    assert answer.answerable is True and "30元" in answer.answer
    assert answer.citations[0].doc_id == "incubator-rent"
    assert answer.citations[0].meta["status"] == "已修订"
    assert validity_notices(answer) == ["validity: 《测试市孵化器房租补贴办法》状态为已修订，请核对最新版本"]


def test_a_plain_document_in_force_has_no_notice(a):
    answer = a.ask("到2025年长沙市高新技术企业数量目标是多少？")
    assert "6000" in answer.answer
    assert validity_notices(answer) == []


# ---------------------------------------------------------------- issue-date ranges and metadata filters


def _all(a, filters) -> set[str]:
    return doc_ids(a.search("测试市创新券额度 补贴 高新技术企业", 50, {"include_inactive": True, **filters}))


@pytest.mark.parametrize("filters, expected", [
    ({"issued_from": "2024-06-30"}, {"voucher-2024"}),  # inclusive lower bound
    ({"issued_from": "2024-07-01"}, set()),
    ({"issued_to": "2018-03-15"}, {"voucher-2018"}),  # inclusive upper bound
    ({"issued_to": "2018-03-14"}, set()),
    ({"issued_from": "2019-05-01", "issued_to": "2022-03-15"}, {"voucher-2019", PLAN_ID, "incubator-rent"}),
    ({"issued_from": "2021-06-22", "issued_to": "2021-06-22"}, {PLAN_ID}),
    ({"issued_from": "2023-01-01", "issued_to": "2019-01-01"}, set()),  # an empty range
])
def test_issued_date_ranges(a, filters, expected):
    assert _all(a, filters) == expected


def test_issued_range_respects_validity_by_default(a):
    hits = a.search("测试市创新券额度", 50, {"issued_from": "2018-01-01", "issued_to": "2019-12-31"})
    assert hits == []  # the only documents in range are repealed / expired
    hits = a.search("测试市创新券额度", 50, {"issued_from": "2018-01-01"})
    assert doc_ids(hits) & INACTIVE == set() and "voucher-2024" in doc_ids(hits)


@pytest.mark.parametrize("filters, expected", [
    ({"doc_id": "voucher-2024"}, {"voucher-2024"}),
    ({"doc_id": ["voucher-2018", "incubator-rent"]}, {"voucher-2018", "incubator-rent"}),
    ({"issuer": "测试市科技局"}, {"voucher-2024", "incubator-rent"}),
    ({"issuer": ["测试市财政局", "测试市高新区管委会"]}, {"voucher-2019", "voucher-2018"}),
    ({"region": "测试市高新区"}, {"voucher-2018"}),
    ({"region": "测试市"}, {"voucher-2024", "voucher-2019", "incubator-rent"}),
    ({"status": "已修订"}, {"incubator-rent"}),
    ({"status": "已废止"}, {"voucher-2019"}),
    ({"doc_number": "测财规〔2019〕2号"}, {"voucher-2019"}),
    ({"doc_number": "长政办发〔2021〕30号"}, {PLAN_ID}),
    ({"issuer": "测试市科技局", "issued_from": "2023-01-01"}, {"voucher-2024"}),
])
def test_metadata_filters(a, filters, expected):
    assert _all(a, filters) == expected


def test_kind_filter(a):
    hits = a.search("测试市创新券额度", 50, {"kind": "paragraph"})
    assert hits and all(h.passage.kind == "paragraph" for h in hits)
    rows = a.search("高新技术企业数 2025年目标", 10, {"kind": "table_row"})
    assert rows and all(h.passage.kind == "table_row" for h in rows)
    assert all(h.passage.doc_id == PLAN_ID for h in rows)


@pytest.mark.parametrize("filters, words", [
    ({"issued_from": "2024-13-01"}, ["issued_from", "YYYY-MM-DD"]),
    ({"issued_to": "yesterday"}, ["issued_to", "YYYY-MM-DD"]),
    ({"valid_on": "2024-01-01"}, ["valid_on", "allowed", "issued_from"]),
    ({"include_inactive": "yes"}, ["include_inactive", "true or false"]),
    ({"doc_id": ""}, ["doc_id"]),
    ({"issuer": 3}, ["issuer"]),
])
def test_bad_filters_are_invalid_queries(a, filters, words):
    for call in (lambda: a.search("测试市创新券额度", 5, filters), lambda: a.ask(VOUCHER_Q, filters=filters)):
        with pytest.raises(InvalidQuery) as info:
            call()
        assert info.value.field == "filters"
        assert all(w in str(info.value) for w in words), str(info.value)


# ---------------------------------------------------------------- the same over the API


@pytest.fixture(scope="module")
def client(lib, a):
    with TestClient(create_app(lib, assistant=a, ui=False)) as c:
        yield c


def test_api_default_and_include_inactive(client):
    r = client.post("/v1/ask", json={"question": VOUCHER_Q})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "20万元" in body["answer"] and body["citations"][0]["doc_id"] == "voucher-2024"
    assert body["citations"][0]["meta"]["expires"] == "2099-12-31"
    assert any(n.startswith("validity:") and "2099-12-31" in n for n in body["notices"])

    r = client.post("/v1/search", json={"query": "测试市创新券额度", "top_k": 10, "filters": {"include_inactive": True}})
    assert r.status_code == 200, r.text
    assert {"voucher-2019", "voucher-2018"} <= {h["doc_id"] for h in r.json()["hits"]}
    r = client.post("/v1/search", json={"query": "测试市创新券额度", "top_k": 10})
    assert not {h["doc_id"] for h in r.json()["hits"]} & INACTIVE


@pytest.mark.parametrize("path, body", [
    ("/v1/ask", {"question": VOUCHER_Q, "filters": {"issued_from": "2024-13-01"}}),
    ("/v1/search", {"query": "创新券", "filters": {"issued_to": "2024/01/01"}}),
    ("/v1/ask", {"question": VOUCHER_Q, "filters": {"valid_on": "2024-01-01"}}),
])
def test_api_bad_filters_are_422_naming_filters(client, path, body):
    r = client.post(path, json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", "filters"]
    assert "filter" in detail[0]["msg"]
