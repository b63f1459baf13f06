"""The one place assistant errors become HTTP responses. Clients never see a traceback."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from assistant.errors import AssistantError, IndexNotReady, InvalidQuery, StoreUnavailable

log = logging.getLogger(__name__)


def invalid(field: str, message: str, kind: str = "value_error") -> JSONResponse:
    """A 422 in FastAPI's own validation-error shape, naming the field."""
    return JSONResponse(status_code=422, content={"detail": [{"loc": ["body", field], "msg": message, "type": kind}]})


def install(app: FastAPI) -> None:
    @app.exception_handler(InvalidQuery)
    async def _invalid(request: Request, exc: InvalidQuery):
        return invalid(exc.field or "body", str(exc))

    @app.exception_handler(IndexNotReady)
    async def _not_ready(request: Request, exc: IndexNotReady):
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(StoreUnavailable)
    async def _store(request: Request, exc: StoreUnavailable):
        return JSONResponse(status_code=503, content={"detail": str(exc)}, headers={"Retry-After": "5"})

    @app.exception_handler(AssistantError)
    async def _assistant(request: Request, exc: AssistantError):
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return JSONResponse(status_code=500, content={"detail": f"{type(exc).__name__}: {exc}"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content={"detail": "internal error; it has been logged"})
