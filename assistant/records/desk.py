"""The front desk every channel asks through (`/v1/ask`, the stream, `/v1/chat/completions`, MCP `ask`, the
chat UI): a curated answer first when one is close enough, else the assistant's own; then the question log.

    desk = Desk(curated, log)
    answer, question_id = desk.ask(assistant, "…", history, channel="api")
    events = desk.ask_stream(assistant, "…", history, channel="stream", on_logged=ids.append)

The records database is never allowed to fail a question: when it is down, curated answers are skipped
(logged) and the log row is lost (counted); the assistant answers as always.
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator

from assistant.answer import Answer, StreamEvent, replay
from assistant.errors import BudgetExceeded, InvalidQuery
from assistant.records.curated import CuratedAnswers
from assistant.records.db import Database
from assistant.records.questions import QuestionLog, QuestionLogConfig

log = logging.getLogger(__name__)


class Desk:
    def __init__(self, curated: CuratedAnswers | None, questions: QuestionLog | None):
        self.curated = curated
        self.questions = questions

    @classmethod
    def of(cls, db: Database, log_config: QuestionLogConfig, min_similarity: float,
           on_lost: Callable[[int], None] | None = None) -> "Desk":
        return cls(CuratedAnswers(db, min_similarity), QuestionLog(db, log_config, on_lost=on_lost))

    def _curated(self, assistant, question: str, history: list[dict] | None, filters) -> Answer | None:
        if self.curated is None or filters:  # a filtered search asks for something narrower than the curated question
            return None
        try:
            return self.curated.match(assistant, question, history)
        except (InvalidQuery, BudgetExceeded):
            raise  # the question itself is bad: the edge says so
        except Exception as exc:  # noqa: BLE001 - the records database must never fail a question
            log.warning("curated answers skipped: %s", exc)
            return None

    def _log(self, channel: str, question: str, answer: Answer, started: float) -> int | None:
        if self.questions is None:
            return None
        return self.questions.record(channel, question, answer, time.perf_counter() - started)

    def ask(self, assistant, question: str, history: list[dict] | None = None, top_k: int | None = None,
            filters: dict[str, Any] | None = None, *, channel: str) -> tuple[Answer, int | None]:
        started = time.perf_counter()
        answer = self._curated(assistant, question, history, filters) or assistant.ask(question, history, top_k,
                                                                                         filters)
        return answer, self._log(channel, question, answer, started)

    def ask_stream(self, assistant, question: str, history: list[dict] | None = None, top_k: int | None = None,
                   filters: dict[str, Any] | None = None, *, channel: str,
                   on_logged: Callable[[int | None], None] | None = None) -> Iterator[StreamEvent]:
        """Like `assistant.ask_stream` (a bad request raises here); the question is logged when its final
        answer has been produced."""
        started = time.perf_counter()
        curated = self._curated(assistant, question, history, filters)
        events = replay(curated) if curated is not None else assistant.ask_stream(question, history, top_k, filters)

        def logged() -> Iterator[StreamEvent]:
            for ev in events:
                if ev.type == "answer" and ev.answer is not None:
                    qid = self._log(channel, question, ev.answer, started)
                    if on_logged is not None:
                        on_logged(qid)
                yield ev

        return logged()
