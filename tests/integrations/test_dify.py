"""Dify's External Knowledge API (POST /dify/retrieval): the request shapes Dify sends, posted with httpx to a
real server, checked against what /v1/search answers for the same query. The library here has two documents:
the session's plan and an invented 创新券 measure (测试市, fictitious)."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from docfixtures import VOUCHER, private_index, write_sidecar
from helpers import ThreadedServer, v1

DIFY_KEY = "dify-key-for-tests-8d2c"
PLAN = "changsha-sti-plan-2021-2025"
VOUCHER_ID = "test-voucher-2024"
VOUCHER_META = {"doc_id": VOUCHER_ID, "title": "测试市科技创新券管理办法", "issuer": "测试市科学技术局",
                "issued": "2024-01-10", "region": "测试市", "status": "现行有效"}
QUERY = "科技型中小企业创新券额度"


@pytest.fixture(scope="module")
def library(built_settings, tmp_path_factory):
    """The session's index plus one invented document (only its passages are embedded)."""
    from assistant.core import Assistant

    settings = private_index(built_settings, tmp_path_factory.mktemp("dify"), dify_api_key=DIFY_KEY,
                             index_poll_seconds=0)
    doc = settings.corpus_dir / "voucher.txt"
    doc.write_text(VOUCHER, encoding="utf-8")
    write_sidecar(doc, VOUCHER_META)
    Assistant.build(settings)
    return settings


@pytest.fixture(scope="module")
def client(library):
    from api.app import create_app
    from assistant.core import Assistant

    app = create_app(library, assistant=Assistant.from_settings(library, build=False), ui=False)
    with ThreadedServer(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        yield c


def retrieve(client: httpx.Client, knowledge_id: str = "all", query: str = QUERY, top_k: int = 5,
             threshold: float = 0.0, condition: dict | None = None, key: str = DIFY_KEY) -> httpx.Response:
    body = {"knowledge_id": knowledge_id, "query": query,
            "retrieval_setting": {"top_k": top_k, "score_threshold": threshold}}
    if condition is not None:
        body["metadata_condition"] = condition
    return client.post("/dify/retrieval", json=body, headers={"Authorization": f"Bearer {key}"})


def records(response: httpx.Response) -> list[dict]:
    assert response.status_code == 200, response.text
    out = response.json()["records"]
    for r in out:
        assert set(r) == {"content", "score", "title", "metadata"}
        assert isinstance(r["metadata"], dict) and 0.0 <= r["score"] <= 1.0
        assert r["title"] == r["metadata"]["doc_title"] and r["metadata"]["section"] is not None
    assert [r["score"] for r in out] == sorted((r["score"] for r in out), reverse=True)
    return out


def ids(recs: list[dict]) -> list[str]:
    return [r["metadata"]["passage_id"] for r in recs]


def error(response: httpx.Response, status: int, code: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error_code", "error_msg"} and body["error_code"] == code, body
    return body["error_msg"]


@pytest.mark.parametrize("query", [QUERY, "大科城", "到2025年高新技术企业数量目标是多少？"])
def test_records_are_the_v1_search_ranking(client, query):
    hits = v1(client, "/v1/search", {"query": query, "top_k": 5})["hits"]
    recs = records(retrieve(client, query=query))
    assert ids(recs) == [h["passage_id"] for h in hits]  # the top record is the passage /v1/search ranks first
    assert [r["content"] for r in recs] == [h["text"] for h in hits]
    assert [r["metadata"]["section"] for r in recs] == [h["section"] for h in hits]


def test_score_threshold_is_applied(client):
    everything = records(retrieve(client, top_k=10))
    middle = (everything[0]["score"] + everything[-1]["score"]) / 2
    kept = records(retrieve(client, top_k=10, threshold=middle))
    assert kept == [r for r in everything if r["score"] >= middle]
    assert 0 < len(kept) < len(everything)


@pytest.fixture(scope="module")
def embedder(library):
    from retrieval.storage.embedders import make_embedder

    return make_embedder(library.embedder)


@pytest.mark.parametrize("fusion", ["weighted", "rrf", "bm25", "dense"])
def test_scores_are_on_0_to_1_for_every_fusion(library, embedder, fusion):
    """Scores are /v1/search's: the evidence stage's probability that a passage answers the query, on 0..1
    whatever the fusion; the order is /v1/search's in every case."""
    from api.app import create_app
    from assistant.core import Assistant

    settings = library.model_copy(update={"fusion": fusion})
    app = create_app(settings, assistant=Assistant.from_settings(settings, build=False, embedder=embedder), ui=False)
    with ThreadedServer(app) as url, httpx.Client(base_url=url, timeout=60) as c:
        for query in (QUERY, "大科城"):
            hits = v1(c, "/v1/search", {"query": query, "top_k": 10})["hits"]
            recs = records(retrieve(c, query=query, top_k=10))  # each in 0..1, best first
            assert ids(recs) == [h["passage_id"] for h in hits]
            raw = [h["score"] for h in hits]
            assert [r["score"] for r in recs] == pytest.approx(raw, abs=1e-4)  # Dify gets 4 decimals
            assert all(0.0 <= x <= 1.0 for x in raw) and raw == sorted(raw, reverse=True) and raw[0] > 0


def test_knowledge_id_narrows_to_a_document(client):
    mixed = {r["metadata"]["doc_id"] for r in records(retrieve(client, top_k=10))}
    assert mixed == {PLAN, VOUCHER_ID}
    for doc in (PLAN, VOUCHER_ID):
        recs = records(retrieve(client, knowledge_id=doc, top_k=10))
        hits = v1(client, "/v1/search", {"query": QUERY, "top_k": 10, "filters": {"doc_id": doc}})["hits"]
        assert recs and {r["metadata"]["doc_id"] for r in recs} == {doc}
        assert ids(recs) == [h["passage_id"] for h in hits]


def test_unknown_knowledge_id_is_2001(client):
    message = error(retrieve(client, knowledge_id="no-such-kb"), 404, 2001)
    assert "no-such-kb" in message and "all" in message and PLAN in message


@pytest.mark.parametrize("headers,code", [
    ({}, 1001), ({"Authorization": "Basic abc"}, 1001), ({"Authorization": "Bearer"}, 1001),
    ({"Authorization": "Bearer wrong-key"}, 1002), ({"Authorization": f"Bearer {DIFY_KEY}x"}, 1002),
])
def test_bad_authorization_is_403(client, headers, code):
    body = {"knowledge_id": "all", "query": QUERY, "retrieval_setting": {"top_k": 3, "score_threshold": 0}}
    error(client.post("/dify/retrieval", json=body, headers=headers), 403, code)


def test_without_a_configured_key_the_endpoint_is_403(live_server):
    """The `serve` process of the session has no PA_DIFY_API_KEY."""
    with httpx.Client(base_url=live_server, timeout=60) as c:
        assert "PA_DIFY_API_KEY" in error(retrieve(c, key="anything"), 403, 1002)


def test_dify_registration_probe_passes(client):
    """Dify checks an endpoint when it is registered by POSTing no body with the key: 403, 404 or 502 would fail
    the registration; anything else passes."""
    r = client.post("/dify/retrieval", headers={"Authorization": f"Bearer {DIFY_KEY}"})
    assert "body" in error(r, 422, 4001)
    assert error(client.post("/dify/retrieval", headers={"Authorization": "Bearer nope"}), 403, 1002)


@pytest.mark.parametrize("setting,field", [({"top_k": 0, "score_threshold": 0}, "retrieval_setting.top_k"),
                                           ({"top_k": 3, "score_threshold": 1.5}, "retrieval_setting.score_threshold"),
                                           ({"top_k": 3}, "retrieval_setting.score_threshold")])
def test_an_invalid_field_is_named(client, setting, field):
    body = {"knowledge_id": "all", "query": QUERY, "retrieval_setting": setting}
    r = client.post("/dify/retrieval", json=body, headers={"Authorization": f"Bearer {DIFY_KEY}"})
    assert field in error(r, 422, 4001)


def test_query_too_long_is_named(client, library):
    assert "query" in error(retrieve(client, query="创" * (library.max_question_chars + 1)), 422, 4001)


def _cond(*conditions: tuple, op: str = "and") -> dict:
    return {"logical_operator": op,
            "conditions": [{"name": n, "comparison_operator": o, "value": v} for n, o, v in conditions]}


def _timestamp(day: str) -> int:
    return int(datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp())


@pytest.mark.parametrize("condition,filters", [
    (_cond(("issuer", "is", "测试市科学技术局")), {"issuer": "测试市科学技术局"}),
    (_cond(("kind", "=", "table_row")), {"kind": "table_row"}),
    (_cond(("doc_id", "in", [PLAN, VOUCHER_ID]), ("region", "is", "长沙市")), {"region": "长沙市"}),
    (_cond(("doc_id", "is", PLAN), ("doc_id", "is", VOUCHER_ID), op="or"), {}),
    (_cond(("issued", "before", "2022-01-01")), {"issued_to": "2021-12-31"}),
    (_cond(("issued", "≥", _timestamp("2024-01-10"))), {"issued_from": "2024-01-10"}),
    (_cond(("issued", "after", "2021-06-21"), ("issued", "<", "2021-06-23")), {"issued_from": "2021-06-22",
                                                                              "issued_to": "2021-06-22"}),
])
def test_metadata_conditions_filter_as_v1_search(client, condition, filters):
    recs = records(retrieve(client, top_k=8, condition=condition))
    hits = v1(client, "/v1/search", {"query": QUERY, "top_k": 8, "filters": filters or None})["hits"]
    assert recs and ids(recs) == [h["passage_id"] for h in hits]


def test_contradicting_conditions_give_no_records(client):
    assert records(retrieve(client, knowledge_id=PLAN, condition=_cond(("doc_id", "is", VOUCHER_ID)))) == []
    assert records(retrieve(client, condition=_cond(("issued", "before", "1990-01-01")))) == []


@pytest.mark.parametrize("condition,named", [
    (_cond(("issuer", "contains", "科学")), ["contains", "issuer", "supported"]),
    (_cond(("title", "is", "x")), ["title", "supported"]),
    (_cond(("issued", "before", "not a date")), ["not a date", "YYYY-MM-DD"]),
    (_cond(("issuer", "is", "a"), ("region", "is", "b"), op="or"), ["or", "issuer", "region"]),
])
def test_conditions_that_cannot_be_applied_are_refused(client, condition, named):
    message = error(retrieve(client, condition=condition), 422, 4001)
    assert "metadata_condition" in message and all(n in message for n in named), message
