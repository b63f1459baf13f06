"""The one place assistant errors become HTTP responses. Clients never see a traceback."""
from __future__ import annotations

import logging

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from assistant.errors import AccessDenied, AssistantError, BudgetExceeded, IndexNotReady, InvalidQuery, RecordsUnavailable, \
    StoreUnavailable

log = logging.getLogger(__name__)


def invalid(field: str, message: str, kind: str = "value_error") -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape, naming the field."""
    return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", field], "msg": message, "type": kind}]})


def redact(text: str, settings) -> str:
    """`text` without the server's own paths (data and corpus directories, the temp directory, home):
    messages reach anonymous clients, and where the server keeps its files is none of their business."""
    import tempfile
    from pathlib import Path

    places = {}
    for path, name in ((settings.data_dir, "PA_DATA_DIR"), (settings.corpus_dir, "PA_CORPUS_DIR"),
                       (Path(tempfile.gettempdir()), "<tmp>"), (Path.home(), "~")):
        for variant in {str(path), str(Path(path).resolve())}:
            if len(variant) > 1:
                places[variant] = name
    for variant in sorted(places, key=len, reverse=True):
        text = text.replace(variant, places[variant])
    return text


def unavailable(request: Request, detail: str, retry_after: int = 5) -> JSONResponse:
    """A 503 with `detail` (server paths removed) and Retry-After."""
    return JSONResponse(status_code=503, content={"detail": redact(detail, request.app.state.settings)},
                        headers={"Retry-After": str(retry_after)})


def printable(obj: Any) -> Any:
    """`obj` with every string made encodable: a lone surrogate the client sent is echoed as `\\ud800`
    (FastAPI's own 422 would fail to encode it and answer 500)."""
    if isinstance(obj, str):
        return obj.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(obj, dict):
        return {printable(k): printable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [printable(v) for v in obj]
    return obj


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = jsonable_encoder(exc.errors())
        for e in errors:
            if e.get("type") == "string_unicode":  # pydantic's own words for a lone surrogate
                e["msg"] = "the text contains a lone surrogate, which is not text (not encodable as UTF-8)"
        return JSONResponse(status_code=422, content={"detail": printable(errors)})

    @app.exception_handler(InvalidQuery)
    async def _invalid(request: Request, exc: InvalidQuery):
        return invalid(exc.field or "body", str(exc))

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied):  # a saved profile's token: one answer, no data
        return JSONResponse(status_code=401, content={"detail": str(exc)}, headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(BudgetExceeded)
    async def _budget(request: Request, exc: BudgetExceeded):
        log.warning("%s %s: %s", request.method, request.url.path, exc)
        return invalid("body", str(exc), "budget_exceeded")

    @app.exception_handler(IndexNotReady)
    async def _not_ready(request: Request, exc: IndexNotReady):
        return unavailable(request, str(exc))

    @app.exception_handler(StoreUnavailable)
    async def _store(request: Request, exc: StoreUnavailable):
        return unavailable(request, str(exc))

    @app.exception_handler(RecordsUnavailable)
    async def _records(request: Request, exc: RecordsUnavailable):  # admin reads and writes of the records
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return unavailable(request, str(exc))

    async def _store_failure(request: Request, exc: Exception):
        """The Chroma client's own errors (connection refused, timeouts, server errors): a 503 naming the
        store when a fresh probe confirms it does not answer, else an ordinary 500. An index that is gone
        (replaced, and dropped before this process switched): a 503 saying so, and a reload."""
        service = getattr(request.app.state, "service", None)
        if type(exc).__name__ in {"NotFoundError", "InvalidCollectionException"} and service is not None:
            log.error("%s %s: the index was dropped under this process (%s); reloading", request.method,
                      request.url.path, exc)
            service.reload_soon()
            return unavailable(request, "the index was replaced while this request was answered; try again", 1)
        problem = await run_in_threadpool(service.store_problem, 0.5) if service is not None else None
        if problem:
            log.error("%s %s: %s (%s)", request.method, request.url.path, problem, type(exc).__name__)
            return unavailable(request, problem)
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return JSONResponse(status_code=500, content={"detail": "internal error; it has been logged"})

    for store_error in _store_error_types():
        app.add_exception_handler(store_error, _store_failure)

    @app.exception_handler(AssistantError)
    async def _assistant(request: Request, exc: AssistantError):
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=500, content={"detail": redact(f"{type(exc).__name__}: {exc}",
                                                                       request.app.state.settings)})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error; it has been logged"})


def _store_error_types() -> list[type[Exception]]:
    """What the Chroma client raises when its store fails: httpx transport errors (server mode) and
    chromadb's own errors."""
    import httpx

    types: list[type[Exception]] = [httpx.TransportError]
    try:
        from chromadb.errors import ChromaError

        types.append(ChromaError)
    except ImportError:  # pragma: no cover - chromadb is a dependency
        pass
    return types
