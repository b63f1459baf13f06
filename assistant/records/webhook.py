"""Webhook deliveries: signed, retried with exponential backoff, sent once per event by whichever worker
claims its row in the database.

    POST <webhook_url>   body: {"event_id", "profile_id", "measures": [...]}   (the same bytes on every attempt)
    X-PA-Signature: sha256=<hex HMAC-SHA256 of the raw body keyed with the profile's signing secret>
    X-PA-Event-Id: <event_id>

A worker claims a due event in one transaction (status `sending`, its id, a claim that expires; PostgreSQL
`FOR UPDATE SKIP LOCKED`, SQLite's write lock), sends it outside the transaction, and records the outcome
only while its claim holds. A 2xx is delivered; anything else is tried again after
retry_seconds x 2^(attempt-1), and after `max_attempts` the event is `failed` (shown to the profile and
admin). A worker that dies mid-send leaves its claim to expire: the event is sent again (receivers dedupe by
X-PA-Event-Id). Loopback, private, link-local and reserved addresses are refused unless `allow_private`.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

import httpx
from sqlalchemy import and_, func, or_, select

from assistant.errors import AssistantError, InvalidQuery
from assistant.records.db import Database
from assistant.records.models import PushEvent, SavedProfile, utcnow

log = logging.getLogger(__name__)
POLL_SECONDS = 1.0  # how often an idle worker looks for due events (it is also woken when it makes one)
CLAIM_MARGIN = 30.0  # s beyond the request timeout before another worker may take over a claim


@dataclass(frozen=True)
class WebhookConfig:
    retry_seconds: float = 5.0
    max_attempts: int = 6
    allow_private: bool = False
    timeout_seconds: float = 10.0


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def check_url(url: str | None, allow_private: bool) -> str | None:
    """The webhook URL, or InvalidQuery naming what is wrong (scheme, host, a private address literal)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidQuery(f"webhook_url={url!r}: an http:// or https:// URL with a host is required", field="webhook_url")
    try:
        addr = ipaddress.ip_address(parts.hostname)
    except ValueError:
        addr = None
    if addr is not None and not allow_private and not addr.is_global:
        raise InvalidQuery(f"webhook_url={url!r}: {addr} is a loopback/private address; allowed: public addresses "
                           "(PA_WEBHOOK_ALLOW_PRIVATE=true allows private ones)", field="webhook_url")
    return url


def private_target(url: str) -> str | None:
    """The first non-public address the URL's host resolves to, or None."""
    host = urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    for info in infos:
        addr = ipaddress.ip_address(info[4][0].split("%")[0])
        if not addr.is_global:
            return f"{host} resolves to {addr}, a loopback/private address (PA_WEBHOOK_ALLOW_PRIVATE=false)"
    return None


def _aware(t: datetime) -> datetime:
    return t.replace(tzinfo=timezone.utc) if t.tzinfo is None else t  # SQLite gives naive UTC times back


class Deliverer:
    def __init__(self, db: Database, config: WebhookConfig, worker: str | None = None):
        self.db = db
        self.config = config
        self.worker = worker or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.idle = POLL_SECONDS  # how long to wait when nothing is due
        self._down = False
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(timeout=config.timeout_seconds, follow_redirects=False, trust_env=False)

    def wake(self) -> None:
        self._wake.set()

    def claim(self) -> tuple[str, str, bytes, str] | None:
        """(event id, url, body, secret) of one due event, now claimed by this worker; None when none is due."""
        now = utcnow()
        with self.db.session() as s:
            due = or_(and_(PushEvent.status == "pending", PushEvent.due <= now),
                      and_(PushEvent.status == "sending", PushEvent.claimed_until < now))
            ev = s.scalars(select(PushEvent).where(due).order_by(PushEvent.due).limit(1)
                           .with_for_update(skip_locked=True)).first()
            if ev is None:  # sleep until the next retry is due, at most POLL_SECONDS
                nxt = s.scalar(select(func.min(PushEvent.due)).where(PushEvent.status == "pending"))
                wait = (_aware(nxt) - now).total_seconds() if nxt is not None else POLL_SECONDS
                self.idle = min(POLL_SECONDS, max(0.02, wait))
                return None
            ev.status, ev.claimed_by = "sending", self.worker
            ev.claimed_until = now + timedelta(seconds=self.config.timeout_seconds + CLAIM_MARGIN)
            ev.attempts += 1
            secret = s.scalar(select(SavedProfile.signing_secret).where(SavedProfile.id == ev.profile_id))
            return ev.id, ev.url or "", ev.body.encode("utf-8"), secret or ""

    def send(self, url: str, event_id: str, body: bytes, secret: str) -> str | None:
        """None when the receiver answered 2xx, else what went wrong."""
        if not url:
            return "the profile has no webhook_url"
        if not self.config.allow_private and (problem := private_target(url)):
            return problem
        try:
            r = self._client.post(url, content=body, headers={
                "Content-Type": "application/json; charset=utf-8", "User-Agent": "policy-assistant-webhook/1",
                "X-PA-Event-Id": event_id, "X-PA-Signature": sign(secret, body)})
        except httpx.HTTPError as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        return None if 200 <= r.status_code < 300 else f"HTTP {r.status_code}: {r.text[:200]}"

    def run_once(self) -> bool:
        """Claim and send one due event; False when there was none."""
        claimed = self.claim()
        if claimed is None:
            return False
        event_id, url, body, secret = claimed
        problem = self.send(url, event_id, body, secret)
        with self.db.session() as s:
            ev = s.get(PushEvent, event_id, with_for_update=True)
            if ev is None or ev.status != "sending" or ev.claimed_by != self.worker:
                return True  # the profile was deleted, or the claim expired and another worker took over
            now = utcnow()
            ev.claimed_until, ev.last_error = None, problem or ""
            if problem is None:
                ev.status, ev.delivered = "delivered", now
            elif ev.attempts >= self.config.max_attempts:
                ev.status = "failed"
                log.warning("webhook event %s failed after %d attempts: %s", event_id, ev.attempts, problem)
            else:
                ev.status = "pending"
                ev.due = now + timedelta(seconds=self.config.retry_seconds * 2 ** (ev.attempts - 1))
        return True

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            if self._client.is_closed:  # started again after a stop (an app's lifespan entered twice)
                self._client = httpx.Client(timeout=self.config.timeout_seconds, follow_redirects=False,
                                            trust_env=False)
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="pa-webhooks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.timeout_seconds + 2)
        self._client.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once()
                self._down = False
            except AssistantError as exc:  # the database is down: try again later (logged once)
                if not self._down:
                    log.warning("webhook deliveries paused: %s", exc)
                self._down, busy = True, False
            except Exception:  # noqa: BLE001 - the worker must survive anything one delivery does
                log.exception("webhook delivery failed unexpectedly")
                busy = False
            if not busy:
                self._wake.wait(self.idle)
                self._wake.clear()
