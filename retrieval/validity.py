"""Is a document in force? From its metadata: `status` (现行有效 / 已废止 / 已修订 …), `expires`, and
`superseded` (a previous version kept when a new one was added: `assistant.library.versions`).

Search and answers leave out documents that are repealed, expired or superseded unless asked to include
them; a cited document with a status other than in force, or an expiry date, is flagged to the user, and
so is one revised within the last year (`revision_note`: its `revised` date and `version`).
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


def is_superseded(meta: dict[str, Any]) -> bool:
    """A previous version of a document (a newer one replaced it)."""
    return str(meta.get("superseded", "")).strip().lower() in ("true", "1", "yes")


def is_active(meta: dict[str, Any], today: date | None = None) -> bool:
    """False for a repealed/invalid status or an expiry date in the past."""
    today = today or date.today()
    if is_superseded(meta):
        return False
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


REVISION_WINDOW_DAYS = 365


def revision_note(title: str, meta: dict[str, Any], today: date | None = None) -> str | None:
    """A notice for a cited document revised (a new version added) within the last year, else None."""
    today = today or date.today()
    revised = _date(meta.get("revised"))
    if revised is None or is_superseded(meta) or not 0 <= (today - revised).days <= REVISION_WINDOW_DAYS:
        return None
    version = f"（第{meta['version']}版）" if meta.get("version") else ""
    return f"revised: 《{title}》{version}于{revised.isoformat()}修订，与旧版本相比有变化，可查看修订内容"
