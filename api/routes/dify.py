"""Dify's External Knowledge API: POST /dify/retrieval (register `http://host:port/dify` in Dify; it appends
/retrieval). The contract: https://docs.dify.ai/en/use-dify/knowledge/external-knowledge-api

Every request needs `Authorization: Bearer $PA_DIFY_API_KEY` (compared in constant time), checked before the
body is read. Errors are non-200 with `{"error_code", "error_msg"}`: 1001 (403) a malformed Authorization
header, 1002 (403) a wrong key or no PA_DIFY_API_KEY configured, 2001 (404) an unknown knowledge_id; and ours,
as Dify defines no codes for them: 4001 (422) an invalid field, named, 5001 (503) the index is not loaded yet.
"""
from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from api.deps import AssistantDep
from api.schemas import Problem
from assistant.service.access import token_ok
from assistant.errors import IndexFailure, InvalidQuery
from assistant.integrations.dify import ALL, condition_filters, knowledge_filters, records
from assistant.integrations.records import error_text
from assistant.language.validation import TOP_K_MAX, TOP_K_MIN

BAD_HEADER, WRONG_KEY, UNKNOWN_KNOWLEDGE, INVALID, NOT_READY = 1001, 1002, 2001, 4001, 5001


class DifyError(BaseModel):
    error_code: int = Field(description="1001 malformed Authorization header, 1002 wrong key (or none configured), "
                                        "2001 unknown knowledge_id, 4001 invalid field, 5001 index not loaded yet")
    error_msg: str


class RetrievalSetting(BaseModel):
    top_k: int = Field(ge=TOP_K_MIN, le=TOP_K_MAX, description="Most records returned.")
    score_threshold: float = Field(ge=0.0, le=1.0, description="Records scoring below it are left out (0.0: off).")


class Condition(BaseModel):
    name: str | list[str] = Field(description="doc_id, kind, issuer, region, status, doc_number, or issued.")
    comparison_operator: str = Field(description="is, =, in (fields); is, =, before, after, <, >, ≤, ≥ (issued).")
    value: str | int | float | list[str] | None = None


class MetadataCondition(BaseModel):
    logical_operator: Literal["and", "or"] = "and"
    conditions: list[Condition] = Field(max_length=50)


class RetrievalRequest(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"knowledge_id": "all", "query": "高新技术企业培育", "retrieval_setting": {"top_k": 3, "score_threshold": 0.5}},
        {"knowledge_id": "changsha-sti-plan-2021-2025", "query": "科技金融",
         "retrieval_setting": {"top_k": 5, "score_threshold": 0.0},
         "metadata_condition": {"logical_operator": "and",
                                "conditions": [{"name": "kind", "comparison_operator": "is", "value": "paragraph"}]}},
    ]})

    knowledge_id: str = Field(max_length=200, description=f"'{ALL}' for the whole library, or a doc_id.")
    query: str = Field(description="The user's query (at most PA_MAX_QUESTION_CHARS characters).")
    retrieval_setting: RetrievalSetting
    metadata_condition: MetadataCondition | None = None


class Record(BaseModel):
    content: str = Field(description="The passage text.")
    score: float = Field(ge=0.0, le=1.0, description="Relevance on 0..1, whatever PA_FUSION is.")
    title: str = Field(description="The document title.")
    metadata: dict[str, Any] = Field(description="passage_id, doc_id, doc_title, section, section_levels, kind, "
                                                 "scores and the document's metadata (issuer, doc_number, issued…).")


class RetrievalResponse(BaseModel):
    records: list[Record]


def dify_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error_code": code, "error_msg": message}, status_code=status, headers=headers)


def key_problem(request: Request) -> JSONResponse | None:
    """None when the request carries `Authorization: Bearer <PA_DIFY_API_KEY>`; else the 403 to send."""
    scheme, _, given = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return dify_error(403, BAD_HEADER, "Invalid Authorization header format. Expected 'Bearer <api-key>'.")
    configured = request.app.state.settings.dify_api_key
    if configured is None or not configured.get_secret_value():
        return dify_error(403, WRONG_KEY, "The Dify endpoint is disabled: set PA_DIFY_API_KEY on the server.")
    if not token_ok(configured.get_secret_value(), given.strip()):
        return dify_error(403, WRONG_KEY, "Authorization failed. Please check your API key (PA_DIFY_API_KEY).")
    return None


def _field_errors(exc: RequestValidationError) -> str:
    parts = [f"{'.'.join(str(x) for x in e.get('loc', ()) if x != 'body') or 'body'}: {e.get('msg', '')}"
             for e in exc.errors()[:5]]
    return "invalid request: " + "; ".join(parts)


class DifyRoute(APIRoute):
    """The key is checked before the body is read; validation and assistant errors get Dify's error shape."""

    def get_route_handler(self):
        handle = super().get_route_handler()

        async def route(request: Request):
            refused = key_problem(request)
            if refused is not None:
                return refused
            try:
                return await handle(request)
            except RequestValidationError as exc:
                return dify_error(422, INVALID, _field_errors(exc))
            except InvalidQuery as exc:
                return dify_error(422, INVALID, f"invalid request: {error_text(exc)}")
            except IndexFailure as exc:
                return dify_error(503, NOT_READY, str(exc), {"Retry-After": "5"})

        return route


router = APIRouter(prefix="/dify", tags=["Dify 外部知识库 External Knowledge API"], route_class=DifyRoute)
ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": DifyError, "description": "1001 malformed Authorization header; 1002 wrong key, or none configured"},
    404: {"model": DifyError, "description": "2001 unknown knowledge_id"},
    413: {"model": Problem, "description": "Body over PA_MAX_BODY_BYTES"},
    422: {"model": DifyError, "description": "4001 a field is invalid (named in error_msg)"},
    503: {"model": DifyError, "description": "5001 the index is not loaded yet"},
}


@router.post("/retrieval", response_model=RetrievalResponse, responses=ERRORS,
             summary="Dify External Knowledge API: passages for a query as Dify records")
def retrieval(req: RetrievalRequest, assistant: AssistantDep):
    doc_ids = [d["doc_id"] for d in assistant.documents()]
    base = knowledge_filters(req.knowledge_id, doc_ids)
    if base is None:
        shown = ", ".join(doc_ids[:20]) + (" …" if len(doc_ids) > 20 else "")
        return dify_error(404, UNKNOWN_KNOWLEDGE, f"The knowledge does not exist: knowledge_id={req.knowledge_id!r}; "
                                                  f"allowed: '{ALL}' or a doc_id ({shown})")
    condition = req.metadata_condition.model_dump() if req.metadata_condition else None
    filters = condition_filters(condition, base)
    if filters is None:  # the conditions exclude each other (e.g. two different doc_ids)
        return RetrievalResponse(records=[])
    setting = req.retrieval_setting
    hits = assistant.search(req.query, setting.top_k, filters)
    return RetrievalResponse(records=records(hits, assistant.settings.fusion, setting.score_threshold))
