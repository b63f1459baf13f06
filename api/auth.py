"""Admin endpoints: `Authorization: Bearer $PA_ADMIN_TOKEN`, compared in constant time.

No token configured -> the endpoints are disabled (403); a missing or wrong token -> 401.
"""
from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from api.deps import SettingsDep


def token_ok(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode("utf-8"), str(given).encode("utf-8"))


def require_admin(request: Request, settings: SettingsDep) -> None:
    if settings.admin_token is None or not settings.admin_token.get_secret_value():
        raise HTTPException(403, "admin endpoints are disabled: set PA_ADMIN_TOKEN to enable them")
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not token_ok(settings.admin_token.get_secret_value(), given.strip()):
        raise HTTPException(401, "a valid admin token is required: Authorization: Bearer <PA_ADMIN_TOKEN>",
                            headers={"WWW-Authenticate": "Bearer"})


AdminDep = Annotated[None, Depends(require_admin)]
