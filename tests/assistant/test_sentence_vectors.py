"""Sentence vectors: embedded once per sentence, cached by sentence hash, used to weigh single sentences."""
from __future__ import annotations

import dataclasses

import numpy as np
from helpers import CountingEmbedder

from assistant.pipeline.sentences import SentenceMatcher, SentenceVectors, passage_sentences


def test_cache_is_incremental_and_survives_a_broken_file(assistant, tmp_path):
    embedder = CountingEmbedder(assistant.searcher.dense.embedder)
    passages = assistant.passages[:12]
    first = SentenceVectors.load_or_embed(passages, embedder, tmp_path)
    n = embedder.embedded
    assert n == len(first) == len({s for p in passages for s in passage_sentences(p)})
    SentenceVectors.load_or_embed(passages, embedder, tmp_path)
    assert embedder.embedded == n  # nothing new to embed
    changed = dataclasses.replace(passages[0], text=passages[0].text + "新增一句测试文字。")
    again = SentenceVectors.load_or_embed([changed, *passages[1:]], embedder, tmp_path)
    assert embedder.embedded == n + 1  # only the changed sentence
    assert all(again.get(s) is not None for s in passage_sentences(changed))
    for f in tmp_path.iterdir():
        f.write_bytes(b"not an npz")
    rebuilt = SentenceVectors.load_or_embed(passages, embedder, tmp_path)
    assert len(rebuilt) == n and embedder.embedded == 2 * n + 1


def test_similarity_and_standout(assistant):
    matcher = assistant.evidence.matcher
    sim = matcher.for_query("到2025年高新技术企业数量目标是多少？")
    row = next(p for p in assistant.passages if p.text.startswith("高新技术企业数(家)"))
    other = next(p for p in assistant.passages if p.section and p.section[-1] == "（一）指导思想")
    assert sim(row.text) > sim(passage_sentences(other)[0])
    assert sim("a sentence no passage holds") is None
    assert matcher.standout("到2025年高新技术企业数量目标是多少？") > matcher.standout("今天天气怎么样？")
    assert isinstance(SentenceMatcher(SentenceVectors({}), lambda t: np.ones(3) / 3 ** 0.5).standout("x"), float)


def test_a_build_embeds_the_sentences_so_a_first_load_only_reads_them(tmp_path):
    from assistant.core import Assistant
    from helpers import test_settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notice.txt").write_text("测试市创新券办法\n第一条 创新券用于购买科技服务。\n第二条 每家企业每年最高10万元。\n",
                                       encoding="utf-8")
    settings = test_settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    assert Assistant.build(settings).status == "built"
    [cache] = (tmp_path / "data" / "sentences").glob("vectors-*.npz")
    loaded = Assistant.from_settings(settings, build=False)
    assert cache.stat().st_mtime_ns == next((tmp_path / "data" / "sentences").glob("vectors-*.npz")).stat().st_mtime_ns
    assert "10万元" in loaded.ask("创新券每家企业每年最高补贴多少万元？").answer
