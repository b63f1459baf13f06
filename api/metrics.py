"""Prometheus metrics: request counts and latency per route, and the index size.

With several worker processes (`serve --workers N`, or uvicorn/gunicorn workers started with the
environment variable PROMETHEUS_MULTIPROC_DIR set to an empty directory), the metrics are kept in that
directory by every worker (prometheus-client's multiprocess mode) and `/metrics` — whichever worker
answers it — reports the counters summed over all workers, the gauges per worker (`pid` label). Every
response says which process served it (`X-PA-Worker: <pid>`), and `/metrics` ends with
`pa_served_by{pid="…"} 1`.
"""
from __future__ import annotations

import os
import time

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
WORKER_HEADER = b"x-pa-worker"


def multiprocess() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class Metrics:
    """One registry per app, so several apps (tests, workers) never clash on names."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter("pa_http_requests", "HTTP requests by route, method and status code",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("pa_http_request_duration_seconds", "Time to the end of the response, by route",
                                 ["route", "method"], buckets=BUCKETS, registry=self.registry)
        # several workers: one value per worker process (the `pid` label), as each loads the index itself
        self.passages = Gauge("pa_index_passages", "Passages in the loaded index", registry=self.registry,
                              multiprocess_mode="all")
        self.documents = Gauge("pa_index_documents", "Documents in the loaded index", registry=self.registry,
                               multiprocess_mode="all")
        self.ready = Gauge("pa_ready", "1 when the index is loaded", registry=self.registry, multiprocess_mode="all")
        self.lost_log_rows = Counter("pa_question_log_lost", "Question log rows lost (the records database failed; "
                                     "the questions were answered)", registry=self.registry)

    def render(self) -> tuple[bytes, str]:
        if multiprocess():  # every worker's values, from the shared directory
            from prometheus_client import multiprocess as mp

            registry = CollectorRegistry()
            mp.MultiProcessCollector(registry)
            body = generate_latest(registry)
        else:
            body = generate_latest(self.registry)
        return body + f'pa_served_by{{pid="{os.getpid()}"}} 1\n'.encode(), CONTENT_TYPE_LATEST


MOUNTS = ("/ui",)


def route_label(scope) -> str:
    """The route template (/v1/passages/{passage_id}), the mount for the Gradio app, else 'unmatched'."""
    raw = scope.get("path", "")
    for mount in MOUNTS:
        if raw == mount or raw.startswith(mount + "/"):
            return mount
    path = getattr(scope.get("route"), "path", None)
    return path or "unmatched"


class MetricsMiddleware:
    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics
        self.worker = str(os.getpid()).encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message = {**message, "headers": [*message.get("headers", []), (WORKER_HEADER, self.worker)]}
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = route_label(scope)
            self.metrics.requests.labels(route, scope["method"], str(status["code"])).inc()
            self.metrics.latency.labels(route, scope["method"]).observe(time.perf_counter() - start)
