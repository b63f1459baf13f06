"""The default answerer: no model. It quotes the sentences that answer the question, with [n] marks.

answer(query, hits), once the relevance gate has let the question through:
1. the sentence candidates of the top passages (`assistant.evidence`) that hold what is asked
   (an amount, a date, the question's year/number), narrowed to those naming the most specific terms;
2. quote the best sentence and up to two close runners-up, figures copied verbatim,
   and cite their passages in order of use. The other retrieved passages become related reading.
"""
from __future__ import annotations

from assistant.answer import Answer, Citation, replay
from assistant.compose import source_phrase
from assistant.evidence import SENTENCE_POOL, Candidate, candidates, most_specific
from assistant.gate import usable
from assistant.query import Query
from assistant.sentence_vectors import SentenceMatcher
from assistant.relevance import TermStats, Thresholds, present_terms, specific_terms
from retrieval.passage import Hit

MAX_QUOTES = 3
MAX_ANSWER_CHARS = 320
COMPLEMENT = 0.6  # a sentence covering what the best quote misses is added if it scores this close


def _span(text: str, quotes: list[str]) -> str:
    """The stretch of the passage from the first to the last quoted sentence, verbatim."""
    found = [(text.find(q), text.find(q) + len(q)) for q in quotes if q in text]
    if not found:
        return ""
    return text[min(s for s, _ in found):max(e for _, e in found)]


class ExtractiveAnswerer:
    mode = "extractive"

    def __init__(self, stats: TermStats, thresholds: Thresholds | None = None, matcher: SentenceMatcher | None = None):
        self.stats = stats
        self.thresholds = thresholds or Thresholds()
        self.matcher = matcher  # sentence vectors: the question's similarity with single sentences

    def choose(self, query: Query, hits: list[Hit]) -> list[Candidate]:
        """The sentences to quote: the best one, then close runners-up (at most MAX_QUOTES, MAX_ANSWER_CHARS)."""
        th = self.thresholds
        specific = specific_terms(query.terms, self.stats, th.specific_df_share)
        similarity = self.matcher.for_query(query.expanded) if self.matcher is not None else None
        found = usable(query.terms, candidates(query.terms, hits, specific, similarity), specific)
        cands = most_specific(query.terms, self.stats, found, th.specific_df_share)
        if not cands:
            return []
        chosen: list[Candidate] = [cands[0]]
        complement = self._complement(query, cands[0], found, specific)
        if complement is not None:
            chosen.append(complement)
        for c in cands[1:]:
            if len(chosen) >= MAX_QUOTES:
                break
            if c.score < th.runner_up * cands[0].score or c.coverage <= 0:
                break
            if any(c.sentence == x.sentence for x in chosen):
                continue
            if sum(len(x.sentence) for x in chosen) + len(c.sentence) > MAX_ANSWER_CHARS:
                continue
            chosen.append(c)
        return chosen

    def _complement(self, query: Query, best: Candidate, found: list[Candidate], specific: set[str]) -> Candidate | None:
        """A sentence of another passage naming the specific terms the best quote leaves out (北斗 …基地),
        if one scores at least COMPLEMENT of the best: the answer then covers the whole question."""
        def named(c: Candidate) -> set[str]:
            return present_terms(query.terms, f"{c.sentence} {c.hit.passage.section[-1] if c.hit.passage.section else ''}")

        missing = specific - named(best)
        if not missing:
            return None
        for c in found[:SENTENCE_POOL * 3]:
            if c.hit.passage.id == best.hit.passage.id or c.score < COMPLEMENT * best.score:
                continue
            if named(c) & missing and len(best.sentence) + len(c.sentence) <= MAX_ANSWER_CHARS:
                return c
        return None

    def answer(self, query: Query, hits: list[Hit]) -> Answer:
        return self.compose(query, self.choose(query, hits), hits)

    def stream(self, query: Query, hits: list[Hit]):
        return replay(self.answer(query, hits))

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
