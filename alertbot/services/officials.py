"""Officials come from config; this is the one place that answers "who is an official, and where"."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from alertbot.config import OfficialConfig

ALL_DISTRICTS = "*"


class OfficialDirectory:
    def __init__(self, officials: Sequence[OfficialConfig]) -> None:
        self._by_id = {o.telegram_id: o for o in officials}

    @property
    def ids(self) -> list[int]:
        return list(self._by_id)

    def get(self, telegram_id: int | None) -> OfficialConfig | None:
        return self._by_id.get(telegram_id) if telegram_id is not None else None

    def is_official(self, telegram_id: int | None) -> bool:
        return self.get(telegram_id) is not None

    @staticmethod
    def covers(official: OfficialConfig, district_ids: Iterable[str]) -> bool:
        """True if every district is within the official's scope."""
        scope = set(official.districts)
        return ALL_DISTRICTS in scope or set(district_ids) <= scope
