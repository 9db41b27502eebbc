"""Callback data factories. Whatever arrives in them is re-checked by the handlers and services."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from alertbot.core.domain import BusinessCategory, Severity, SubscriberKind


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


# -- /alert: composing a warning. Taps count only on the flow's current message (checked in the handler).


class AlertTemplateChoice(CallbackData, prefix="at"):
    template: str


class AlertSkip(CallbackData, prefix="askip"):
    variable: str


class AlertDistrictToggle(CallbackData, prefix="adt"):
    district: str  # a district id, or "*" for every district of the official's scope


class AlertDistrictsDone(CallbackData, prefix="add"):
    pass


class AlertAudienceChoice(CallbackData, prefix="aud"):
    kind: SubscriberKind | None = None  # None: everyone
    category: BusinessCategory | None = None  # set: businesses of this category only


class AlertSeverityChoice(CallbackData, prefix="asev"):
    severity: Severity


class AlertModeChoice(CallbackData, prefix="amode"):
    exercise: bool


class AlertConfirm(CallbackData, prefix="aok"):
    force_duplicate: bool


class AlertCancel(CallbackData, prefix="ano"):
    pass


class CampaignAck(CallbackData, prefix="ack"):
    occurrence_id: int


# -- /campaigns: officials' buttons. The campaign id is re-checked (official, scope) by CampaignService.


class CampaignPause(CallbackData, prefix="cpause"):
    campaign: str
    paused: bool  # the state wanted: True pauses, False resumes


class CampaignPreview(CallbackData, prefix="cprev"):
    campaign: str


class CampaignRunAsk(CallbackData, prefix="crun"):
    campaign: str


class CampaignRunConfirm(CallbackData, prefix="crunok"):
    campaign: str


class CampaignRunCancel(CallbackData, prefix="crunno"):
    campaign: str


class ScheduledCancel(CallbackData, prefix="scx"):
    """Cancel a broadcast scheduled for later, before it goes out."""

    broadcast_id: int


class AlertSendAt(CallbackData, prefix="asat"):
    """ "⏰ Send at…" under a warning's preview: ask for a sending time."""
