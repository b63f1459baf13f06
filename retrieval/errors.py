"""Errors of the retrieval layer: the base of the project's one exception hierarchy.

The whole tree (the assistant's errors extend this module; `assistant.errors` draws all of it):

    AssistantError                 every error raised on purpose; edges translate it (HTTP, gr.Error, CLI)
    ├── ConfigError                a setting has a value that cannot work
    ├── DocumentError              a document cannot be read or segmented: reported and skipped
    ├── EmbedderError              the embedder cannot be loaded or failed
    ├── InvalidQuery               a question / search request is not acceptable
    └── IndexFailure               the index cannot be built, read or reached
        ├── IndexNotReady          no index yet, or it is being built / loaded
        └── StoreUnavailable       the vector store (e.g. a Chroma server) does not answer

Constructor convention, for every class of the tree: the message first (what is wrong and what is
allowed, naming the bad value), then keyword-only details a caller may act on (`path=`, `field=`).
"""
from __future__ import annotations


class AssistantError(Exception):
    """Base of every error the project raises on purpose."""

    def __init__(self, message: str = ""):
        super().__init__(message)


class ConfigError(AssistantError):
    """A setting has a value that cannot work; the message names it and what is allowed."""


class DocumentError(AssistantError):
    """A document could not be read or segmented; it is reported and skipped.

    `DocumentError(reason, path=...)`: str() is "path: reason".
    """

    def __init__(self, reason: str, *, path: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


class EmbedderError(AssistantError):
    """The embedder could not be loaded or failed to embed."""


class InvalidQuery(AssistantError):
    """The question or search request is not acceptable (empty, too long, bad filter…).

    `field` names the request field at fault (question, top_k, filters, history) when known.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class IndexFailure(AssistantError):
    """The index is missing, unreadable or could not be built."""


class IndexNotReady(IndexFailure):
    """No index has been built yet (run `python -m assistant index`), or it is loading."""


class StoreUnavailable(IndexFailure):
    """The vector store (e.g. a Chroma server) cannot be reached."""
