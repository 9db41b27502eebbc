"""The /stats chart: subscribers per district and kind, and each campaign's confirmation rate, as one PNG.

Pure: figures and labels in, PNG bytes out. Drawn on a `matplotlib.figure.Figure` with the Agg canvas (never
pyplot's global state), so charts can be rendered in worker threads; matplotlib is imported when the first
chart is drawn, so commands that never draw one do not pay for it.

Chinese labels need a CJK font (Debian: fonts-wqy-microhei or fonts-noto-cjk). Without one, a chart whose
text the installed fonts cannot draw is drawn from its latin version (the districts' English names) instead,
so no glyph is ever a box.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontManager, FontProperties

logger = logging.getLogger(__name__)

WIDTH_PX = 1080  # portrait, a phone screen's width
DPI = 150
LATIN_FAMILY = "DejaVu Sans"  # bundled with matplotlib
# CJK families in order of preference (Debian: fonts-wqy-microhei, fonts-noto-cjk, fonts-arphic-*).
CJK_FAMILIES = (
    "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "Noto Sans CJK JP", "Noto Sans CJK TC", "Source Han Sans", "Droid Sans Fallback",
    "AR PL UMing CN", "AR PL UKai CN", "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC",
)  # fmt: skip
# Font files to register when matplotlib's font cache predates the font's installation.
_CJK_FILES = ("wqy", "notosanscjk", "notoserifcjk", "sourcehansans", "droidsansfallback", "uming", "ukai")

RESIDENTS_COLOR, BUSINESSES_COLOR, RATE_COLOR = "#2f6db5", "#f08c2e", "#2e9e5b"
TITLE_SIZE, HEADING_SIZE, TEXT_SIZE = 21, 18, 15  # points at DPI: readable on a phone
TITLE_COLUMNS, HEADING_COLUMNS = 48, 52  # a line's width, in latin characters (a CJK character takes two)
# Heights in inches: a bar, a line of the title or of a heading, the legend, an axis with its label, a note.
ROW, TITLE_LINE, HEADING_LINE, LEGEND, AXIS, NOTE = 0.46, 0.42, 0.36, 0.36, 0.72, 0.42


@dataclass(frozen=True)
class DistrictCounts:
    """Active subscribers of one district, by kind."""

    district: str
    residents: int
    businesses: int

    @property
    def total(self) -> int:
        return self.residents + self.businesses


@dataclass(frozen=True)
class DistrictRate:
    """How many in one district received a campaign's reminders, and how many of them confirmed."""

    district: str
    received: int
    confirmed: int

    @property
    def percent(self) -> float:
        return 100 * self.confirmed / self.received if self.received else 0.0


@dataclass(frozen=True)
class AckRates:
    """A campaign that asks for confirmations: its panel's heading, and its districts that received reminders
    (none: nothing was delivered yet)."""

    title: str
    districts: Sequence[DistrictRate]


@dataclass(frozen=True)
class ChartLabels:
    """The chart's texts, in the reader's language."""

    title: str  # with the date
    subscribers: str  # the heading of the subscribers panel
    residents: str  # legend
    businesses: str  # legend
    subscribers_axis: str
    rate_axis: str  # "confirmed (%)"
    no_deliveries: str  # in a campaign's panel when no reminder was delivered yet


@dataclass(frozen=True)
class StatsChart:
    """Everything one chart shows."""

    subscribers: Sequence[DistrictCounts]
    acks: Sequence[AckRates]
    labels: ChartLabels

    def texts(self) -> list[str]:
        label_texts = [getattr(self.labels, name) for name in ChartLabels.__dataclass_fields__]
        return [
            *label_texts,
            *(d.district for d in self.subscribers),
            *(a.title for a in self.acks),
            *(d.district for a in self.acks for d in a.districts),
        ]


def stats_chart(chart: StatsChart, latin: StatsChart | None = None) -> bytes:
    """The chart as PNG bytes, 1080 px wide. `latin`: the same chart in latin script (English names), drawn
    instead when no installed font has the glyphs `chart` needs."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    figure = stats_figure(chart, latin)
    canvas = FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    canvas.print_png(buffer)
    return buffer.getvalue()


def stats_figure(chart: StatsChart, latin: StatsChart | None = None) -> Figure:
    """The chart's Figure, before it is saved (tests read its texts)."""
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    fonts = _fonts()
    if latin is not None and not all(fonts.covers(text) for text in chart.texts()):
        logger.debug("charts: no installed font draws all of the chart's labels; drawing its latin version")
        chart = latin
    labels = chart.labels
    title = _wrap(fonts.clean(labels.title), TITLE_COLUMNS)
    headings = [
        _wrap(fonts.clean(text), HEADING_COLUMNS) for text in (labels.subscribers, *(a.title for a in chart.acks))
    ]
    # Each panel as tall as its heading, legend, axis and bars need (constrained layout fits them in).
    heights = [_lines(headings[0]) * HEADING_LINE + LEGEND + AXIS + ROW * len(chart.subscribers)]
    heights += [
        _lines(heading) * HEADING_LINE + (AXIS + ROW * len(ack.districts) if ack.districts else NOTE)
        for heading, ack in zip(headings[1:], chart.acks, strict=True)
    ]
    layout = ConstrainedLayoutEngine(h_pad=0.08, w_pad=0.06, hspace=0.0, wspace=0.0)
    height = _lines(title) * TITLE_LINE + 0.15 + sum(heights)
    size = (WIDTH_PX / DPI, round(height * DPI) / DPI)  # whole pixels
    figure = Figure(figsize=size, dpi=DPI, layout=layout, facecolor="white")
    figure.suptitle(title, fontproperties=fonts.get(TITLE_SIZE, bold=True))
    panels = figure.subfigures(len(heights), 1, squeeze=False, height_ratios=heights)[:, 0]
    for panel, heading in zip(panels, headings, strict=True):
        panel.suptitle(heading, x=0.01, ha="left", fontproperties=fonts.get(HEADING_SIZE, bold=True))
    axes = [panel.subplots() for panel in panels]
    _subscribers_panel(axes[0], chart.subscribers, labels, fonts)
    for ax, ack in zip(axes[1:], chart.acks, strict=True):
        _acks_panel(ax, ack, labels, fonts)
    _align_left(figure, [ax for ax, ack in zip(axes, (None, *chart.acks), strict=True) if ack is None or ack.districts])
    return figure


def _align_left(figure: Figure, axes: Sequence[Axes]) -> None:
    """Lay the figure out, then start every panel's bars where the widest district names end, and keep it so."""
    figure.draw_without_rendering()
    left = max(ax.get_position().x0 for ax in axes)
    for ax in axes:
        position = ax.get_position()
        ax.set_position((left, position.y0, position.x1 - left, position.height))
    figure.set_layout_engine("none")


def _lines(text: str) -> int:
    return text.count("\n") + 1


def _subscribers_panel(ax: Axes, rows: Sequence[DistrictCounts], labels: ChartLabels, fonts: _Fonts) -> None:
    positions = list(range(len(rows)))
    residents = [r.residents for r in rows]
    businesses = [r.businesses for r in rows]
    ax.barh(positions, residents, height=0.7, color=RESIDENTS_COLOR, label=fonts.clean(labels.residents))
    ax.barh(
        positions, businesses, left=residents, height=0.7, color=BUSINESSES_COLOR,
        label=fonts.clean(labels.businesses),
    )  # fmt: skip
    top = max([r.total for r in rows], default=0)
    ax.set_xlim(0, _nice_limit(top) * 1.22)  # room for the totals at the bars' ends
    for y, row in zip(positions, rows, strict=True):
        value = f"{row.total:,}  ({row.residents:,} + {row.businesses:,})" if row.total else "0"
        ax.text(
            row.total + top * 0.015 + 0.02, y, value,
            va="center", ha="left", fontproperties=fonts.get(TEXT_SIZE - 2),
        )  # fmt: skip
    _district_axis(ax, [r.district for r in rows], fonts)
    _value_axis(ax, labels.subscribers_axis, fonts, integer=True)
    ax.legend(
        loc="lower left", bbox_to_anchor=(0.0, 1.0), ncols=2, frameon=False, prop=fonts.get(TEXT_SIZE - 1),
        borderaxespad=0.15, borderpad=0.1, handlelength=1.2, columnspacing=1.5,
    )  # fmt: skip


def _acks_panel(ax: Axes, campaign: AckRates, labels: ChartLabels, fonts: _Fonts) -> None:
    rows = campaign.districts
    ax.set_xlim(0, 132)  # 100 %, then room for the value
    if not rows:
        ax.set_axis_off()
        ax.set_ylim(-0.5, 0.5)
        ax.text(0, 0, fonts.clean(labels.no_deliveries), ha="left", va="center", fontproperties=fonts.get(TEXT_SIZE))
        return
    ax.set_xticks([0, 25, 50, 75, 100])
    _value_axis(ax, labels.rate_axis, fonts, integer=False)
    ax.spines["bottom"].set_bounds(0, 100)
    positions = list(range(len(rows)))
    ax.barh(positions, [100] * len(rows), height=0.7, color="#e8e8e8")  # the rest, up to 100 %
    ax.barh(positions, [r.percent for r in rows], height=0.7, color=RATE_COLOR)
    for y, row in zip(positions, rows, strict=True):
        ax.text(
            101.5, y, f"{round(row.percent)}%  {row.confirmed:,}/{row.received:,}",
            va="center", ha="left", fontproperties=fonts.get(TEXT_SIZE - 2),
        )  # fmt: skip
    _district_axis(ax, [r.district for r in rows], fonts)


def _district_axis(ax: Axes, names: Sequence[str], fonts: _Fonts) -> None:
    ax.set_yticks(range(len(names)), [fonts.clean(n) for n in names])
    for label in ax.get_yticklabels():
        label.set_fontproperties(fonts.get(TEXT_SIZE))
    ax.set_ylim(len(names) - 0.5, -0.5)  # the first district at the top
    ax.tick_params(axis="y", length=0, pad=6)


def _value_axis(ax: Axes, label: str, fonts: _Fonts, *, integer: bool) -> None:
    from matplotlib.ticker import MaxNLocator, StrMethodFormatter

    if integer:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel(fonts.clean(label), fontproperties=fonts.get(TEXT_SIZE - 2), labelpad=4)
    for tick in ax.get_xticklabels():
        tick.set_fontproperties(fonts.get(TEXT_SIZE - 3))
    ax.tick_params(axis="x", labelsize=TEXT_SIZE - 3)
    ax.grid(axis="x", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)


def _nice_limit(value: int) -> float:
    """The axis end for bars up to `value`: at least 1 (an empty district still gets an axis)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    return next(m * magnitude for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= value)


def _wrap(text: str, width: int) -> str:
    """Lines of at most `width` columns (a CJK character takes two), broken at spaces or between CJK characters."""
    lines, line = [], ""
    for word in _words(text):
        if line and _columns(line + word) > width:
            lines.append(line)
            line = word.lstrip()
        else:
            line += word
    return "\n".join([*lines, line])


def _words(text: str) -> list[str]:
    """Latin words with the spaces before them, and each CJK character on its own."""
    words: list[str] = []
    for token in re.findall(r"\s*\S", text.strip()):
        if words and token == token.lstrip() and not _wide(token) and not _wide(words[-1][-1]):
            words[-1] += token
        else:
            words.append(token)
    return words


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def _columns(text: str) -> int:
    return sum(2 if _wide(c) else 1 for c in text)


# -- fonts --------------------------------------------------------------------------------------------


class _Fonts:
    """The families the chart is drawn in (a CJK one first when installed, then DejaVu Sans, glyph by glyph)
    and the characters they can draw."""

    def __init__(self, families: list[str], paths: list[str], *, bold: bool) -> None:
        from matplotlib.ft2font import FT2Font

        self.families, self.bold = families, bold  # bold: whether the first family has a bold face
        self.charset: set[int] = set()
        for path in paths:
            self.charset |= set(FT2Font(path).get_charmap())

    def covers(self, text: str) -> bool:
        return all(ord(c) in self.charset or c.isspace() for c in text)

    def clean(self, text: str) -> str:
        """`text` without what the fonts cannot draw (an emoji, say), and with `$` as itself, not math."""
        drawable = "".join(c for c in text if ord(c) in self.charset or c.isspace())
        return re.sub(" {2,}", " ", drawable).strip().replace("$", r"\$")

    def get(self, size: float, *, bold: bool = False) -> FontProperties:
        from matplotlib.font_manager import FontProperties

        return FontProperties(family=self.families, size=size, weight="bold" if bold and self.bold else "normal")


_fonts_lock = threading.Lock()
_fonts_found: _Fonts | None = None


def _fonts() -> _Fonts:
    global _fonts_found
    with _fonts_lock:
        if _fonts_found is None:
            _fonts_found = _find_fonts()
        return _fonts_found


def cjk_family() -> str | None:
    """The installed CJK font family the charts use, if any."""
    fonts = _fonts()
    return fonts.families[0] if len(fonts.families) > 1 else None


def _find_fonts() -> _Fonts:
    from matplotlib import font_manager

    manager = font_manager.fontManager
    family = _installed_cjk_family(manager)
    if family is None:  # installed after matplotlib's font cache was built: register the files
        for path in font_manager.findSystemFonts():
            if any(name in path.lower().replace("-", "").replace("_", "") for name in _CJK_FILES):
                try:
                    manager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # a font matplotlib cannot read
                    continue
        family = _installed_cjk_family(manager)
    latin = font_manager.findfont(font_manager.FontProperties(family=LATIN_FAMILY), fallback_to_default=True)
    if family is None:
        logger.info(
            "charts: no CJK font installed (Debian: fonts-wqy-microhei or fonts-noto-cjk); "
            "charts with Chinese labels are drawn with the districts' English names"
        )
        return _Fonts([LATIN_FAMILY], [latin], bold=True)
    cjk = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    logger.debug("charts: CJK font %s (%s)", family, cjk)
    bold = any(entry.name == family and _weight(entry.weight) >= 600 for entry in manager.ttflist)
    return _Fonts([family, LATIN_FAMILY], [cjk, latin], bold=bold)


def _installed_cjk_family(manager: FontManager) -> str | None:
    names = {entry.name for entry in manager.ttflist}
    return next((family for family in CJK_FAMILIES if family in names), None)


def _weight(weight: int | str) -> int:
    from matplotlib.font_manager import weight_dict

    return weight if isinstance(weight, int) else weight_dict.get(weight, 400)
