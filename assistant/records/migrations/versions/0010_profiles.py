"""profiles: saved eligibility profiles (token hashed, signing secret), what each last received;
profile_items: the measures pushed to each (inbox, Atom feed); push_events: webhook deliveries, claimed in the
database by one worker, retried with backoff, marked failed

Revision ID: 0010_profiles
Revises: 0003_curated
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_profiles"
down_revision = "0003_curated"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("profile", sa.JSON, nullable=False),
        sa.Column("webhook_url", sa.Text, nullable=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("signing_secret", sa.String(100), nullable=False),
        sa.Column("received", sa.JSON, nullable=False),
        sa.Column("seen_index", sa.String(200), nullable=False),
        sa.Column("seen_built", sa.String(40), nullable=False),
    )
    op.create_table(
        "profile_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("event_id", sa.String(40), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("measure", sa.JSON, nullable=False),
        sa.Column("read", sa.Boolean, nullable=False),
    )
    op.create_index("ix_profile_items_profile_id", "profile_items", ["profile_id"])
    op.create_table(
        "push_events",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("profile_id", sa.String(32), sa.ForeignKey("profiles.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.Text, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(80), nullable=False),
        sa.Column("last_error", sa.Text, nullable=False),
        sa.Column("delivered", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_push_events_profile_id", "push_events", ["profile_id"])
    op.create_index("ix_push_events_status", "push_events", ["status"])
    op.create_index("ix_push_events_due", "push_events", ["due"])


def downgrade() -> None:
    op.drop_table("push_events")
    op.drop_index("ix_profile_items_profile_id", "profile_items")
    op.drop_table("profile_items")
    op.drop_table("profiles")
