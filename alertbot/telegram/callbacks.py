"""Callback data factories. Whatever arrives in them is re-checked by the handlers and services."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from alertbot.domain import BusinessCategory, SubscriberKind


class KindChoice(CallbackData, prefix="kind"):
    kind: SubscriberKind


class CategoryChoice(CallbackData, prefix="cat"):
    category: BusinessCategory


class PickerMode(StrEnum):
    ONBOARDING = "o"
    SUBSCRIBE = "s"
    UNSUBSCRIBE = "u"


class DistrictToggle(CallbackData, prefix="d"):
    mode: PickerMode
    district: str


class PickerDone(CallbackData, prefix="dd"):
    mode: PickerMode


class UnsubscribeAll(CallbackData, prefix="ua"):
    pass


class LanguageChoice(CallbackData, prefix="lang"):
    language: str


class ForgetChoice(CallbackData, prefix="forget"):
    confirmed: bool


class ApprovalDecision(CallbackData, prefix="apv"):
    broadcast_id: int
    approve: bool


class FollowUpStart(CallbackData, prefix="fu"):
    broadcast_id: int
    template: str
