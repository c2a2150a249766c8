"""What the subgroup summary page and its PDF show, worked out once for both.

The figures come from `summary.build_summary`; this module only words them: comparisons
with the previous period (with the change in words, never an arrow alone), money, and
the lists the page picks out (charges to send, courses where demand exceeded places).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..evaluation.results import Period, Share, financial_year
from ..timeutil import format_date, to_london
from . import charts, exports
from .summary import Summary

#: Quick links: this financial year and this many before it.
PAST_FINANCIAL_YEARS = 3


def pounds(pence: int) -> str:
    """'£90.00', '£1,250.50': whole pence, never a float."""
    sign = "-" if pence < 0 else ""
    pence = abs(pence)
    return f"{sign}£{pence // 100:,}.{pence % 100:02d}"


def period_label(period: Period) -> str:
    """'1 April 2026 to 31 March 2027'."""
    return f"{format_date(period.first)} to {format_date(period.last)}"


def financial_year_label(period: Period) -> str:
    """'2026 to 2027' for 1 April 2026 to 31 March 2027."""
    return f"{period.first.year} to {period.last.year}"


@dataclass(frozen=True)
class Comparison:
    """A figure now and in the previous period, and the change in words."""

    label: str
    current: str
    previous: str
    direction: str  # "up", "down", "same", or "none" when there is nothing to compare
    change: str  # "up 4 from 22", "down 2.5 percentage points from 80%", "no change"

    @property
    def arrow(self) -> str:
        return {"up": "▲", "down": "▼", "same": "="}.get(self.direction, "")


def compare_counts(label: str, current: int, previous: int) -> Comparison:
    """Two whole numbers: the change is a difference."""
    difference = current - previous
    if difference > 0:
        direction, change = "up", f"up {difference:,} from {previous:,}"
    elif difference < 0:
        direction, change = "down", f"down {-difference:,} from {previous:,}"
    else:
        direction, change = "same", f"no change from {previous:,}"
    return Comparison(label, f"{current:,}", f"{previous:,}", direction, change)


def compare_shares(label: str, current: Share, previous: Share) -> Comparison:
    """Two percentages: the change is in percentage points, to one decimal place."""
    if current.percent is None or previous.percent is None:
        return Comparison(label, current.percent_label, previous.percent_label, "none",
                          "no figure to compare with" if previous.percent is None else "no figure for this period")
    points = round(current.percent - previous.percent, 1)
    amount = f"{abs(points):g} percentage point{'' if abs(points) == 1 else 's'}"
    if points > 0:
        direction, change = "up", f"up {amount} from {previous.percent_label}"
    elif points < 0:
        direction, change = "down", f"down {amount} from {previous.percent_label}"
    else:
        direction, change = "same", f"no change from {previous.percent_label}"
    return Comparison(label, current.percent_label, previous.percent_label, direction, change)


def headline_comparisons(summary: Summary) -> list[Comparison]:
    """The annual-report figures, each compared with the previous period."""
    now, before = summary.headline, summary.previous_headline
    return [
        compare_counts("Training sessions delivered", now.training_sessions, before.training_sessions),
        compare_counts("Workshops delivered", now.workshops, before.workshops),
        compare_counts("Professionals trained", now.professionals_trained, before.professionals_trained),
        compare_counts("Total attendances", now.attendances, before.attendances),
        compare_counts("Places offered", now.places_offered, before.places_offered),
        compare_shares("Fill rate", now.fill_rate, before.fill_rate),
        compare_counts("Sessions cancelled", now.cancelled_sessions, before.cancelled_sessions),
    ]


def rating_comparisons(summary: Summary) -> list[Comparison]:
    """Each overall rating's share of the period's ratings against the previous period's."""
    before = {row.rating: row.share for row in summary.previous_ratings}
    return [compare_shares(row.rating.label, row.share, before.get(row.rating, Share(0, 0)))
            for row in summary.ratings]


@dataclass(frozen=True)
class QuickLink:
    label: str
    period: Period
    current: bool


def financial_year_links(now: datetime, count: int = PAST_FINANCIAL_YEARS) -> list[QuickLink]:
    """This financial year, then the `count` before it."""
    links = []
    year = financial_year(to_london(now).date())
    for index in range(count + 1):
        label = financial_year_label(year) + (" (this financial year)" if index == 0 else "")
        links.append(QuickLink(label, year, index == 0))
        year = financial_year(year.first.replace(year=year.first.year - 1))
    return links


@dataclass(frozen=True)
class SummaryView:
    """Everything the page and the PDF show, beyond the summary's own fields."""

    summary: Summary
    charts: charts.SummaryCharts
    period_label: str
    previous_period_label: str
    headline: list[Comparison]
    ratings: list[Comparison]
    half_day_hours: str  # "4 hours": the longest session charged at the half-day rate
    tables: list[exports.Table]


def hours_label(minutes: int) -> str:
    """'4 hours', '3 hours 30 minutes', '1 hour'."""
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'' if hours == 1 else 's'}")
    if rest or not hours:
        parts.append(f"{rest} minute{'' if rest == 1 else 's'}")
    return " ".join(parts)


def summary_view(summary: Summary) -> SummaryView:
    """The summary, its charts, and the wording the page and PDF share."""
    return SummaryView(
        summary=summary,
        charts=charts.summary_charts(summary),
        period_label=period_label(summary.period),
        previous_period_label=period_label(summary.previous_period),
        headline=headline_comparisons(summary),
        ratings=rating_comparisons(summary),
        half_day_hours=hours_label(summary.charges.half_day_max_minutes),
        tables=exports.tables(summary),
    )
