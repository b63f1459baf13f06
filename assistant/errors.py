"""One exception hierarchy. Edges (CLI, API, UI) translate these into user-facing messages."""
from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the assistant raises on purpose."""


class ConfigError(AssistantError):
    """A setting has a value that cannot work; the message names it and what is allowed."""


class DocumentError(AssistantError):
    """A document could not be read or segmented; it is reported and skipped."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class IndexError_(AssistantError):
    """The index is missing, unreadable or could not be built."""


class IndexNotReady(IndexError_):
    """No index has been built yet (run `python -m assistant index`)."""


class StoreUnavailable(IndexError_):
    """The vector store (e.g. a Chroma server) cannot be reached."""


class EmbedderError(AssistantError):
    """The embedder could not be loaded or failed to embed."""


class InvalidQuery(AssistantError):
    """The question or search request is not acceptable (empty, too long, bad filter…).

    `field` names the request field at fault (question, top_k, filters, history) when known.
    """

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field
