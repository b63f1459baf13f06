"""Admin: what people ask and what failed (the review queue), curated answers, and a fix turned into an
evaluation item. All need the admin token."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path as PathParam, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.auth import AdminDep
from api.deps import AssistantDep, DeskDep, RecordsDep, SettingsDep
from api.schemas import Problem
from assistant.errors import InvalidQuery
from assistant.records import curated as store
from assistant.records.queue import group
from assistant.records.questions import questions

router = APIRouter(prefix="/v1/admin", tags=["审核 review (admin)"])
GUARDED = {401: {"model": Problem}, 403: {"model": Problem},
           503: {"model": Problem, "description": "The index is not loaded, or the records database does not answer"}}
CURATED_ERRORS = {**GUARDED, 422: {"description": "A field is invalid: `detail[].loc` names it, `msg` the problem (an "
                                                  "unknown passage id, a document not in force, a figure not in the "
                                                  "cited passages)"}}
CuratedId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class CuratedIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"question": "到2025年高新技术企业数量目标是多少？", "answer": "到2025年，高新技术企业数达到6000家[1]。",
         "passage_ids": ["changsha-sti-plan-2021-2025:1a2b3c4d5e6f"]}]})
    question: str = Field(min_length=1, max_length=500)
    answer: str = Field(min_length=1, max_length=5000)
    passage_ids: list[Annotated[str, Field(min_length=1, max_length=300)]] = Field(min_length=1, max_length=20)


class CuratedOut(BaseModel):
    id: int
    question: str
    answer: str
    passage_ids: list[str]
    status: Literal["active", "needs_review"]
    review_reason: str = Field(description="Why it is no longer served (needs_review), else empty.")
    created: str
    updated: str


class EvalItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    set: str = Field(min_length=1, max_length=64, description="The named set: PA_DATA_DIR/evals/NAME.jsonl")


class EvalItemOut(BaseModel):
    set: str
    path: str = Field(description="Where the set is, relative to PA_DATA_DIR")
    items: int


ISO_TIME = r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$"


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidQuery(f"since={value!r} is not a date or time; allowed: ISO 8601, e.g. 2026-01-31 or "
                           "2026-01-31T08:00:00+08:00", field="since") from None
    return t if t.tzinfo else t.replace(tzinfo=timezone.utc)


@router.get("/questions", responses={**GUARDED, 200: {"content": {"text/csv": {}}, "description": (
        "JSON: {groups: [{question, count, refused, downvoted, curated, first_seen, last_seen, examples, channels, "
        "question_ids}], needs_review: [curated answers]}; CSV: one row per group.")}},
            summary="The review queue: logged questions grouped by meaning; admin token")
def review_queue(_: AdminDep, assistant: AssistantDep, records: RecordsDep, settings: SettingsDep,
                 status: Annotated[Literal["refused", "downvoted", "all"], Query()] = "all",
                 since: Annotated[str | None, Query(pattern=ISO_TIME, max_length=40,
                                                    description="ISO 8601 date or time (UTC unless it says)")] = None,
                 format: Annotated[Literal["json", "csv"], Query()] = "json"):
    groups = group(questions(records, status, _since(since)), assistant, settings.curated_min_similarity)
    if format == "csv":
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(["question", "count", "refused", "downvoted", "curated", "first_seen", "last_seen", "examples"])
        for g in groups:
            w.writerow([g["question"], g["count"], g["refused"], g["downvoted"], g["curated"], g["first_seen"],
                        g["last_seen"], " | ".join(g["examples"])])
        return Response(out.getvalue().encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="questions.csv"'})
    return {"status": status, "groups": groups, "needs_review": store.listing(records, assistant, "needs_review")}


@router.post("/curated", status_code=201, responses=CURATED_ERRORS, summary="Write a curated answer; admin token")
def create_curated(_: AdminDep, body: CuratedIn, assistant: AssistantDep, records: RecordsDep, desk: DeskDep) -> dict:
    created = store.create(records, assistant, body.question, body.answer, body.passage_ids)
    desk.curated.invalidate()  # served from the next question on (other processes: within a second)
    return {"id": created["id"]}


@router.get("/curated", response_model=list[CuratedOut], responses=GUARDED,
            summary="The curated answers (checked against the current index first); admin token")
def list_curated(_: AdminDep, assistant: AssistantDep, records: RecordsDep,
                 status: Annotated[Literal["active", "needs_review"] | None, Query()] = None):
    return store.listing(records, assistant, status)


def _found(row: dict | None, curated_id: int) -> dict:
    if row is None:
        raise HTTPException(404, f"no curated answer {curated_id}")
    return row


@router.get("/curated/{curated_id}", response_model=CuratedOut, responses={**GUARDED, 404: {"model": Problem}},
            summary="One curated answer; admin token")
def get_curated(_: AdminDep, curated_id: CuratedId, assistant: AssistantDep, records: RecordsDep):
    store.review(records, assistant)
    return _found(store.get(records, curated_id), curated_id)


@router.put("/curated/{curated_id}", response_model=CuratedOut,
            responses={**CURATED_ERRORS, 404: {"model": Problem}},
            summary="Rewrite a curated answer (checked again, served again); admin token")
def put_curated(_: AdminDep, curated_id: CuratedId, body: CuratedIn, assistant: AssistantDep, records: RecordsDep,
                desk: DeskDep):
    row = store.replace(records, assistant, curated_id, body.question, body.answer, body.passage_ids)
    desk.curated.invalidate()
    return _found(row, curated_id)


@router.delete("/curated/{curated_id}", status_code=204, responses={**GUARDED, 404: {"model": Problem}},
               summary="Delete a curated answer; admin token")
def delete_curated(_: AdminDep, curated_id: CuratedId, records: RecordsDep, desk: DeskDep) -> Response:
    if not store.remove(records, curated_id):
        raise HTTPException(404, f"no curated answer {curated_id}")
    desk.curated.invalidate()
    return Response(status_code=204)


@router.post("/curated/{curated_id}/eval-item", response_model=EvalItemOut,
             responses={**GUARDED, 404: {"model": Problem}, 422: {"model": Problem}},
             summary="Add the curated answer as an item of a named evaluation set; admin token")
def curated_eval_item(_: AdminDep, curated_id: CuratedId, body: EvalItemIn, assistant: AssistantDep,
                      records: RecordsDep, settings: SettingsDep) -> EvalItemOut:
    from assistant.records.evalitems import append_item, item_of

    row = _found(store.get(records, curated_id), curated_id)
    path, count = append_item(settings.data_dir, body.set, item_of(row, assistant))
    return EvalItemOut(set=body.set, path=str(path.relative_to(settings.data_dir)), items=count)
