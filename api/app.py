"""The application, wired in one place: JSON API under /v1, health and metrics, the Gradio chat at /ui.

    create_app(settings)           # index loaded (or built) in the background; /readyz says when
    uvicorn api.app:create_app --factory    # settings read from the environment, here and nowhere below

What the routes and the UI share is made here and put on `app.state`: the settings, the `Service`
(the loaded assistant), the background evaluation `Jobs`, the metrics.
"""
from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from api import errors
from api.limits import BodyLimit, ResponseLimit
from api.mcp import MCPEndpoint, build_mcp, rate_guard
from api.metrics import Metrics, MetricsMiddleware
from api.ratelimit import RateLimit, TokenBuckets, limited
from api.ui_guard import UIGuard
from api.routes import ask, browse, dify, eligibility, evals, feedback, library, openai_compat, ops, profiles, review, \
    versions, view
from assistant.service.service import Progress, Service
from assistant.core import Assistant
from assistant.records import Database
from assistant.records.desk import Desk
from assistant.records.push import Pusher
from assistant.records.webhook import Deliverer
from assistant.records.startup import prepare_in_background
from assistant.settings import Settings, get_settings
from evals.workbench import Jobs

DESCRIPTION = """
政策助手 (Policy Assistant) answers questions about the *Changsha 14th Five-Year Plan for Science and
Technology Innovation (2021–2025)* and related policies, citing the paragraphs it relies on.

* `POST /v1/ask` — a cited answer (`answerable: false` when the documents do not contain it)
* `POST /v1/ask/stream` — the same as Server-Sent Events
* `POST /v1/chat/completions` — OpenAI-compatible (ChatBox, LobeChat, Open WebUI…), citations included
* `POST /v1/eligibility` — which measures apply to an enterprise, researcher or institution (政策匹配)
* `POST /v1/profiles` — save a profile: new matching measures are pushed to its webhook (signed), Atom feed and the UI
* `GET /v1/calendar.ics` — application windows (申报时间, 截止日期) of the documents in force, as iCalendar
* `GET /v1/passages/{id}` — open a citation in context
* `GET /v1/documents/{doc_id}/view?passage=ID` — the original document, scrolled to a citation and highlighting it
* `GET /v1/documents/{doc_id}/diff` — what changed between versions of a document
* `POST /dify/retrieval` — Dify's External Knowledge API (register `http://host:port/dify` in Dify)
* `/mcp` — an MCP server (streamable HTTP): search_policies, ask, get_passage, match_support, list_documents
* `GET /v1/admin/questions`, `/v1/admin/curated` — staff review (admin token): the questions asked, grouped
  by meaning; curated answers served first to close questions (`"source": "curated"`); fixes as eval items
* The chat UI is at [/ui](/ui).
"""


PROBLEM_SCHEMA = {"type": "object", "required": ["detail"], "properties": {"detail": {"type": "string"}}}
BODY_UNPARSABLE = {"description": "The body cannot be parsed at all (bytes that are not UTF-8, a broken multipart form)",
                   "content": {"application/json": {"schema": PROBLEM_SCHEMA}}}
RATE_LIMITED = {"description": "Over the per-client rate limit (PA_RATE_LIMIT_PER_MINUTE, PA_RATE_LIMIT_BURST)",
                "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
                "content": {"application/json": {"schema": PROBLEM_SCHEMA}}}


def document_middleware_responses(app: FastAPI) -> None:
    """Say in /openapi.json what answers come from outside the routes: 400 when a request body cannot be
    parsed at all (FastAPI's own answer, not a 422), 429 from the rate limit on the public endpoints."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            for path, item in generate().get("paths", {}).items():
                for method, operation in item.items():
                    if not isinstance(operation, dict):
                        continue
                    responses = operation.setdefault("responses", {})
                    if "requestBody" in operation:
                        responses.setdefault("400", BODY_UNPARSABLE)
                    if limited(method.upper(), path):
                        responses.setdefault("429", RATE_LIMITED)
        return app.openapi_schema

    app.openapi = openapi


def create_app(settings: Settings | None = None, *, assistant: Assistant | None = None,
               progress: Progress | None = None, ui: bool = True, refresh: bool = False,
               load_now: bool = False) -> FastAPI:
    """`refresh`: bring the index up to date with corpus/ before loading (single-process `serve`);
    replicas started with `uvicorn --factory` only load what is there (built on first run).
    `load_now`: start loading the index right away, while the UI is built, instead of at startup."""
    settings = settings or get_settings()  # the app factory is an edge: the one place the API reads them
    service = Service(settings, progress=progress, assistant=assistant, refresh=refresh)
    jobs = Jobs(settings.data_dir / "evals")  # background evaluation runs (API and UI share them)
    records = Database(settings.database_config())  # feedback, question log, curated answers
    if load_now:
        service.start()
    metrics = Metrics()
    deliverer = Deliverer(records, settings.webhook_config())  # signed webhook deliveries, claimed in the database
    pusher = Pusher(records, settings.push_config(), wake=deliverer.wake)
    service.listeners.append(pusher.on_index)  # every index this process loads: what is new for each profile
    desk = Desk.of(records, settings.question_log_config(), settings.curated_min_similarity,  # every channel asks it
                   on_lost=metrics.lost_log_rows.inc)
    limit = settings.rate_limit_per_minute
    # one bucket per client for the /v1 and /dify requests (RateLimit) and the MCP tool calls (the MCP guard)
    buckets = TokenBuckets(limit, settings.rate_limit_burst) if limit > 0 else None
    guard = rate_guard(buckets, limit, settings.rate_limit_burst, settings.trust_forwarded) if buckets is not None \
        else None
    mcp = MCPEndpoint(lambda: build_mcp(service.get, guard, desk), settings, buckets)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.start()
        prepare_in_background(records, settings.data_dir)  # migrations, the old feedback.jsonl imported once
        deliverer.start()
        async with mcp.running():  # the MCP session manager lives as long as the app
            yield
        deliverer.stop()
        service.stop()
        records.dispose()

    app = FastAPI(title="政策助手 Policy Assistant", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.service = service
    app.state.eval_jobs = jobs
    app.state.metrics = metrics
    app.state.records = records
    app.state.desk = desk
    app.state.pusher = pusher
    errors.install(app)
    document_middleware_responses(app)
    for module in (ask, browse, view, versions, eligibility, library, evals, openai_compat, feedback, review, ops, dify,
                   profiles):
        app.include_router(module.router)
    app.add_route("/mcp", mcp, include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/" if ui else "/docs")

    if ui:
        import gradio as gr

        from ui.app import CSS, build_ui

        app = gr.mount_gradio_app(app, build_ui(service, jobs, records, desk), path="/ui", allowed_paths=[], css=CSS,
                                  footer_links=["api"], max_file_size="5mb", show_error=True)
    app.add_middleware(ResponseLimit, max_bytes=settings.max_response_bytes)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes,
                       overrides={"/v1/documents": settings.max_upload_bytes + 64 * 1024,
                                  "/v1/evals": 5 * 1024 * 1024 + 64 * 1024})
    if ui:  # the UI's own API: event bodies capped, files only this client's uploads, uploads budgeted
        from gradio.utils import get_upload_folder

        app.add_middleware(UIGuard, upload_folder=get_upload_folder(), max_body=settings.max_body_bytes,
                           uploads_per_hour=settings.ui_uploads_per_hour,
                           upload_bytes_per_hour=settings.ui_upload_bytes_per_hour,
                           trust_forwarded=settings.trust_forwarded)
    if buckets is not None:  # outside BodyLimit: a client over its limit is refused before its body is read
        app.add_middleware(RateLimit, per_minute=limit, burst=settings.rate_limit_burst,
                           trust_forwarded=settings.trust_forwarded, buckets=buckets)
    if settings.cors_origins:  # outside RateLimit: preflights are answered here, and 429s carry CORS headers too
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"],
                           allow_headers=["*"], expose_headers=["Retry-After", "Mcp-Session-Id"],
                           allow_credentials=False, max_age=600)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
