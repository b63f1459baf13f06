"""The default answerer: no model. It quotes the sentences the evidence stage ranked first, with [n] marks.

answer(query, evidence), once the evidence stage (and, with an LLM, its verdict) let the question through:
1. the best-scored sentence, then runners-up of other sentences scoring at least RUNNER_UP of it
   (at most MAX_QUOTES, MAX_ANSWER_CHARS), figures copied verbatim;
2. cite their passages in order of use; the other retrieved passages become related reading.
"""
from __future__ import annotations

from assistant.answer import Answer, Citation, replay
from assistant.pipeline.compose import source_phrase
from assistant.pipeline.evidence import Evidence
from assistant.pipeline.features import Candidate
from assistant.pipeline.understand import Query
from retrieval.passage import Hit

MAX_QUOTES = 3
MAX_ANSWER_CHARS = 320
RUNNER_UP = 0.75  # a further sentence is quoted when its score is at least this share of the best's


def _span(text: str, quotes: list[str]) -> str:
    """The stretch of the passage from the first to the last quoted sentence, verbatim."""
    found = [(text.find(q), text.find(q) + len(q)) for q in quotes if q in text]
    if not found:
        return ""
    return text[min(s for s, _ in found):max(e for _, e in found)]


class ExtractiveAnswerer:
    mode = "extractive"

    def choose(self, evidence: Evidence) -> list[Candidate]:
        """The sentences to quote: the best one, then close runners-up."""
        ranked = evidence.ranked
        if not ranked:
            return []
        chosen = [ranked[0]]
        for c in ranked[1:]:
            if len(chosen) >= MAX_QUOTES or c.score < RUNNER_UP * ranked[0].score:
                break
            if any(c.sentence == x.sentence for x in chosen):
                continue
            if sum(len(x.sentence) for x in chosen) + len(c.sentence) > MAX_ANSWER_CHARS:
                continue
            chosen.append(c)
        return chosen

    def answer(self, query: Query, evidence: Evidence) -> Answer:
        return self.compose(query, self.choose(evidence), evidence.hits[:query.k])

    def stream(self, query: Query, evidence: Evidence):
        return replay(self.answer(query, evidence))

    def compose(self, query: Query, chosen: list[Candidate], hits: list[Hit]) -> Answer:
        cited: dict[str, tuple[Hit, list[str]]] = {}  # passage id -> (hit, its quoted sentences), in citation order
        parts = []
        for c in chosen:
            entry = cited.setdefault(c.hit.passage.id, (c.hit, []))
            entry[1].append(c.sentence)
            parts.append((c.sentence, list(cited).index(c.hit.passage.id) + 1))
        citations = [Citation.of(n, hit.passage, _span(hit.passage.text, quotes))
                     for n, (hit, quotes) in enumerate(cited.values(), start=1)]
        related = [Citation.of(0, h.passage) for h in hits if h.passage.id not in cited]
        source = source_phrase([hit.passage for hit, _ in cited.values()], query.latin)
        if query.latin:
            body = " ".join(f"“{s}” [{n}]" for s, n in parts)
            text = f"{source} (quoted in the original Chinese): {body}"
        else:
            text = f"{source}：" + "".join(f"{s}[{n}]" for s, n in parts)
        return Answer(question=query.question, answer=text, answerable=True, mode=self.mode,
                      citations=citations, related=related)
