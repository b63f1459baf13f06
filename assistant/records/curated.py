"""Curated answers: written once by staff (question, answer, the passages it cites), served first to a new
question close enough to theirs, in every channel, marked `source: "curated"`.

Checked when written (InvalidQuery naming the field): every passage id is a passage of the index, of a
document in force, and every figure, amount, date or document number of the answer occurs in the cited
passages (the LLM post-check's rule, `assistant.llm.postcheck.unsupported_figures`).

Each cited passage is kept with a hash of its text. When the passage is gone (its document removed) or its
text changed (a new version), in whichever process that happened, every process stops serving the answer
as soon as it follows the new index (PA_INDEX_POLL_SECONDS), and marks it `needs_review` with the reason.

Closeness (`similarity`): 0 when the two questions ask about different years or numbers, or for different
kinds of answer (an amount vs. a procedure; a procedure or not); else the cosine of their
vectors times the share of each one's weighted terms found in the other (the smaller of the two shares).
PA_CURATED_MIN_SIMILARITY is calibrated on evals/sets/curated_paraphrases.jsonl (README).
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select

from assistant.answer import Answer, Citation
from assistant.errors import InvalidQuery, RecordsUnavailable
from assistant.llm.postcheck import unsupported_figures
from assistant.pipeline.understand import Query
from assistant.records.db import Database
from assistant.records.models import Curated
from assistant.language.terms import coverage
from retrieval.passage import Passage
from retrieval.validity import is_active

STATUSES = ("active", "needs_review")
# kinds of answer (assistant.language.values) two questions must both ask for, or neither: "how to apply" is not
# "what support"; a figure may be asked for loosely ("多少" vs "多少家")
WHAT_KIND = {"procedure", "place", "contact", "deadline", "date"}
PROCEDURE = re.compile(r"材料|流程|程序|手续|(?:怎么|如何|怎样)(?:申请|申报|办理|办)")


def kinds(q: Query) -> set[str]:
    """The kinds of answer a question asks for: assistant.language.values', and a procedure whenever it asks
    about materials, steps or how to apply (however it is worded)."""
    return set(q.terms.asked_types) | ({"procedure"} if PROCEDURE.search(q.standalone) else set())
REFRESH_SECONDS = 1.0  # how long a process reuses its list of curated answers before reading it again
RETRY_SECONDS = 5.0  # after the database failed: questions are not slowed down by trying it each time
log = logging.getLogger(__name__)
MAX_PASSAGES = 20
NOTICE = "人工审核答案：本回答由工作人员审核撰写，引用段落为其依据。"


def digest(p: Passage) -> str:
    return hashlib.sha256(p.text.encode("utf-8")).hexdigest()


def checked_passages(assistant, question: str, answer: str, passage_ids: list[str]) -> list[Passage]:
    """The cited passages, or InvalidQuery naming the field and the problem."""
    if not question.strip():
        raise InvalidQuery("question: empty; write the question the answer is for", field="question")
    if not answer.strip():
        raise InvalidQuery("answer: empty; write the answer", field="answer")
    if not passage_ids:
        raise InvalidQuery("passage_ids: empty; cite at least one passage (ids from /v1/search)", field="passage_ids")
    if len(passage_ids) > MAX_PASSAGES:
        raise InvalidQuery(f"passage_ids: {len(passage_ids)} given; at most {MAX_PASSAGES}", field="passage_ids")
    passages = []
    for pid in dict.fromkeys(passage_ids):
        p = assistant.passage(pid)
        if p is None:
            raise InvalidQuery(f"passage_ids: {pid!r} is not a passage of the index (ids from /v1/search)",
                               field="passage_ids")
        if not is_active(p.meta):
            raise InvalidQuery(f"passage_ids: {pid!r} is from {p.doc_title!r}, which is not in force "
                               f"(status {p.meta.get('status') or 'superseded/expired'}); cite a document in force",
                               field="passage_ids")
        passages.append(p)
    missing = unsupported_figures(answer, passages)
    if missing:
        raise InvalidQuery(f"answer: {', '.join(missing[:5])} does not occur in the cited passages; every figure, "
                           "amount or date must be quoted from them", field="answer")
    return passages


def problem(row: Curated, assistant) -> str:
    """Why the answer can no longer be served on the current index ('' when it can)."""
    for cited in row.passages:
        p = assistant.passage(cited["id"])
        if p is None:
            return f"passage {cited['id']} is no longer in the index (its document was removed or replaced)"
        if digest(p) != cited["sha256"]:
            return f"passage {cited['id']} of {p.doc_title!r} changed (a new version of the document)"
        if not is_active(p.meta):
            return f"passage {cited['id']} is from {p.doc_title!r}, which is no longer in force"
    return ""


def as_dict(row: Curated) -> dict[str, Any]:
    def iso(t: datetime) -> str:
        return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).isoformat(timespec="seconds")

    return {"id": row.id, "question": row.question, "answer": row.answer,
            "passage_ids": [c["id"] for c in row.passages], "status": row.status,
            "review_reason": row.review_reason, "created": iso(row.created), "updated": iso(row.updated)}


def create(db: Database, assistant, question: str, answer: str, passage_ids: list[str]) -> dict[str, Any]:
    passages = checked_passages(assistant, question, answer, passage_ids)
    now = datetime.now(timezone.utc)
    row = Curated(question=question.strip(), answer=answer.strip(), created=now, updated=now, status="active",
                  review_reason="", passages=[{"id": p.id, "sha256": digest(p)} for p in passages])
    with db.session() as s:
        s.add(row)
        s.flush()
        return as_dict(row)


def replace(db: Database, assistant, curated_id: int, question: str, answer: str,
            passage_ids: list[str]) -> dict[str, Any] | None:
    """Rewrite one (checked again; active again); None when there is no such id."""
    passages = checked_passages(assistant, question, answer, passage_ids)
    with db.session() as s:
        row = s.get(Curated, curated_id)
        if row is None:
            return None
        row.question, row.answer = question.strip(), answer.strip()
        row.passages = [{"id": p.id, "sha256": digest(p)} for p in passages]
        row.status, row.review_reason, row.updated = "active", "", datetime.now(timezone.utc)
        return as_dict(row)


def get(db: Database, curated_id: int) -> dict[str, Any] | None:
    with db.session() as s:
        row = s.get(Curated, curated_id)
        return None if row is None else as_dict(row)


def remove(db: Database, curated_id: int) -> bool:
    with db.session() as s:
        row = s.get(Curated, curated_id)
        if row is None:
            return False
        s.delete(row)
        return True


def review(db: Database, assistant) -> None:
    """Mark `needs_review` every active answer whose passages changed or went (on this process's index)."""
    with db.session() as s:
        for row in s.scalars(select(Curated).where(Curated.status == "active")):
            why = problem(row, assistant)
            if why:
                row.status, row.review_reason = "needs_review", why


def listing(db: Database, assistant, status: str | None = None) -> list[dict[str, Any]]:
    """Every curated answer (of one status), checked against the current index first."""
    if assistant is not None:
        review(db, assistant)
    stmt = select(Curated).order_by(Curated.id)
    if status:
        stmt = stmt.where(Curated.status == status)
    with db.session() as s:
        return [as_dict(r) for r in s.scalars(stmt)]


def similarity(a: Query, b: Query, cosine: float) -> float:
    """How close two questions are (module docstring): 0..1."""
    ta, tb = a.terms, b.terms
    if (ta.years and tb.years and set(ta.years) != set(tb.years)) or \
            (ta.numbers and tb.numbers and set(ta.numbers) != set(tb.numbers)):
        return 0.0
    kinds_a, kinds_b = kinds(a), kinds(b)
    if not (kinds_a <= kinds_b or kinds_b <= kinds_a) or (kinds_a ^ kinds_b) & WHAT_KIND:
        return 0.0
    cov = min(coverage(ta, f"{b.normalized} {b.expansion.extra}"), coverage(tb, f"{a.normalized} {a.expansion.extra}"))
    return max(0.0, cosine) * cov


@dataclass
class _Known:
    row: Curated
    query: Query
    vector: Any


class CuratedAnswers:
    """Serves curated answers: `match(assistant, question, history)` -> the curated Answer, or None."""

    def __init__(self, db: Database, min_similarity: float):
        self.db = db
        self.min_similarity = min_similarity
        self._known: dict[tuple[int, str], _Known] = {}
        self._read_at = -1e9
        self._lock = threading.Lock()

    def invalidate(self) -> None:
        """Read the list again on the next question (this process wrote it)."""
        with self._lock:
            self._read_at = -1e9

    def _rows(self, assistant) -> list[_Known]:
        """The active curated answers, read again every REFRESH_SECONDS (other processes write too)."""
        with self._lock:
            if time.monotonic() - self._read_at >= REFRESH_SECONDS:
                try:
                    with self.db.session() as s:
                        rows = list(s.scalars(select(Curated).where(Curated.status == "active")))
                except RecordsUnavailable as exc:  # keep what was read last; try again in RETRY_SECONDS
                    log.warning("curated answers could not be read (the last list read is used): %s", exc)
                    self._read_at = time.monotonic() + RETRY_SECONDS - REFRESH_SECONDS
                    return list(self._known.values())
                known = {}
                for r in rows:
                    key = (r.id, r.updated.isoformat())
                    old = self._known.get(key)
                    known[key] = old if old is not None and old.query is not None else _Known(
                        r, assistant.understand(r.question), assistant.searcher.dense.query_vector(r.question))
                self._known, self._read_at = known, time.monotonic()
            return list(self._known.values())

    def best(self, assistant, query: Query) -> tuple[_Known, float] | None:
        vector = assistant.searcher.dense.query_vector(query.standalone)
        scored = [(k, similarity(k.query, query, float(k.vector @ vector))) for k in self._rows(assistant)]
        scored = [(k, s) for k, s in scored if s >= self.min_similarity]
        return max(scored, key=lambda ks: ks[1]) if scored else None

    def match(self, assistant, question: str, history: list[dict] | None = None) -> Answer | None:
        """The curated answer for this question, when one is close enough and its passages are unchanged
        (one that is not is marked needs_review and skipped)."""
        query = assistant.understand(question, history)
        while (found := self.best(assistant, query)) is not None:
            known, score = found
            why = problem(known.row, assistant)
            if not why:
                return self.answer(assistant, known.row, query)
            self._retire(known.row.id, why)
        return None

    def _retire(self, curated_id: int, why: str) -> None:
        with self.db.session() as s:
            row = s.get(Curated, curated_id)
            if row is not None and row.status == "active":
                row.status, row.review_reason = "needs_review", why
        with self._lock:
            self._known = {k: v for k, v in self._known.items() if k[0] != curated_id}

    @staticmethod
    def answer(assistant, row: Curated, query: Query) -> Answer:
        from assistant.core import flag_validity

        passages = [assistant.passage(c["id"]) for c in row.passages]
        citations = [Citation.of(n, p) for n, p in enumerate(passages, 1)]
        answer = Answer(question=query.question, answer=row.answer, answerable=True, mode="curated",
                        citations=citations, notices=[NOTICE], standalone_question=query.standalone,
                        source="curated", curated_id=row.id)
        flag_validity(answer)
        return answer
