"""questions: the question log (time, channel, question, standalone question, refused, cited passage ids,
evidence score, latency, the vote it got; no client address or identity)

Revision ID: 0002_question_log
Revises: 0001_feedback
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_question_log"
down_revision = "0001_feedback"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("standalone", sa.Text, nullable=False),
        sa.Column("refused", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("curated_id", sa.Integer, nullable=True),
        sa.Column("passage_ids", sa.JSON, nullable=False),
        sa.Column("evidence", sa.Float, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("vote", sa.String(8), nullable=True),
    )
    op.create_index("ix_questions_time", "questions", ["time"])


def downgrade() -> None:
    op.drop_index("ix_questions_time", "questions")
    op.drop_table("questions")
