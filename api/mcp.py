"""The MCP server: five read-only tools over the assistant, at /mcp (streamable HTTP) and over stdio.

    search_policies(query, top_k, filters) -> SearchResponse       the same as POST /v1/search
    ask(question, history)                 -> AnswerOut            the same as POST /v1/ask
    get_passage(passage_id, context)       -> PassageContext       the same as GET /v1/passages/{id}
    match_support(profile, limit)          -> EligibilityResponse  the same as POST /v1/eligibility
    list_documents()                       -> DocumentsResponse    the same as GET /v1/documents

Results are the /v1 wire schemas (structured content, and the same JSON as text), so an agent has each
passage's document title, section path, passage id and text to cite; the text's strings hold no Markdown or
HTML metacharacter (written as \\u escapes: the same JSON, inert where a client renders Markdown). A bad
argument, an unknown passage or an index still loading is a tool error (`is_error`, a message naming the
argument and what is allowed), never a protocol error or a 500. Over HTTP every tool call draws one token
from the caller's rate-limit bucket, the one its /v1 requests use, and bodies are capped at
PA_MAX_BODY_BYTES. No admin operation is exposed. An event stream (`GET /mcp`, text/event-stream) takes a
token too, is bounded per client and in all (PA_MCP_MAX_STREAMS) and closed when idle (api/mcp_streams.py).
"""
from __future__ import annotations

import logging
import math
from contextlib import asynccontextmanager
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any, AsyncIterator, Callable

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field
from starlette.responses import JSONResponse

from api.convert import answer_out, hit_out, passage_out, profile_of
from api.mcp_streams import StreamGate, is_stream
from api.ratelimit import TokenBuckets, client_key, limit_message
from api.schemas import (AnswerOut, DocumentOut, DocumentsResponse, EligibilityResponse, FilterValue, Message,
                         PassageContext, ProfileIn, SearchResponse)
from assistant.core import Assistant
from assistant.errors import AssistantError
from assistant.integrations.markdown import markdown_safe_json
from assistant.integrations.records import error_text
from assistant.records import Database
from assistant.records.desk import Desk
from assistant.service.service import Service
from assistant.settings import Settings
from assistant.language.validation import TOP_K_MAX, TOP_K_MIN

log = logging.getLogger(__name__)
Guard = Callable[[Any], None]  # the HTTP request of a tool call (None over stdio); raises ToolError to refuse it
LOOPBACK = ("127.0.0.1", "localhost", "::1")
STDIO_LOAD_TIMEOUT = 600.0  # s a first tool call over stdio waits for the index (a first-run build included)
READ_ONLY = ToolAnnotations(read_only_hint=True, open_world_hint=False)
INSTRUCTIONS = ("政策助手：长沙市科技创新政策文件的检索与问答。引用时请给出文件标题、章节路径和原文。"
                "Policy Assistant: search and cited answers over Chinese science-and-technology policy documents. "
                "Cite the document title and section path; get_passage opens a passage_id in its context.")
History = Annotated[list[Message], Field(max_length=200, description=(
    "对话历史 Earlier turns, oldest first ({role: user|assistant, content}), for follow-ups."))]
FILTERS_HELP = ("元数据过滤 Metadata filters: doc_id, kind, issuer, region, status, doc_number (a value or a list); "
                "issued_from / issued_to (YYYY-MM-DD); include_inactive (true: also repealed or expired documents).")


def _package_version() -> str:
    try:
        return version("policy-assistant")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout that was never installed
        return "0"


def _new_server() -> MCPServer:
    """An MCPServer, leaving this process's logging as it was: its constructor calls logging.basicConfig
    (a rich handler on the root logger at INFO), which would change what the whole server logs, and how."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    server = MCPServer("policy-assistant", title="政策助手 Policy Assistant", instructions=INSTRUCTIONS,
                       version=_package_version())
    for handler in [h for h in root.handlers if h not in handlers]:
        root.removeHandler(handler)
    root.setLevel(level)
    return server


def build_mcp(get_assistant: Callable[[], Assistant], guard: Guard | None = None, desk: Desk | None = None) -> MCPServer:
    """The tools over whatever assistant `get_assistant` returns when a call comes (Service.get: the loaded one);
    `ask` goes through `desk` (curated answers first, the question log) when given."""
    server = _new_server()

    def run(ctx: Context, fn: Callable[[Assistant], BaseModel]) -> Any:
        """fn's result as the tool result: structured content, and the same JSON compact as text (the SDK would
        indent it: half as large again, slower to send and more tokens for the model). The tools' return
        annotations still give their output schemas."""
        if guard is not None:
            guard(ctx.request_context.request)
        try:
            model = fn(get_assistant())
            return CallToolResult(content=[TextContent(type="text", text=markdown_safe_json(model.model_dump_json()))],
                                  structured_content=model.model_dump(mode="json"))
        except AssistantError as exc:  # bad argument (names it), index loading, store down: the model can act
            raise ToolError(error_text(exc)) from exc
        except ToolError:
            raise
        except Exception as exc:  # noqa: BLE001 - never a traceback to the client
            log.exception("MCP tool call failed")
            raise ToolError(f"internal error ({type(exc).__name__}); it has been logged") from exc

    @server.tool(annotations=READ_ONLY, description=(
        "在政策文件中检索最相关的段落（BM25 + 向量混合检索），返回文件标题、章节路径、段落 ID、原文和分数。"
        "Search the policy documents: the passages ranked highest (hybrid BM25 + vector), each with document "
        "title, section path, passage_id, text and scores. The same as POST /v1/search."))
    def search_policies(query: Annotated[str, Field(description="检索内容 What to look for (Chinese or English).")],
                        top_k: Annotated[int, Field(ge=TOP_K_MIN, le=TOP_K_MAX,
                                                    description="返回段落数 Passages to return.")] = 5,
                        filters: Annotated[dict[str, FilterValue] | None, Field(description=FILTERS_HELP)] = None,
                        ctx: Context = None) -> SearchResponse:
        return run(ctx, lambda a: SearchResponse(hits=[hit_out(h) for h in a.search(query, top_k, filters)]))

    @server.tool(annotations=READ_ONLY, description=(
        "回答关于政策文件的问题，附编号引用（文件、章节、段落原文与引句）；文件中没有答案时会说明（answerable=false）。"
        "Answer a question from the policy documents with numbered citations (document, section, passage, quoted "
        "sentence); answerable=false when the documents do not contain the answer. The same as POST /v1/ask."))
    def ask(question: Annotated[str, Field(description="问题 The question (Chinese or English).")],
            history: History = [],  # noqa: B006 - validated into a new list on every call
            ctx: Context = None) -> AnswerOut:
        turns = [m.model_dump() for m in history]
        if desk is None:
            return run(ctx, lambda a: answer_out(a.ask(question, turns)))
        return run(ctx, lambda a: answer_out(desk.ask(a, question, turns, channel="mcp")[0]))

    @server.tool(annotations=READ_ONLY, description=(
        "按段落 ID 打开一段原文及其前后文（同一文件）。Open a passage by its passage_id (from search_policies or ask "
        "citations) with its section path and the neighbouring passages. The same as GET /v1/passages/{id}."))
    def get_passage(passage_id: Annotated[str, Field(max_length=200, description="段落 ID passage_id.")],
                    context: Annotated[int, Field(ge=0, le=10, description=(
                        "前后各取几段 Neighbouring passages on each side."))] = 2,
                    ctx: Context = None) -> PassageContext:
        def fetch(a: Assistant) -> PassageContext:
            p = a.passage(passage_id)
            if p is None:
                raise ToolError(f"no passage with passage_id={passage_id!r}; passage ids come from search_policies "
                                "hits or ask citations")
            before, after = a.neighbours(passage_id, context)
            return PassageContext(passage=passage_out(p), previous=[passage_out(x) for x in before],
                                  next=[passage_out(x) for x in after])

        return run(ctx, fetch)

    @server.tool(annotations=READ_ONLY, description=(
        "政策匹配：给出企业、科研人员或机构的画像，返回适用的支持措施（分组、状态、理由、需核实的条件及出处）。"
        "Support finder: the measures that apply to an enterprise, researcher or institution profile, grouped, "
        "with status (likely / check / unlikely), why, the conditions to verify and the citation. "
        "The same as POST /v1/eligibility."))
    def match_support(profile: Annotated[ProfileIn, Field(description=(
                          "画像 Profile: entity_type (enterprise | researcher | institution), qualifications, "
                          "industry, park, district, talent_category, description (free text)."))],
                      limit: Annotated[int, Field(ge=TOP_K_MIN, le=TOP_K_MAX,
                                                  description="最多返回措施数 Most measures returned.")] = 20,
                      ctx: Context = None) -> EligibilityResponse:
        return run(ctx, lambda a: EligibilityResponse.model_validate(a.match(profile_of(profile), limit)))

    @server.tool(annotations=READ_ONLY, description=(
        "列出已收录的政策文件及其元数据（文号、发文机关、日期、状态）和段落数。List the indexed documents with their "
        "metadata (doc_number, issuer, dates, status) and passage counts. The same as GET /v1/documents."))
    def list_documents(ctx: Context = None) -> DocumentsResponse:
        return run(ctx, lambda a: DocumentsResponse(documents=[DocumentOut.model_validate(d) for d in a.documents()]))

    return server


def rate_guard(buckets: TokenBuckets, per_minute: int, burst: int, trust_forwarded: bool) -> Guard:
    """Each HTTP tool call takes a token from the caller's bucket (the same buckets as /v1)."""
    def guard(request: Any) -> None:
        if request is None:  # stdio: one local user
            return
        wait = buckets.take(client_key(request.scope, trust_forwarded))
        if wait > 0:
            raise ToolError(limit_message(per_minute, burst, max(1, math.ceil(wait))))

    return guard


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection while the server listens on loopback only, as the SDK does by default, with the
    configured CORS origins allowed too. Listening on other addresses, or behind a reverse proxy
    (PA_TRUST_FORWARDED), the Host header is the deployment's business: not checked here."""
    if settings.host not in LOOPBACK or settings.trust_forwarded:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=["127.0.0.1:*", "localhost:*", "[::1]:*"],
        allowed_origins=["http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*", *settings.cors_origins])


class MCPEndpoint:
    """The ASGI app behind the /mcp route. The host app's lifespan enters `running()`: a fresh MCP server and
    session manager each time (the SDK's session manager runs only once, and an app's lifespan may run again)."""

    def __init__(self, build: Callable[[], MCPServer], settings: Settings, buckets: TokenBuckets | None = None):
        self.build = build
        self.streams = StreamGate(settings.mcp_max_streams, settings.mcp_stream_idle_seconds, settings.trust_forwarded,
                                  buckets, settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.options = {"streamable_http_path": "/mcp", "max_request_body_size": settings.max_body_bytes,
                        "stateless_http": True,  # no session for clients before 2026-07-28 either: any worker answers
                        "transport_security": transport_security(settings)}
        self.live: list[Any] = []

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        server = self.build()
        app = server.streamable_http_app(**self.options)
        async with server.session_manager.run():
            self.live.append(app)
            try:
                yield
            finally:
                self.live.remove(app)

    async def __call__(self, scope, receive, send) -> None:
        if not self.live:
            response = JSONResponse({"detail": "the MCP server is not running: the app's lifespan has not started"},
                                    status_code=503)
            return await response(scope, receive, send)
        if is_stream(scope):  # GET with Accept: text/event-stream: bounded per client and in all, closed when idle
            return await self.streams(self.live[-1], scope, receive, send)
        await self.live[-1](scope, receive, send)


def serve_stdio(settings: Settings, progress: Callable[[int, int], None] | None = None) -> None:
    """`python -m assistant mcp`: the tools over stdio for desktop clients. The index loads (or is built) in
    the background while the client connects; a first tool call waits for it."""
    service = Service(settings, progress=progress)
    service.start()

    def loaded() -> Assistant:
        service.wait(STDIO_LOAD_TIMEOUT)
        return service.get()

    desk = Desk.of(Database(settings.database_config()), settings.question_log_config(),
                   settings.curated_min_similarity)
    build_mcp(loaded, desk=desk).run("stdio")
