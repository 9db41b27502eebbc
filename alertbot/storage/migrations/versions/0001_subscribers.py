"""Subscribers and their district subscriptions.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscribers",
        sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False, server_default="resident"),
        sa.Column("business_category", sa.String(32), nullable=True),
        sa.Column("business_name", sa.String(128), nullable=True),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('resident', 'business')", name="ck_subscribers_kind"),
        sa.PrimaryKeyConstraint("chat_id", name="pk_subscribers"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("district_id", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["subscribers.chat_id"],
            name="fk_subscriptions_chat_id_subscribers",
            ondelete="CASCADE",
            onupdate="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "district_id", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_district_id", "subscriptions", ["district_id"])


def downgrade() -> None:
    op.drop_index("ix_subscriptions_district_id", table_name="subscriptions")
    op.drop_table("subscriptions")
    op.drop_table("subscribers")
