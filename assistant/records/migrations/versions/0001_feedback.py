"""feedback: the chat's 👍/👎 (moved from PA_DATA_DIR/feedback.jsonl), and the one-time imports

Revision ID: 0001_feedback
Revises:
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_feedback"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("answerable", sa.Boolean, nullable=True),
        sa.Column("mode", sa.String(20), nullable=True),
        sa.Column("citations", sa.JSON, nullable=False),
        sa.Column("vote", sa.String(8), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
        sa.Column("question_id", sa.Integer, nullable=True),
    )
    op.create_index("ix_feedback_time", "feedback", ["time"])
    op.create_index("ix_feedback_question_id", "feedback", ["question_id"])
    op.create_table(
        "record_imports",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("record_imports")
    op.drop_index("ix_feedback_question_id", "feedback")
    op.drop_index("ix_feedback_time", "feedback")
    op.drop_table("feedback")
