"""The /stats chart (alertbot.content.charts): a PNG a phone can show, of the figures and labels given, with no
glyph drawn as a box (a CJK font when one is installed, the latin version of the chart when none is)."""

from __future__ import annotations

import io
import struct
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from alertbot.content import charts
from alertbot.content.charts import (
    AckRates,
    ChartLabels,
    DistrictCounts,
    DistrictRate,
    StatsChart,
    cjk_family,
    stats_chart,
    stats_figure,
)

EN = ChartLabels(
    title="Subscribers and confirmations · 2026-06-01 10:00", subscribers="Active subscribers by district",
    residents="Residents", businesses="Businesses", subscribers_axis="Subscribers", rate_axis="Confirmed (%)",
    no_deliveries="No reminders delivered yet.",
)  # fmt: skip
ZH = ChartLabels(
    title="订阅与确认统计 · 2026-06-01 10:00", subscribers="各区县有效订阅人数", residents="居民", businesses="企业",
    subscribers_axis="订阅人数", rate_axis="已确认（%）", no_deliveries="尚未送达任何提醒。",
)  # fmt: skip
DISTRICTS = [
    ("heping", "和平区", "Heping", 1200, 340),
    ("tiexi", "铁西区", "Tiexi", 2, 1),
    ("faku", "法库县", "Faku County", 0, 0),
]


def chart(language: str, *, campaigns: int = 1, title: str | None = None) -> StatsChart:
    zh = language == "zh"
    names = [zh_name if zh else en_name for _, zh_name, en_name, _, _ in DISTRICTS]
    subscribers = [DistrictCounts(name, r, b) for name, (*_, r, b) in zip(names, DISTRICTS, strict=True)]
    heading = title or ("餐饮场所液化石油气安全自查 — 各区县确认率" if zh else "LPG self-check — confirmed by district")
    acks = [AckRates(heading, [DistrictRate(names[0], 340, 255), DistrictRate(names[1], 1, 0)])]
    acks += [AckRates(f"{heading} {n}", []) for n in range(2, campaigns + 1)]  # nothing delivered yet
    return StatsChart(subscribers, acks, ZH if zh else EN)


def texts(figure: object) -> list[str]:
    from matplotlib.text import Text

    return [t.get_text() for t in figure.findobj(Text) if t.get_text() and t.get_visible()]  # type: ignore[attr-defined]


def png_size(data: bytes) -> tuple[int, int]:
    from matplotlib.image import imread

    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert imread(io.BytesIO(data), format="png").shape[:2] == (height, width)  # it decodes, at that size
    return width, height


@pytest.fixture
def glyph_warnings() -> Iterator[list[warnings.WarningMessage]]:
    """Matplotlib's warnings while drawing (a missing glyph: "Glyph 38081 (...) missing from font(s) ...")."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield caught


@pytest.fixture
def no_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """The charts' fonts as on a machine without a CJK font: DejaVu Sans alone."""
    from matplotlib import font_manager

    dejavu = font_manager.findfont(font_manager.FontProperties(family=charts.LATIN_FAMILY))
    monkeypatch.setattr(charts, "_fonts_found", charts._Fonts([charts.LATIN_FAMILY], [dejavu], bold=True))


def test_the_chart_is_a_phone_wide_png_of_the_figures_and_labels_given(tmp_path: Path) -> None:
    figure = stats_figure(chart("en"))
    shown = texts(figure)
    assert {EN.title, EN.subscribers, EN.residents, EN.businesses, EN.subscribers_axis, EN.rate_axis} <= set(shown)
    assert {"Heping", "Tiexi", "Faku County", "LPG self-check — confirmed by district"} <= set(shown)
    assert {"1,540  (1,200 + 340)", "3  (2 + 1)", "0"} <= set(shown)  # each district's total at its bar's end
    assert {"75%  255/340", "0%  0/1"} <= set(shown)  # the rates, districts with deliveries only
    assert shown.count("Faku County") == 1

    png = stats_chart(chart("en"))
    expected = tuple(round(v) for v in figure.get_size_inches() * figure.dpi)
    assert png_size(png) == expected and expected[0] == 1080
    (tmp_path / "stats-en.png").write_bytes(png)


def test_each_campaign_gets_a_panel_and_the_chart_grows_with_them() -> None:
    one, three = (png_size(stats_chart(chart("en", campaigns=n))) for n in (1, 3))
    assert one[0] == three[0] == 1080 and three[1] > one[1]
    shown = texts(stats_figure(chart("en", campaigns=3)))
    assert shown.count(EN.no_deliveries) == 2 and "LPG self-check — confirmed by district 3" in shown
    no_campaigns = StatsChart(chart("en").subscribers, [], EN)
    assert EN.rate_axis not in texts(stats_figure(no_campaigns))


def test_a_chinese_chart_has_every_glyph(glyph_warnings: list[warnings.WarningMessage], tmp_path: Path) -> None:
    if cjk_family() is None:
        pytest.skip("no CJK font installed (Debian: fonts-wqy-microhei); charts fall back to English names")
    png = stats_chart(chart("zh", campaigns=2), chart("en", campaigns=2))
    (tmp_path / "stats-zh.png").write_bytes(png)
    shown = texts(stats_figure(chart("zh", campaigns=2), chart("en", campaigns=2)))
    assert {"和平区", "铁西区", "法库县", "居民", "企业", ZH.title} <= set(shown)  # not the latin fallback
    assert [str(w.message) for w in glyph_warnings] == []
    assert png_size(png)[0] == 1080


def test_without_a_cjk_font_the_chart_is_drawn_from_its_latin_version(
    no_cjk_font: None, glyph_warnings: list[warnings.WarningMessage]
) -> None:
    assert cjk_family() is None
    figure = stats_figure(chart("zh"), chart("en"))
    shown = texts(figure)
    assert {"Heping", "Tiexi", "Residents", EN.title} <= set(shown)
    assert not any("区" in text for text in shown)
    png_size(stats_chart(chart("zh"), chart("en")))
    assert [str(w.message) for w in glyph_warnings] == []


def test_what_no_font_can_draw_is_left_out(no_cjk_font: None, glyph_warnings: list[warnings.WarningMessage]) -> None:
    # No latin version to fall back to: the characters no font has (CJK here, an emoji) are dropped, not boxes.
    figure = stats_figure(chart("en", title="🔥 Fire $5 check 铁西"))
    assert "Fire \\$5 check" in texts(figure)  # "$" drawn as itself, not as math
    png_size(stats_chart(chart("en", title="🔥 Fire $5 check 铁西")))
    assert [str(w.message) for w in glyph_warnings] == []


def test_long_headings_are_wrapped_to_the_width() -> None:
    latin = charts._wrap("LPG safety self-check for restaurants and canteens — confirmed by district", 52)
    assert latin == "LPG safety self-check for restaurants and canteens —\nconfirmed by district"
    chinese = charts._wrap("餐饮场所液化石油气安全自查与燃气报警器检查提醒 — 各区县确认率", 40)
    assert [charts._columns(line) <= 40 for line in chinese.split("\n")] == [True, True]
    assert chinese.replace("\n", "") == "餐饮场所液化石油气安全自查与燃气报警器检查提醒 — 各区县确认率"


def test_charts_render_in_parallel_threads() -> None:
    expected = stats_chart(chart("en", campaigns=2))
    results: list[bytes] = []
    threads = [threading.Thread(target=lambda: results.append(stats_chart(chart("en", campaigns=2)))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and all(png == expected for png in results)
