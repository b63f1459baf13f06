"""The admin token (PA_ADMIN_TOKEN): one check for the API (401/403) and the UI (an error message)."""
from __future__ import annotations

import hmac

from pydantic import SecretStr


def token_ok(expected: str, given: str | None) -> bool:
    """`given` is the expected token, compared in constant time."""
    return bool(given) and hmac.compare_digest(expected.encode("utf-8"), str(given).encode("utf-8"))


def admin_problem(configured: SecretStr | None, given: str | None) -> str | None:
    """None when `given` is the admin token; "disabled" when none is configured; "wrong" otherwise."""
    expected = configured.get_secret_value() if configured is not None else ""
    if not expected:
        return "disabled"
    return None if token_ok(expected, (given or "").strip()) else "wrong"
