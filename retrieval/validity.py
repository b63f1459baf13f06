"""Is a document in force? From its metadata: `status` (现行有效 / 已废止 / 已修订 …) and `expires`.

Search and answers leave out documents that are repealed or expired unless asked to include them;
a cited document with a status other than in force, or an expiry date, is flagged to the user.
"""
from __future__ import annotations

from datetime import date
from typing import Any

INACTIVE_STATUSES = ("已废止", "废止", "已失效", "失效", "已撤销", "撤销", "已停止执行", "停止执行", "repealed", "expired")
IN_FORCE_STATUSES = ("现行有效", "有效", "in force", "")


def _date(value: Any) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10])
    except (TypeError, ValueError):
        return None


def is_active(meta: dict[str, Any], today: date | None = None) -> bool:
    """False for a repealed/invalid status or an expiry date in the past."""
    today = today or date.today()
    status = str(meta.get("status", "") or "").strip()
    if any(s == status or (s and s in status and "有效" not in status) for s in INACTIVE_STATUSES):
        return False
    expires = _date(meta.get("expires"))
    return not (expires and expires < today)


def validity_note(title: str, meta: dict[str, Any], today: date | None = None) -> str | None:
    """A notice for a cited document that is not plainly in force (or that expires), else None."""
    today = today or date.today()
    status = str(meta.get("status", "") or "").strip()
    expires = _date(meta.get("expires"))
    if not is_active(meta, today):
        when = f"，已于{expires.isoformat()}到期" if expires and expires < today else ""
        return f"validity: 《{title}》{('状态为' + status) if status else ''}{when}，引用内容可能已不再适用"
    if status and status not in IN_FORCE_STATUSES:
        return f"validity: 《{title}》状态为{status}，请核对最新版本"
    if expires:
        return f"validity: 《{title}》有效期至{expires.isoformat()}"
    return None
