"""Domain vocabulary shared by services, storage and the chat: subscriber kinds, business categories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from alertbot.config import Language


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
