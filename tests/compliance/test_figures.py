"""Computed compliance, red/amber/green edges, the overview (overdue lists, last year) and exports."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from tests.compliance.helpers import NARRATIVE, lead_of, lines, open_round, return_for, scrutineer, submitted
from tests.compliance.helpers import coordinator as services_coordinator
from tests.factories import AgencyFactory
from tests.sql import statements_of
from training.catalogue.models import Level
from training.compliance import exports, services
from training.compliance.models import ReturnLine, ReturnStatus
from training.compliance.services import LineFigures, Rag, percent_label, points_label, rag, tenths
from training.evaluation.results import Period
from training.extensions import db

# 1 July 2026, 00:30 in London (23:30 UTC the day before): the London date decides what is overdue.
NOW = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)


# ---------------------------------------------------------------------------
# Compliance %: computed, never typed
# ---------------------------------------------------------------------------

def test_compliance_is_none_with_nobody_in_scope():
    assert ReturnLine(staff_in_scope=0, trained_in_date=0).compliance is None
    assert ReturnLine(staff_in_scope=None, trained_in_date=None).compliance is None
    assert ReturnLine(staff_in_scope=3, trained_in_date=None).compliance is None
    assert ReturnLine(staff_in_scope=3, trained_in_date=2).compliance == pytest.approx(66.6667, abs=1e-3)
    assert tenths(0, 0) is None and percent_label(None) == "Not applicable"


def test_a_levels_compliance_is_not_given_until_both_figures_are_in():
    assert services.compliance_label(None, 10) == "Not given"
    assert services.compliance_label(3, None) == "Not given"
    assert services.compliance_label(0, 0) == "Not applicable"
    assert services.compliance_label(3, 4) == "75%"


def test_compliance_in_sql_matches_python():
    agency = AgencyFactory()
    round_ = open_round(2025, [agency])
    ret = return_for(round_, agency)
    services.save_draft(ret.id, lines(level_1=LineFigures(3, 2, 0), level_2=LineFigures(0, 0, 0),
                                      level_3=LineFigures(8, 8, 1)), NARRATIVE, lead_of(agency))
    got = dict(db.session.execute(select(ReturnLine.level, ReturnLine.compliance)
                                  .where(ReturnLine.return_id == ret.id)).all())
    assert got[Level.LEVEL_1] == pytest.approx(200 / 3)
    assert got[Level.LEVEL_2] is None
    assert got[Level.LEVEL_3] == pytest.approx(100.0)


@pytest.mark.parametrize(("trained", "in_scope", "shown"), [
    (2, 3, "66.6%"),  # 66.66...: rounded down, never up
    (1, 3, "33.3%"),
    (899, 1000, "89.9%"),
    (8999, 10000, "89.9%"),  # not "90%": a shown figure never reaches the target it misses
    (9, 10, "90%"),
    (0, 7, "0%"),
    (7, 7, "100%"),
])
def test_percentages_are_shown_to_one_decimal_place_rounded_down(trained, in_scope, shown):
    assert percent_label(tenths(trained, in_scope)) == shown


@pytest.mark.parametrize(("trained", "in_scope", "expected"), [
    (90, 100, Rag.GREEN),  # exactly the target: green
    (9, 10, Rag.GREEN),
    (8999, 10000, Rag.AMBER),  # a hair below the target
    (80, 100, Rag.AMBER),  # exactly target - margin: still amber
    (4, 5, Rag.AMBER),
    (7999, 10000, Rag.RED),
    (0, 10, Rag.RED),
    (0, 0, Rag.NONE),
    (None, 10, Rag.NONE),
])
def test_red_amber_green_edges(trained, in_scope, expected):
    assert rag(trained, in_scope) == expected


def test_red_amber_green_follows_the_configuration(app):
    app.config.update(COMPLIANCE_TARGET_PERCENT=95, COMPLIANCE_AMBER_MARGIN=5)
    try:
        assert rag(94, 100) == Rag.AMBER
        assert rag(95, 100) == Rag.GREEN
        assert rag(90, 100) == Rag.AMBER
        assert rag(89, 100) == Rag.RED
        assert "Green: 95% or more" in services.target_text()
    finally:
        app.config.update(COMPLIANCE_TARGET_PERCENT=90, COMPLIANCE_AMBER_MARGIN=10)


def test_change_in_points_wording():
    assert points_label(25) == "+2.5 points"
    assert points_label(-10) == "−1 point"
    assert points_label(0) == "No change"
    assert points_label(None) == "No comparison"


# ---------------------------------------------------------------------------
# The overview
# ---------------------------------------------------------------------------

@pytest.fixture
def two_years():
    """Last year's round and this year's, with returns in every state."""
    names = ["Alpha Academy", "Bravo Health", "Charlie Police", "Delta Housing", "Echo Church"]
    agencies = {name: AgencyFactory(name=name) for name in names}
    leads = {name: lead_of(agency) for name, agency in agencies.items()}
    the_scrutineer = scrutineer()
    last = open_round(2024, [agencies["Alpha Academy"], agencies["Bravo Health"]], due_on=date(2025, 6, 30))
    submitted(return_for(last, agencies["Alpha Academy"]), leads["Alpha Academy"], lines(in_scope=100, trained=70))
    submitted(return_for(last, agencies["Bravo Health"]), leads["Bravo Health"], lines(in_scope=10, trained=10))
    this = open_round(2025, list(agencies.values()), due_on=date(2026, 6, 30))
    # Alpha: submitted, 90% exactly (green), up 20 points on last year.
    submitted(return_for(this, agencies["Alpha Academy"]), leads["Alpha Academy"], lines(in_scope=100, trained=90))
    # Bravo: challenged, response due 30 June (London): overdue by 1 day on 1 July.
    bravo = submitted(return_for(this, agencies["Bravo Health"]), leads["Bravo Health"],
                      lines(in_scope=10, trained=8))
    services.challenge(bravo.id, "Explain the fall", date(2026, 6, 30), the_scrutineer,
                       datetime(2026, 6, 1, tzinfo=UTC))
    # Charlie: a draft with figures nobody else may see yet: overdue.
    services.save_draft(return_for(this, agencies["Charlie Police"]).id, lines(in_scope=50, trained=1), NARRATIVE,
                        leads["Charlie Police"])
    # Delta: not started: overdue. Echo: challenged, response due in the future: not overdue.
    echo = submitted(return_for(this, agencies["Echo Church"]), leads["Echo Church"], lines(in_scope=20, trained=15))
    services.challenge(echo.id, "Why so low?", date(2026, 7, 1), the_scrutineer, datetime(2026, 6, 1, tzinfo=UTC))
    return this


def test_overview_side_by_side(two_years):
    view = services.overview(two_years.id, NOW)
    assert view.today == date(2026, 7, 1)
    by_name = {row.agency: row for row in view.rows}
    assert list(by_name) == ["Alpha Academy", "Bravo Health", "Charlie Police", "Delta Housing", "Echo Church"]
    alpha, bravo, charlie, delta, echo = by_name.values()
    assert (alpha.status, alpha.percent_label, alpha.rag, alpha.previous_label, alpha.change_label) == (
        ReturnStatus.SUBMITTED, "90%", Rag.GREEN, "70%", "+20 points")
    assert (bravo.status, bravo.percent_label, bravo.rag, bravo.change_label) == (
        ReturnStatus.CHALLENGED, "80%", Rag.AMBER, "−20 points")
    # A draft's figures stay with its agency.
    assert (charlie.status, charlie.trained, charlie.percent_label, charlie.rag) == (
        ReturnStatus.DRAFT, None, "Not submitted", Rag.NONE)
    assert (delta.status, delta.previous_label, delta.change_label) == (
        ReturnStatus.NOT_STARTED, "No figures", "No comparison")
    assert (echo.percent_label, echo.rag) == ("75%", Rag.RED)
    # Totals over submitted returns: (450 + 40 + 75) / (500 + 50 + 100).
    assert (view.total_trained, view.total_in_scope, view.total_label) == (565, 650, "86.9%")
    assert view.counts[ReturnStatus.CHALLENGED] == 2 and view.previous_round.year == 2024


def test_overdue_lists_use_the_london_date(two_years):
    view = services.overview(two_years.id, NOW)
    assert [(o.row.agency, o.days) for o in view.overdue_returns] == [("Charlie Police", 1), ("Delta Housing", 1)]
    assert [(o.row.agency, o.due_on, o.days) for o in view.overdue_responses] == [
        ("Bravo Health", date(2026, 6, 30), 1)]
    # On the due date itself (30 June in London) nothing is overdue yet.
    on_the_day = services.overview(two_years.id, datetime(2026, 6, 30, 22, 59, tzinfo=UTC))
    assert on_the_day.overdue_returns == [] and on_the_day.overdue_responses == []


def _queries(round_id) -> list[str]:
    db.session.commit()
    db.session.expire_all()
    return [s for s in statements_of(lambda: services.overview(round_id, NOW)) if s.lstrip().upper().startswith("SELECT")]


def test_the_overview_is_aggregated_in_a_fixed_number_of_queries(two_years):
    before = _queries(two_years.id)
    # The round, last year's round, and one GROUP BY for each year.
    assert len(before) == 4, before
    services.add_agencies(two_years.id, [AgencyFactory().id for _ in range(6)], services_coordinator())
    assert len(_queries(two_years.id)) == len(before)


def test_summary_section_takes_a_year_or_a_period(two_years):
    assert services.summary_section(2025, NOW).round.id == two_years.id
    assert services.summary_section(Period(date(2025, 4, 1), date(2026, 3, 31)), NOW).round.id == two_years.id
    assert services.summary_section(Period(date(2026, 2, 1), date(2026, 3, 31)), NOW).round.id == two_years.id
    assert services.summary_section(2023, NOW) is None
    section = services.summary_section(2025, NOW)
    assert section.chart is not None and section.chart.src.startswith("data:image/svg+xml;base64,")
    assert "Alpha Academy" in section.chart.alt


def test_summary_section_template_renders(two_years, app):
    from flask import render_template

    with app.test_request_context():
        html = render_template("compliance/_summary_section.html",
                               compliance_section=services.summary_section(2025, NOW))
        assert "Single-agency compliance returns, 2025 to 2026" in html
        assert "Alpha Academy" in html and "+20 points" in html
        assert "Returns overdue: Charlie Police (1 day), Delta Housing (1 day)." in html
        assert render_template("compliance/_summary_section.html", compliance_section=None).strip() == ""


# ---------------------------------------------------------------------------
# Exports
# ---------------------------------------------------------------------------

def test_csv_export(two_years):
    data = exports.overview_csv(services.overview(two_years.id, NOW))
    assert data.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert table[0] == list(exports.HEADERS)
    assert table[1] == ["Alpha Academy", "Submitted", "500", "450", "90.0", "Green", "70.0", "20.0", "", ""]
    assert table[2] == ["Bravo Health", "Challenged", "50", "40", "80.0", "Amber", "100.0", "-20.0", "2026-06-30",
                        "Response overdue"]
    assert table[3] == ["Charlie Police", "Draft", "", "", "", "", "", "", "", "Return overdue"]
    assert table[-1][:6] == ["All submitted returns", "", "650", "565", "86.9", "Amber"]


def test_exports_guard_against_formulas():
    hostile = AgencyFactory(name="=HYPERLINK(\"http://evil.example\")")
    AgencyFactory(name="+cmd")
    round_ = open_round(2025, [hostile])
    view = services.overview(round_.id, NOW)
    table = list(csv.reader(io.StringIO(exports.overview_csv(view).decode("utf-8-sig"))))
    assert table[1][0] == "'=HYPERLINK(\"http://evil.example\")"
    sheet = load_workbook(io.BytesIO(exports.overview_xlsx(view))).active
    assert sheet["A2"].value == "'=HYPERLINK(\"http://evil.example\")"
    assert sheet["A2"].data_type == "s"
    for value in ("-1", "@SUM(A1)", "\tx", "\rx", "+1"):
        assert exports.guard(value) == "'" + value
    assert exports.guard(-2.5) == -2.5 and exports.guard("Alpha") == "Alpha"


def test_excel_export(two_years):
    sheet = load_workbook(io.BytesIO(exports.overview_xlsx(services.overview(two_years.id, NOW)))).active
    assert [c.value for c in sheet[1]] == list(exports.HEADERS)
    assert [c.value for c in sheet[2]][:8] == ["Alpha Academy", "Submitted", 500, 450, 90.0, "Green", 70.0, 20.0]
    assert sheet["H3"].value == -20.0  # a number, not text
    assert sheet.max_row == 7  # header, five agencies and the total
