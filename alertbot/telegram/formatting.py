"""Small text helpers shared by handlers: lists of district names in the person's language."""

from __future__ import annotations

from collections.abc import Iterable

from alertbot.core.domain import Language
from alertbot.services.districts import DistrictDirectory

_SEPARATOR: dict[Language, str] = {"zh": "、", "en": ", "}


def join_names(names: Iterable[str], language: Language) -> str:
    return _SEPARATOR[language].join(names)


def district_names(districts: DistrictDirectory, ids: Iterable[str], language: Language) -> str:
    return join_names(districts.names(ids, language), language)


def valid_districts(districts: DistrictDirectory, language: Language) -> str:
    """Every district as "name (id)", for replies to a mistyped district."""
    return join_names((f"{d.name(language)} ({d.id})" for d in districts), language)
