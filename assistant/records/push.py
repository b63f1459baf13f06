"""Push on library change: what newly matches each saved profile, or changed, becomes one event.

    snap = snapshot(assistant, profile_dict, public_url)     # the profile's positive verdicts, keyed
    Pusher(db, config).on_index(assistant)                   # every process calls it when it loads an index

A measure is pushed when the support finder's verdict for the profile is positive (`likely`; not 需核实) and
the profile has not received it, or received it with another amount, other conditions or another deadline
(its fingerprint). What a profile received is kept per measure key (document, section, title without its
figures) and is never forgotten, so a measure whose document is removed is not pushed again when it comes
back unchanged.

Several workers or replicas load the same index: each profile is compared in one transaction holding its row
(PostgreSQL `SELECT … FOR UPDATE`, SQLite's write lock), and only when the index is newer than the one it was
last compared with, so one event is created per change, never one per process. Events with a webhook are
delivered by `webhook.Deliverer`.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

from assistant.answer import view_url
from assistant.errors import AssistantError
from assistant.finder import Profile
from assistant.finder.calendar import Window, measure_windows, windows_of
from assistant.records.db import Database
from assistant.records.models import ProfileItem, PushEvent, SavedProfile
from assistant.language.validation import TOP_K_MAX

log = logging.getLogger(__name__)
_AMOUNT = re.compile(r"(?:最高|不超过|最多)?\s*\d+(?:\.\d+)?\s*(?:亿元|万元|元|%|％)")
_FIGURES = re.compile(r"\d+(?:\.\d+)?")
POSITIVE = "likely"


@dataclass(frozen=True)
class PushConfig:
    public_url: str = ""  # PA_PUBLIC_URL: makes the view links of webhook payloads absolute


@dataclass
class Snapshot:
    """A profile's positive verdicts on one index: key -> {"fingerprint", "measure"}."""

    index: str
    built: str
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def received(self) -> dict[str, str]:
        return {k: m["fingerprint"] for k, m in self.measures.items()}

    def fresh(self, received: dict[str, str]) -> list[dict[str, Any]]:
        """The measures not received, or received with another fingerprint."""
        return [m["measure"] for k, m in self.measures.items() if received.get(k) != m["fingerprint"]]


def measure_key(doc_id: str, section: str, title: str) -> str:
    return f"{doc_id}|{section}|{_FIGURES.sub('#', title)}"


def deadline_of(windows: list[Window]) -> dict[str, Any] | None:
    dated = [w for w in windows if w.kind != "text"] or windows
    if not dated:
        return None
    w = dated[0]
    return {"kind": w.kind, "start": w.start, "end": w.end, "text": w.text, "section": w.section}


def payload(d: dict[str, Any], windows: list[Window], public_url: str) -> dict[str, Any]:
    """A matched measure (Finder.match's dict) as pushed: why, conditions, amount, deadline, citations."""
    c = d["citation"]
    amount = "、".join(dict.fromkeys(a.strip() for a in _AMOUNT.findall(c.get("quote", ""))))
    return {"key": measure_key(c["doc_id"], c["section"], d["title"]), "title": d["title"], "kind": d["kind"],
            "why": d["why"], "conditions": [{"condition": x["condition"], "status": x["status"], "text": x["text"]}
                                            for x in d["conditions"]],
            "amount": amount, "deadline": deadline_of(windows), "windows": [w.to_dict() for w in windows],
            "citations": [{"doc_id": c["doc_id"], "doc_title": c["doc_title"], "section": c["section"],
                           "quote": c.get("quote", ""), "passage_id": c["passage_id"],
                           "view_url": public_url.rstrip("/") + view_url(c["doc_id"], c["passage_id"])}]}


def fingerprint(m: dict[str, Any]) -> str:
    data = [m["amount"], [(c["condition"], c["text"]) for c in m["conditions"]],
            [(w["kind"], w["start"], w["end"]) for w in m["windows"]]]
    return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:32]


class Measures:
    """One index's measures and their windows, matched against profiles (computed once per index)."""

    def __init__(self, assistant, public_url: str = ""):
        self.assistant = assistant
        self.public_url = public_url
        finder = assistant.finder
        self.windows = measure_windows(finder.measures, finder.passages, windows_of(finder.passages.values()))

    def snapshot(self, profile: dict[str, Any]) -> Snapshot:
        info = self.assistant.info
        snap = Snapshot(info.collection, info.built_at)
        result = self.assistant.finder.match(Profile(**profile), TOP_K_MAX)
        for d in result["measures"]:
            if d["status"] != POSITIVE:
                continue
            m = payload(d, self.windows.get(d["id"], []), self.public_url)
            snap.measures.setdefault(m["key"], {"fingerprint": fingerprint(m), "measure": m})
        return snap


def snapshot(assistant, profile: dict[str, Any], public_url: str = "") -> Snapshot:
    return Measures(assistant, public_url).snapshot(profile)


class Pusher:
    """Compares every saved profile with a newly loaded index; one at a time per process."""

    def __init__(self, db: Database, config: PushConfig, wake=None):
        self.db = db
        self.config = config
        self.wake = wake  # called after an event was created (the deliverer's wake-up)
        self._lock = threading.Lock()

    def on_index(self, assistant) -> int:
        """Events created for this index (0 when another process made them first)."""
        with self._lock:
            from assistant.records.profiles import Profiles

            measures = Measures(assistant, self.config.public_url)
            created = 0
            for pid in Profiles(self.db).ids():
                try:
                    created += self._compare(pid, measures)
                except AssistantError as exc:
                    log.error("could not compare profile %s with the new index: %s", pid, exc)
            if created and self.wake:
                self.wake()
            return created

    def _compare(self, pid: str, measures: Measures) -> int:
        info = measures.assistant.info
        with self.db.session() as s:
            row = s.get(SavedProfile, pid, with_for_update=True)
            if row is None or row.seen_index == info.collection or row.seen_built > info.built_at:
                return 0  # compared already (another worker), or this process is behind: never go back
            snap = measures.snapshot(row.profile)
            fresh = snap.fresh(row.received)
            row.received = {**row.received, **snap.received()}
            row.seen_index, row.seen_built = info.collection, info.built_at
            if not fresh:
                return 0
            event_id = uuid.uuid4().hex
            body = json.dumps({"event_id": event_id, "profile_id": pid, "measures": fresh}, ensure_ascii=False)
            s.add(PushEvent(id=event_id, profile_id=pid, kind="push", url=row.webhook_url, body=body,
                            status="pending" if row.webhook_url else "none"))
            s.flush()
            for m in fresh:
                s.add(ProfileItem(profile_id=pid, event_id=event_id, key=m["key"], measure=m))
            log.info("profile %s: %d measure(s) to push (event %s)", pid, len(fresh), event_id)
            return 1
