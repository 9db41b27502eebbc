"""Chat flows (aiogram FSM state and data) kept in the database, so a restart never loses a half-finished flow;
deliveries indexed by broadcast (reports, progress and the delivery-time metrics read them by broadcast).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flow_states",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("state", sa.String(255), nullable=True),
        sa.Column("data", sa.Text, nullable=False, server_default="{}"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_flow_states"),
    )
    op.create_index("ix_deliveries_broadcast_id", "deliveries", ["broadcast_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_broadcast_id", table_name="deliveries")
    op.drop_table("flow_states")
