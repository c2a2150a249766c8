"""The summary's charts: valid SVG without scripts, every label and value, legible labels,
a bounded number of bars, and an alt text that says what the chart shows."""
from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

import pytest

from tests.reports.summary_helpers import HOSTILE, LONG_AGENCY, handmade_summary
from training.reports import charts

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)  # noqa: S314 (our own output, no DTD)
    return ["".join(node.itertext()).strip() for node in root.iter(f"{SVG}text")]


def _parse(chart: charts.Chart) -> ET.Element:
    root = ET.fromstring(chart.svg)  # noqa: S314 (our own output, no DTD)
    assert root.tag == f"{SVG}svg"
    return root


def test_every_chart_is_valid_svg_with_no_script_and_no_external_reference():
    drawn = charts.summary_charts(handmade_summary())
    for chart in (drawn.by_agency, drawn.by_sector, drawn.by_course, drawn.ratings):
        root = _parse(chart)
        assert not list(root.iter(f"{SVG}script"))
        assert "<script" not in chart.svg
        # Nothing to fetch: no stylesheet processing instruction, no linked fonts or images.
        assert "xml-stylesheet" not in chart.svg and "href=" not in chart.svg
        assert "viewBox" in chart.svg


def test_data_url_decodes_to_the_svg():
    chart = charts.agency_chart(handmade_summary())
    prefix = "data:image/svg+xml;base64,"
    assert chart.src.startswith(prefix)
    assert base64.b64decode(chart.src[len(prefix):]).decode("utf-8") == chart.svg


def test_agency_chart_has_each_label_and_value_with_long_names_shortened():
    chart = charts.agency_chart(handmade_summary())
    texts = _texts(chart.svg)
    assert "Thameside Police" in texts and "Riverside Academy" in texts
    assert {"120 (48%)", "80 (32%)", "40 (16%)", "10 (4%)"} <= set(texts)
    short = charts.short_label(LONG_AGENCY)
    assert short in texts and short.endswith("…") and len(short) <= charts.LABEL_MAX
    assert LONG_AGENCY not in texts  # the table has the full name
    assert charts.short_label(HOSTILE) in texts  # text in an SVG is inert: shown, never run


def test_bars_read_top_to_bottom_in_the_tables_order():
    chart = charts.ratings_chart(handmade_summary())
    root = _parse(chart)
    positions = {}
    for node in root.iter(f"{SVG}text"):
        text = "".join(node.itertext()).strip()
        if text in ("Excellent", "Good", "Satisfactory", "Poor"):
            positions[text] = float(node.get("y"))
    assert sorted(positions, key=positions.get) == ["Excellent", "Good", "Satisfactory", "Poor"]
    assert {"120 (60%)", "60 (30%)", "10 (5%)"} <= set(_texts(chart.svg))


def test_ratings_chart_keeps_the_rating_order_and_alt_text_gives_every_figure():
    chart = charts.ratings_chart(handmade_summary())
    assert chart.alt == ("Bar chart of overall course ratings: Excellent 120 (60%), Good 60 (30%), "
                         "Satisfactory 10 (5%), Poor 10 (5%). The table that follows gives every figure.")


def test_long_lists_show_the_largest_bars_only_and_say_so():
    summary = handmade_summary(agencies=33)
    chart = charts.agency_chart(summary)
    assert (chart.shown, chart.total, chart.truncated) == (charts.MAX_BARS, 33, True)
    labels = [t for t in _texts(chart.svg) if t.startswith("Agency ")]
    assert len(labels) == charts.MAX_BARS - 4  # the four named agencies are the largest
    assert "showing the 20 largest of 33" in chart.alt
    assert chart.alt.startswith(f"Bar chart of attendances by agency, showing the 20 largest of 33. Largest: {LONG_AGENCY} 120")


def test_height_grows_with_bars_and_width_is_fixed():
    few = _parse(charts.agency_chart(handmade_summary(agencies=4)))
    many = _parse(charts.agency_chart(handmade_summary(agencies=40)))
    assert few.get("viewBox") == f"0 0 {charts.WIDTH} {charts.CHROME_HEIGHT + 4 * charts.BAR_HEIGHT}"
    assert many.get("viewBox") == f"0 0 {charts.WIDTH} {charts.CHROME_HEIGHT + charts.MAX_BARS * charts.BAR_HEIGHT}"


def test_nothing_to_draw_gives_no_chart():
    summary = handmade_summary()
    summary.by_agency = []
    summary.ratings = [charts.RatingRow(r.rating, 0, r.share) for r in summary.ratings]
    assert charts.agency_chart(summary) is None
    assert charts.ratings_chart(summary) is None
    assert charts.bar_chart([("A", 0, "0")], subject="x", axis_title="x") is None


def test_colours_have_enough_contrast():
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    def contrast(a: str, b: str) -> float:
        high, low = sorted((luminance(a), luminance(b)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    assert contrast(charts.GOVUK_BLUE, "#ffffff") >= 3  # graphics: WCAG 1.4.11
    assert contrast(charts.GOVUK_TEXT, "#ffffff") >= 4.5  # text
    svg = charts.agency_chart(handmade_summary()).svg
    assert charts.GOVUK_BLUE in svg


@pytest.mark.parametrize("text, expected", [
    ("Thameside Police", "Thameside Police"),
    ("A" * 40, "A" * (charts.LABEL_MAX - 1) + "…"),
    (LONG_AGENCY, "Thameside and Riverside…"),
    ("  spaces   inside  ", "spaces inside"),
])
def test_short_label(text, expected):
    assert charts.short_label(text) == expected


@pytest.mark.parametrize("top, ticks", [
    (0, [0, 1]), (3, [0, 1, 2, 3]), (7, [0, 2, 4, 6, 8]), (120, [0, 50, 100, 150]), (1000, [0, 200, 400, 600, 800, 1000]),
])
def test_axis_ticks_are_whole_round_numbers(top, ticks):
    assert charts._ticks(top) == ticks


def test_axis_labels_are_whole_numbers():
    svg = charts.sector_chart(handmade_summary()).svg
    numbers = [t for t in _texts(svg) if re.fullmatch(r"[\d,.]+", t)]
    assert numbers and all("." not in n for n in numbers)
