"""`Assistant`: open (or build) the index, then `ask` and `search`.

ask(question, history):
    support?   = support_profile(question)                 # “我们是…企业，能享受哪些支持？” -> finder list
    standalone = rewrite_query(question, history)          # "科小呢？" -> "2025年科小数量目标是多少？" (rules or LLM)
    result     = searcher.search(standalone)               # glossary + BM25 + vectors + fusion
    answer     = answerer.answer(question, result.hits)    # extractive: quote + cite, or refuse
                                                           # llm: generate, post-check, else extractive
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from assistant.answer import Answer, StreamEvent, replay  # noqa: F401 - replay re-exported
from assistant.errors import IndexNotReady, InvalidQuery
from assistant.extractive import ExtractiveAnswerer
from assistant.finder import Finder, Profile, load_vocabulary
from assistant.finder.catalog import load_or_extract
from assistant.finder.chat import answer_from_match, support_profile
from assistant.llm import LLMClient, OpenAIChat
from assistant.llm_answer import LLMAnswerer
from assistant.rewrite import rewrite_query
from assistant.relevance import TermStats
from assistant.settings import Settings
from retrieval.bm25 import BM25Retriever
from retrieval.embedders import Embedder, embedder_name, make_embedder
from retrieval.glossary import Glossary, default_glossary
from retrieval.index import BuildReport, bm25_dir, build_index
from retrieval.passage import Hit, Passage
from retrieval.search import HybridSearcher, VectorRetriever
from retrieval.store import open_store
from retrieval.validity import validity_note

log = logging.getLogger(__name__)


def flag_validity(answer: Answer) -> None:
    """Say so when a cited document is repealed, expired, amended or has an expiry date."""
    seen: set[str] = set()
    for c in answer.citations:
        if c.doc_id in seen:
            continue
        seen.add(c.doc_id)
        note = validity_note(c.doc_title, c.meta)
        if note and note not in answer.notices:
            answer.notices.append(note)


class Answerer(Protocol):
    """Turns retrieved passages into an Answer: ExtractiveAnswerer (no model) or LLMAnswerer."""

    mode: str

    def answer(self, question: str, search_text: str, hits: list[Hit]) -> Answer: ...

    def stream(self, question: str, search_text: str, hits: list[Hit]) -> Iterator[StreamEvent]: ...


@dataclass
class IndexInfo:
    collection: str
    embedder: str
    built_at: str
    passages: int
    documents: int


class Assistant:
    def __init__(self, settings: Settings, searcher: HybridSearcher, passages: list[Passage],
                 answerer: Answerer, glossary: Glossary, info: IndexInfo, llm: LLMClient | None = None):
        self.settings = settings
        self.searcher = searcher
        self.passages = passages
        self.answerer = answerer
        self.llm = llm
        self.glossary = glossary
        self.info = info
        self._by_id = {p.id: i for i, p in enumerate(passages)}
        self._finder: Finder | None = None
        self._finder_lock = threading.Lock()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_settings(cls, settings: Settings, *, build: bool = True,
                      embedder: Embedder | None = None, llm: LLMClient | None = None,
                      progress: Callable[[int, int], None] | None = None) -> "Assistant":
        """Load the active index; build it first when there is none (and `build` is true)."""
        store = open_store(settings.store_config())
        if store.pointer() is None:
            if not build:
                raise IndexNotReady("no index has been built yet: run `python -m assistant index`")
            embedder = embedder or make_embedder(settings.embedder)
            build_index(settings.index_config(), store, lambda: embedder, embedder.name, progress=progress)
        active = store.active()
        embedder = embedder or make_embedder(settings.embedder)
        if active.info.get("embedder") != embedder.name:
            raise IndexNotReady(
                f"the index was built with embedder {active.info.get('embedder')!r} but PA_EMBEDDER gives "
                f"{embedder.name!r}: run `python -m assistant index --rebuild`"
            )
        passages, _ = store.read_all(active.collection)
        fp = active.info.get("fingerprint", "")
        bm25 = BM25Retriever.load(bm25_dir(settings.data_dir, active.name), fp)
        if bm25 is None:  # a replica without the cache (server mode) derives it from Chroma
            bm25 = BM25Retriever.build([p.id for p in passages], [p.index_text for p in passages], fp)
            try:
                bm25.save(bm25_dir(settings.data_dir, active.name))
            except OSError as exc:
                log.warning("could not cache the BM25 index: %s", exc)
        glossary = default_glossary()
        searcher = HybridSearcher(passages, bm25, VectorRetriever(active.collection, embedder), glossary,
                                  settings.fusion, settings.bm25_weight)
        extractive = ExtractiveAnswerer(TermStats(passages))
        if llm is None and settings.llm_base_url:
            llm = OpenAIChat.from_settings(settings)
        answerer: Answerer = LLMAnswerer(llm, extractive) if llm is not None else extractive
        info = IndexInfo(active.name, str(active.info.get("embedder")), str(active.info.get("built_at")),
                         len(passages), len({p.doc_id for p in passages}))
        return cls(settings, searcher, passages, answerer, glossary, info, llm)

    @staticmethod
    def build(settings: Settings, *, rebuild: bool = False,
              progress: Callable[[int, int], None] | None = None) -> BuildReport:
        store = open_store(settings.store_config())
        holder: dict[str, Embedder] = {}

        def factory() -> Embedder:
            if "e" not in holder:
                holder["e"] = make_embedder(settings.embedder)
            return holder["e"]

        return build_index(settings.index_config(), store, factory, embedder_name(settings.embedder),
                           rebuild=rebuild, progress=progress)

    # ------------------------------------------------------------------ queries
    def _check(self, question: str) -> str:
        if not isinstance(question, str) or not question.strip():
            raise InvalidQuery("the question is empty", field="question")
        if len(question) > self.settings.max_question_chars:
            raise InvalidQuery(f"the question has {len(question)} characters; at most {self.settings.max_question_chars} are allowed", field="question")
        return question.strip()

    def search(self, query: str, k: int | None = None, filters: dict[str, Any] | None = None) -> list[Hit]:
        query = self._check(query)
        return self.searcher.search(query, self._k(k), filters).hits

    def _k(self, k: int | None) -> int:
        k = self.settings.top_k if k is None else k
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 50:
            raise InvalidQuery(f"top_k={k!r} is out of range; allowed: an integer in 1..50", field="top_k")
        return k

    # ------------------------------------------------------------------ support finder
    @property
    def finder(self) -> Finder:
        """The measures of this index (extracted on first use, cached beside the index)."""
        with self._finder_lock:
            if self._finder is None:
                vocab = load_vocabulary()
                measures = load_or_extract(self.passages, vocab, Path(self.settings.data_dir) / "measures")
                self._finder = Finder.from_passages(self.passages, vocab, measures)
            return self._finder

    def match(self, profile: Profile, limit: int = 20) -> dict[str, Any]:
        """The measures that apply to `profile`: grouped, with status, why, conditions and citations."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 50:
            raise InvalidQuery(f"limit={limit!r} is out of range; allowed: an integer in 1..50", field="limit")
        return self.finder.match(profile, limit)

    def _support_answer(self, question: str, history: list[dict]) -> Answer | None:
        """A self-describing “which support applies to us?” question, answered by the finder."""
        if history:
            return None
        profile = support_profile(question, load_vocabulary())  # the measures load only when routed
        if profile is None:
            return None
        answer = answer_from_match(question, self.match(profile), self.finder.passages)
        answer.standalone_question = question
        return answer

    def ask(self, question: str, history: list[dict] | None = None, top_k: int | None = None,
            filters: dict[str, Any] | None = None) -> Answer:
        started = time.perf_counter()
        question = self._check(question)
        history = self._history(history)
        self._k(top_k)
        routed = self._support_answer(question, history) if not filters else None
        if routed is not None:
            return routed
        query = rewrite_query(question, history, self.glossary, self.llm)
        result = self.searcher.search(query, self._k(top_k), filters)
        answer = self.answerer.answer(question, result.expansion.normalized, result.hits)
        answer.standalone_question = query
        flag_validity(answer)
        log.debug("ask %.1f ms", (time.perf_counter() - started) * 1000)
        return answer

    def ask_stream(self, question: str, history: list[dict] | None = None, top_k: int | None = None,
                   filters: dict[str, Any] | None = None) -> Iterator[StreamEvent]:
        """The answer as events: citations, text deltas, the final answer.

        Validation and retrieval run before this returns, so a bad request raises here (and an HTTP
        edge can still answer 422) instead of failing in the middle of a stream.
        """
        question = self._check(question)
        history = self._history(history)
        self._k(top_k)
        routed = self._support_answer(question, history) if not filters else None
        if routed is not None:
            return replay(routed)
        query = rewrite_query(question, history, self.glossary, self.llm)
        result = self.searcher.search(query, self._k(top_k), filters)
        return self._events(self.answerer.stream(question, result.expansion.normalized, result.hits), query)

    @staticmethod
    def _events(events: Iterator[StreamEvent], query: str) -> Iterator[StreamEvent]:
        for ev in events:
            if ev.type == "answer" and ev.answer is not None:
                ev.answer.standalone_question = query
                flag_validity(ev.answer)
            yield ev

    def _history(self, history: list[dict] | None) -> list[dict]:
        if not history:
            return []
        if not isinstance(history, list) or not all(
                isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role") in {"user", "assistant", "system"}
                for m in history):
            raise InvalidQuery("history must be a list of {role: user|assistant|system, content: str} messages", field="history")
        limit = self.settings.max_history_messages
        return history[-limit:] if limit else []

    def warm_up(self) -> None:
        """Load what the first question would otherwise load lazily (jieba's POS model, the embedder's session)."""
        t0 = time.perf_counter()
        self.ask("长沙市科技创新规划的主要目标是什么？")
        log.info("warm-up %.2f s", time.perf_counter() - t0)

    # ------------------------------------------------------------------ browsing
    def passage(self, passage_id: str) -> Passage | None:
        i = self._by_id.get(passage_id)
        return None if i is None else self.passages[i]

    def neighbours(self, passage_id: str, n: int = 1) -> tuple[list[Passage], list[Passage]]:
        i = self._by_id.get(passage_id)
        if i is None:
            return [], []
        doc = self.passages[i].doc_id
        before = [p for p in self.passages[max(0, i - n):i] if p.doc_id == doc]
        after = [p for p in self.passages[i + 1:i + 1 + n] if p.doc_id == doc]
        return before, after

    def documents(self) -> list[dict[str, Any]]:
        docs: dict[str, dict[str, Any]] = {}
        for p in self.passages:
            d = docs.setdefault(p.doc_id, {"doc_id": p.doc_id, "title": p.doc_title, "passages": 0, **p.meta})
            d["passages"] += 1
        return list(docs.values())


