"""The configured districts and how people may name them: by id, or by name in either language."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence

from alertbot.config import DistrictConfig
from alertbot.core.domain import Language
from alertbot.core.errors import UnknownDistrictError

# Suffixes people often leave off or add: "和平" for 和平区, "Heping District" for Heping.
_OPTIONAL_SUFFIXES = ("district", "county", "city", "新区", "区", "县", "市")


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold().strip()
    return " ".join(folded.replace("-", " ").replace("_", " ").split())


def _variants(text: str) -> set[str]:
    base = _normalise(text)
    found = {base, base.replace(" ", "")}
    for suffix in _OPTIONAL_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            stripped = base.removesuffix(suffix).strip()
            found |= {stripped, stripped.replace(" ", "")}
    return found


class DistrictDirectory:
    """Looks districts up; the only place that knows which district ids exist."""

    def __init__(self, districts: Sequence[DistrictConfig]) -> None:
        self._by_id = {d.id: d for d in districts}
        self._by_name: dict[str, str] = {}
        for district in districts:
            for text in (district.id, district.name.zh, district.name.en):
                for variant in _variants(text):
                    self._by_name.setdefault(variant, district.id)

    def __contains__(self, district_id: object) -> bool:
        return district_id in self._by_id

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    @property
    def ids(self) -> list[str]:
        return list(self._by_id)

    def name(self, district_id: str, language: Language) -> str:
        return self._by_id[district_id].name(language)

    def names(self, district_ids: Iterable[str], language: Language) -> list[str]:
        return [self.name(d, language) for d in district_ids if d in self._by_id]

    def channels(self, district_ids: Iterable[str]) -> list[tuple[str, Language]]:
        """The channels of these districts, each once (in district order), with the language it is in."""
        found: dict[str, Language] = {}
        for district_id in district_ids:
            for language, channel in self._by_id[district_id].channels.items():
                found.setdefault(channel, language)
        return list(found.items())

    def find(self, text: str) -> str | None:
        """The id of the district that `text` names, or None."""
        for variant in _variants(text):
            if variant in self._by_name:
                return self._by_name[variant]
        return None

    def resolve(self, words: Iterable[str]) -> list[str]:
        """District ids for every word, in order, without repeats; UnknownDistrictError names the rest.

        Words are split on commas and ideographic commas as well, and a multi-word English name such
        as "Shenbei New District" is matched when its words arrive separately.
        """
        tokens = [t for w in words for t in w.replace("，", ",").replace("、", ",").split(",") if t.strip()]
        found: list[str] = []
        unknown: list[str] = []
        index = 0
        while index < len(tokens):
            for width in range(min(4, len(tokens) - index), 0, -1):
                district_id = self.find(" ".join(tokens[index : index + width]))
                if district_id:
                    if district_id not in found:
                        found.append(district_id)
                    index += width
                    break
            else:
                unknown.append(tokens[index].strip())
                index += 1
        if unknown:
            raise UnknownDistrictError(unknown)
        return found
