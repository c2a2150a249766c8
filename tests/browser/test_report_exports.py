"""The bookings and attendance exports page in Chromium: reached from Manage training, the
period form with its errors, and both downloads, with axe-core on every page state."""
from __future__ import annotations

import csv
import io
import re
from datetime import time, timedelta

from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    UserFactory,
)
from training.db import utcnow
from training.evaluation.results import current_financial_year
from training.timeutil import london_to_utc


def test_coordinator_downloads_bookings_and_attendance(page):
    coordinator = CoordinatorFactory()
    year = current_financial_year(utcnow())
    starts = london_to_utc(year.first + timedelta(days=20), time(10, 0))
    session = SessionFactory(course=CourseFactory(title="Neglect: spotting the signs"), starts_at=starts,
                             ends_at=starts + timedelta(hours=3), booking_closes_at=starts - timedelta(days=1))
    school = AgencyFactory(name="Hillside School")
    AttendanceFactory(booking=BookingFactory(session=session, user=UserFactory(name="Sam Teacher", agency=school)))
    BookingFactory(session=session, user=UserFactory(name="Pat Nurse", agency=AgencyFactory(name="NHS Trust")))

    sign_in(page, coordinator.email)
    page.goto("/manage/")
    page.get_by_role("link", name="Bookings and attendance").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Bookings and attendance")
    for legend in ("From", "To"):
        expect(page.get_by_role("group", name=legend, exact=True)).to_be_visible()
    expect(page.get_by_role("group", name="From").get_by_label("Year")).to_have_value(str(year.first.year))
    expect(page.get_by_role("table")).to_contain_text("Bookings")
    assert_accessible(page)

    # A wrong period: the form again, with a GOV.UK error summary.
    page.get_by_role("group", name="To").get_by_label("Day").fill("31")
    page.get_by_role("group", name="To").get_by_label("Month").fill("2")
    page.get_by_role("button", name="Show downloads").click()
    expect(page).to_have_title(re.compile(r"^Error: Bookings and attendance"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Date to must be a real date")
    assert_accessible(page)

    page.get_by_role("group", name="To").get_by_label("Day").fill(str(year.last.day))
    page.get_by_role("group", name="To").get_by_label("Month").fill(str(year.last.month))
    page.get_by_label("Agency (optional)").select_option(label="Hillside School")
    page.get_by_role("button", name="Show downloads").click()
    expect(page.locator("main")).to_contain_text("Hillside School only")
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("button", name="CSV file of bookings").click()
    assert download.value.suggested_filename.endswith("-hillside-school.csv")
    with open(download.value.path(), encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert [row[4] for row in rows[1:]] == ["Sam Teacher"]

    with page.expect_download() as download:
        page.get_by_role("button", name="Excel file of attendance").click()
    assert download.value.suggested_filename.endswith("-hillside-school.xlsx")
    with open(download.value.path(), "rb") as file:
        sheet = load_workbook(io.BytesIO(file.read()))["Attendance"]
    assert [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["Sam Teacher"]
