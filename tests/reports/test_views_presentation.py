"""How the summary page words its figures: comparisons in words, money, hours, quick links."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from tests.reports.summary_helpers import handmade_summary
from training.evaluation.results import Period, Share
from training.reports import presentation as p


@pytest.mark.parametrize("pence, text", [
    (0, "£0.00"), (5, "£0.05"), (5000, "£50.00"), (9000, "£90.00"), (125050, "£1,250.50"), (-250, "-£2.50"),
])
def test_pounds(pence, text):
    assert p.pounds(pence) == text


@pytest.mark.parametrize("current, previous, direction, change", [
    (26, 22, "up", "up 4 from 22"), (3, 5, "down", "down 2 from 5"), (7, 7, "same", "no change from 7"),
    (1500, 0, "up", "up 1,500 from 0"),
])
def test_compare_counts(current, previous, direction, change):
    comparison = p.compare_counts("Figure", current, previous)
    assert (comparison.direction, comparison.change) == (direction, change)
    assert comparison.arrow == {"up": "▲", "down": "▼", "same": "="}[direction]


@pytest.mark.parametrize("current, previous, direction, change", [
    (Share(3, 4), Share(1, 2), "up", "up 25 percentage points from 50%"),
    (Share(1, 3), Share(1, 2), "down", "down 16.7 percentage points from 50%"),
    (Share(1, 2), Share(2, 4), "same", "no change from 50%"),
    (Share(51, 100), Share(1, 2), "up", "up 1 percentage point from 50%"),
    (Share(1, 2), Share(0, 0), "none", "no figure to compare with"),
    (Share(0, 0), Share(1, 2), "none", "no figure for this period"),
])
def test_compare_shares(current, previous, direction, change):
    comparison = p.compare_shares("Fill rate", current, previous)
    assert (comparison.direction, comparison.change) == (direction, change)
    assert comparison.arrow == {"up": "▲", "down": "▼", "same": "=", "none": ""}[direction]


def test_headline_and_rating_comparisons():
    summary = handmade_summary()
    rows = {c.label: c for c in p.headline_comparisons(summary)}
    assert rows["Training sessions delivered"].change == "down 4 from 30"
    assert rows["Workshops delivered"].change == "up 2 from 1"
    assert rows["Total attendances"].change == "no change from 740"
    assert (rows["Fill rate"].current, rows["Fill rate"].change) == ("86%", "down 6.5 percentage points from 92.5%")
    ratings = p.rating_comparisons(summary)
    assert [c.label for c in ratings] == ["Excellent", "Good", "Satisfactory", "Poor"]
    assert ratings[0].change == "up 10 percentage points from 50%"
    assert ratings[3].change == "up 5 percentage points from 0%"


@pytest.mark.parametrize("minutes, text", [(240, "4 hours"), (210, "3 hours 30 minutes"), (60, "1 hour"),
                                           (45, "45 minutes"), (0, "0 minutes"), (61, "1 hour 1 minute")])
def test_hours_label(minutes, text):
    assert p.hours_label(minutes) == text


def test_financial_year_links_count_back_from_londons_today():
    # 23:30 UTC on 31 March 2026 is already 1 April in London (British Summer Time).
    links = p.financial_year_links(datetime(2026, 3, 31, 23, 30, tzinfo=UTC))
    assert [link.label for link in links] == ["2026 to 2027 (this financial year)", "2025 to 2026", "2024 to 2025",
                                              "2023 to 2024"]
    assert links[0].period == Period(date(2026, 4, 1), date(2027, 3, 31)) and links[0].current
    assert links[3].period == Period(date(2023, 4, 1), date(2024, 3, 31)) and not links[3].current


def test_summary_view_labels():
    view = p.summary_view(handmade_summary())
    assert view.period_label == "1 April 2019 to 31 March 2020"
    assert view.previous_period_label == "1 April 2018 to 31 March 2019"
    assert view.half_day_hours == "4 hours"
    assert view.charts.by_agency is not None and view.charts.ratings is not None
