"""Admin: evaluation runs in the background — upload a set (or run a named one, PA_DATA_DIR/evals/NAME.jsonl,
where fixes become items), follow its progress, read its report."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Path as PathParam, UploadFile
from fastapi.responses import HTMLResponse

from api.auth import AdminDep
from api.deps import AssistantDep, JobsDep, SettingsDep
from api.schemas import Problem

router = APIRouter(prefix="/v1", tags=["评测 evals (admin)"])
SET_TYPES = (".jsonl", ".csv", ".xlsx")
MAX_SET_BYTES = 5 * 1024 * 1024


@router.post("/evals", responses={401: {"model": Problem}, 403: {"model": Problem}, 413: {"model": Problem},
                                  422: {"model": Problem}},
             summary="Upload an evaluation set (JSONL, CSV or XLSX) and run it in the background; admin token")
def start_eval(_: AdminDep, jobs: JobsDep, assistant: AssistantDep, settings: SettingsDep,
               file: Annotated[UploadFile, File(description="问题, 标准答案要点, 依据原文, 类别 (编号, 上一题)")]) -> dict:
    from assistant.errors import DatasetError
    from evals.dataset import load_set

    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in SET_TYPES:
        raise HTTPException(422, f"set type {suffix or '(none)'!r} is not accepted; allowed: {', '.join(SET_TYPES)}")
    tmp = Path(tempfile.mkdtemp(prefix="pa-evalset-"))
    try:
        path = tmp / f"set{suffix}"  # our own name
        data = file.file.read(MAX_SET_BYTES + 1)
        if len(data) > MAX_SET_BYTES:
            raise HTTPException(413, f"the set is over {MAX_SET_BYTES} bytes")
        path.write_bytes(data)
        try:
            items = load_set(path, settings.max_question_chars)
        except DatasetError as exc:
            raise HTTPException(422, str(exc).replace(str(path), file.filename or "set")) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return jobs.start(assistant, items, run_meta(file.filename, assistant, settings)).to_dict()


def run_meta(set_name: str | None, assistant, settings) -> dict:
    return {"set": set_name, "embedder": assistant.info.embedder, "fusion": settings.fusion,
            "bm25_weight": settings.bm25_weight, "top_k": settings.top_k,
            "mode": "llm" if assistant.llm is not None else "extractive", "index": assistant.info.collection}


@router.get("/eval-sets", responses={401: {"model": Problem}, 403: {"model": Problem}},
            summary="The named evaluation sets (PA_DATA_DIR/evals/NAME.jsonl); admin token")
def eval_sets(_: AdminDep, settings: SettingsDep) -> dict:
    from assistant.records.evalitems import named_sets

    return {"sets": named_sets(settings.data_dir)}


@router.post("/eval-sets/{name}/runs", responses={401: {"model": Problem}, 403: {"model": Problem},
                                                  404: {"model": Problem}, 422: {"model": Problem}},
             summary="Run a named evaluation set in the background; admin token")
def run_named_set(_: AdminDep, jobs: JobsDep, assistant: AssistantDep, settings: SettingsDep,
                  name: Annotated[str, PathParam(max_length=64)]) -> dict:
    from assistant.errors import DatasetError, InvalidQuery
    from assistant.records.evalitems import set_path
    from evals.dataset import load_set

    try:
        path = set_path(settings.data_dir, name)
    except InvalidQuery as exc:
        raise HTTPException(422, str(exc)) from None
    if not path.is_file():
        raise HTTPException(404, f"no evaluation set {name!r}; GET /v1/eval-sets lists them")
    try:
        items = load_set(path, settings.max_question_chars)
    except DatasetError as exc:
        raise HTTPException(422, str(exc).replace(str(path), f"{name}.jsonl")) from None
    return jobs.start(assistant, items, run_meta(name, assistant, settings)).to_dict()


@router.get("/evals/{run_id}", responses={401: {"model": Problem}, 403: {"model": Problem}, 404: {"model": Problem}},
            summary="Progress, then the summary; admin token")
def eval_status(_: AdminDep, jobs: JobsDep,
                run_id: Annotated[str, PathParam(max_length=64)]) -> dict:
    job = jobs.get(run_id)
    if job is None:
        raise HTTPException(404, f"no evaluation run {run_id!r} in this process")
    return job.to_dict()


@router.get("/evals/{run_id}/report", responses={200: {"content": {"text/html": {}}, "description": "The HTML report"},
                                                 401: {"model": Problem}, 403: {"model": Problem},
                                                 404: {"model": Problem}},  # JSON Problems, not HTML
            summary="The run's HTML report; admin token")
def eval_report(_: AdminDep, jobs: JobsDep,
                run_id: Annotated[str, PathParam(max_length=64)]) -> HTMLResponse:
    job = jobs.get(run_id)
    if job is None or not (job.out / "report.html").is_file():
        raise HTTPException(404, f"no report for run {run_id!r} (yet)")
    return HTMLResponse((job.out / "report.html").read_text(encoding="utf-8"))
