"""The database schema as SQLAlchemy Core tables; Alembic migrations must produce exactly this."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

subscribers = sa.Table(
    "subscribers",
    metadata,
    sa.Column("chat_id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False, server_default="resident"),
    sa.Column("business_category", sa.String(32), nullable=True),
    sa.Column("business_name", sa.String(128), nullable=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('resident', 'business')", name="kind"),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column(
        "chat_id",
        sa.BigInteger,
        sa.ForeignKey("subscribers.chat_id", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    ),
    sa.Column("district_id", sa.String(32), primary_key=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index("ix_subscriptions_district_id", "district_id"),
)
