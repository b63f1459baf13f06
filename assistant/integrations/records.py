"""What the integrations hand out, written once: a hit's metadata (LangChain `Document`s, Dify records),
scores on 0..1 whatever the fusion, answers or hits as the text a language model reads (LangChain tools,
the OpenAI-compatible chat's 参考来源 list), and an error as the text a tool caller reads."""
from __future__ import annotations

from typing import Any

from assistant.answer import Answer, Citation
from assistant.errors import AssistantError, InvalidQuery
from retrieval.fusion import fuse
from retrieval.passage import Hit

SOURCES_HEADER = "参考来源："


def hit_metadata(hit: Hit) -> dict[str, Any]:
    """The passage's document metadata (issuer, doc_number, issued …), where it sits (doc_title, section path
    and levels, passage_id) and how it was found (score, each retriever's own `<name>_score`): flat JSON values."""
    p = hit.passage
    md: dict[str, Any] = {k: v for k, v in p.meta.items() if isinstance(v, (str, int, float, bool))}
    md.update(passage_id=p.id, doc_id=p.doc_id, doc_title=p.doc_title, section=p.section_path,
              section_levels=list(p.section), kind=p.kind, order=p.order, score=round(hit.score, 6))
    md.update({f"{name}_score": round(value, 6) for name, value in hit.sources.items()})
    return md


def unit_scores(fusion: str, hits: list[Hit]) -> list[float]:
    """Each hit's score on 0..1, in the hits' order, for every fusion method (PA_FUSION): the score divided by
    the best the method can give, or by the best hit's score when that is higher (a reranker that adds to the
    fused score) or when the method has no bound, a negative one counted as 0.

    * weighted: the best possible is 1 (scores normalised to 0..1, weights that sum to 1): kept as they are;
    * rrf: the best possible is the score of a passage every retriever ranks first (sum of w / (k + 1));
    * bm25: unbounded, so relative to the best candidate (as weighted fusion normalises BM25);
    * dense: the cosine similarity, at most 1.
    """
    if not hits:
        return []
    if fusion in ("weighted", "rrf"):  # the weights of HybridSearcher.weights_for sum to 1, however split
        best = fuse(fusion, {"bm25": [("best", 1.0)], "dense": [("best", 1.0)]}, {"bm25": 0.5, "dense": 0.5})
        bound = best[0][1]
    else:
        bound = 1.0 if fusion == "dense" else 0.0
    ceiling = max(bound, max(h.score for h in hits))
    return [min(1.0, max(0.0, h.score / ceiling)) if ceiling > 0 else 0.0 for h in hits]


def sources_block(citations: list[Citation]) -> str:
    """The numbered references under an answer ("[n] document · section"), or nothing without citations."""
    if not citations:
        return ""
    return "\n\n" + SOURCES_HEADER + "\n" + "\n".join(f"[{c.n}] {c.doc_title} · {c.section}" for c in citations)


CURATED_LABEL = "（人工审核答案）"


def curated_mark(answer: Answer) -> str:
    """A line saying the answer was written by staff (a curated answer), or ''."""
    return f"\n\n{CURATED_LABEL}" if answer.source == "curated" else ""


def answer_text(answer: Answer) -> str:
    """The answer as one text: its sentences with [n] marks, (人工审核答案 when staff wrote it,) then the
    references they point to."""
    return answer.answer + curated_mark(answer) + sources_block(answer.citations)


def hits_text(hits: list[Hit]) -> str:
    """Passages as a language model reads them: numbered, each with its document, section and text."""
    if not hits:
        return "没有找到相关段落。(No passage found.)"
    return "\n\n".join(f"[{i}] {h.passage.doc_title} · {h.passage.section_path} (passage_id {h.passage.id})\n"
                       f"{h.passage.text}" for i, h in enumerate(hits, start=1))


def error_text(exc: AssistantError) -> str:
    """The message of an error, led by the argument at fault when it does not already start with it."""
    text = str(exc)
    field = exc.field if isinstance(exc, InvalidQuery) else None
    return f"{field}: {text}" if field and not text.startswith(field) else text
