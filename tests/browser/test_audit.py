"""The audit log in Chromium: a coordinator changes a role, then finds it in the log,
filters it, and meets the errors for a bad date, checking each page with axe-core."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import CoordinatorFactory, UserFactory
from training.accounts import services as accounts
from training.accounts.models import Role


def test_coordinator_finds_filters_and_mistypes_in_the_audit_log(page, app_ctx):
    coordinator = CoordinatorFactory(email="lead@example.org")
    person = UserFactory()
    accounts.set_roles(person, [Role.PROFESSIONAL, Role.TRAINER], actor=coordinator)
    accounts.set_active(person, False, actor=coordinator)

    sign_in(page, "lead@example.org")
    page.goto("/manage/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    table = page.get_by_role("table")
    expect(table).to_contain_text("2 events")
    expect(table.locator("tbody tr").first).to_contain_text("account.deactivated")
    expect(table).to_contain_text(f"Granted trainer to person {person.id}")
    expect(table).to_contain_text("lead@example.org")
    assert_accessible(page)

    page.get_by_label("Action starts with").fill("role")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("table")).to_contain_text("1 event")
    expect(page.get_by_role("table")).not_to_contain_text("account.deactivated")
    assert_accessible(page)

    page.get_by_role("group", name="From").get_by_label("Day").fill("31")
    page.get_by_role("group", name="From").get_by_label("Month").fill("2")
    page.get_by_role("group", name="From").get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_title(re.compile(r"^Error: Audit log"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Date from must be a real date")
    assert_accessible(page)

    page.get_by_role("link", name="Clear filters").click()
    expect(page.get_by_role("table")).to_contain_text("2 events")
