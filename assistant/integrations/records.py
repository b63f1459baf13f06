"""What the integrations hand out, written once: a hit's metadata (LangChain `Document`s, Dify records),
scores on 0..1 whatever the fusion, answers or hits as the text a language model reads (LangChain tools,
the OpenAI-compatible chat's 参考来源 list), and an error as the text a tool caller reads."""
from __future__ import annotations

from typing import Any

from assistant.answer import Answer, Citation
from assistant.errors import AssistantError, InvalidQuery
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
    """Each hit's score on 0..1, in the hits' order. A hit's score is the evidence stage's: the learned
    probability that the passage's best sentence answers the query (`assistant.pipeline.evidence`), the same for
    every fusion method (PA_FUSION only changes which passages are weighed), so a threshold means the same
    whatever the fusion. Clamped to 0..1."""
    del fusion  # kept in the signature: the integrations pass the configured method
    return [min(1.0, max(0.0, h.score)) for h in hits]


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
