"""The bookings and attendance exports page and its downloads: who may use them, the period
form and its errors, the files' headers, downloads only by POST, and nothing personal in the logs."""
from __future__ import annotations

import csv
import html as html_lib
import io
import logging
import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CoordinatorFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from training.accounts.models import Agency
from training.audit.models import AuditEvent
from training.db import utcnow
from training.evaluation.results import current_financial_year
from training.extensions import db
from training.timeutil import london_to_utc

PAGE = "/reports/exports/"


def period_args(first: date, last: date, **extra) -> dict:
    return {"date_from": [str(first.day), str(first.month), str(first.year)],
            "date_to": [str(last.day), str(last.month), str(last.year)], **extra}


def text_of(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def input_value(html: str, input_id: str) -> str:
    tag = re.search(rf'<input [^>]*id="{input_id}"[^>]*>', html)
    assert tag, f"no input {input_id}"
    value = re.search(r'value="([^"]*)"', tag[0])
    return value[1] if value else ""


def audit_count() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


@pytest.fixture
def coordinator():
    return CoordinatorFactory()


@pytest.fixture
def manager(coordinator, login_as):
    return login_as(coordinator)


@pytest.fixture
def this_year_session():
    """A session in the current financial year, with one booked person who attended."""
    year = current_financial_year(utcnow())
    starts = london_to_utc(year.first + timedelta(days=10), time(9, 30))
    session = SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=3),
                             booking_closes_at=starts - timedelta(days=1))
    person = UserFactory(name="Private Person", email="private.person@example.org",
                         agency=AgencyFactory(name="Riverside Academy"))
    AttendanceFactory(booking=BookingFactory(session=session, user=person))
    return session


DOWNLOADS = ["/reports/exports/bookings.csv", "/reports/exports/bookings.xlsx",
             "/reports/exports/attendance.csv", "/reports/exports/attendance.xlsx"]
#: The page is a GET (it only reads); each download is a POST (it writes to the audit log).
REQUESTS = [("GET", PAGE)] + [("POST", url) for url in DOWNLOADS]


@pytest.mark.parametrize(("method", "url"), REQUESTS)
def test_anonymous_people_are_sent_to_sign_in(client, method, url):
    response = client.open(url, method=method)
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
    assert audit_count() == 0


@pytest.mark.parametrize(("method", "url"), REQUESTS)
@pytest.mark.parametrize("make", [UserFactory, TrainerFactory])
def test_professionals_and_trainers_are_refused(login_as, method, url, make, this_year_session):
    assert login_as(make()).open(url, method=method).status_code == 403
    assert audit_count() == 0


def test_unknown_export_kinds_and_formats_are_not_found(manager):
    for url in ("/reports/exports/people.csv", "/reports/exports/bookings.pdf", "/reports/exports/bookings"):
        assert manager.get(url).status_code == 404
        assert manager.post(url).status_code == 404


@pytest.mark.parametrize("url", DOWNLOADS)
def test_a_get_never_downloads_or_writes_to_the_audit_log(manager, this_year_session, url):
    year = current_financial_year(utcnow())
    response = manager.get(url, query_string=period_args(year.first, year.last))
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    assert "Content-Disposition" not in response.headers
    assert "Private Person" not in response.get_data(as_text=True)
    assert audit_count() == 0


def test_page_defaults_to_this_financial_year_with_counts_and_buttons(manager, this_year_session):
    year = current_financial_year(utcnow())
    AgencyFactory(name="Zebra Nursery")
    response = manager.get(PAGE)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert input_value(html, "date_from-day") == str(year.first.day)
    assert input_value(html, "date_from-month") == str(year.first.month)
    assert input_value(html, "date_to-year") == str(year.last.year)
    text = text_of(response)
    assert "Bookings and attendance" in text and "all agencies" in text
    assert "Riverside Academy" in text and "Zebra Nursery" in text  # the agency choices
    # One POST form per file, with the CSRF token, its address holding the period.
    forms = re.findall(r'<form method="(\w+)" action="(/reports/exports/([a-z]+\.(?:csv|xlsx))\?[^"]+)"', html)
    assert sorted(name for _method, _action, name in forms) == sorted(url.rsplit("/", 1)[1] for url in DOWNLOADS)
    assert {method for method, _action, _name in forms} == {"post"}
    first = year.first
    assert all(f"date_from={first.day}&amp;date_from={first.month}&amp;date_from={first.year}" in action
               for _method, action, _name in forms)
    table = html[html.index('<table class="govuk-table">'):]
    assert table.count('name="csrf_token"') == 4
    assert "href=\"/reports/exports/bookings" not in html  # no download is a link any more
    buttons = re.findall(r'<button type="submit"[^>]*>\s*(.*?)\s*</button>', html, re.S)
    assert buttons[-4:] == [f'{fmt}<span class="govuk-visually-hidden"> file of {kind}</span>'
                            for kind in ("bookings", "attendance") for fmt in ("CSV", "Excel")]
    rows = re.findall(r'govuk-table__cell--numeric">([^<]+)<', html)
    assert rows == ["1", "1"]
    assert audit_count() == 0  # looking at the page is not a download


def test_page_for_one_agency(manager, this_year_session):
    agency = db.session.scalar(select(Agency.id).where(Agency.name == "Riverside Academy"))
    other = AgencyFactory(name="Other Agency")
    year = current_financial_year(utcnow())
    text = text_of(manager.get(PAGE, query_string=period_args(year.first, year.last, agency=str(agency))))
    assert "Riverside Academy only" in text
    html = manager.get(PAGE, query_string=period_args(year.first, year.last, agency=str(other.id))).get_data(
        as_text=True)
    assert re.findall(r'govuk-table__cell--numeric">([^<]+)<', html) == ["0", "0"]
    assert f"agency={other.id}" in html


@pytest.mark.parametrize(("args", "message"), [
    (period_args(date(2025, 4, 1), date(2025, 3, 31)), "Date to must be the same as or after date from"),
    ({"date_from": ["31", "2", "2025"], "date_to": ["1", "3", "2025"]}, "Date from must be a real date"),
    ({"date_from": ["1", "", "2025"], "date_to": ["1", "3", "2025"]}, "Date from must include a month"),
    ({"date_from": ["1", "4", "25"], "date_to": ["1", "3", "2026"]}, "Year must include 4 numbers"),
    ({"date_from": ["1", "4", "1999"], "date_to": ["1", "3", "2026"]}, "Date from must be a real date"),
    ({"date_from": ["1", "4", "2025"], "date_to": ["", "", ""]}, "Enter the date to"),
    ({"date_from": ["", "", ""], "date_to": ["1", "4", "2025"]}, "Enter the date from"),
    ({"date_from": ["x", "4", "2025"], "date_to": ["1", "4", "2026"]}, "Date from must be a real date"),
    (period_args(date(2025, 4, 1), date(2026, 3, 31), agency="999999"), "Select an agency from the list"),
    (period_args(date(2025, 4, 1), date(2026, 3, 31), agency="abc"), "Select an agency from the list"),
])
@pytest.mark.parametrize(("method", "url"), [
    ("GET", PAGE), ("POST", "/reports/exports/bookings.csv"), ("POST", "/reports/exports/attendance.xlsx")])
def test_a_wrong_period_or_agency_shows_the_form_with_an_error(manager, method, url, args, message):
    response = manager.open(url, method=method, query_string=args)
    assert response.status_code == 400
    assert response.mimetype == "text/html"
    text = text_of(response)
    assert "There is a problem" in text and message in text
    assert "Correct the period to see the downloads" in text
    assert audit_count() == 0


def test_download_csv(manager, this_year_session, coordinator):
    year = current_financial_year(utcnow())
    response = manager.post("/reports/exports/bookings.csv", query_string=period_args(year.first, year.last))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="bookings-{year.first.isoformat()}-to-{year.last.isoformat()}.csv"')
    assert response.headers["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[1][4:7] == ["Private Person", "private.person@example.org", "Riverside Academy"]
    event = db.session.scalar(select(AuditEvent))
    assert event.actor_id == coordinator.id and event.action == "export.period_bookings"


def test_download_with_no_dates_is_this_financial_year(manager, this_year_session):
    response = manager.post("/reports/exports/attendance.xlsx")
    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    year = current_financial_year(utcnow())
    assert f"attendance-{year.first.isoformat()}-to-{year.last.isoformat()}.xlsx" in (
        response.headers["Content-Disposition"])
    assert response.get_data()[:2] == b"PK"  # a zip: the xlsx container
    assert db.session.scalar(select(AuditEvent.action)) == "export.period_attendance"


def test_downloads_log_no_names_or_emails(manager, this_year_session, caplog):
    with caplog.at_level(logging.DEBUG):
        for kind in ("bookings", "attendance"):
            for fmt in ("csv", "xlsx"):
                assert manager.post(f"/reports/exports/{kind}.{fmt}").status_code == 200
    assert "Private Person" not in caplog.text and "private.person@example.org" not in caplog.text
    assert audit_count() == 4
