"""LLM client: any OpenAI-compatible chat endpoint through the official `openai` client.

One deadline (PA_LLM_TIMEOUT) bounds a whole call, retries included. 429, 5xx and connection errors are
retried (PA_LLM_MAX_RETRIES, exponential backoff, honouring a short Retry-After); timeouts, 401/403 and
other 4xx are not. Every failure surfaces as an `LLMError` subclass (`assistant.errors`) whose `kind` the answerer reports.
"""
from __future__ import annotations

import logging
import time
from typing import Iterator, Protocol

from assistant.errors import (
    LLMAuthError,
    LLMBadOutput,
    LLMBadRequest,
    LLMConnectionError,
    LLMError,
    LLMRateLimited,
    LLMServerError,
    LLMTimeout,
)

log = logging.getLogger(__name__)


class LLMClient(Protocol):
    name: str

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str: ...

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]: ...


def _classify(exc: Exception, timeout: float) -> LLMError:
    import openai

    if isinstance(exc, openai.APITimeoutError):
        return LLMTimeout(f"the LLM endpoint did not answer within {timeout:g} s")
    if isinstance(exc, openai.APIConnectionError):
        return LLMConnectionError(f"the LLM endpoint cannot be reached ({exc.__cause__ or exc})")
    if isinstance(exc, (openai.AuthenticationError, openai.PermissionDeniedError)):
        return LLMAuthError(f"the LLM endpoint refused the API key (HTTP {exc.status_code}); check PA_LLM_API_KEY")
    if isinstance(exc, openai.RateLimitError):
        return LLMRateLimited("the LLM endpoint is rate limiting (HTTP 429)")
    if isinstance(exc, openai.InternalServerError):
        return LLMServerError(f"the LLM endpoint failed (HTTP {exc.status_code})")
    if isinstance(exc, openai.APIStatusError):
        return LLMBadRequest(f"the LLM endpoint rejected the request (HTTP {exc.status_code}): "
                                       f"{str(exc.message)[:200]}")
    return LLMBadOutput(f"the LLM endpoint sent an unreadable reply ({type(exc).__name__})")


UNREACHABLE_PAUSE = 10.0  # s an unreachable endpoint is not tried again


class OpenAIChat:
    """`LLMClient` over the `openai` package; works with OpenAI, DeepSeek, Qwen, vLLM, Ollama, llama.cpp."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 30.0,
                 max_tokens: int = 800, temperature: float = 0.1, max_retries: int = 2):
        self.model = model
        self.name = f"{model} @ {base_url}"
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.max_retries = max_retries
        import openai  # imported here: the extractive-only service never pays for it

        # the client's own retries are off: ours share one deadline
        self.client = openai.OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)
        self._unreachable: tuple[float, LLMConnectionError] | None = None  # (until, why)

    @classmethod
    def from_settings(cls, settings) -> "OpenAIChat":
        return cls(settings.llm_base_url, settings.llm_model, settings.llm_api_key.get_secret_value(),
                   settings.llm_timeout, settings.llm_max_tokens, settings.llm_temperature, settings.llm_max_retries)

    def _call(self, messages: list[dict[str, str]], stream: bool, max_tokens: int | None):
        if self._unreachable is not None and time.monotonic() < self._unreachable[0]:
            # an endpoint that could not be reached moments ago (retries spent) is not tried again yet:
            # one question's verdict, rewrite and answer calls do not each wait through the retries
            raise LLMConnectionError(f"{self._unreachable[1]}; not tried again for {UNREACHABLE_PAUSE:g} s")
        try:
            return self._attempts(messages, stream, max_tokens)
        except LLMConnectionError as err:
            self._unreachable = (time.monotonic() + UNREACHABLE_PAUSE, err)
            raise

    def _attempts(self, messages: list[dict[str, str]], stream: bool, max_tokens: int | None):
        deadline = time.monotonic() + self.timeout
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0.05:
                raise LLMTimeout(f"the LLM endpoint did not answer within {self.timeout:g} s")
            try:
                return deadline, self.client.with_options(timeout=remaining).chat.completions.create(
                    model=self.model, messages=messages, stream=stream, temperature=self.temperature,
                    max_tokens=max_tokens or self.max_tokens)
            except Exception as exc:  # noqa: BLE001 - classified below; nothing escapes unclassified
                err = _classify(exc, self.timeout)
                if not err.retryable or attempt >= self.max_retries:
                    raise err from exc
                wait = 0.5 * 2 ** attempt
                retry_after = getattr(getattr(exc, "response", None), "headers", {}).get("retry-after")
                if retry_after:
                    try:
                        wait = float(retry_after)
                    except ValueError:
                        pass
                wait = min(wait, max(0.0, deadline - time.monotonic() - 0.1))
                log.warning("LLM %s; retry %d/%d in %.1f s", err.kind, attempt + 1, self.max_retries, wait)
                time.sleep(wait)
                attempt += 1

    def complete(self, messages: list[dict[str, str]], max_tokens: int | None = None) -> str:
        _, resp = self._call(messages, False, max_tokens)
        try:
            text = resp.choices[0].message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise LLMBadOutput("the LLM reply has no message content") from exc
        if not isinstance(text, str) or not text.strip():
            raise LLMBadOutput("the LLM reply is empty")
        return text

    def stream(self, messages: list[dict[str, str]]) -> Iterator[str]:
        deadline, chunks = self._call(messages, True, None)
        got = False
        try:
            for chunk in chunks:
                if time.monotonic() > deadline:
                    raise LLMTimeout(f"the LLM answer took longer than {self.timeout:g} s")
                if not getattr(chunk, "choices", None):
                    continue
                delta = getattr(chunk.choices[0].delta, "content", None)
                if delta:
                    got = True
                    yield delta
        except LLMError:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _classify(exc, self.timeout) from exc
        finally:
            close = getattr(chunks, "close", None)
            if close:
                close()
        if not got:
            raise LLMBadOutput("the LLM reply is empty")
