"""Admin endpoints: `Authorization: Bearer $PA_ADMIN_TOKEN`, compared in constant time.

No token configured -> the endpoints are disabled (403); a missing or wrong token -> 401.
"""
from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.deps import SettingsDep
from assistant.service.access import admin_problem


def require_admin(request: Request, settings: SettingsDep) -> None:
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    problem = admin_problem(settings.admin_token, given.strip() if scheme.lower() == "bearer" else "")
    if problem == "disabled":
        raise HTTPException(403, "admin endpoints are disabled: set PA_ADMIN_TOKEN to enable them")
    if problem:
        raise HTTPException(401, "a valid admin token is required: Authorization: Bearer <PA_ADMIN_TOKEN>",
                            headers={"WWW-Authenticate": "Bearer"})


AdminDep = Annotated[None, Depends(require_admin)]
