"""History import in Chromium: a bad file, then upload, preview, import and the confirmation,
with axe-core checking every page."""
from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlalchemy import func, select

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import CoordinatorFactory
from tests.history.helpers import history_bytes, record
from training.booking.models import Booking
from training.extensions import db

GOOD = history_bytes(
    record(attendee_name="Ann Archer", attendee_email="ann@health.example", comment="Very clear"),
    record(attendee_name="Bob Baker", attendee_email="bob@school.example", agency="Hill School", sector="education",
           status="did-not-attend", rating=""),
    record(session_start="2024-06-04", session_end="", course_title="Prevent awareness", session_type="workshop",
           attendee_name="Ann Archer", attendee_email="ann@health.example"),
)
BAD = history_bytes(record(session_start="12/03/2024"), record(attendee_email="b@x.example", status="went"))


def _choose(page, name: str, data: bytes) -> None:
    page.get_by_label("Upload a CSV file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": data})
    page.get_by_role("button", name="Upload and check the file").click()


def test_upload_preview_import_and_confirmation(page):
    coordinator = CoordinatorFactory()
    sign_in(page, coordinator.email)

    page.goto("/manage/history-import/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import past training records")
    assert_accessible(page)

    page.get_by_role("button", name="Upload and check the file").click()
    expect(page).to_have_title(re.compile(r"^Error: Import past training records"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a CSV file")
    assert_accessible(page)

    _choose(page, "bad.csv", BAD)
    expect(page.locator(".govuk-error-summary")).to_contain_text("The selected file has 2 problems")
    problems = page.locator("table[data-problems]")
    expect(problems).to_contain_text("Enter the session start as a date like 2024-03-31 or 2024-03-31T09:30")
    expect(problems).to_contain_text("Status must be attended, did-not-attend or late-cancellation")
    assert_accessible(page)

    _choose(page, "spring 2024.csv", GOOD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the records before you import them")
    expect(page.locator('[data-count="bookings"]')).to_have_text("3")
    expect(page.locator('[data-count="people"]')).to_have_text("2")
    expect(page.locator("table[data-rows]")).to_contain_text("Bob Baker")
    assert_accessible(page)
    assert db.session.scalar(select(func.count(Booking.id))) == 0

    page.get_by_role("button", name="Import these records").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Records imported")
    expect(page.locator(".govuk-panel")).to_contain_text("3 new records from spring 2024.csv")
    expect(page.locator('[data-count="evaluations"]')).to_have_text("2")
    expect(page.locator("a[data-summary-link]")).to_have_attribute(
        "href", "/reports/summary?from=2024-03-12&to=2024-06-04")
    assert_accessible(page)
    db.session.commit()
    assert db.session.scalar(select(func.count(Booking.id))) == 3

    page.get_by_role("link", name="Import another file").click()
    expect(page.locator("table").last).to_contain_text("spring 2024.csv")
    expect(page.locator("table").last).to_contain_text("Imported")
    assert_accessible(page)


def test_discard_a_preview(page):
    coordinator = CoordinatorFactory()
    sign_in(page, coordinator.email)
    page.goto("/manage/history-import/")
    _choose(page, "autumn.csv", GOOD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the records before you import them")
    page.get_by_role("button", name="Discard").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("File discarded: nothing was imported")
    page.get_by_role("link", name="autumn.csv").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("This file was discarded")
    assert_accessible(page)
