"""The LLM's verdict, with an LLM configured: after the evidence stage let a question through, do the passages
answer it? The model is asked for a JSON verdict `{"answerable", "passages", "reason"}`; "no" is a refusal.
A verdict the model cannot give (an error, another shape) leaves the evidence stage's decision standing.
Without an LLM the evidence stage's calibrated threshold (`assistant.pipeline.evidence`) decides alone.
"""
from __future__ import annotations

import json
import logging
import re

from assistant.errors import LLMError
from assistant.pipeline.evidence import Refusal
from assistant.llm.client import LLMClient
from assistant.llm.prompt import VERDICT_SYSTEM, judged_messages
from assistant.pipeline.understand import Query
from retrieval.passage import Hit

log = logging.getLogger(__name__)
_JSON = re.compile(r"\{.*\}", re.S)


class LLMGate:
    def __init__(self, llm: LLMClient, context_passages: int = 5):
        self.llm = llm
        self.context_passages = context_passages

    def check(self, query: Query, hits: list[Hit]) -> Refusal | None:
        if not hits:
            return Refusal("nothing retrieved")
        given = [h.passage for h in hits[:self.context_passages]]
        try:
            reply = self.llm.complete(judged_messages(VERDICT_SYSTEM, query.standalone, given), max_tokens=160)
            verdict = json.loads(_JSON.search(reply).group(0))
            answerable = verdict["answerable"]
            if not isinstance(answerable, bool):
                raise TypeError(f"answerable={answerable!r}")
        except (LLMError, AttributeError, KeyError, TypeError, ValueError) as exc:
            log.info("LLM verdict failed (%s); the evidence stage's decision stands", exc)
            return None
        if answerable:
            return None
        reason = str(verdict.get("reason") or "")[:200]
        return Refusal(f"the language model found no answer in the passages{': ' + reason if reason else ''}")
