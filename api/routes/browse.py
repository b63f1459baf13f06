"""Browsing: a passage in its context, and the indexed documents."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query

from api.convert import passage_out
from api.deps import AssistantDep
from api.schemas import DocumentOut, DocumentsResponse, PassageContext, Problem

router = APIRouter(prefix="/v1", tags=["浏览 browse"])


@router.get("/passages/{passage_id}", response_model=PassageContext,
            responses={404: {"model": Problem}, 503: {"model": Problem}},
            summary="A passage with its section path and neighbouring passages")
def get_passage(passage_id: Annotated[str, Path(max_length=200, examples=["changsha-sti-plan-2021-2025:1a2b3c4d5e6f"])],
                assistant: AssistantDep,
                context: Annotated[int, Query(ge=0, le=10, description="Neighbours on each side")] = 2) -> PassageContext:
    p = assistant.passage(passage_id)
    if p is None:
        raise HTTPException(404, f"no passage with id {passage_id!r}; ids come from citations or /v1/search")
    before, after = assistant.neighbours(passage_id, context)
    return PassageContext(passage=passage_out(p), previous=[passage_out(x) for x in before],
                          next=[passage_out(x) for x in after])


@router.get("/documents", response_model=DocumentsResponse, responses={503: {"model": Problem}},
            summary="Indexed documents with their metadata and passage counts")
def documents(assistant: AssistantDep) -> DocumentsResponse:
    return DocumentsResponse(documents=[DocumentOut.model_validate(d) for d in assistant.documents()])
