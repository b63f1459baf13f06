"""Dependencies shared by the routes (`Annotated[..., Depends()]`): what the app factory put on app.state."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.metrics import Metrics
from assistant.core import Assistant
from assistant.records import Database
from assistant.records.desk import Desk
from assistant.service.service import Service
from assistant.settings import Settings
from evals.workbench import Jobs


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_assistant(service: Annotated[Service, Depends(get_service)]) -> Assistant:
    return service.get()  # IndexNotReady -> 503 in api.errors


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


def get_eval_jobs(request: Request) -> Jobs:
    return request.app.state.eval_jobs


def get_records(request: Request) -> Database:
    return request.app.state.records


def get_desk(request: Request) -> Desk:
    return request.app.state.desk


ServiceDep = Annotated[Service, Depends(get_service)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
JobsDep = Annotated[Jobs, Depends(get_eval_jobs)]
RecordsDep = Annotated[Database, Depends(get_records)]
DeskDep = Annotated[Desk, Depends(get_desk)]
