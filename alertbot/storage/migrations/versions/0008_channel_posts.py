"""District channels: a warning's channel posts (posted before its direct messages, follow-ups as replies),
and the channels each broadcast is to be posted to.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("channels", sa.JSON, nullable=False, server_default="[]"))
    op.create_table(
        "channel_posts",
        sa.Column("id", sa.Integer, autoincrement=True, nullable=False),
        sa.Column("broadcast_id", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claim_epoch", sa.Integer, nullable=True),
        sa.Column("reply_to", sa.BigInteger, nullable=True),
        sa.Column("chat_id", sa.BigInteger, nullable=True),
        sa.Column("message_id", sa.BigInteger, nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_channel_posts"),
        sa.ForeignKeyConstraint(
            ["broadcast_id"], ["broadcasts.id"], name="fk_channel_posts_broadcast_id_broadcasts", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("broadcast_id", "channel", name="uq_channel_posts_broadcast_channel"),
    )
    op.create_index("ix_channel_posts_queue", "channel_posts", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_channel_posts_queue", table_name="channel_posts")
    op.drop_table("channel_posts")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("channels")
