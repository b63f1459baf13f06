"""Saved profiles: a /v1/eligibility profile kept in the records database, with its own token and webhook.

    saved = Profiles(db).create(name, profile, webhook_url, start)   # Created(id, token, signing_secret)
    Profiles(db).get(id, token)                                       # AccessDenied: no such id or a wrong token

The token is shown once and kept as its SHA-256 only (compared in constant time); the signing secret is kept
(signing each delivery needs it) and replaced by `rotate_secret`. `start` is what matches when the profile is
saved (push.Snapshot): it opens the profile's inbox and feed and is not sent to the webhook. `ADMIN` in place
of a token reads or deletes any profile (the API checks PA_ADMIN_TOKEN first).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update

from assistant.errors import AccessDenied, InvalidQuery
from assistant.records.db import Database
from assistant.records.models import ProfileItem, PushEvent, SavedProfile, utcnow

ADMIN = object()  # the caller holds the admin token
MAX_NAME = 200
MAX_ITEMS = 500  # the newest items an inbox or feed lists


@dataclass(frozen=True)
class Created:
    id: str
    token: str
    signing_secret: str


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def check_name(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidQuery(f"name: {len(name)} characters; 1 to {MAX_NAME} are allowed", field="name")
    return name


def start_event(s, row: SavedProfile, start) -> None:
    """Record `start` (a push.Snapshot) as what the profile has received: inbox items, no delivery."""
    fresh = {k: m for k, m in start.measures.items() if row.received.get(k) != m["fingerprint"]}
    row.received = {**row.received, **start.received()}
    row.seen_index, row.seen_built = start.index, start.built
    if not fresh:
        return
    event_id = uuid.uuid4().hex
    s.add(PushEvent(id=event_id, profile_id=row.id, kind="start", url=None, status="none",
                    body=json.dumps({"event_id": event_id, "profile_id": row.id,
                                     "measures": [m["measure"] for m in fresh.values()]}, ensure_ascii=False)))
    s.flush()  # the event before its items (foreign keys)
    for key, m in fresh.items():
        s.add(ProfileItem(profile_id=row.id, event_id=event_id, key=key, measure=m["measure"]))


class Profiles:
    def __init__(self, db: Database):
        self.db = db

    def create(self, name: str, profile: dict[str, Any], webhook_url: str | None, start) -> Created:
        token = "pat_" + secrets.token_urlsafe(32)
        secret = new_secret()
        pid = uuid.uuid4().hex
        with self.db.session() as s:
            row = SavedProfile(id=pid, name=check_name(name), profile=profile, webhook_url=webhook_url or None,
                               token_hash=token_hash(token), signing_secret=secret, received={}, seen_index="",
                               seen_built="")
            s.add(row)
            s.flush()
            start_event(s, row, start)
        return Created(pid, token, secret)

    def _row(self, s, pid: str, token, lock: bool = False) -> SavedProfile:
        row = s.get(SavedProfile, pid, with_for_update=lock) if isinstance(pid, str) and len(pid) <= 32 else None
        if token is ADMIN and row is not None:
            return row
        given = token_hash(token if isinstance(token, str) else "")
        if row is None or not hmac.compare_digest(row.token_hash, given):
            raise AccessDenied("a valid profile token is required: Authorization: Bearer <token> or ?token=<token>")
        return row

    def get(self, pid: str, token) -> dict[str, Any]:
        with self.db.session() as s:
            return self._public(s, self._row(s, pid, token))

    def update(self, pid: str, token, name: str, profile: dict[str, Any], webhook_url: str | None, start) -> dict:
        """Change the profile; what it matches now that it had not received opens its inbox (not sent)."""
        with self.db.session() as s:
            row = self._row(s, pid, token, lock=True)
            row.name, row.profile, row.webhook_url = check_name(name), profile, webhook_url or None
            row.updated = utcnow()
            start_event(s, row, start)
            return self._public(s, row)

    def delete(self, pid: str, token) -> None:
        with self.db.session() as s:
            row = self._row(s, pid, token, lock=True)
            for model in (ProfileItem, PushEvent):
                s.query(model).filter(model.profile_id == pid).delete()
            s.delete(row)

    def rotate_secret(self, pid: str, token) -> str:
        secret = new_secret()
        with self.db.session() as s:
            self._row(s, pid, token, lock=True).signing_secret = secret
        return secret

    def items(self, pid: str, token, limit: int = MAX_ITEMS) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The profile (public fields) and its pushed measures, newest first."""
        with self.db.session() as s:
            row = self._row(s, pid, token)
            q = select(ProfileItem).where(ProfileItem.profile_id == pid).order_by(ProfileItem.id.desc()).limit(limit)
            return self._public(s, row), [{"id": i.id, "event_id": i.event_id, "time": i.time.isoformat(),
                                           "read": i.read, **i.measure} for i in s.scalars(q)]

    def mark_read(self, pid: str, token, ids: list[int] | None, read: bool = True) -> int:
        """Mark items read (all of them when `ids` is None); the number changed."""
        with self.db.session() as s:
            self._row(s, pid, token)
            q = update(ProfileItem).where(ProfileItem.profile_id == pid, ProfileItem.read != read)
            if ids is not None:
                q = q.where(ProfileItem.id.in_(ids))
            return s.execute(q.values(read=read)).rowcount or 0

    def deliveries(self, pid: str, token) -> list[dict[str, Any]]:
        with self.db.session() as s:
            self._row(s, pid, token)
            q = select(PushEvent).where(PushEvent.profile_id == pid, PushEvent.kind == "push") \
                .order_by(PushEvent.created.desc()).limit(MAX_ITEMS)
            return [delivery(e) for e in s.scalars(q)]

    def list_all(self) -> list[dict[str, Any]]:
        """Every profile, with its delivery counts by status (admin)."""
        with self.db.session() as s:
            counts: dict[str, dict[str, int]] = {}
            for pid, status, n in s.execute(select(PushEvent.profile_id, PushEvent.status, func.count())
                                            .where(PushEvent.kind == "push")
                                            .group_by(PushEvent.profile_id, PushEvent.status)):
                counts.setdefault(pid, {})[status] = n
            return [{**self._public(s, r), "deliveries": counts.get(r.id, {})}
                    for r in s.scalars(select(SavedProfile).order_by(SavedProfile.created))]

    def ids(self) -> list[str]:
        with self.db.session() as s:
            return list(s.scalars(select(SavedProfile.id)))

    @staticmethod
    def _public(s, row: SavedProfile) -> dict[str, Any]:
        unread = s.scalar(select(func.count()).select_from(ProfileItem)
                          .where(ProfileItem.profile_id == row.id, ProfileItem.read.is_(False)))
        return {"id": row.id, "name": row.name, "profile": row.profile, "webhook_url": row.webhook_url,
                "created": row.created.isoformat(), "updated": row.updated.isoformat(),
                "index": row.seen_index, "unread": unread or 0}


def delivery(e: PushEvent) -> dict[str, Any]:
    return {"event_id": e.id, "created": e.created.isoformat(), "status": e.status, "attempts": e.attempts,
            "url": e.url, "last_error": e.last_error, "delivered": e.delivered.isoformat() if e.delivered else None,
            "measures": len(json.loads(e.body or "{}").get("measures", []))}
