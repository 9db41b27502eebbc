"""What the texts of warnings and reminders share: district lists in the reader's language, and times.

`TIME_FORMAT` is how alertbot writes a moment for people (and the fullest form `send_at` reads back).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from alertbot.core.domain import Language
from alertbot.services.districts import DistrictDirectory

TIME_FORMAT = "%Y-%m-%d %H:%M"
_SEPARATOR: dict[Language, str] = {"zh": "、", "en": ", "}


def join_districts(districts: DistrictDirectory, ids: Iterable[str], language: Language) -> str:
    """The districts' names in `language`, in the given order, as one list."""
    return _SEPARATOR.get(language, ", ").join(districts.names(ids, language))


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """`moment` on the wall clock of `zone`, as TIME_FORMAT writes it."""
    return moment.astimezone(zone).strftime(TIME_FORMAT)
