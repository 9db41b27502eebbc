"""Small text helpers shared by handlers and keyboards: lists of district names, and times in the bot's zone."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from alertbot.core.domain import Language
from alertbot.services.districts import DistrictDirectory

TIME_FORMAT = "%Y-%m-%d %H:%M"  # how the chat shows a moment (the one definition in telegram/)

_SEPARATOR: dict[Language, str] = {"zh": "、", "en": ", "}


def join_names(names: Iterable[str], language: Language) -> str:
    return _SEPARATOR[language].join(names)


def district_names(districts: DistrictDirectory, ids: Iterable[str], language: Language) -> str:
    return join_names(districts.names(ids, language), language)


def valid_districts(districts: DistrictDirectory, language: Language) -> str:
    """Every district as "name (id)", for replies to a mistyped district."""
    return join_names((f"{d.name(language)} ({d.id})" for d in districts), language)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """`moment` in the bot's zone, as TIME_FORMAT shows it."""
    return moment.astimezone(zone).strftime(TIME_FORMAT)
