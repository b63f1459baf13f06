"""`Assistant`: open (or build) the index, then `ask` and `search`.

ask(question, history):                              plan(): steps 1-4, shared with ask_stream
    1. query    = understand(question, history)     # validate; resolve follow-ups; glossary; term analysis
    2. routed?  = the support finder (“我们是…企业，能享受哪些支持？”), the document's own metadata
                  (文号, 印发日期, 发布机关, 施行), a structure-aware list
    3. hits     = fused(query)                       # BM25 + vectors -> fusion (retrieval): the top POOL passages
    4. evidence = evidence.weigh(query, hits)        # every sentence scored by the learned model; refuse below
                                                     # the calibrated threshold (and, with an LLM, its verdict)
    5. answer   = refusal_answer(...) if refused else answerer.answer(query, evidence)   # extractive or LLM
    6. the standalone question and validity notices of the cited documents are added
`ask_stream` runs the same plan before it returns (a bad request raises there) and streams step 5.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol

from assistant.answer import Answer, StreamEvent, replay
from assistant.budget import Budget
from assistant.pipeline.compose import refusal_answer
from assistant.errors import IndexNotReady
from assistant.pipeline.extractive import ExtractiveAnswerer
from assistant.finder import Finder, Profile, load_vocabulary
from assistant.finder.catalog import load_or_extract
from assistant.pipeline.evidence import Evidence, EvidenceModel, EvidenceStage
from assistant.pipeline.features import POOL, IndexFacts
from assistant.pipeline.verdict import LLMGate
from assistant.pipeline.listing import Lister
from assistant.llm.client import LLMClient, OpenAIChat
from assistant.pipeline.llm_answer import LLMAnswerer
from assistant.pipeline.multipart import combine, distinct_subjects, split_question
from assistant.pipeline.understand import Query, understand
from assistant.pipeline.routes import DocumentRoute, ListRoute, Route, SupportRoute, route
from assistant.language.stats import TermStats
from assistant.pipeline.retrieve import KeepOrder, Reranker, make_reranker
from assistant.pipeline.sentences import SentenceMatcher, SentenceVectors
from assistant.settings import Settings
from assistant.language.validation import check_filters, check_history, check_k, check_text
from retrieval.retrievers.bm25 import BM25Retriever
from retrieval.storage.embedders import Embedder, embedder_name, make_embedder
from retrieval.retrievers.glossary import Glossary, default_glossary
from retrieval.storage.index import BuildReport, bm25_dir, build_index, outdated_notice
from retrieval.passage import Hit, Passage
from retrieval.ingest.regions import PASSAGE_KEYS
from retrieval.retrievers.hybrid import HybridSearcher
from retrieval.storage.store import open_store
from retrieval.validity import is_active, revision_note, validity_note
from retrieval.retrievers.vector import VectorRetriever
from retrieval.storage.vector_cache import CachedEmbedder

log = logging.getLogger(__name__)


class Answerer(Protocol):
    """Turns the weighed evidence into an Answer: ExtractiveAnswerer (no model) or LLMAnswerer."""

    mode: str

    def answer(self, query: Query, evidence: Evidence) -> Answer: ...

    def stream(self, query: Query, evidence: Evidence) -> Iterator[StreamEvent]: ...


@dataclass
class Step:
    """One question (or one part of a multi-part question) after steps 1-4: an answer already (a route's, a
    refusal) or the evidence the answerer quotes."""

    query: Query
    answer: Answer | None = None
    evidence: Evidence | None = None
    route: str | None = None  # why a route took the question (assistant.pipeline.routes), when one did
    score: float | None = None  # the evidence stage's answerable probability (weighed steps)


@dataclass
class Plan:
    query: Query
    parts: list[str]
    steps: list[Step]
    budget: Budget


@dataclass
class IndexInfo:
    collection: str
    embedder: str
    built_at: str
    passages: int
    documents: int


def flag_validity(answer: Answer) -> None:
    """Say so when a cited document is repealed, expired, amended, has an expiry date or was revised
    within the last year."""
    seen: set[str] = set()
    for c in answer.citations:
        if c.doc_id in seen:
            continue
        seen.add(c.doc_id)
        for note in (validity_note(c.doc_title, c.meta), revision_note(c.doc_title, c.meta)):
            if note and note not in answer.notices:
                answer.notices.append(note)


def in_force(passages: list[Passage]) -> list[Passage]:
    """The passages of documents in force (not repealed, expired or superseded by a newer version): what the
    routed answers (a document's own metadata, list answers) use, like search without `include_inactive`."""
    return [p for p in passages if is_active(p.meta)]


def _embedder(settings: Settings) -> Embedder:
    """PA_EMBEDDER's embedder; behind the vector cache when PA_EMBED_CACHE_DIR is set."""
    embedder = make_embedder(settings.embedder)
    return CachedEmbedder(embedder, settings.embed_cache_dir) if settings.embed_cache_dir else embedder


def _load_bm25(data_dir: Path, collection: str, passages: list[Passage], fingerprint: str) -> BM25Retriever:
    """The BM25 cache of this index; a replica without it (server mode) derives it from the passages."""
    bm25 = BM25Retriever.load(bm25_dir(data_dir, collection), fingerprint)
    if bm25 is None:
        bm25 = BM25Retriever.build([p.id for p in passages], [p.index_text for p in passages], fingerprint)
        try:
            bm25.save(bm25_dir(data_dir, collection))
        except OSError as exc:
            log.warning("could not cache the BM25 index: %s", exc)
    return bm25


class Assistant:
    def __init__(self, settings: Settings, searcher: HybridSearcher, passages: list[Passage], answerer: Answerer,
                 glossary: Glossary, info: IndexInfo, llm: LLMClient | None = None, *,
                 stats: TermStats | None = None, evidence: EvidenceStage | None = None,
                 verdict: LLMGate | None = None, reranker: Reranker | None = None):
        self.settings = settings
        self.searcher = searcher
        self.passages = passages
        self.answerer = answerer
        self.llm = llm
        self.glossary = glossary
        self.info = info
        self.stats = stats or TermStats(passages)
        self.evidence = evidence or EvidenceStage(EvidenceModel.load(), IndexFacts.of(passages, self.stats))
        self.verdict = verdict  # with an LLM: its verdict on what the evidence stage let through
        self.reranker = reranker or KeepOrder()
        self.in_force = in_force(passages)  # the documents in force: computed once per index, not per question
        self.lister = Lister(self.in_force, self.stats)
        self.routes: list[Route] = [SupportRoute(self.match, lambda: self.finder.passages),
                                    DocumentRoute(self.in_force, self.stats)]
        if settings.list_answers and llm is None:  # an LLM writes its own lists
            self.routes.append(ListRoute(self.lister))
        self._by_id = {p.id: i for i, p in enumerate(passages)}
        self._finder: Finder | None = None
        self._finder_lock = threading.Lock()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_settings(cls, settings: Settings | None = None, *, build: bool = True, embedder: Embedder | None = None,
                      llm: LLMClient | None = None, progress: Callable[[int, int], None] | None = None,
                      learned: bool = True) -> "Assistant":
        """Load the active index; build it first when there is none (and `build` is true).
        `settings`: default, the PA_* environment (`get_settings()`).
        `llm`: the language model to answer with (default: PA_LLM_BASE_URL's, or none: extractive answers).
        `learned=False`: no evidence model is loaded (`python -m evals train` computes features to make one)."""
        if settings is None:
            from assistant.settings import get_settings

            settings = get_settings()
        store = open_store(settings.store_config())
        pointer = store.pointer()
        notice = outdated_notice(pointer) if pointer is not None else None
        if pointer is None or notice:
            if not build:
                raise IndexNotReady(f"{notice}: run `python -m assistant index` to rebuild it" if notice else
                                    "no index has been built yet: run `python -m assistant index`")
            embedder = embedder or _embedder(settings)
            report = build_index(settings.index_config(), store, lambda: embedder, embedder.name, progress=progress)
            if report.notice:
                log.warning("%s", report.notice)
        active = store.active()
        embedder = embedder or _embedder(settings)
        if active.info.get("embedder") != embedder.name:
            raise IndexNotReady(
                f"the index was built with embedder {active.info.get('embedder')!r} but PA_EMBEDDER gives "
                f"{embedder.name!r}: run `python -m assistant index --rebuild`"
            )
        passages, _ = store.read_all(active.collection)
        bm25 = _load_bm25(settings.data_dir, active.name, passages, active.info.get("fingerprint", ""))
        dense = VectorRetriever(active.collection, embedder)
        searcher = HybridSearcher(passages, [bm25, dense], settings.fusion, settings.bm25_weight)
        stats = TermStats(passages)
        vectors = SentenceVectors.load_or_embed(passages, embedder, Path(settings.data_dir) / "sentences")
        matcher = SentenceMatcher(vectors, dense.query_vector)
        extractive = ExtractiveAnswerer()
        if llm is None and settings.llm_base_url:
            llm = OpenAIChat.from_settings(settings)
        answerer: Answerer = LLMAnswerer(llm, extractive) if llm is not None else extractive
        info = IndexInfo(active.name, str(active.info.get("embedder")), str(active.info.get("built_at")),
                         len(passages), len({p.doc_id for p in passages}))
        glossary = default_glossary(settings.thesaurus, settings.en_glossary)
        model = EvidenceModel.load(settings.evidence_model) if learned else None
        evidence = EvidenceStage(model, IndexFacts.of(passages, stats), matcher, abstain=settings.abstain)
        return cls(settings, searcher, passages, answerer, glossary, info, llm, stats=stats, evidence=evidence,
                   verdict=LLMGate(llm) if llm is not None else None,
                   reranker=make_reranker(settings.reranker, llm))

    @staticmethod
    def build(settings: Settings, *, rebuild: bool = False,
              progress: Callable[[int, int], None] | None = None) -> BuildReport:
        store = open_store(settings.store_config())
        holder: dict[str, Embedder] = {}

        def factory() -> Embedder:
            if "e" not in holder:
                holder["e"] = _embedder(settings)
            return holder["e"]

        report = build_index(settings.index_config(), store, factory, embedder_name(settings.embedder),
                             rebuild=rebuild, progress=progress)
        if report.status == "built":  # the new sentences embedded now, not by each server's first load
            passages, _ = store.read_all(store.active().collection)
            t0 = time.perf_counter()
            SentenceVectors.load_or_embed(passages, factory(), Path(settings.data_dir) / "sentences")
            report.embed_seconds += time.perf_counter() - t0
        return report

    # ------------------------------------------------------------------ the pipeline
    def understand(self, question: str, history: list[dict] | None = None, top_k: int | None = None,
                   filters: dict[str, Any] | None = None, *, field: str = "question") -> Query:
        """Step 1: the validated question, follow-ups resolved, glossary applied, terms weighed."""
        question = check_text(field, question, self.settings.max_question_chars)
        history = check_history(history, self.settings.max_history_messages, self.settings.max_message_chars)
        k = check_k("top_k", self.settings.top_k if top_k is None else top_k)
        return understand(question, history, self.glossary, self.stats, self.llm, k=k, filters=check_filters(filters))

    def fused(self, query: Query, n: int = POOL) -> list[Hit]:
        """Step 3: the first `n` passages of the hybrid search for the query (filters applied), in the order of
        the fusion (or of PA_RERANKER's model)."""
        text, extra = query.search_words()
        result = self.searcher.search(text, max(n, query.k), query.filters, latin=query.latin_search, extra=extra)
        return self.reranker.rerank(query, result.hits)

    def weigh(self, query: Query) -> Evidence:
        """Steps 3-4: the fused passages, then the evidence stage: their sentences scored by the learned model,
        passages in the order of their best sentence, and the calibrated decision to refuse."""
        return self.evidence.weigh(query, self.fused(query))

    def retrieve(self, query: Query) -> list[Hit]:
        """The top k passages as the evidence stage orders them (what `ask` cites first comes first)."""
        return self.weigh(query).hits[:query.k]

    def _prepare(self, query: Query, budget: Budget) -> Step:
        """Steps 2-4 for one question: a route's answer, a refusal, or the evidence for the answerer."""
        routed = route(self.routes, query)
        if routed is not None:
            budget.check("routing the question")
            log.debug("routed by %s", routed.why)
            return Step(query, answer=routed.answer, route=routed.why)
        evidence = self.weigh(query)
        budget.check("retrieval")
        refusal = evidence.refusal
        if refusal is None and self.verdict is not None:
            refusal = self.verdict.check(query, evidence.hits)
        if refusal is not None:
            return Step(query, answer=refusal_answer(query, evidence.hits, refusal), score=evidence.answerable)
        return Step(query, evidence=evidence, score=evidence.answerable)

    def plan(self, question: str, history: list[dict] | None = None, top_k: int | None = None,
             filters: dict[str, Any] | None = None) -> Plan:
        """Steps 1-4, shared by `ask` and `ask_stream`: the question understood (and split when it asks about
        two subjects), each part routed or weighed. A bad request raises here, before anything is answered."""
        budget = self.budget()
        query = self.understand(question, history, top_k, filters)
        budget.check("reading the question")
        parts = self._parts(query)
        queries = [query] if len(parts) == 1 else [self.understand(p, None, top_k, filters) for p in parts]
        if len(queries) > 1 and not distinct_subjects([q.terms for q in queries], self.stats):
            parts, queries = [query.question], [query]  # two clauses about one subject: one question
        return Plan(query, parts, [self._prepare(q, budget) for q in queries], budget)

    def ask(self, question: str, history: list[dict] | None = None, top_k: int | None = None,
            filters: dict[str, Any] | None = None) -> Answer:
        started = time.perf_counter()
        plan = self.plan(question, history, top_k, filters)
        answer = self._answer(plan)
        plan.budget.check("the answer")
        self._finish(answer, plan)
        log.debug("ask %.1f ms", (time.perf_counter() - started) * 1000)
        return answer

    def _answer(self, plan: Plan) -> Answer:
        """Step 5, whole: each step's answer (a route's, a refusal, or the answerer's), combined for several."""
        answers = [step.answer or self.answerer.answer(step.query, step.evidence) for step in plan.steps]
        return answers[0] if len(answers) == 1 else combine(plan.query.question, plan.parts, answers)

    def _parts(self, query: Query) -> list[str]:
        """The parts of a multi-part question (a follow-up, resolved from the history, is one question)."""
        if query.history or not self.settings.multipart:
            return [query.question]
        return split_question(query.question, self.glossary)

    def ask_stream(self, question: str, history: list[dict] | None = None, top_k: int | None = None,
                   filters: dict[str, Any] | None = None) -> Iterator[StreamEvent]:
        """The answer as events: citations, text deltas, the final answer. The same plan as `ask`; only the last
        step differs (the answerer streams). A multi-part answer is combined, then replayed."""
        plan = self.plan(question, history, top_k, filters)
        if len(plan.steps) > 1 or plan.steps[0].answer is not None:
            events: Iterator[StreamEvent] = replay(self._answer(plan))
        else:
            step = plan.steps[0]
            events = self.answerer.stream(step.query, step.evidence)
        return self._finished_events(plan.budget.metered(iter(events)), plan)

    def _finish(self, answer: Answer, plan: Plan) -> None:
        """Step 6, for every answer (routed, refused, answered): the standalone question, the evidence score
        (the question log keeps it) and the validity notices of the cited documents."""
        answer.standalone_question = plan.query.standalone
        scores = [s.score for s in plan.steps if s.score is not None]
        answer.evidence = round(min(scores), 4) if scores else None
        flag_validity(answer)

    def _finished_events(self, events: Iterator[StreamEvent], plan: Plan) -> Iterator[StreamEvent]:
        for ev in events:
            if ev.type == "answer" and ev.answer is not None:
                self._finish(ev.answer, plan)
            yield ev

    def search(self, query: str, k: int | None = None, filters: dict[str, Any] | None = None) -> list[Hit]:
        """The passages `ask` would read for this text (no answer): for `/v1/search` and the staff panel."""
        budget = self.budget()
        hits = self.retrieve(self.understand(query, None, k, filters, field="query"))
        budget.check("retrieval")
        return hits

    def budget(self) -> Budget:
        """What one request may cost from now on (PA_MAX_REQUEST_CPU_SECONDS)."""
        return Budget(self.settings.max_request_cpu_seconds)

    def warm_up(self) -> None:
        """Load what the first question would otherwise load lazily (jieba's POS model, the embedder's session)."""
        t0 = time.perf_counter()
        self.ask("长沙市科技创新规划的主要目标是什么？")
        log.info("warm-up %.2f s", time.perf_counter() - t0)

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
        budget = self.budget()
        result = self.finder.match(profile, check_k("limit", limit))
        budget.check("matching the support measures")
        return result

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
            d = docs.setdefault(p.doc_id, {"doc_id": p.doc_id, "title": p.doc_title, "passages": 0,
                                           **{k: v for k, v in p.meta.items() if k not in PASSAGE_KEYS}})
            d["passages"] += 1
        return list(docs.values())
