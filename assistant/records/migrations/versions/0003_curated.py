"""curated: answers written by staff (question, answer, the cited passages with a hash of their text),
served first to close enough questions; needs_review once a cited passage changes or goes

Revision ID: 0003_curated
Revises: 0002_question_log
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_curated"
down_revision = "0002_question_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "curated",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("passages", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("review_reason", sa.Text, nullable=False),
    )
    op.create_index("ix_curated_status", "curated", ["status"])


def downgrade() -> None:
    op.drop_index("ix_curated_status", "curated")
    op.drop_table("curated")
