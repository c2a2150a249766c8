"""The subgroup summary of a year whose figures are known in advance (tests/reports/dataset.py)."""
from __future__ import annotations

import json
from datetime import date, time
from decimal import Decimal

import pytest

from tests.factories import AttendanceFactory, SessionFactory
from tests.reports.dataset import (
    A1,
    A2,
    A3,
    A4,
    A5,
    A6,
    A7,
    C1,
    C2,
    C3,
    C4,
    C5,
    W1,
    build_known_year,
    expected_for,
    known_year_plan,
)
from tests.sql import recorded_statements, statements_of
from training.accounts.models import Sector
from training.evaluation.models import OverallRating
from training.evaluation.results import Period
from training.extensions import db
from training.reports.summary import Charges, Headline, build_summary
from training.timeutil import london_to_utc, to_london

E, G, S, P = OverallRating


@pytest.fixture
def known():
    return build_known_year()


@pytest.fixture
def summary(known):
    db.session.expire_all()
    return build_summary(known.period)


def test_headline_is_the_annual_report_figures(known, summary):
    assert summary.period == Period(date(2019, 4, 1), date(2020, 3, 31))
    assert summary.headline == Headline(training_sessions=26, workshops=3, cancelled_sessions=2,
                                        professionals_trained=670, attendances=740, places_offered=835)
    assert summary.headline.__dict__ == known.headline.__dict__
    assert summary.headline.sessions_delivered == 29
    assert (summary.headline.fill_rate.count, summary.headline.fill_rate.total) == (740, 835)
    assert summary.headline.fill_rate.percent_label == "88.6%"


def test_attendance_by_agency_sector_and_course(known, summary):
    assert {r.key: r.count for r in summary.by_agency} == known.by_agency == {
        A1: 217, A2: 106, A3: 80, A4: 150, A5: 60, A6: 60, A7: 67}
    # Largest first, then by name; every share is of all 740 attendances.
    assert [r.label for r in summary.by_agency][:3] == [A1, A4, A2]
    assert {r.share.total for r in summary.by_agency + summary.by_sector + summary.by_course} == {740}
    assert summary.by_agency[0].share.percent_label == "29.3%"

    assert {r.key: r.count for r in summary.by_sector} == known.by_sector == {
        Sector.CHILDRENS_SOCIAL_CARE: 217, Sector.HEALTH: 210, Sector.EDUCATION: 186,
        Sector.VOLUNTARY_COMMUNITY: 67, Sector.POLICE: 60}
    assert [r.label for r in summary.by_sector] == [
        "Children's social care", "Health", "Education", "Voluntary and community", "Police"]

    assert [(r.label, r.count) for r in summary.by_course] == [
        (C1, 240), (C2, 150), (C3, 120), (C5, 90), (C4, 80), (W1, 60)]
    assert {r.key: r.count for r in summary.by_course} == known.by_course


def test_ratings_in_total_by_course_and_compared(known, summary):
    assert [(r.rating, r.count) for r in summary.ratings] == [(E, 292), (G, 144), (S, 24), (P, 24)]
    assert {r.rating: r.count for r in summary.ratings} == known.ratings
    assert summary.ratings_total == 484
    assert [r.share.percent_label for r in summary.ratings] == ["60.3%", "29.8%", "5%", "5%"]
    assert {c.course_title: c.counts for c in summary.ratings_by_course} == known.ratings_by_course
    assert [c.course_title for c in summary.ratings_by_course] == sorted(known.ratings_by_course)
    assert sum(c.total for c in summary.ratings_by_course) == 484
    assert [(r.rating, r.count) for r in summary.previous_ratings] == [(E, 5), (G, 3), (S, 0), (P, 1)]
    assert [(r, d.current, d.previous, d.change) for r, d in summary.rating_deltas][0] == (E, 292, 5, 287)


def test_learning_shift_and_response_rates(known, summary):
    for shift in summary.shifts:
        people, before, after = known.shifts[shift.key]
        assert shift.people == people and people > 0
        assert shift.before == pytest.approx(before)
        assert shift.after == pytest.approx(after)
    assert [s.key for s in summary.shifts] == ["knowledge", "confidence"]
    # Drafts do not count; walk-ins are never sent a form, so they are not in the denominator.
    assert (summary.response_rate.count, summary.response_rate.total) == known.response_rate == (484, 725)
    assert (summary.follow_up_rate.count, summary.follow_up_rate.total) == known.follow_up_rate == (121, 725)


def test_non_attendance_and_charges(known, summary):
    rows = {r.agency: r for r in summary.non_attendance}
    assert set(rows) == set(known.non_attendance)
    for agency, want in known.non_attendance.items():
        row = rows[agency]
        assert (row.sector, row.booked, row.did_not_attend, row.late_cancellations, row.half_days, row.full_days,
                row.charge_pence) == (want.sector, want.booked, want.did_not_attend, want.late_cancellations,
                                      want.half_days, want.full_days, want.charge_pence), agency
    assert (summary.did_not_attend, summary.late_cancellations) == (14, 5)
    # 4-hour DSL sessions are half days; the late cancellation on a cancelled session is free.
    assert (rows[A1].did_not_attend, rows[A1].late_cancellations, rows[A1].charge_pence) == (2, 0, 10_000)
    # Police: 2 DNAs on a 6-hour session, 1 late cancellation on another: 3 full days.
    assert (rows[A6].full_days, rows[A6].charge_pence, rows[A6].charge_pounds) == (3, 27_000, Decimal("270.00"))
    assert summary.charge_pence == known.charge_pence == 119_000
    assert rows[A2].did_not_attend_rate.label == "3 of 104 (2.9%)"
    assert [r.agency for r in summary.non_attendance] == sorted(rows)


def test_charges_follow_the_settings(known):
    charges = Charges(half_day_pence=4000, full_day_pence=7500, half_day_max_minutes=239)
    summary = build_summary(known.period, charges=charges)
    # Now the 4-hour DSL sessions are full days.
    want = expected_for(known_year_plan(), known.period, half_day_pence=4000, full_day_pence=7500,
                        half_day_max_minutes=239)
    assert {r.agency: (r.half_days, r.full_days, r.charge_pence) for r in summary.non_attendance} == {
        a: (w.half_days, w.full_days, w.charge_pence) for a, w in want.non_attendance.items()}
    assert {r.agency: r for r in summary.non_attendance}[A1].full_days == 2
    assert summary.charges == charges


def test_charges_default_to_the_app_settings(app, known):
    app.config.update(NON_ATTENDANCE_CHARGE_HALF_DAY_PENCE=1, NON_ATTENDANCE_CHARGE_FULL_DAY_PENCE=100)
    try:
        summary = build_summary(known.period)
    finally:
        app.config.update(NON_ATTENDANCE_CHARGE_HALF_DAY_PENCE=5000, NON_ATTENDANCE_CHARGE_FULL_DAY_PENCE=9000)
    rows = {r.agency: r for r in summary.non_attendance}
    assert rows[A4].charge_pence == 2 * 1 + 2 * 100


def test_demand_cancelled_comments_and_reviews(known, summary):
    assert {r.course_title: (r.sessions, r.places, r.requests, r.waiting) for r in summary.demand} == {
        c: (d.sessions, d.places, d.requests, d.waiting) for c, d in known.demand.items()}
    # Level 2: 240 places, 251 people asked (a DNA later on the waiting list counted once).
    assert [(r.course_title, r.places, r.requests) for r in summary.demand_exceeded] == [(C5, 90, 93), (C1, 240, 251)]
    assert [(c.course_title, c.starts_at, c.reason) for c in summary.cancelled] == known.cancelled
    assert [c.course_title for c in summary.cancelled] == [C1, C2]
    assert summary.quotable_comments == known.quotable_comments == [
        "More time for questions would help", "Really practical and well paced",
        "the case studies brought it to life", "Would recommend to every colleague"]
    assert [(r.course_title, r.status_label) for r in summary.open_reviews] == [
        (title, status.label) for title, status in known.open_reviews]
    assert [r.status_label for r in summary.open_reviews] == ["Open", "Open", "Actions agreed"]
    assert summary.open_reviews[2].session_starts_at is None


def test_previous_year_for_comparison(known, summary):
    assert summary.previous_period == Period(date(2018, 4, 1), date(2019, 3, 31))
    assert summary.previous_headline.__dict__ == known.previous_headline.__dict__
    assert summary.previous_headline == Headline(2, 1, 1, 22, 23, 85)
    assert [(name, d.current, d.previous, d.change) for name, _label, d in summary.deltas] == [
        ("training_sessions", 26, 2, 24), ("workshops", 3, 1, 2), ("professionals_trained", 670, 22, 648),
        ("attendances", 740, 23, 717), ("places_offered", 835, 85, 750), ("cancelled_sessions", 2, 1, 1)]


def test_figures_are_json_with_the_contract_keys(known, summary):
    figures = json.loads(json.dumps(summary.figures()))
    assert {k: figures[k] for k in known.contract_figures()} == known.contract_figures()
    reviews = figures.pop("open_reviews")
    assert figures == known.all_figures()
    assert [(r["course"], r["status"]) for r in reviews] == [(c, s.label) for c, s in known.open_reviews]
    assert figures["period"] == {"from": "2019-04-01", "to": "2020-03-31"}
    assert (figures["places_offered"], figures["fill_rate"], figures["cancelled_sessions"]) == (835, 88.6, 2)
    assert figures["ratings"] == {"excellent": 292, "good": 144, "satisfactory": 24, "poor": 24}
    assert figures["non_attendance_charge_pence"] == 119_000
    assert figures["non_attendance"][A6] == {"sector": "police", "booked": 61, "did_not_attend": 2,
                                             "late_cancellations": 1, "half_days": 0, "full_days": 3,
                                             "charge_pence": 27_000}
    assert figures["demand"][C1] == {"sessions": 8, "places": 240, "requests": 251, "waiting": 4, "exceeded": True}
    assert figures["response_rate"] == {"count": 484, "total": 725, "percent": 66.8}
    assert [c["starts_at"] for c in figures["cancelled"]] == [to_london(c[1]).isoformat() for c in known.cancelled]
    assert figures["cancelled"][0] == {"course": C1, "starts_at": "2020-02-14T09:30:00+00:00",
                                       "reason": "The trainer was unwell"}
    assert figures["previous"]["ratings"] == {"excellent": 5, "good": 3, "satisfactory": 0, "poor": 1}
    assert figures["previous"]["professionals_trained"] == 22
    assert figures["ratings_by_course"][W1] == {r.value: n for r, n in known.ratings_by_course[W1].items()}
    assert figures["quotable_comments"] == known.quotable_comments


def test_tables_for_the_exports(known, summary):
    tables = {title: (header, rows) for title, header, rows in summary.tables()}
    assert list(tables) == [
        "Headline figures", "Attendance by agency", "Attendance by sector", "Attendees per course",
        "Overall ratings", "Overall ratings by course", "Learning shift", "Response rates",
        "Non-attendance by agency", "Non-attendance charges", "Demand", "Cancelled sessions",
        "Quotable comments", "Open quality reviews"]
    assert all(len(title) <= 31 for title in tables)
    for header, rows in tables.values():
        assert all(len(row) == len(header) for row in rows)

    header, rows = tables["Headline figures"]
    assert rows[:4] == [["Training sessions delivered", 26, 2, 24], ["Workshops delivered", 3, 1, 2],
                        ["Professionals trained", 670, 22, 648], ["Attendances", 740, 23, 717]]
    assert rows[-1] == ["Fill rate (%)", 88.6, 27.1, None]
    _header, rows = tables["Attendance by agency"]
    assert rows[0] == [A1, 217, 29.3]
    _header, rows = tables["Overall ratings"]
    assert rows == [["Excellent", 292, 60.3, 5], ["Good", 144, 29.8, 3], ["Satisfactory", 24, 5.0, 0],
                    ["Poor", 24, 5.0, 1]]
    header, rows = tables["Non-attendance charges"]
    assert header[-1] == "Charge (£)"
    charged = {row[0]: row[1:] for row in rows}
    assert charged[A6] == [0, 3, Decimal("270.00")]
    assert charged[A3] == [3, 0, Decimal("150.00")]
    assert charged["Total"] == [13, 6, Decimal("1190.00")]  # 13 x £50 + 6 x £90
    _header, rows = tables["Demand"]
    assert [C1, 8, 240, 251, 4, "Yes"] in rows
    _header, rows = tables["Cancelled sessions"]
    assert rows[0][0] == C1 and rows[0][1].tzinfo is None and rows[0][2] == "The trainer was unwell"
    _header, rows = tables["Quotable comments"]
    assert rows == [[text] for text in known.quotable_comments]


def _count_queries(fn) -> int:
    return len(statements_of(fn).queries)


def test_query_count_does_not_grow_with_the_data():
    period = Period(date(2019, 4, 1), date(2020, 3, 31))
    session = SessionFactory(starts_at=london_to_utc(date(2019, 6, 3), time(9, 30)))
    AttendanceFactory(booking__session=session)
    db.session.expire_all()
    small = _count_queries(lambda: build_summary(period).figures())
    build_known_year()
    db.session.expire_all()
    large = _count_queries(lambda: build_summary(period).figures())
    assert small == large == 14


def test_same_figures_where_the_database_cannot_be_asked_to_materialise(known, monkeypatch):
    """Older SQLite (before 3.35) and PostgreSQL (before 12) get plain CTEs: same figures."""
    dialect = db.session.get_bind().dialect
    monkeypatch.setattr(dialect, "server_version_info", (3, 0) if dialect.name == "sqlite" else (11, 0))
    with recorded_statements() as statements:
        figures = json.loads(json.dumps(build_summary(known.period).figures()))
    assert statements and not any("MATERIALIZED" in s for s in statements)
    figures.pop("open_reviews")
    assert figures == known.all_figures()
