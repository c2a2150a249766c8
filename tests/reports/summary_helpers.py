"""Helpers for the summary's page, PDF, export and chart tests: a summary built by hand,
without the database (for the charts, the wording and the exports, whose tests should not
depend on how the figures are counted), and readers for the rendered page."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape
from html.parser import HTMLParser

from training.accounts.models import Sector
from training.evaluation.models import OverallRating
from training.evaluation.results import Period, Share, Shift
from training.reports.summary import (
    CancelledSession,
    CountRow,
    CourseRatings,
    DemandRow,
    Headline,
    NonAttendanceRow,
    OpenReview,
    RatingRow,
    Summary,
)

LONG_AGENCY = "Thameside and Riverside Integrated Children's Services Partnership Trust"
HOSTILE = '=HYPERLINK("http://evil.example","click")'


def _rows(pairs: list[tuple[str, int]]) -> list[CountRow]:
    total = sum(count for _label, count in pairs)
    return [CountRow(label, count, Share(count, total)) for label, count in pairs]


def _ratings(counts: list[int]) -> list[RatingRow]:
    total = sum(counts)
    return [RatingRow(rating, count, Share(count, total)) for rating, count in zip(OverallRating, counts, strict=True)]


def handmade_summary(agencies: int = 4, courses: int = 3) -> Summary:
    """A small summary with known figures; `agencies`/`courses` make the charts longer."""
    agency_rows = [(LONG_AGENCY, 120), ("Thameside Police", 80), ("Riverside Academy", 40), (HOSTILE, 10)]
    agency_rows += [(f"Agency {n}", 5) for n in range(max(0, agencies - len(agency_rows)))]
    course_rows = [("Multi-agency safeguarding (Level 2)", 150), ("Neglect: recognising and responding", 60),
                   ("Learning from local case reviews", 40)]
    course_rows += [(f"Course {n}", 2) for n in range(max(0, courses - len(course_rows)))]
    return Summary(
        period=Period(date(2019, 4, 1), date(2020, 3, 31)),
        previous_period=Period(date(2018, 4, 1), date(2019, 3, 31)),
        headline=Headline(training_sessions=26, workshops=3, cancelled_sessions=2, professionals_trained=670,
                          attendances=740, places_offered=860),
        previous_headline=Headline(training_sessions=30, workshops=1, cancelled_sessions=1,
                                   professionals_trained=600, attendances=740, places_offered=800),
        by_agency=_rows(agency_rows),
        by_sector=_rows([(Sector.HEALTH.label, 150), (Sector.EDUCATION.label, 100), (Sector.POLICE.label, 0)]),
        by_course=_rows(course_rows),
        ratings=_ratings([120, 60, 10, 10]),
        previous_ratings=_ratings([50, 50, 0, 0]),
        ratings_by_course=[CourseRatings("Multi-agency safeguarding (Level 2)",
                                         dict(zip(OverallRating, [100, 40, 5, 5], strict=True)))],
        shifts=[Shift("knowledge", 40, 2.5, 4.25), Shift("confidence", 30, 3.0, 4.0)],
        response_rate=Share(200, 250),
        follow_up_rate=Share(50, 250),
        non_attendance=[
            NonAttendanceRow(LONG_AGENCY, Sector.CHILDRENS_SOCIAL_CARE, 130, 3, 1, 3, 1, 3 * 5000 + 9000),
            NonAttendanceRow("Thameside Police", Sector.POLICE, 82, 0, 0, 0, 0, 0),
        ],
        demand=[DemandRow("Multi-agency safeguarding (Level 2)", 8, 240, 251, 4),
                DemandRow("Neglect: recognising and responding", 6, 180, 150, 0)],
        cancelled=[CancelledSession("Neglect: recognising and responding",
                                    datetime(2019, 10, 1, 8, 30, tzinfo=UTC), "The venue flooded")],
        quotable_comments=["Really practical and well paced", "Would recommend to every colleague"],
        open_reviews=[OpenReview(7, "Neglect: recognising and responding", datetime(2019, 9, 1, 8, 30, tzinfo=UTC),
                                 "Open", "More than 25% of overall ratings were Satisfactory or Poor")],
    )


# ---------------------------------------------------------------------------
# Reading the page
# ---------------------------------------------------------------------------

class _Tables(HTMLParser):
    """The rows of every table marked `data-table="name"`, as lists of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self._table = attrs["data-table"]
            self.tables[self._table] = []
        elif self._table and tag == "tr":
            self._row = []
        elif self._row is not None and tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.tables[self._table].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def page_tables(html: str) -> dict[str, list[list[str]]]:
    """{data-table name: rows (header row first), each a list of cell texts}."""
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def text_of(html: str) -> str:
    """The page's text with tags removed and whitespace collapsed, for phrases split over lines."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())
