"""The subgroup summary in Chromium: the known year's figures and charts, the period form and
its errors, with axe-core checking every state of the page."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import CoordinatorFactory, UserFactory
from tests.reports.dataset import build_known_year


def test_coordinator_reads_the_known_year_and_chooses_another_period(page):
    coordinator = CoordinatorFactory()
    build_known_year()

    sign_in(page, coordinator.email)
    page.goto("/reports/summary")
    expect(page.get_by_role("heading", level=1)).to_have_text("Subgroup summary")
    assert_accessible(page)

    # Type the financial year 2019-20 into the date boxes.
    from_group = page.get_by_role("group", name="From")
    from_group.get_by_label("Day").fill("1")
    from_group.get_by_label("Month").fill("4")
    from_group.get_by_label("Year").fill("2019")
    to_group = page.get_by_role("group", name="To")
    to_group.get_by_label("Day").fill("31")
    to_group.get_by_label("Month").fill("3")
    to_group.get_by_label("Year").fill("2020")
    page.get_by_role("button", name="Show summary").click()
    expect(page.locator('[data-figure="annual-report"]')).to_have_text(
        re.compile(r"26 training sessions and\s+3 workshops, training\s+670 multi-agency professionals\."))
    assert page.url.endswith("/reports/summary?from=1&from=4&from=2019&to=31&to=3&to=2020")  # bookmarkable
    expect(page.locator('[data-table="by-agency"] tbody tr')).to_have_count(7)

    # Every chart is drawn (the CSP allows data: images) and has its alt text.
    images = page.locator("img.app-chart__image")
    expect(images).to_have_count(4)
    for i in range(4):
        image = images.nth(i)
        assert image.evaluate("img => img.complete && img.naturalWidth > 0"), i
        assert image.get_attribute("alt").startswith("Bar chart of ")
    assert_accessible(page)

    # The CSV downloads are listed in a details component.
    page.get_by_text("Download one table as CSV").click()
    expect(page.get_by_role("link", name=re.compile(r"^Attendance by agency"))).to_be_visible()
    assert_accessible(page)

    # Quick link to a financial year.
    page.get_by_role("link", name=re.compile(r"\(this financial year\)$")).click()
    expect(page.get_by_role("link", name=re.compile(r"\(this financial year\)$"))).to_have_attribute("aria-current", "page")
    assert_accessible(page)


def test_bad_dates_show_an_accessible_error(page):
    coordinator = CoordinatorFactory()
    sign_in(page, coordinator.email)
    page.goto("/reports/summary")
    from_group = page.get_by_role("group", name="From")
    from_group.get_by_label("Day").fill("30")
    from_group.get_by_label("Month").fill("2")
    from_group.get_by_label("Year").fill("2020")
    page.get_by_role("button", name="Show summary").click()
    expect(page).to_have_title(re.compile(r"^Error: Subgroup summary"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("From date must be a real date")
    assert_accessible(page)

    page.goto("/reports/summary?from=2020-04-01&to=2020-03-01")
    expect(page.locator(".govuk-error-summary")).to_contain_text("To date must be the same as or after the from date")
    assert_accessible(page)


def test_professionals_are_refused(page):
    person = UserFactory()
    sign_in(page, person.email)
    response = page.goto("/reports/summary")
    assert response.status == 403
