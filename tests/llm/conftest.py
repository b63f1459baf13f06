"""Fixtures shared by the LLM tests: assistants on the session's index answering with the scripted HTTP
test server (`server`, in tests/conftest.py: wire protocol, streaming, retries, timeouts) and with the
in-process ScriptedLLM (`fake`: answer logic)."""
from __future__ import annotations

import pytest
from fake_llm import ScriptedLLM
from helpers import llm_settings

from assistant.core import Assistant

Q_TARGET = "到2025年高新技术企业数量目标是多少？"
ROW_6000 = "2025年目标 6000"


@pytest.fixture(scope="module")
def llm_assistant(built_settings, server):
    """The real Assistant answering with the real `openai` client against the test server."""
    return Assistant.from_settings(llm_settings(built_settings, server.url))


@pytest.fixture(scope="module")
def fake():
    return ScriptedLLM()


@pytest.fixture(autouse=True)
def _fresh_fake(request):
    if "fake" in request.fixturenames:
        request.getfixturevalue("fake").reset()
    yield


@pytest.fixture(scope="module")
def fake_assistant(built_settings, fake):
    """The real Assistant with the in-process ScriptedLLM passed through `from_settings(llm=...)`."""
    return Assistant.from_settings(built_settings, llm=fake)


@pytest.fixture(scope="module")
def n_6000(llm_assistant) -> int:
    """The [n] the model sees for the 2025-target row (top-5 hits of Q_TARGET)."""
    texts = [h.passage.text for h in llm_assistant.search(Q_TARGET, 5)]
    return next(n for n, t in enumerate(texts, 1) if ROW_6000 in t)
