"""DistrictDirectory: the configured districts, found by id or name in either language."""

from __future__ import annotations

import pytest

from alertbot.core.errors import UnknownDistrictError
from alertbot.services.districts import DistrictDirectory
from tests.harness import EXAMPLE_CONFIG


@pytest.fixture
def directory() -> DistrictDirectory:
    from alertbot.config import load_config

    return DistrictDirectory(load_config(EXAMPLE_CONFIG).districts)


def test_example_config_has_shenyang_districts(directory: DistrictDirectory) -> None:
    assert len(directory) == 13
    assert directory.name("shenbei", "zh") == "沈北新区"
    assert directory.name("shenbei", "en") == "Shenbei New District"


@pytest.mark.parametrize(
    ("text", "district"),
    [("heping", "heping"), ("HEPING", "heping"), ("和平区", "heping"), ("和平", "heping"),
     ("Heping District", "heping"), ("沈北新区", "shenbei"), ("沈北", "shenbei"), ("Faku", "faku"),
     ("法库县", "faku"), ("Kangping County", "kangping"), ("新民市", "xinmin"), ("ｈｅｐｉｎｇ", "heping")],
)  # fmt: skip
def test_find_district(directory: DistrictDirectory, text: str, district: str) -> None:
    assert directory.find(text) == district


def test_resolve_reports_every_unknown_word(directory: DistrictDirectory) -> None:
    with pytest.raises(UnknownDistrictError) as error:
        directory.resolve(["heping", "mars", "和平区", "月球"])
    assert error.value.unknown == ["mars", "月球"]
