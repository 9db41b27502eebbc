"""Fenced dispatching: lease epochs, claims tagged with the epoch, withdrawn broadcasts, instance heartbeats.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("leases") as batch:
        batch.add_column(sa.Column("epoch", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("process", sa.String(128), nullable=True))
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claim_epoch", sa.Integer, nullable=True))
    with op.batch_alter_table("broadcasts") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "instances",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("process", sa.String(128), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dispatching", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_instances"),
    )


def downgrade() -> None:
    op.drop_table("instances")
    with op.batch_alter_table("broadcasts") as batch:
        batch.drop_column("withdrawn_at")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claim_epoch")
    with op.batch_alter_table("leases") as batch:
        batch.drop_column("process")
        batch.drop_column("epoch")
