"""Admin: export the users' feedback (👍/👎 and comments from the chat UI), kept in the records database."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.auth import AdminDep
from api.deps import RecordsDep
from api.schemas import FeedbackEntry, Problem
from assistant.records.feedback import export_jsonl, list_feedback

router = APIRouter(prefix="/v1", tags=["反馈 feedback (admin)"])
JSONL = "application/x-ndjson"


@router.get("/feedback", response_model=list[FeedbackEntry],
            responses={200: {"content": {JSONL: {"schema": {"type": "string"}}},
                             "description": "The entries, oldest first: a JSON list, or with `format=jsonl` a "
                                            "download, one JSON object per line (the old feedback.jsonl's format)."},
                       401: {"model": Problem}, 403: {"model": Problem},
                       503: {"model": Problem, "description": "The records database does not answer"}},
            summary="Export the chat UI's feedback (👍/👎, comments); admin token")
def export_feedback(_: AdminDep, records: RecordsDep,
                    format: Annotated[Literal["json", "jsonl"], Query(description="json (a list) or jsonl (a file)")] = "json"):
    if format == "jsonl":
        return Response(export_jsonl(records), media_type=JSONL, headers={"Content-Disposition": 'attachment; filename="feedback.jsonl"'})
    return [FeedbackEntry.model_validate(e) for e in list_feedback(records)]
