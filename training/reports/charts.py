"""The subgroup summary's charts, drawn on the server as SVG with pygal.

A chart is shown as `<img src="data:image/svg+xml;base64,...">`: no JavaScript is rendered
(`js=[]`), and inside an <img> the SVG's own <style> and any script are inert, so the page's
Content-Security-Policy (img-src data:) needs no exception and WeasyPrint draws the same
picture in the PDF. Every chart sits beside its data table, which has the full labels and is
the accessible alternative; the alt text says what the chart shows and points to the table.

Decisions:

* One colour, GOV.UK blue (#1d70b8, 5.2:1 on white) for every bar, and near-black text
  (#0b0c0c): no meaning is carried by colour alone, and the bars print well in greyscale.
* Every bar has its value written at its end, so the chart can be read without the axis.
* Labels longer than `LABEL_MAX` characters are cut with an ellipsis in the chart only.
* A chart shows at most `MAX_BARS` bars (the largest), so that it fits on an A4 page and
  stays cheap to draw however long the period; the text under it says so when bars were left
  out, and the table lists every row.
* The height grows with the number of bars and the width is fixed (`WIDTH`); the SVG scales
  to the width of its column on the page and in the PDF.
* Drawing is cached on the chart's content: the same figures give the same picture.
"""
from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pygal
from pygal.style import Style

from .summary import CountRow, RatingRow, Summary

WIDTH = 720
BAR_HEIGHT = 30
CHROME_HEIGHT = 90  # margins, the axis and its title
LABEL_MAX = 34
MAX_BARS = 20
FONT = '"Liberation Sans", Arial, Helvetica, sans-serif'

GOVUK_BLUE = "#1d70b8"
GOVUK_TEXT = "#0b0c0c"
GOVUK_SECONDARY_TEXT = "#505a5f"
GOVUK_MID_GREY = "#b1b4b6"

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground=GOVUK_TEXT,
    foreground_strong=GOVUK_TEXT,
    foreground_subtle=GOVUK_MID_GREY,
    opacity="1",
    opacity_hover="1",
    transition="none",
    colors=(GOVUK_BLUE,),
    # No guide lines: every bar has its value written beside it, and a line through the
    # values would make them harder to read.
    guide_stroke_color="none",
    major_guide_stroke_color="none",
    font_family=FONT,
    label_font_size=14,
    major_label_font_size=14,
    value_font_size=14,
    value_label_font_size=14,
    title_font_size=16,
    legend_font_size=14,
    tooltip_font_size=14,
    no_data_font_size=16,
)


@dataclass(frozen=True)
class Chart:
    """A drawn chart: the SVG, its alt text, and how many rows the chart left out."""

    svg: str
    alt: str
    shown: int
    total: int

    @property
    def src(self) -> str:
        """The chart as a data: URL, for an <img>."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode("utf-8")).decode("ascii")

    @property
    def truncated(self) -> bool:
        return self.shown < self.total


def short_label(text: str, limit: int = LABEL_MAX) -> str:
    """`text` cut to `limit` characters with an ellipsis, on a word boundary when one is near."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–") + "…"


def _ticks(top: int) -> list[int]:
    """Whole-number axis marks from 0 to at least `top`, about five of them, on round steps."""
    top = max(top, 1)
    rough = top / 5
    magnitude = 10 ** math.floor(math.log10(rough)) if rough >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= rough)
    step = max(int(step), 1)
    last = step * math.ceil(top / step)
    return list(range(0, last + 1, step))


class _HorizontalBar(pygal.HorizontalBar):
    """pygal's horizontal bar chart with each value written just after the end of its bar,
    on white, instead of centred over the bar's end (half of it black on blue)."""

    def _static_value(self, serie_node, value, x, y, metadata, align_text="left", classes=None):
        super()._static_value(serie_node, value, x, y, metadata, "start", classes)


def _without_scripts(root):
    """pygal writes its config as a script even with `js=[]`: an <img> would never run it,
    but the SVG is cleaner, smaller and safe to open on its own without it."""
    for parent in list(root.iter()):
        for child in list(parent):
            if isinstance(child.tag, str) and child.tag.rsplit("}", 1)[-1] == "script":
                parent.remove(child)
    return root


@lru_cache(maxsize=128)
def _draw(labels: tuple[str, ...], values: tuple[int, ...], value_texts: tuple[str, ...], axis_title: str) -> str:
    ticks = _ticks(max(values, default=0))
    chart = _HorizontalBar(
        style=STYLE,
        js=[],
        width=WIDTH,
        height=CHROME_HEIGHT + BAR_HEIGHT * len(labels),
        show_legend=False,
        print_values=True,
        print_values_position="top",
        truncate_label=-1,
        x_title=axis_title,
        range=(0, ticks[-1]),
        y_labels=ticks,
        value_formatter=lambda v: f"{v:,.0f}",
        margin=12,
        margin_right=16 + 8 * max(len(t) for t in value_texts),  # room for the values after the bars
        show_x_guides=False,
        show_y_guides=False,
        spacing=12,
        disable_xml_declaration=True,
    )
    # pygal draws the first label at the bottom of a horizontal bar chart: reverse so the
    # chart reads top to bottom in the same order as its table.
    chart.add_xml_filter(_without_scripts)
    chart.x_labels = list(reversed(labels))
    chart.add(axis_title, [
        {"value": v, "formatter": (lambda _v, t=t: t)} for v, t in zip(reversed(values), reversed(value_texts), strict=True)
    ])
    return chart.render()


def bar_chart(rows: Sequence[tuple[str, int, str]], *, subject: str, axis_title: str) -> Chart | None:
    """A horizontal bar chart of (label, value, value text) rows, largest `MAX_BARS` only;
    None when there is nothing to draw.

    `subject` names what is charted, for the alt text: "attendances by agency".
    """
    if not rows or not any(value for _label, value, _text in rows):
        return None
    shown = sorted(rows, key=lambda r: -r[1])[:MAX_BARS] if len(rows) > MAX_BARS else list(rows)
    svg = _draw(
        tuple(short_label(label) for label, _v, _t in shown),
        tuple(value for _l, value, _t in shown),
        tuple(text for _l, _v, text in shown),
        axis_title,
    )
    alt = f"Bar chart of {subject}"
    if len(shown) < len(rows):
        alt += f", showing the {len(shown)} largest of {len(rows)}"
    top = ", ".join(f"{label} {text}" for label, _v, text in shown[:3])
    alt += f". Largest: {top}. The table that follows gives every figure."
    return Chart(svg, alt, len(shown), len(rows))


def _count_rows(rows: Sequence[CountRow]) -> list[tuple[str, int, str]]:
    return [(row.label, row.count, f"{row.count:,} ({row.share.percent_label})") for row in rows]


def _rating_rows(rows: Sequence[RatingRow]) -> list[tuple[str, int, str]]:
    return [(row.rating.label, row.count, f"{row.count:,} ({row.share.percent_label})")
            for row in rows]


def agency_chart(summary: Summary) -> Chart | None:
    return bar_chart(_count_rows(summary.by_agency), subject="attendances by agency", axis_title="Attendances")


def sector_chart(summary: Summary) -> Chart | None:
    return bar_chart(_count_rows(summary.by_sector), subject="attendances by sector", axis_title="Attendances")


def course_chart(summary: Summary) -> Chart | None:
    return bar_chart(_count_rows(summary.by_course), subject="attendees per course", axis_title="Attendees")


def ratings_chart(summary: Summary) -> Chart | None:
    """Excellent, Good, Satisfactory, Poor: always in that order, never sorted by count."""
    rows = _rating_rows(summary.ratings)
    if not any(value for _l, value, _t in rows):
        return None
    svg = _draw(tuple(r[0] for r in rows), tuple(r[1] for r in rows), tuple(r[2] for r in rows), "Overall ratings")
    parts = ", ".join(f"{label} {text}" for label, _v, text in rows)
    alt = f"Bar chart of overall course ratings: {parts}. The table that follows gives every figure."
    return Chart(svg, alt, len(rows), len(rows))


@dataclass(frozen=True)
class SummaryCharts:
    by_agency: Chart | None
    by_sector: Chart | None
    by_course: Chart | None
    ratings: Chart | None


def summary_charts(summary: Summary) -> SummaryCharts:
    """Every chart of the subgroup summary."""
    return SummaryCharts(
        by_agency=agency_chart(summary),
        by_sector=sector_chart(summary),
        by_course=course_chart(summary),
        ratings=ratings_chart(summary),
    )
