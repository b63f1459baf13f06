"""Query glossary, jieba tokenisation and rank fusion: the pieces hybrid search is made of."""
from __future__ import annotations

import pytest

from retrieval.retrievers.fusion import fuse, rrf, weighted
from retrieval.retrievers.glossary import Expansion, default_glossary
from retrieval.tokenize import tokenize


@pytest.fixture(scope="module")
def glossary():
    return default_glossary()


# ------------------------------------------------------------------ glossary


@pytest.mark.parametrize(
    "query,alias,canonical",
    [
        ("2025年高企数量目标", "高企", "高新技术企业"),
        ("科小有多少家", "科小", "科技型中小企业"),
        ("大科城在哪里", "大科城", "岳麓山大学科技城"),
        ("自创区怎么发展", "自创区", "长株潭国家自主创新示范区"),
        ("有哪些补贴", "补贴", "支持"),
    ],
)
def test_alias_is_expanded_to_the_canonical_term(glossary, query, alias, canonical):
    exp = glossary.expand(query)
    assert isinstance(exp, Expansion)
    assert exp.query == query
    assert exp.text.startswith(query)  # the user's words are kept …
    assert canonical in exp.text  # … and the document's term is added
    assert canonical in exp.normalized
    assert alias not in exp.normalized
    assert exp.normalized == query.replace(alias, canonical)
    assert canonical in [t.canonical for t in exp.terms]


def test_subsidy_also_adds_related_document_wording(glossary):
    exp = glossary.expand("有哪些补贴")
    assert {"支持", "扶持", "奖补", "资助"} <= set(exp.text.split())


def test_canonical_term_in_query_is_not_added_twice(glossary):
    exp = glossary.expand("高新技术企业数量目标")
    assert exp.normalized == "高新技术企业数量目标"
    assert "高新技术企业" not in exp.added
    assert exp.text.count("高新技术企业") == 1
    assert [t.canonical for t in exp.terms][:1] == ["高新技术企业"]


def test_longest_alias_wins(glossary):
    # `长株潭自创区` is one alias; it must not be read as `长株潭` + `自创区`
    exp = glossary.expand("长株潭自创区")
    assert exp.normalized == "长株潭国家自主创新示范区"
    assert [t.canonical for t in exp.terms] == ["长株潭国家自主创新示范区"]


@pytest.mark.parametrize(
    "query",
    ["How many high-tech enterprises by 2025?", "How many High-Tech Enterprises by 2025?", "HIGH-TECH ENTERPRISES target"],
)
def test_english_alias_any_case(glossary, query):
    exp = glossary.expand(query)
    assert "高新技术企业" in exp.normalized
    assert "高新技术企业" in exp.text
    assert "enterprises" not in exp.normalized.lower()


def test_latin_aliases_match_whole_words_only(glossary):
    said = glossary.expand("He said the plan was fine")
    assert "人工智能" not in [t.canonical for t in said.terms]
    assert "人工智能" not in said.text
    assert said.normalized == "He said the plan was fine"
    # the same alias as a word does match
    ai = glossary.expand("AI plans")
    assert "人工智能" in [t.canonical for t in ai.terms]
    assert ai.normalized.startswith("人工智能")


def test_query_without_glossary_terms_is_unchanged(glossary):
    exp = glossary.expand("今天天气怎么样")
    assert exp.text == "今天天气怎么样"
    assert exp.normalized == "今天天气怎么样"
    assert exp.terms == [] and exp.added == []


# ------------------------------------------------------------------ tokenize


def test_user_dictionary_keeps_policy_terms_whole():
    assert "高新技术企业" in tokenize("高新技术企业的培育是什么")
    assert "岳麓山大学科技城" in tokenize("岳麓山大学科技城在哪里")
    assert tokenize("岳麓山大学科技城", search=False) == ["岳麓山大学科技城"]
    assert tokenize("高新技术企业", search=False) == ["高新技术企业"]


def test_search_mode_adds_sub_words():
    tokens = tokenize("高新技术企业")
    assert "高新技术企业" in tokens
    assert {"高新", "技术", "企业"} <= set(tokens)


def test_stopwords_and_punctuation_are_dropped():
    tokens = tokenize("高新技术企业的目标是什么？")
    assert "的" not in tokens
    assert "什么" not in tokens
    assert "是" not in tokens
    assert "？" not in tokens and "?" not in tokens
    assert "目标" in tokens
    kept = tokenize("高新技术企业的目标是什么？", keep_stopwords=True)
    assert "的" in kept and "什么" in kept


def test_tokens_are_normalised():
    # NFKC + lower case: full-width digits and latin letters match their ASCII forms
    assert tokenize("ＡＩ芯片２０２５", search=False) == tokenize("ai芯片2025", search=False)
    assert all(t == t.lower() for t in tokenize("AI and R&D"))


# ------------------------------------------------------------------ fusion

BM25 = [("a", 9.0), ("b", 5.0), ("c", 1.0)]
DENSE = [("c", 0.9), ("a", 0.8), ("d", 0.1)]
RANKINGS = {"bm25": BM25, "dense": DENSE}


def test_rrf_sums_reciprocal_ranks():
    fused = rrf(RANKINGS)
    assert [pid for pid, _ in fused] == ["a", "c", "b", "d"]
    scores = dict(fused)
    assert scores["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert scores["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert scores["b"] == pytest.approx(1 / 62)
    assert scores["d"] == pytest.approx(1 / 63)


def test_rrf_ignores_scores_and_uses_ranks():
    rescored = {"bm25": [(pid, s * 1000) for pid, s in BM25], "dense": [(pid, s - 5) for pid, s in DENSE]}
    assert rrf(rescored) == rrf(RANKINGS)


def test_rrf_weights():
    only_bm25 = rrf(RANKINGS, {"bm25": 1.0, "dense": 0.0})
    assert [pid for pid, s in only_bm25 if s > 0] == ["a", "b", "c"]
    only_dense = rrf(RANKINGS, {"bm25": 0.0, "dense": 1.0})
    assert [pid for pid, s in only_dense if s > 0] == ["c", "a", "d"]


def test_weighted_fusion_scores():
    fused = weighted(RANKINGS, {"bm25": 0.6, "dense": 0.4})
    scores = dict(fused)
    # bm25 / max: a 1, b 5/9, c 1/9; dense min-max: c 1, a 0.875, d 0
    assert scores["a"] == pytest.approx(0.6 + 0.4 * 0.875)
    assert scores["b"] == pytest.approx(0.6 * 5 / 9)
    assert scores["c"] == pytest.approx(0.6 / 9 + 0.4)
    assert scores["d"] == pytest.approx(0.0)
    assert [pid for pid, _ in fused] == ["a", "c", "b", "d"]


def test_weighted_fusion_respects_weights():
    lean_dense = weighted(RANKINGS, {"bm25": 0.1, "dense": 0.9})
    assert lean_dense[0][0] == "c"
    bm25_only = weighted(RANKINGS, {"bm25": 1.0, "dense": 0.0})
    assert [pid for pid, s in bm25_only if s > 0] == ["a", "b", "c"]
    dense_only = weighted(RANKINGS, {"bm25": 0.0, "dense": 1.0})
    assert [pid for pid, s in dense_only if s > 0] == ["c", "a"]  # d is the dense minimum: 0


def test_fuse_dispatches():
    w = {"bm25": 0.6, "dense": 0.4}
    assert fuse("rrf", RANKINGS, w) == rrf(RANKINGS, w)
    assert fuse("weighted", RANKINGS, w) == weighted(RANKINGS, w)
    assert fuse("bm25", RANKINGS, w) == BM25
    assert fuse("dense", RANKINGS, w) == DENSE
    single = fuse("bm25", RANKINGS, w)
    single.append(("z", 0.0))
    assert RANKINGS["bm25"] == BM25 and len(BM25) == 3  # a copy, not the retriever's list


@pytest.mark.parametrize("method", ["bogus", "RRF", ""])
def test_fuse_unknown_method(method):
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse(method, RANKINGS, {"bm25": 0.5, "dense": 0.5})
