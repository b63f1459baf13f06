"""政策助手 (Policy Assistant): cited answers about science-and-technology innovation policy.

The public names are loaded lazily, so `retrieval` modules can import `assistant.errors`
without pulling in `assistant.core` (which imports them back).
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "Answer": "assistant.answer",
    "Citation": "assistant.answer",
    "Assistant": "assistant.core",
    "AssistantError": "assistant.errors",
    "Settings": "assistant.settings",
    "get_settings": "assistant.settings",
}
__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
