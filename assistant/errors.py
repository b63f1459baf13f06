"""The project's one exception hierarchy. Edges (CLI, API, UI) translate these into user-facing messages.

    AssistantError                 every error raised on purpose               (retrieval.errors)
    ├── ConfigError                a setting has a value that cannot work      (retrieval.errors)
    ├── DocumentError              a document cannot be read or segmented      (retrieval.errors)
    ├── EmbedderError              the embedder cannot be loaded or failed     (retrieval.errors)
    ├── InvalidQuery               a question / request field is not acceptable (retrieval.errors)
    ├── DatasetError               an evaluation set has a bad row or column (also a ValueError)
    ├── IndexFailure               the index cannot be built, read or reached  (retrieval.errors)
    │   ├── IndexNotReady          no index yet, or it is being built / loaded
    │   └── StoreUnavailable       the vector store does not answer
    ├── FeedbackError              feedback could not be recorded
    ├── RecordsUnavailable         the service's database (PA_DATABASE_URL) cannot be reached or migrated
    ├── AccessDenied               a saved profile's token is missing or wrong (or there is no such profile)
    ├── BudgetExceeded             one request would cost more than a PA_MAX_* limit allows
    ├── BackupError                a backup cannot be written, or a restore is refused (nothing changed)
    └── LLMError                   the LLM endpoint failed (the answer falls back to extractive)
        ├── LLMTimeout             no answer within PA_LLM_TIMEOUT
        ├── LLMConnectionError     the endpoint cannot be reached              (retried)
        ├── LLMAuthError           401 / 403: the API key was refused
        ├── LLMRateLimited         429                                         (retried)
        ├── LLMServerError         5xx                                         (retried)
        ├── LLMBadRequest          another 4xx
        └── LLMBadOutput           an empty or unreadable reply

Constructor convention: the message first (naming the bad value and what is allowed), then keyword-only
details (`path=`, `field=`). Each LLMError subclass has a `kind`, the short name notices and logs show.
"""
from __future__ import annotations

from retrieval.errors import (
    AssistantError,
    ConfigError,
    DocumentError,
    EmbedderError,
    IndexFailure,
    IndexNotReady,
    InvalidQuery,
    StoreUnavailable,
)

__all__ = [
    "AssistantError", "ConfigError", "DocumentError", "EmbedderError", "InvalidQuery", "IndexFailure",
    "IndexNotReady", "StoreUnavailable", "DatasetError", "FeedbackError", "RecordsUnavailable", "AccessDenied",
    "LLMError", "LLMTimeout", "LLMConnectionError", "LLMAuthError", "LLMRateLimited", "LLMServerError",
    "LLMBadRequest", "LLMBadOutput", "BudgetExceeded", "BackupError",
]


class DatasetError(AssistantError, ValueError):
    """An evaluation set (JSONL / CSV / XLSX) cannot be used; the message names the file, row and column."""


class FeedbackError(AssistantError):
    """Feedback could not be recorded (a bad vote, an over-long comment, an unwritable file)."""


class BackupError(AssistantError):
    """A backup cannot be written, or a restore is refused; the message names why (nothing changed)."""


class RecordsUnavailable(AssistantError):
    """The service's database (PA_DATABASE_URL) cannot be reached, migrated or written; the message names it
    (without its password)."""


class AccessDenied(AssistantError):
    """A saved profile's routes were called without its token, with a wrong one, or for an id that does not
    exist (the same answer for all three: the API answers 401 and shows no data)."""


class BudgetExceeded(AssistantError):
    """One request would cost more than a limit allows (CPU seconds, response bytes); `setting` names it."""

    def __init__(self, message: str, *, setting: str):
        super().__init__(message)
        self.setting = setting


class LLMError(AssistantError):
    """The LLM endpoint failed. `kind` names the failure; `retryable` says whether a retry may help."""

    kind = "error"
    retryable = False


class LLMTimeout(LLMError):
    """No answer within PA_LLM_TIMEOUT."""

    kind = "timeout"


class LLMConnectionError(LLMError):
    """The endpoint cannot be reached."""

    kind = "connection"
    retryable = True


class LLMAuthError(LLMError):
    """401 / 403: the API key was refused."""

    kind = "auth"


class LLMRateLimited(LLMError):
    """HTTP 429."""

    kind = "rate_limit"
    retryable = True


class LLMServerError(LLMError):
    """HTTP 5xx."""

    kind = "server"
    retryable = True


class LLMBadRequest(LLMError):
    """Another HTTP 4xx."""

    kind = "bad_request"


class LLMBadOutput(LLMError):
    """An empty or unreadable reply."""

    kind = "bad_output"
