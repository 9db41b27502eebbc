"""Campaigns: occurrences (the exactly-once key), acknowledgements, paused state; quiet hours; ack buttons.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("quiet_hours", sa.String(16), nullable=True))
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("occurrence_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("ack", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "campaign_occurrences",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("campaign_id", sa.String(48), nullable=False),
        sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("manual_by", sa.BigInteger, nullable=True),
        sa.Column("broadcast_id", sa.Integer, nullable=True),
        sa.Column("follow_up_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("follow_up_broadcast_id", sa.Integer, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_campaign_occurrences"),
        sa.UniqueConstraint("campaign_id", "occurrence_at", name="uq_campaign_occurrences_campaign_time"),
    )
    op.create_table(
        "campaign_acks",
        sa.Column("occurrence_id", sa.Integer, nullable=False),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["occurrence_id"], ["campaign_occurrences.id"], name="fk_campaign_acks_occurrence_id_campaign_occurrences"
        ),
        sa.PrimaryKeyConstraint("occurrence_id", "chat_id", name="pk_campaign_acks"),
    )
    op.create_table(
        "campaign_states",
        sa.Column("campaign_id", sa.String(48), nullable=False),
        sa.Column("paused", sa.Boolean, nullable=False),
        sa.Column("updated_by", sa.BigInteger, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("campaign_id", name="pk_campaign_states"),
    )


def downgrade() -> None:
    op.drop_table("campaign_states")
    op.drop_table("campaign_acks")
    op.drop_table("campaign_occurrences")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("ack")
        batch.drop_column("occurrence_id")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_column("quiet_hours")
