"""Operations: /healthz (process up), /readyz (index loaded), /metrics (Prometheus)."""
from __future__ import annotations

import os

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api.deps import MetricsDep, ServiceDep
from api.errors import redact
from assistant.errors import StoreUnavailable

router = APIRouter(tags=["运维 ops"])


@router.get("/healthz", summary="The process is up")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="200 when the index is loaded and the store answers; 503 before",
            responses={503: {"description": "Not ready: {status, progress?, detail?}, with Retry-After"}})
def readyz(service: ServiceDep, metrics: MetricsDep):
    """The vector store is probed (one cheap call, reused for ~1.5 s, bounded by a timeout): a Chroma
    server that stopped answering turns this to 503 naming it, and back to 200 once it answers again."""
    body: dict = {"status": service.status}
    if service.status == "ready":
        try:
            service.check_store()
        except StoreUnavailable as exc:
            metrics.ready.set(0)
            return JSONResponse({"status": "store_unavailable", "store": redact(service.store_address(), service.settings),
                                 "detail": redact(str(exc), service.settings)}, status_code=503,
                                headers={"Retry-After": "5"})
        info = service.get().info
        metrics.ready.set(1)
        body.update(passages=info.passages, documents=info.documents, collection=info.collection,
                    embedder=info.embedder, built_at=info.built_at,
                    ready_seconds=round(service.ready_seconds or 0.0, 3), worker=os.getpid(),
                    rate_limit=rate_limit_note(service.settings))
        return body
    metrics.ready.set(0)
    if service.status == "building":
        body["progress"] = {"done": service.progress[0], "total": service.progress[1]}
    if service.status == "store_unavailable":
        body["store"] = redact(service.store_address(), service.settings)
    if service.error:
        body["detail"] = redact(service.error, service.settings)
    return JSONResponse(body, status_code=503, headers={"Retry-After": "5"})


def rate_limit_note(settings) -> dict:
    """What the per-client rate limit is, and that it is counted in this process only."""
    return {"per_minute": settings.rate_limit_per_minute, "burst": settings.rate_limit_burst,
            "scope": "per process: with N workers or replicas a client may make up to N times as many requests; "
                     "put the global limit in the reverse proxy or load balancer (README: Scaling out)"}


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics_endpoint(service: ServiceDep, metrics: MetricsDep) -> Response:
    if service.status == "ready":
        info = service.get().info
        metrics.passages.set(info.passages)
        metrics.documents.set(info.documents)
        metrics.ready.set(0 if service.store_problem() else 1)  # the same (cached) probe as /readyz
    body, ctype = metrics.render()
    return Response(body, media_type=ctype)
