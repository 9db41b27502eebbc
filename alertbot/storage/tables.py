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
    sa.Column("quiet_hours", sa.String(16), nullable=True),  # NULL: the configured default; "": none
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

broadcasts = sa.Table(
    "broadcasts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),  # warning | follow_up | reminder
    sa.Column("template_id", sa.String(64), nullable=False),
    sa.Column("variables", sa.JSON, nullable=False),
    sa.Column("districts", sa.JSON, nullable=False),  # list of district ids
    sa.Column("audience", sa.String(64), nullable=False),
    sa.Column("severity", sa.String(16), nullable=True),
    sa.Column("priority", sa.SmallInteger, nullable=False),
    sa.Column("exercise", sa.Boolean, nullable=False),
    sa.Column("titles", sa.JSON, nullable=False),  # {lang: title}
    sa.Column("texts", sa.JSON, nullable=False),  # {lang: the exact text sent}
    sa.Column("status", sa.String(24), nullable=False),
    sa.Column("follows_id", sa.Integer, sa.ForeignKey("broadcasts.id"), nullable=True),
    sa.Column("created_by", sa.BigInteger, nullable=False),
    sa.Column("approved_by", sa.BigInteger, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("queued_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("dedupe_key", sa.String(64), nullable=False),
    sa.Column("recipients", sa.Integer, nullable=False, server_default="0"),
    sa.Column("report_chat_id", sa.BigInteger, nullable=True),
    sa.Column("report_message_id", sa.BigInteger, nullable=True),
    sa.Column("approval_notified", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("occurrence_id", sa.Integer, nullable=True),  # reminders: the campaign occurrence
    sa.Column("ack", sa.Boolean, nullable=False, server_default=sa.false()),  # show the "I have checked" button
    sa.Column("scheduled_for", sa.DateTime(timezone=True), nullable=True),  # sent at this time, not at once
    # cancelled or corrected ("sent in error"): nothing of it goes out any more, in flight included
    sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
    # a warning's district channels: [[channel, language], ...], posted before any direct message
    sa.Column("channels", sa.JSON, nullable=False, server_default="[]"),
    sa.Index("ix_broadcasts_status", "status"),
    sa.Index("ix_broadcasts_dedupe_key", "dedupe_key", "created_at"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("broadcast_id", sa.Integer, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("priority", sa.SmallInteger, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | sending | sent | blocked | failed | cancelled
    sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("message_id", sa.BigInteger, nullable=True),
    sa.Column("error", sa.String(200), nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claim_epoch", sa.Integer, nullable=True),  # the dispatch lease epoch under which it was claimed
    sa.UniqueConstraint("broadcast_id", "chat_id", name="uq_deliveries_broadcast_chat"),
    sa.Index("ix_deliveries_queue", "state", "priority", "id"),
    sa.Index("ix_deliveries_broadcast_id", "broadcast_id"),
)

channel_posts = sa.Table(
    "channel_posts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("broadcast_id", sa.Integer, sa.ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),  # as configured: "@username" or "-100..."
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | sending | sent | failed | cancelled
    sa.Column("attempts", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("claim_epoch", sa.Integer, nullable=True),
    sa.Column("reply_to", sa.BigInteger, nullable=True),  # a follow-up: the original's post in this channel
    sa.Column("chat_id", sa.BigInteger, nullable=True),  # the channel's id, from Telegram's answer
    sa.Column("message_id", sa.BigInteger, nullable=True),
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("error", sa.String(200), nullable=True),
    sa.UniqueConstraint("broadcast_id", "channel", name="uq_channel_posts_broadcast_channel"),
    sa.Index("ix_channel_posts_queue", "state", "id"),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("actor_id", sa.BigInteger, nullable=True),
    sa.Column("actor_name", sa.String(128), nullable=True),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("broadcast_id", sa.Integer, nullable=True),
    sa.Column("details", sa.JSON, nullable=False),
    sa.Index("ix_audit_log_at", "at"),
)

leases = sa.Table(
    "leases",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    # raised each time the lease changes hands: claims and their outcomes carry it (fencing)
    sa.Column("epoch", sa.Integer, nullable=False, server_default="0"),
    sa.Column("process", sa.String(128), nullable=True),  # host:pid:nonce of the holding process
)

instances = sa.Table(
    "instances",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),  # [dispatch] instance
    sa.Column("process", sa.String(128), nullable=False),  # host:pid:nonce of the live process with that name
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),  # heartbeat, database clock
    sa.Column("dispatching", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_error", sa.String(500), nullable=True),  # scrubbed of secrets, bounded
    sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
)

campaign_occurrences = sa.Table(
    "campaign_occurrences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("campaign_id", sa.String(48), nullable=False),
    sa.Column("occurrence_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # sent | missed | out_of_season | paused | disabled
    sa.Column("manual_by", sa.BigInteger, nullable=True),
    sa.Column("broadcast_id", sa.Integer, nullable=True),
    sa.Column("follow_up_due_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("follow_up_broadcast_id", sa.Integer, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # the exactly-once key: an occurrence is recorded once, whoever (instance, restart) gets there first
    sa.UniqueConstraint("campaign_id", "occurrence_at", name="uq_campaign_occurrences_campaign_time"),
)

campaign_acks = sa.Table(
    "campaign_acks",
    metadata,
    sa.Column("occurrence_id", sa.Integer, sa.ForeignKey("campaign_occurrences.id"), primary_key=True),
    sa.Column("chat_id", sa.BigInteger, primary_key=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

campaign_states = sa.Table(
    "campaign_states",
    metadata,
    sa.Column("campaign_id", sa.String(48), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("updated_by", sa.BigInteger, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

flow_states = sa.Table(
    "flow_states",
    metadata,
    # aiogram's FSM key (bot:chat:user[:thread][:business]:destiny): a person's multi-step chat flow
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("state", sa.String(255), nullable=True),
    sa.Column("data", sa.Text, nullable=False, server_default="{}"),  # JSON object
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),  # sha256 hex of the key: never the key
    sa.Column("official_id", sa.BigInteger, nullable=False),  # the official the key acts as
    sa.Column("cap_import", sa.String(8), nullable=True),  # NULL: no CAP import; 'draft' or 'send'
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

api_requests = sa.Table(
    "api_requests",
    metadata,
    # one row per (key, Idempotency-Key): the same key again returns what the first request made
    sa.Column("key_name", sa.String(64), primary_key=True),
    sa.Column("idempotency_key", sa.String(128), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("broadcast_id", sa.Integer, nullable=True),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

cap_imports = sa.Table(
    "cap_imports",
    metadata,
    # a CAP message is acted on once, whoever posts it again: keyed by its sender and identifier
    sa.Column("sender", sa.String(255), primary_key=True),
    sa.Column("identifier", sa.String(255), primary_key=True),
    sa.Column("sent", sa.String(32), nullable=False),
    sa.Column("key_name", sa.String(64), nullable=False),
    sa.Column("broadcast_id", sa.Integer, nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
