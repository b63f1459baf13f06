"""The tables (SQLAlchemy 2.x declarative models). Each feature adds its model here and ONE migration in
`migrations/versions/` that creates it; the migrations, not `Base.metadata.create_all`, make the schema.

    feedback        a 👍/👎 on an answer, with an optional comment           (0001_feedback)
    record_imports  one row per one-time import (feedback.jsonl), so it is never imported twice
    questions       every question asked (no client address or identity): the question log  (0002_question_log)
    curated         answers written by staff, served first to close enough questions  (0003_curated)
    profiles        saved eligibility profiles (token hashed), what each last received  (0010_profiles)
    profile_items   the measures pushed to a profile (its inbox and Atom feed), read or unread
    push_events     one webhook delivery per event: claimed in the database by one worker, retried, failed
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    pass


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    question: Mapped[str] = mapped_column(Text, default="")
    answer: Mapped[str] = mapped_column(Text, default="")
    answerable: Mapped[bool | None] = mapped_column(nullable=True)
    mode: Mapped[str | None] = mapped_column(String(20), nullable=True)
    citations: Mapped[list] = mapped_column(JSON, default=list)
    vote: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    question_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)  # the question log's row


class RecordImport(Base):
    __tablename__ = "record_imports"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    rows: Mapped[int] = mapped_column(Integer, default=0)


class Question(Base):
    __tablename__ = "questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(20))  # api | stream | openai | mcp | ui
    question: Mapped[str] = mapped_column(Text)
    standalone: Mapped[str] = mapped_column(Text, default="")
    refused: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(20), default="index")  # index | curated
    curated_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    passage_ids: Mapped[list] = mapped_column(JSON, default=list)
    evidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_ms: Mapped[float] = mapped_column(Float, default=0.0)
    vote: Mapped[str | None] = mapped_column(String(8), nullable=True)  # the last feedback it got


class Curated(Base):
    __tablename__ = "curated"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    passages: Mapped[list] = mapped_column(JSON, default=list)  # [{"id", "sha256"}]: the cited text as written
    status: Mapped[str] = mapped_column(String(20), default="active", index=True)  # active | needs_review
    review_reason: Mapped[str] = mapped_column(Text, default="")


class SavedProfile(Base):
    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    name: Mapped[str] = mapped_column(String(200))
    profile: Mapped[dict] = mapped_column(JSON)  # the /v1/eligibility profile
    webhook_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the token; the token itself is never kept
    signing_secret: Mapped[str] = mapped_column(String(100))  # kept: signing needs it
    received: Mapped[dict] = mapped_column(JSON, default=dict)  # measure key -> fingerprint last received
    seen_index: Mapped[str] = mapped_column(String(200), default="")  # the index it was last compared with
    seen_built: Mapped[str] = mapped_column(String(40), default="")  # that index's build time (ISO): never go back


class ProfileItem(Base):
    __tablename__ = "profile_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(String(32), ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str] = mapped_column(String(40))
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    key: Mapped[str] = mapped_column(Text)
    measure: Mapped[dict] = mapped_column(JSON)  # title, why, conditions, amount, deadline, citations
    read: Mapped[bool] = mapped_column(Boolean, default=False)


class PushEvent(Base):
    __tablename__ = "push_events"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the event id the receiver sees
    profile_id: Mapped[str] = mapped_column(String(32), ForeignKey("profiles.id", ondelete="CASCADE"), index=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(20))  # start (what matched when saved: not sent) | push
    url: Mapped[str | None] = mapped_column(Text, nullable=True)  # the webhook at the time of the event
    body: Mapped[str] = mapped_column(Text, default="")  # the JSON sent, byte for byte on every attempt
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)  # none|pending|sending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    due: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)  # next attempt
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[str] = mapped_column(String(80), default="")
    last_error: Mapped[str] = mapped_column(Text, default="")
    delivered: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
