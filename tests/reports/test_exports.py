"""The summary's tables as CSV and Excel: the known year's figures read back with csv and
openpyxl, formula injection neutralised, file names, and the pure export functions."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from tests.factories import CoordinatorFactory
from tests.reports.dataset import A2, A7, build_known_year
from tests.reports.summary_helpers import HOSTILE, handmade_summary
from training.accounts.models import Agency
from training.evaluation.results import Period, Share
from training.extensions import db
from training.reports import exports
from training.reports.summary import build_summary

YEAR = "from=2019-04-01&to=2020-03-31"
PERIOD = Period(date(2019, 4, 1), date(2020, 3, 31))
FILE = "subgroup-summary-2019-04-01-to-2020-03-31"


@pytest.fixture
def known():
    return build_known_year()


@pytest.fixture
def coordinator(login_as):
    return login_as(CoordinatorFactory())


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf")  # the BOM, so Excel reads UTF-8
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"), newline="")))


def _workbook(response):
    assert response.status_code == 200
    assert response.mimetype == exports.XLSX_MIMETYPE
    return load_workbook(io.BytesIO(response.data))


# ---------------------------------------------------------------------------
# Over HTTP, with the known year
# ---------------------------------------------------------------------------

def test_csv_of_attendance_by_agency_has_the_known_figures(coordinator, known):
    response = coordinator.get(f"/reports/summary.csv?table=attendance-by-agency&{YEAR}")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{FILE}-attendance-by-agency.csv"'
    assert response.headers["Cache-Control"] == "no-store"
    rows = _csv(response)
    assert rows[0] == ["Agency", "Attendances", "Share of attendances (%)"]
    total = known.headline.attendances
    assert {row[0]: (int(row[1]), float(row[2])) for row in rows[1:]} == {
        agency: (n, round(100 * n / total, 1)) for agency, n in known.by_agency.items()}
    assert b"\r\n" in response.data


def test_csv_headline_and_charges(coordinator, known):
    rows = _csv(coordinator.get(f"/reports/summary.csv?table=headline-figures&{YEAR}"))
    figures = {row[0]: row[1:] for row in rows[1:]}
    assert figures["Training sessions delivered"][0] == "26"
    assert figures["Workshops delivered"][0] == "3"
    assert figures["Professionals trained"][0] == "670"
    assert figures["Attendances"][:2] == [str(known.headline.attendances), str(known.previous_headline.attendances)]
    rows = _csv(coordinator.get(f"/reports/summary.csv?table=non-attendance-charges&{YEAR}"))
    charges = {row[0]: row[1:] for row in rows[1:]}
    for agency, expected in known.non_attendance.items():
        assert charges[agency] == [str(expected.half_days), str(expected.full_days),
                                   f"{expected.charge_pence // 100}.{expected.charge_pence % 100:02d}"]
    assert Decimal(charges["Total"][2]) == Decimal(known.charge_pence) / 100


def test_every_table_downloads_as_csv_equal_to_the_summary(coordinator, known):
    summary = build_summary(PERIOD)
    tables = exports.tables(summary)
    assert len(tables) >= 10
    for table in tables:
        rows = _csv(coordinator.get(f"/reports/summary.csv?table={table.slug}&{YEAR}"))
        assert rows[0] == table.header, table.slug
        assert rows[1:] == [[exports.csv_text(v) for v in row] for row in table.rows], table.slug


def test_unknown_or_missing_table_is_404(coordinator, known):
    assert coordinator.get(f"/reports/summary.csv?table=people&{YEAR}").status_code == 404
    assert coordinator.get(f"/reports/summary.csv?{YEAR}").status_code == 404
    assert coordinator.get("/reports/summary.csv?table=" + "x" * 5000).status_code == 404


def test_workbook_has_a_sheet_per_table_with_the_known_figures(coordinator, known):
    response = coordinator.get(f"/reports/summary.xlsx?{YEAR}")
    assert response.headers["Content-Disposition"] == f'attachment; filename="{FILE}.xlsx"'
    workbook = _workbook(response)
    tables = exports.tables(build_summary(PERIOD))
    assert workbook.sheetnames == exports.sheet_titles(t.title for t in tables)
    assert all(len(name) <= 31 for name in workbook.sheetnames)
    assert len({name.casefold() for name in workbook.sheetnames}) == len(workbook.sheetnames)
    agencies = workbook["Attendance by agency"]
    assert [c.value for c in agencies[1]] == ["Agency", "Attendances", "Share of attendances (%)"]
    assert {row[0]: row[1] for row in agencies.iter_rows(min_row=2, values_only=True)} == known.by_agency
    assert all(isinstance(row[1], int) for row in agencies.iter_rows(min_row=2, values_only=True))
    headline = {row[0]: row[1] for row in workbook["Headline figures"].iter_rows(min_row=2, values_only=True)}
    assert (headline["Training sessions delivered"], headline["Workshops delivered"],
            headline["Professionals trained"]) == (26, 3, 670)
    ratings = {row[0]: row[1] for row in workbook["Overall ratings"].iter_rows(min_row=2, values_only=True)}
    assert ratings == {rating.label: n for rating, n in known.ratings.items()}
    charges = {row[0]: row[3] for row in workbook["Non-attendance charges"].iter_rows(min_row=2, values_only=True)}
    assert charges["Total"] == known.charge_pence / 100
    cancelled = list(workbook["Cancelled sessions"].iter_rows(min_row=2, values_only=True))
    assert [(c, r) for c, _when, r in cancelled] == [(c, r) for c, _s, r in known.cancelled]
    assert all(isinstance(when, datetime) for _c, when, _r in cancelled)


def test_every_sheet_equals_its_table(coordinator, known):
    workbook = _workbook(coordinator.get(f"/reports/summary.xlsx?{YEAR}"))
    tables = exports.tables(build_summary(PERIOD))
    for name, table in zip(workbook.sheetnames, tables, strict=True):
        sheet = workbook[name]
        assert [c.value for c in sheet[1]] == table.header
        got = [list(row) for row in sheet.iter_rows(min_row=2, values_only=True)]
        # Empty text reads back as an empty cell; Decimal pounds as a number of equal value.
        want = [[None if v == "" else v for v in (exports.plain(v) for v in row)] for row in table.rows]
        assert got == want, name


def test_formula_injection_is_neutralised_in_csv_and_excel(coordinator, known):
    db.session.execute(update(Agency).where(Agency.name == A2).values(name=HOSTILE))
    db.session.execute(update(Agency).where(Agency.name == A7).values(name="@SUM(1+1)*cmd|' /C calc'!A0"))
    db.session.commit()
    rows = _csv(coordinator.get(f"/reports/summary.csv?table=attendance-by-agency&{YEAR}"))
    names = [row[0] for row in rows[1:]]
    assert "'" + HOSTILE in names and "'@SUM(1+1)*cmd|' /C calc'!A0" in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)

    workbook = _workbook(coordinator.get(f"/reports/summary.xlsx?{YEAR}"))
    cells = {c.value: c for (c, *_rest) in workbook["Attendance by agency"].iter_rows(min_row=2)}
    for text in (HOSTILE, "@SUM(1+1)*cmd|' /C calc'!A0"):
        cell = cells[text]  # exactly what was typed, shown as text
        assert cell.data_type == "s" and cell.quotePrefix, text
    formulas = [c for sheet in workbook for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []


def test_the_exports_use_the_period_in_the_address(coordinator, known):
    response = coordinator.get("/reports/summary.csv?table=attendance-by-agency&from=2018-04-01&to=2019-03-31")
    assert 'filename="subgroup-summary-2018-04-01-to-2019-03-31-attendance-by-agency.csv"' in \
        response.headers["Content-Disposition"]
    rows = _csv(response)
    assert sum(int(row[1]) for row in rows[1:]) == known.previous_headline.attendances


# ---------------------------------------------------------------------------
# The pure functions
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    ("=1+2", "'=1+2"), ("+44 20 7946 0000", "'+44 20 7946 0000"), ("-3", "'-3"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\tTab", "'\tTab"), ("\rCR", "'\rCR"), ("Plain text", "Plain text"), ("a=b", "a=b"), ("", ""),
    (-3, "-3"), (12, "12"), (2.5, "2.5"), (Decimal("90.00"), "90.00"), (None, ""), (True, "Yes"),
    (date(2020, 3, 31), "2020-03-31"),
    (datetime(2019, 7, 1, 8, 30, tzinfo=UTC), "2019-07-01 09:30"),  # London time (BST)
    (Share(1, 4), "25%"),
])
def test_csv_text(value, text):
    assert exports.csv_text(value) == text


def test_csv_round_trips_commas_quotes_and_line_breaks():
    table = exports.Table("t", "T", ["Name", "Count"], [['Smith, "Jo"\nline two', 3], ["Zoë", 0]])
    data = exports.csv_bytes(table)
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""))) == [
        ["Name", "Count"], ['Smith, "Jo"\nline two', "3"], ["Zoë", "0"]]


def test_sheet_titles_are_short_allowed_and_unique():
    titles = exports.sheet_titles([
        "Attendance by agency", "Attendance by agency", "attendance BY agency",
        "A title that is much longer than thirty-one characters", "A title that is much longer than thirty-one characters",
        "What? [draft] a/b\\c*d:e", "'quoted'", "",
    ])
    assert titles[:3] == ["Attendance by agency", "Attendance by agency (2)", "attendance BY agency (3)"]
    assert titles[3] == "A title that is much longer tha" and len(titles[3]) == 31
    assert titles[4] == "A title that is much longer (2)" and len(titles[4]) <= 31
    assert titles[5] == "What draft a b c d e"
    assert titles[6] == "quoted"
    assert titles[7] == "Table"
    assert len({t.casefold() for t in titles}) == len(titles)


def test_workbook_drops_characters_excel_cannot_hold_and_keeps_types():
    when = datetime(2019, 12, 1, 10, 0, tzinfo=UTC)
    table = exports.Table("t", "Odd values", ["Text", "Number", "When", "Money"],
                          [["bell\x07 and nul\x00", -3, when, Decimal("90.00")], [None, 1.5, date(2020, 1, 2), None]])
    workbook = load_workbook(io.BytesIO(exports.xlsx_bytes([table], PERIOD)))
    sheet = workbook["Odd values"]
    assert [c.value for c in sheet[1]] == ["Text", "Number", "When", "Money"]
    assert sheet["A1"].font.bold
    assert sheet.freeze_panes == "A2"
    row = [c.value for c in sheet[2]]
    assert row == ["bell and nul", -3, datetime(2019, 12, 1, 10, 0), 90]
    assert sheet["B2"].data_type == "n" and not sheet["B2"].quotePrefix  # a negative number stays a number
    assert sheet["C3"].value == datetime(2020, 1, 2, 0, 0)
    assert workbook.properties.title == "Subgroup summary 2019-04-01 to 2020-03-31"


def test_an_empty_workbook_still_opens():
    workbook = load_workbook(io.BytesIO(exports.xlsx_bytes([], PERIOD)))
    assert workbook.sheetnames == ["Summary"]


def test_slugs_are_unique_and_lookup_by_slug():
    class Twice:
        def tables(self):
            return [("Demand", ["A"], [[1]]), ("Demand", ["B"], [[2]]), ("Ratings: per course!", ["C"], [])]

    tables = exports.tables(Twice())
    assert [t.slug for t in tables] == ["demand", "demand-2", "ratings-per-course"]
    assert exports.find_table(Twice(), "demand-2").header == ["B"]
    assert exports.find_table(Twice(), "nope") is None


def test_handmade_summary_exports_every_table():
    summary = handmade_summary()
    tables = exports.tables(summary)
    workbook = load_workbook(io.BytesIO(exports.xlsx_bytes(tables, summary.period)))
    assert len(workbook.sheetnames) == len(tables)
    hostile = [c for sheet in workbook for row in sheet.iter_rows() for c in row if c.value == HOSTILE]
    assert hostile and all(c.data_type == "s" and c.quotePrefix for c in hostile)


def test_filenames():
    assert exports.filename(PERIOD, "xlsx") == f"{FILE}.xlsx"
    assert exports.filename(PERIOD, "csv", "demand") == f"{FILE}-demand.csv"
