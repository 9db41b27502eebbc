"""Domain vocabulary: languages, severities, audiences, subscribers, broadcasts and their deliveries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Literal

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")


class SubscriberKind(StrEnum):
    RESIDENT = "resident"
    BUSINESS = "business"


class BusinessCategory(StrEnum):
    """Kinds of businesses that use gas, as named in the provincial gas-safety campaign."""

    RESTAURANT = "restaurant"
    LPG_RETAILER = "lpg_retailer"
    HAZARDOUS_CHEMICALS = "hazardous_chemicals"
    MINING = "mining"
    PROPERTY_MANAGEMENT = "property_management"
    OTHER = "other"


BUSINESS_NAME_MAX = 128


@dataclass(frozen=True, slots=True)
class Subscriber:
    chat_id: int
    language: Language
    kind: SubscriberKind
    business_category: BusinessCategory | None
    business_name: str | None
    active: bool
    districts: tuple[str, ...]
    created_at: datetime
    updated_at: datetime


class Severity(StrEnum):
    """CAP severities, gravest first."""

    EXTREME = "extreme"
    SEVERE = "severe"
    MODERATE = "moderate"
    MINOR = "minor"


# Lower number goes first. A warning never waits behind a campaign reminder.
PRIORITY: dict[Severity | None, int] = {
    Severity.EXTREME: 0,
    Severity.SEVERE: 1,
    Severity.MODERATE: 2,
    Severity.MINOR: 3,
    None: 4,  # reminders
}
REMINDER_PRIORITY = PRIORITY[None]


class BroadcastKind(StrEnum):
    WARNING = "warning"
    FOLLOW_UP = "follow_up"
    REMINDER = "reminder"


class BroadcastStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"
    REJECTED = "rejected"
    EXPIRED = "expired"
    QUEUED = "queued"  # deliveries exist; the dispatcher works through them
    DONE = "done"  # nothing pending any more
    CANCELLED = "cancelled"


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by the dispatcher; back to pending if its lease runs out
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot or the chat is gone; subscriber deactivated
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who in the districts receives it: everyone, residents, businesses, or one business category."""

    kind: SubscriberKind | None = None
    category: BusinessCategory | None = None

    @classmethod
    def parse(cls, text: str) -> Audience:
        value = text.strip().lower()
        if value in ("all", "everyone", ""):
            return cls()
        if value == "residents":
            return cls(SubscriberKind.RESIDENT)
        if value == "businesses":
            return cls(SubscriberKind.BUSINESS)
        if value.startswith("business:"):
            try:
                return cls(SubscriberKind.BUSINESS, BusinessCategory(value.removeprefix("business:")))
            except ValueError:
                pass
        choices = ", ".join(["all", "residents", "businesses"] + [f"business:{c.value}" for c in BusinessCategory])
        raise ValueError(f"unknown audience {text!r}; use one of: {choices}")

    def __str__(self) -> str:
        if self.category is not None:
            return f"business:{self.category.value}"
        if self.kind is SubscriberKind.RESIDENT:
            return "residents"
        if self.kind is SubscriberKind.BUSINESS:
            return "businesses"
        return "all"


@dataclass(frozen=True, slots=True, kw_only=True)
class BroadcastContent:
    """What a broadcast says and to whom: the fields shared by a broadcast to write and one read back."""

    kind: BroadcastKind
    template_id: str
    variables: dict[str, str]
    districts: tuple[str, ...]
    audience: Audience
    severity: Severity | None
    priority: int
    exercise: bool
    titles: dict[str, str]
    texts: dict[str, str]
    follows_id: int | None = None
    report_chat_id: int | None = None
    expires_at: datetime | None = None
    occurrence_id: int | None = None
    ack: bool = False
    scheduled_for: datetime | None = None
    channels: tuple[tuple[str, str], ...] = ()
    """A warning's district channels, (channel, language) each once: posted before any direct message."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Broadcast(BroadcastContent):
    """One message to many: a warning, a follow-up or a reminder, with its texts as sent."""

    id: int
    status: BroadcastStatus
    created_by: int
    approved_by: int | None
    created_at: datetime
    recipients: int
    report_message_id: int | None
    withdrawn_at: datetime | None = None
    """When it was cancelled or found sent in error (what was not sent by then never goes)."""

    @property
    def silent(self) -> bool:
        """Minor warnings (and reminders) arrive without a sound; extreme and severe never do."""
        return self.severity is Severity.MINOR or self.kind is BroadcastKind.REMINDER


@dataclass(frozen=True, slots=True)
class DeliveryCounts:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.sending + self.sent + self.blocked + self.failed + self.cancelled

    @property
    def open(self) -> int:
        return self.pending + self.sending
