"""Admin: add (upload) and remove documents. The index is updated incrementally and swapped in."""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, HTTPException, Path as PathParam, UploadFile

from api.auth import AdminDep
from api.deps import ServiceDep, SettingsDep
from api.schemas import LibraryChange, Problem
from assistant.errors import DocumentError
from assistant.library.documents import add_documents, remove_document, safe_name
from retrieval.readers import supported_suffixes

router = APIRouter(prefix="/v1", tags=["文档库 library (admin)"])
ALLOWED = tuple(supported_suffixes())  # .txt .md .html .docx .pdf .xlsx .png .jpg …
ERRORS = {401: {"model": Problem}, 403: {"model": Problem}, 413: {"model": Problem}, 422: {"model": Problem}}


@router.post("/documents", response_model=LibraryChange, responses=ERRORS,
             summary="Upload a document (txt, md, html, docx, pdf, xlsx, png, jpg) with optional metadata JSON; admin token")
def upload_document(
    _: AdminDep, service: ServiceDep, settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The document")],
    metadata: Annotated[str | None, Form(description='JSON object, e.g. {"title": "…", "issuer": "…", '
                                                      '"doc_number": "…", "issued": "2024-01-01", "expires": "…", '
                                                      '"status": "现行有效"}')] = None,
) -> LibraryChange:
    name = safe_name(file.filename or "document")
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED:
        raise HTTPException(422, f"file type {suffix or '(none)'!r} is not accepted; allowed: {', '.join(ALLOWED)}")
    meta: dict[str, Any] | None = None
    if metadata:
        try:
            meta = json.loads(metadata)
        except ValueError as exc:
            raise HTTPException(422, f"metadata is not valid JSON: {exc}") from None
        if not isinstance(meta, dict):
            raise HTTPException(422, "metadata must be a JSON object")
    tmp = Path(tempfile.mkdtemp(prefix="pa-upload-"))
    try:
        dest = tmp / "upload"  # our own name: the client's file name is never a path
        size = 0
        with open(dest, "wb") as fh:
            while chunk := file.file.read(1 << 20):
                size += len(chunk)
                if size > settings.max_upload_bytes:
                    raise HTTPException(413, f"the file is over {settings.max_upload_bytes} bytes (PA_MAX_UPLOAD_BYTES)")
                fh.write(chunk)
        try:
            result = add_documents(settings, [dest], meta, names=[name])
        except DocumentError as exc:  # the client's file: say what is wrong with it, not where we kept it
            raise HTTPException(422, f"{name}: {exc.reason}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    service.reload()
    d = result.documents[0]
    return LibraryChange(doc_id=d.doc_id, title=d.title, action="updated" if d.replaced else "added", file=d.file,
                         guessed=[g for g in str(d.meta.get("guessed", "")).split(",") if g],
                         previous_version=d.previous_version, warnings=d.warnings,
                         passages=result.build.passages, embedded=result.build.embedded,
                         seconds=round(result.seconds, 2))


@router.delete("/documents/{doc_id}", response_model=LibraryChange, responses={**ERRORS, 404: {"model": Problem}},
               summary="Remove a document from the library and the index; admin token")
def delete_document(_: AdminDep, service: ServiceDep, settings: SettingsDep,
                    doc_id: Annotated[str, PathParam(max_length=200)]) -> LibraryChange:
    from assistant.library.documents import list_documents

    if doc_id not in {d["doc_id"] for d in list_documents(settings)}:
        raise HTTPException(404, f"no document with doc_id {doc_id!r}; see GET /v1/documents")
    result = remove_document(settings, doc_id)
    service.reload()
    return LibraryChange(doc_id=doc_id, title=result.documents[0].title, action="removed", file=result.documents[0].file,
                         passages=result.build.passages, embedded=0, seconds=round(result.seconds, 2))
