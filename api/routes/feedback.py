"""Admin: export the users' feedback (👍/👎 and comments from the chat UI), PA_DATA_DIR/feedback.jsonl."""
from __future__ import annotations

import json
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import ValidationError

from api.auth import AdminDep
from api.deps import SettingsDep
from api.schemas import FeedbackEntry, Problem
from assistant.feedback import read_feedback

log = logging.getLogger(__name__)
router = APIRouter(prefix="/v1", tags=["反馈 feedback (admin)"])
JSONL = "application/x-ndjson"


def read_entries(text: str) -> tuple[list[FeedbackEntry], int]:
    """The entries, and how many lines were skipped (a torn last line after a crash, hand edits)."""
    entries, skipped = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            entries.append(FeedbackEntry.model_validate(json.loads(line)))
        except (ValueError, ValidationError):
            skipped += 1
    return entries, skipped


@router.get("/feedback", response_model=list[FeedbackEntry],
            responses={200: {"content": {JSONL: {"schema": {"type": "string"}}},
                             "description": "The entries, oldest first: a JSON list, or with `format=jsonl` the file "
                                            "itself as a download (one JSON object per line)."},
                       401: {"model": Problem}, 403: {"model": Problem}},
            summary="Export the chat UI's feedback (👍/👎, comments); admin token")
def export_feedback(_: AdminDep, settings: SettingsDep,
                    format: Annotated[Literal["json", "jsonl"], Query(description="json (a list) or jsonl (the file)")] = "json"):
    data = read_feedback(settings.data_dir)  # a snapshot of whole lines (workers may be appending)
    if format == "jsonl":  # a FileResponse could outgrow its Content-Length
        return Response(data, media_type=JSONL, headers={"Content-Disposition": 'attachment; filename="feedback.jsonl"'})
    entries, skipped = read_entries(data.decode("utf-8", errors="replace"))
    if skipped:
        log.warning("feedback export: %d unreadable line(s) skipped", skipped)
    return entries
