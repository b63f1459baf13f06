"""Dependencies shared by the routes (`Annotated[..., Depends()]`)."""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from api.metrics import Metrics
from api.service import Service
from assistant.core import Assistant
from assistant.settings import Settings


def get_service(request: Request) -> Service:
    return request.app.state.service


def get_assistant(service: Annotated[Service, Depends(get_service)]) -> Assistant:
    return service.get()  # IndexNotReady -> 503 in api.errors


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.service.settings


def get_metrics(request: Request) -> Metrics:
    return request.app.state.metrics


ServiceDep = Annotated[Service, Depends(get_service)]
AssistantDep = Annotated[Assistant, Depends(get_assistant)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
MetricsDep = Annotated[Metrics, Depends(get_metrics)]
