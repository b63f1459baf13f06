"""An in-process `LLMClient` for answer logic: post-checks, fallbacks, renumbering, follow-up rewrites.

It goes through the real seam (`Assistant.from_settings(settings, llm=ScriptedLLM())`), so everything
after the model call is the product's own code. What the wire does (the `openai` client, retries,
timeouts, streaming over HTTP) is tested against `openai_test_server.OpenAITestServer` instead.

    llm = ScriptedLLM()
    llm.push("到2025年…6000家[1]。", LLMServerError("HTTP 500"))   # replies, or errors to raise, in order
    llm.requests  # [{"messages": [...], "max_tokens": ..., "stream": False}, ...]

With an empty queue the reply is grounded in the prompt's passages, as the test server's is.
"""
from __future__ import annotations

from collections import deque
from typing import Iterator

from assistant.errors import LLMError
from openai_test_server import default_judgement, default_reply, is_judgement


class ScriptedLLM:
    name = "scripted-llm (in process)"

    def __init__(self, chunk_size: int = 4):
        self.replies: deque[str | LLMError] = deque()
        self.verdicts: deque[str | LLMError] = deque()  # replies to verdict / rerank requests
        self.requests: list[dict] = []
        self.judgements: list[dict] = []  # relevance-verdict and rerank requests, answered by default_judgement
        self.chunk_size = chunk_size

    def push(self, *replies: str | LLMError) -> None:
        self.replies.extend(replies)

    def push_judgement(self, *replies: str | LLMError) -> None:
        self.verdicts.extend(replies)

    def reset(self) -> None:
        self.verdicts.clear()
        self.replies.clear()
        self.requests.clear()
        self.judgements.clear()

    def _next(self, messages: list[dict[str, str]], max_tokens: int | None, stream: bool) -> str:
        if is_judgement({"messages": messages}):
            self.judgements.append({"messages": messages, "max_tokens": max_tokens})
            verdict = self.verdicts.popleft() if self.verdicts else default_judgement({"messages": messages})
            if isinstance(verdict, LLMError):
                raise verdict
            return verdict
        self.requests.append({"messages": messages, "max_tokens": max_tokens, "stream": stream})
        reply = self.replies.popleft() if self.replies else default_reply({"messages": messages})
        if isinstance(reply, LLMError):
            raise reply
        return reply

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        return self._next(messages, max_tokens, stream=False)

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        text = self._next(messages, None, stream=True)
        for i in range(0, len(text), self.chunk_size):
            yield text[i:i + self.chunk_size]
