"""LLM answers: grounded in the retrieved passages, cited, checked, with the extractive answer as the safety net.

answer(query, evidence), once the evidence stage has let the question through:
    base = extractive.answer(query, evidence)    # the fallback
    text = llm.complete(prompt(passages))    # numbered passages, Chinese rules, passages are data
    checked = postcheck.check(text, passages)
    enough left?  -> Answer(mode="llm", citations renumbered in order of use, notices say what was dropped)
    otherwise     -> base, with a notice saying why the model's answer was not used
"""
from __future__ import annotations

import logging
import re
from typing import Iterator

from assistant.answer import Answer, Citation, StreamEvent
from assistant.pipeline.evidence import Evidence
from assistant.pipeline.extractive import ExtractiveAnswerer
from assistant.errors import LLMError
from assistant.llm.client import LLMClient
from assistant.llm.postcheck import MARK, CheckResult, check, is_refusal, nfkc, overlap, parse_marks
from assistant.llm.prompt import answer_messages
from assistant.pipeline.understand import Query
from assistant.language.requirements import period_years
from retrieval.passage import Hit
from retrieval.text import split_sentences

log = logging.getLogger(__name__)

CONTEXT_PASSAGES = 5


def _fallback(base: Answer, reason: str) -> Answer:
    base.notices = list(base.notices) + [f"fallback: {reason}; showing the quoted passages instead"]
    return base


def _quote(passage, claims: list[str]) -> str:
    """The passage sentence closest to the sentences that cite it (verbatim), if any is close.
    A table row is quoted whole: its cells only make sense with the row header."""
    text = passage.text
    if passage.kind == "table_row":
        return text
    best, score = "", 0.0
    for s in split_sentences(text):
        sc = max((overlap(c, s) for c in claims), default=0.0)
        if sc > score:
            best, score = s, sc
    return best if score >= 0.3 else ""


class LLMAnswerer:
    mode = "llm"

    def __init__(self, llm: LLMClient, extractive: ExtractiveAnswerer, context_passages: int = CONTEXT_PASSAGES):
        self.llm = llm
        self.extractive = extractive
        self.context_passages = context_passages

    def _given(self, hits: list[Hit]) -> list[Hit]:
        return hits[: self.context_passages]

    def answer(self, query: Query, evidence: Evidence) -> Answer:
        base = self.extractive.answer(query, evidence)
        hits = evidence.hits[:max(query.k, self.context_passages)]  # the passages in the evidence stage's order
        given = self._given(hits)
        try:
            text = self.llm.complete(answer_messages(query.question, query.normalized, [h.passage for h in given]))
        except LLMError as exc:
            log.warning("LLM failed (%s): %s", exc.kind, exc)
            return _fallback(base, f"the language model failed ({exc})")
        return self.finish(query.question, text, given, hits, base)

    def stream(self, query: Query, evidence: Evidence) -> Iterator[StreamEvent]:
        base = self.extractive.answer(query, evidence)
        hits = evidence.hits[:max(query.k, self.context_passages)]
        question = query.question
        given = self._given(hits)
        yield StreamEvent("citations", citations=[Citation.of(n, h.passage) for n, h in enumerate(given, 1)])
        parts: list[str] = []
        try:
            for delta in self.llm.stream(answer_messages(question, query.normalized, [h.passage for h in given])):
                parts.append(delta)
                yield StreamEvent("delta", text=delta)
        except LLMError as exc:
            log.warning("LLM stream failed (%s): %s", exc.kind, exc)
            yield StreamEvent("answer", answer=_fallback(base, f"the language model failed ({exc})"))
            return
        yield StreamEvent("answer", answer=self.finish(question, "".join(parts), given, hits, base))

    # ------------------------------------------------------------------ post-check and composition
    def finish(self, question: str, text: str, given: list[Hit], hits: list[Hit], base: Answer) -> Answer:
        passages = [h.passage for h in given]
        if is_refusal(text):
            return _fallback(base, "the language model found no answer in the passages")
        years: set[str] = set()
        for p in passages:
            years |= period_years(p.meta.get("period"))
        result = check(text, passages, years)
        reason = self._unusable(result)
        if reason:
            log.info("LLM answer rejected: %s", reason)
            return _fallback(base, reason)
        return self._compose(question, result, given, hits)

    @staticmethod
    def _unusable(result: CheckResult) -> str | None:
        substantive = [c for c in result.claims if re.search(r"\w", MARK.sub("", c.text))]
        if not result.cited:
            if any(not c.ok for c in substantive):
                return f"the language model's answer failed the checks ({substantive[0].reason or result.dropped[0].reason})"
            return "the language model's answer cites no passage"
        if len(result.dropped) > len(result.cited):
            return (f"{len(result.dropped)} of {len(substantive)} sentences of the language model's answer failed "
                    f"the checks (first: {result.dropped[0].reason})")
        return None

    def _compose(self, question: str, result: CheckResult, given: list[Hit], hits: list[Hit]) -> Answer:
        order: dict[int, int] = {}  # given number -> shown number, in order of first use
        for c in result.kept:
            for n in c.marks:
                order.setdefault(n, len(order) + 1)

        def renumber(m: re.Match) -> str:
            ns = []
            for n in parse_marks(m.group(0)):
                if order[n] not in ns:
                    ns.append(order[n])
            return "".join(f"[{n}]" for n in ns)

        text = "".join(MARK.sub(renumber, c.text) for c in result.kept).strip()
        text = re.sub(r"\n{3,}", "\n\n", text)
        citing: dict[int, list[str]] = {}
        for c in result.kept:
            for n in set(c.marks):
                citing.setdefault(n, []).append(c.text)
        citations = [Citation.of(shown, given[n - 1].passage, _quote(given[n - 1].passage, citing[n]))
                     for n, shown in sorted(order.items(), key=lambda kv: kv[1])]
        cited_ids = {c.passage_id for c in citations}
        related = [Citation.of(0, h.passage) for h in hits if h.passage.id not in cited_ids]
        notices = []
        if result.dropped:
            reasons = "; ".join(f"{_shown(c.text, c.reason)} {c.reason}" for c in result.dropped)
            notices.append(f"repaired: dropped {len(result.dropped)} sentence(s) that failed the checks: {reasons}")
        return Answer(question=question, answer=text, answerable=True, mode="llm", citations=citations,
                      related=related, notices=notices)


# a dropped sentence with one of these reasons is not repeated in the notice: it may carry a planted link,
# the system prompt or a fake source, and the notice is shown to the user
_WITHHELD = ("instruction", "system prompt", "source", "link")


def _shown(text: str, reason: str) -> str:
    if any(w in reason for w in _WITHHELD):
        return "(a sentence, not shown)"
    return f"“{nfkc(MARK.sub('', text)).strip()[:40]}”"
