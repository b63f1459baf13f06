"""What changed between versions of a document: GET /v1/documents/{doc_id}/diff (public, like the list)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path as PathParam, Query

from api.deps import AssistantDep
from api.schemas import DiffOut, Problem
from assistant.library.versions import diff, versions

router = APIRouter(prefix="/v1", tags=["浏览 browse"])


@router.get("/documents/{doc_id}/diff", response_model=DiffOut,
            responses={404: {"model": Problem}, 422: {"model": Problem}, 503: {"model": Problem}},
            summary="What changed between two versions of a document, clause by clause, figures called out")
def document_diff(doc_id: Annotated[str, PathParam(max_length=200)], assistant: AssistantDep,
                  from_version: Annotated[int | None, Query(alias="from", ge=1, le=1000,
                                                            description="Default: the version before `to`")] = None,
                  to_version: Annotated[int | None, Query(alias="to", ge=1, le=1000,
                                                          description="Default: the current version")] = None) -> DiffOut:
    if not versions(assistant.passages, doc_id):
        raise HTTPException(404, f"no document with doc_id {doc_id!r}; see GET /v1/documents")
    return DiffOut.model_validate(diff(assistant.passages, doc_id, from_version, to_version))
