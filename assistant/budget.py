"""The work one request may cost (OWASP LLM10, unbounded consumption).

    budget = Budget(settings.max_request_cpu_seconds)
    budget.check("retrieval")           # BudgetExceeded once the request has used more CPU than allowed
    events = budget.metered(events)     # a stream: each step (possibly on another thread) is charged

CPU is the request's own thread's CPU time (time.thread_time), so it does not grow when the server is
busy with others: only what this request makes the server do counts. It is checked between the steps of
the pipeline (understand, retrieve, answer, each streamed event), so a request stops at most one step
after its budget is spent; each step is bounded by the size limits (PA_MAX_QUESTION_CHARS, history,
top_k, PA_MAX_PASSAGE_CHARS, PA_MAX_META_CHARS). The embedder's own threads are not charged here: one
query embedding is bounded by the question length.
"""
from __future__ import annotations

import time
from typing import Iterator, TypeVar

from assistant.errors import BudgetExceeded

T = TypeVar("T")


class Budget:
    def __init__(self, cpu_seconds: float):
        self.limit = cpu_seconds
        self.spent = 0.0
        self._mark = time.thread_time()

    def check(self, step: str) -> None:
        now = time.thread_time()
        self.spent += now - self._mark
        self._mark = now
        if self.limit > 0 and self.spent > self.limit:
            raise BudgetExceeded(f"the request used {self.spent:.2f} CPU seconds by the end of {step}, over the "
                                 f"limit of {self.limit:g} (PA_MAX_REQUEST_CPU_SECONDS); ask a shorter question, "
                                 "with less history or fewer passages (top_k)", setting="PA_MAX_REQUEST_CPU_SECONDS")

    def metered(self, items: Iterator[T], step: str = "the answer") -> Iterator[T]:
        """`items`, charging the CPU time of each step to this budget (each step may run on another thread)."""
        while True:
            self._mark = time.thread_time()
            try:
                item = next(items)
            except StopIteration:
                return
            self.check(step)
            yield item
