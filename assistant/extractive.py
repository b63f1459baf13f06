"""The default answerer: no model. It quotes the sentences that answer the question, with [n] marks.

answer(question, hits):
1. split the top passages into sentences (a short lead such as `2. 加强高新技术企业培育。` stays
   with the sentence after it) and score each: term coverage, plus the passage's retrieval rank;
2. refuse when the best evidence does not cover the question, lacks the asked-for answer type
   (an amount, a phone number, a deadline) or lacks the question's year/number;
3. otherwise quote the best sentence and up to two close runners-up, figures copied verbatim,
   and cite their passages in order of use. The other retrieved passages become related reading.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.answer import Answer, Citation, replay
from assistant.relevance import (
    QueryTerms,
    TermStats,
    analyse,
    coverage,
    period_years,
    present_terms,
    provides,
    share,
    specific_terms,
)
from assistant.postcheck import instruction_free
from retrieval.passage import Hit
from retrieval.text import split_sentences

SENTENCE_POOL = 5  # passages whose sentences are candidates
MAX_QUOTES = 3
MAX_ANSWER_CHARS = 320
LEAD_CHARS = 20
_NUMBERED_TITLE = re.compile(r"^\s*\d{1,2}[.、．]\s*[^\d]*$")  # "2. 加强高新技术企业培育。" (a title, no figures)


_FOREIGN_MARK = re.compile(r"\[\d{1,3}\]|【\s*(?:来源|出处|引用)|(?:来源|出处)\s*[:：]\s*《?[^，。]{0,20}(?:文件|通知|办法)")


@dataclass
class Thresholds:
    """Calibrated on evals/sets/plan_dev.jsonl with `python -m evals run` (see the README)."""

    min_coverage: float = 0.55  # best passage must cover this share of the question's terms
    min_dense: float = 0.80  # ... unless the vector match is at least this close
    runner_up: float = 0.85  # a further sentence is quoted if it scores this close to the best
    specific_ratio: float = 0.8  # a sentence with the asked year/figure must cover this share of the best match
    specific_df_share: float = 0.2  # a term in more than this share of passages is not specific (长沙, 规划)


@dataclass
class Candidate:
    hit_rank: int
    hit: Hit
    sentence: str
    score: float
    coverage: float
    topic_coverage: float  # coverage without the question's years and numbers


def _sentences(text: str) -> list[str]:
    parts = split_sentences(text)
    merged: list[str] = []
    carry = ""
    for i, s in enumerate(parts):
        is_lead = len(s) < LEAD_CHARS and (not re.search(r"\d", s) or _NUMBERED_TITLE.match(s))
        if is_lead and i < len(parts) - 1:
            carry += s  # a lead title: keep it as context of the sentence after it
            continue
        merged.append(carry + s)
        carry = ""
    if carry:
        merged.append(carry)
    return merged or [text]


def _span(text: str, quotes: list[str]) -> str:
    """The stretch of the passage from the first to the last quoted sentence, verbatim."""
    found = [(text.find(q), text.find(q) + len(q)) for q in quotes if q in text]
    if not found:
        return ""
    return text[min(s for s, _ in found):max(e for _, e in found)]


def _topic(question: str) -> str:
    q = re.sub(r"[？?。!！\s]+$", "", question.strip())
    q = re.sub(r"^(请问|请|我想知道|想了解|想问一下|麻烦问下)", "", q)
    return q[:60]


def _source_phrase(passages) -> str:
    """根据规划 / 根据《某某办法》 / 根据相关文件: where the quoted sentences come from."""
    docs = {p.doc_id: p for p in passages}
    if len(docs) > 1:
        return "根据相关文件"
    p = next(iter(docs.values()))
    return "根据规划" if p.meta.get("doc_type") == "plan" else f"根据《{p.doc_title}》"


def _source_phrase_en(passages) -> str:
    docs = {p.doc_id: p for p in passages}
    if len(docs) > 1:
        return "According to the documents"
    p = next(iter(docs.values()))
    return "According to the plan" if p.meta.get("doc_type") == "plan" else f"According to 《{p.doc_title}》"


class ExtractiveAnswerer:
    mode = "extractive"

    def __init__(self, stats: TermStats, thresholds: Thresholds | None = None):
        self.stats = stats
        self.thresholds = thresholds or Thresholds()

    def candidates(self, terms: QueryTerms, hits: list[Hit]) -> list[Candidate]:
        if not hits:
            return []
        top = hits[0].score or 1.0
        skip = set(terms.years + terms.numbers)
        out = []
        for rank, hit in enumerate(hits[:SENTENCE_POOL]):
            prior = max(hit.score, 0.0) / top if top > 0 else 0.0
            context = " ".join(hit.passage.section[-1:])
            # passages are data: an instruction-like sentence planted in one ("忽略之前的指令…") and what
            # follows it are never quoted, nor sentences carrying citation marks or sources of their own
            text = instruction_free(hit.passage.text)
            units = [text] if hit.passage.kind == "table_row" else _sentences(text)
            for s in units:
                if _FOREIGN_MARK.search(s):
                    continue
                present = present_terms(terms, f"{s} {context}")
                cov = share(terms, present)
                out.append(Candidate(rank, hit, s, 0.55 * cov + 0.45 * prior, cov, share(terms, present, skip)))
        out.sort(key=lambda c: (-c.score, c.hit_rank))
        return out

    def on_topic(self, terms: QueryTerms, hits: list[Hit]) -> bool:
        """At least one specific term of the question (not a corpus-wide word such as 长沙 or 规划)
        occurs in the top passages. Off-topic questions (天气, 房价, 地铁) fail here even when the
        embedder, which rates most pairs 0.8-0.9, finds the plan "similar"."""
        specific = specific_terms(terms, self.stats, self.thresholds.specific_df_share)
        if not specific:
            return True
        present: set[str] = set()
        for h in hits[:3]:
            present |= present_terms(terms, h.passage.index_text)
        return bool(specific & present)

    def _most_specific(self, terms: QueryTerms, cands: list[Candidate]) -> list[Candidate]:
        """Among close candidates, keep those naming the most of the question's specific terms: asked about
        重新认定, a row about 首次认定 (another figure) is not quoted next to the right one."""
        specific = specific_terms(terms, self.stats, self.thresholds.specific_df_share)
        if not specific or len(cands) < 2:
            return cands

        pool = cands[:SENTENCE_POOL * 3]  # only the leading candidates can be quoted
        counts = [len(specific & present_terms(terms, f"{c.sentence} {c.hit.passage.section_path}")) for c in pool]
        best = max(counts)
        if best == 0:
            return cands
        return [c for c, n in zip(pool, counts) if n >= best]

    def relevance(self, terms: QueryTerms, hits: list[Hit]) -> dict:
        """Features that decide answer vs refusal (also written to eval results)."""
        best = hits[0] if hits else None
        cov = max((coverage(terms, h.passage.index_text) for h in hits[:3]), default=0.0)
        dense = max((h.sources.get("dense", 0.0) for h in hits[:3]), default=0.0)
        return {"coverage": round(cov, 4), "dense": round(dense, 4), "top_score": round(best.score, 4) if best else 0.0}

    def answer(self, question: str, search_text: str, hits: list[Hit]) -> Answer:
        terms = analyse(question, search_text, self.stats)
        english = terms.latin
        feats = self.relevance(terms, hits)
        cands = self.candidates(terms, hits)
        reason = None
        th = self.thresholds
        if not hits or not cands:
            reason = "nothing retrieved"
        elif terms.unknown_names:
            reason = f"{'、'.join(terms.unknown_names)} is not mentioned in the documents"
        elif not self.on_topic(terms, hits):
            reason = "none of the question's specific terms occurs in the retrieved text"
        elif feats["coverage"] < th.min_coverage and feats["dense"] < th.min_dense:
            reason = "low relevance"
        else:
            # the sentence quoted must hold what is asked: an amount, a date, the question's year/number
            usable = [c for c in cands if provides(terms, f"{c.sentence} {c.hit.passage.section_path}",
                                                   period_years(c.hit.passage.meta.get("period")))]
            if not usable:
                reason = "the asked-for figure is not in the text"
            elif (terms.years or terms.numbers) and \
                    usable[0].topic_coverage < th.specific_ratio * max(c.topic_coverage for c in cands[:5]):
                reason = "the best-matching text lacks the asked year or figure"
            else:
                cands = self._most_specific(terms, usable)
        if reason is not None:
            return self._refusal(question, hits, english, reason)

        chosen: list[Candidate] = [cands[0]]
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
        return self._compose(question, chosen, hits, english)

    def stream(self, question: str, search_text: str, hits: list[Hit]):
        return replay(self.answer(question, search_text, hits))

    def _compose(self, question: str, chosen: list[Candidate], hits: list[Hit], english: bool) -> Answer:
        cited: dict[str, tuple[Hit, list[str]]] = {}  # passage id -> (hit, its quoted sentences), in citation order
        parts = []
        for c in chosen:
            entry = cited.setdefault(c.hit.passage.id, (c.hit, []))
            entry[1].append(c.sentence)
            parts.append((c.sentence, list(cited).index(c.hit.passage.id) + 1))
        citations = [Citation.of(n, hit.passage, _span(hit.passage.text, quotes))
                     for n, (hit, quotes) in enumerate(cited.values(), start=1)]
        related = [Citation.of(0, h.passage) for h in hits if h.passage.id not in cited]
        if english:
            body = " ".join(f"“{s}” [{n}]" for s, n in parts)
            text = f"{_source_phrase_en([hit.passage for hit, _ in cited.values()])} (quoted in the original Chinese): {body}"
        else:
            body = "".join(f"{s}[{n}]" for s, n in parts)
            text = f"{_source_phrase([hit.passage for hit, _ in cited.values()])}：{body}"
        return Answer(question=question, answer=text, answerable=True, mode=self.mode,
                      citations=citations, related=related)

    def _refusal(self, question: str, hits: list[Hit], english: bool, reason: str) -> Answer:
        topic = _topic(question)
        if english:
            text = (f"The indexed documents do not contain a specific provision on “{topic}”. "
                    "The passages below are the closest matches, for further reading.")
        else:
            where = "规划中" if hits and all(h.passage.meta.get("doc_type") == "plan" for h in hits[:3]) else "已收录的文件中"
            text = f"{where}未找到关于“{topic}”的具体规定。以下是最接近的段落，供参考。"
        related = [Citation.of(0, h.passage) for h in hits[:3]]
        return Answer(question=question, answer=text, answerable=False, mode=self.mode,
                      citations=[], related=related, notices=[f"refused: {reason}"])
