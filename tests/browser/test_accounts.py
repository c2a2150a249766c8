"""Accounts journeys in Chromium, checking every page visited with axe-core."""
import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, CoordinatorFactory, UserFactory
from training.accounts.models import Role, User
from training.extensions import db

PASSWORD = "a long enough passphrase"


def _signed_in(page):
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_register_journey_with_errors_then_success(page):
    AgencyFactory(name="Thameside Council")
    page.goto("/register")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    assert_accessible(page)

    page.get_by_label("Full name").fill("Alex Morgan")
    page.get_by_label("Work email address").fill("not an email")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_title(re.compile(r"^Error: Create an account"))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter an email address in the correct format, like name@example.com")
    expect(summary).to_contain_text("Select your agency")
    expect(summary).to_contain_text("Enter a password")
    assert_accessible(page)  # the page with form errors

    page.get_by_label("Work email address").fill("Alex.Morgan@example.org")
    page.get_by_label("Agency").select_option(label="Thameside Council")
    page.get_by_label("Job title").fill("Family support worker")
    page.get_by_label("Line manager's name").fill("Jo Bloggs")
    page.get_by_label("Line manager's email address").fill("jo.bloggs@example.org")
    page.get_by_label("Email me safeguarding updates from the partnership").check()
    page.get_by_label("Create a password").fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your account has been created")
    _signed_in(page)
    assert_accessible(page)
    user = db.session.scalar(db.select(User).where(User.email == "alex.morgan@example.org"))
    assert user.roles == {Role.PROFESSIONAL} and user.consent_updates is True


def test_sign_in_error_then_sign_in_and_out(page):
    UserFactory(email="sam@example.org")
    page.goto("/sign-in")
    assert_accessible(page)
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Password", exact=True).fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a correct email address and password")
    assert_accessible(page)

    sign_in(page, "sam@example.org")
    _signed_in(page)
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("You have signed out")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    assert_accessible(page)


def test_sign_in_returns_to_the_page_asked_for(page):
    UserFactory(email="sam@example.org")
    page.goto("/account")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.get_by_label("Email address").fill("sam@example.org")
    page.get_by_label("Password", exact=True).fill("correct horse battery staple")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def test_account_page_edit_and_password_change(page):
    UserFactory(email="kim@example.org", name="Kim Lee", agency=AgencyFactory(name="Riverside Academy"))
    AgencyFactory(name="Northside School")
    sign_in(page, "kim@example.org")
    page.goto("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Riverside Academy")
    assert_accessible(page)

    page.get_by_role("link", name="Change your details").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your details")
    assert_accessible(page)
    page.get_by_label("Job title").fill("")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your job title")
    assert_accessible(page)
    page.get_by_label("Job title").fill("Deputy head")
    page.get_by_label("Agency").select_option(label="Northside School")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your details have been updated")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Deputy head")
    expect(page.locator(".govuk-summary-list")).to_contain_text("Northside School")

    page.get_by_label("Current password").fill("not it")
    page.get_by_label("New password", exact=True).fill("short")
    page.get_by_label("Confirm new password").fill("short")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Password must be 12 characters or more")
    assert_accessible(page)
    page.get_by_label("Current password").fill("correct horse battery staple")
    page.get_by_label("New password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm new password").fill(PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your password has been changed")


def test_coordinator_people_pages(page):
    CoordinatorFactory(email="cora@example.org", name="Cora Ordinator")
    UserFactory(name="Pat Practitioner", agency=AgencyFactory(name="Northside School"))
    sign_in(page, "cora@example.org")
    page.goto("/manage/people")
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    assert_accessible(page)

    page.get_by_label("Name or email address").fill("pat")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(1)
    assert_accessible(page)

    page.get_by_role("link", name="Pat Practitioner").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pat Practitioner")
    assert_accessible(page)
    page.get_by_label("Trainer").check()
    page.get_by_role("button", name="Save roles").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Roles updated for Pat Practitioner")
    expect(page.get_by_label("Trainer")).to_be_checked()
    page.get_by_role("button", name="Deactivate account").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("account has been deactivated")
    assert_accessible(page)


def test_coordinator_sees_an_error_removing_own_role(page):
    CoordinatorFactory(email="cora@example.org", name="Cora Ordinator")
    sign_in(page, "cora@example.org")
    page.goto("/manage/people")
    page.get_by_role("link", name="Cora Ordinator").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cora Ordinator")
    page.get_by_label("Coordinator").uncheck()
    page.get_by_role("button", name="Save roles").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("You cannot remove your own coordinator role")
    assert_accessible(page)


def test_coordinator_agency_pages(page):
    CoordinatorFactory(email="cora@example.org")
    AgencyFactory(name="Existing Agency")
    sign_in(page, "cora@example.org")
    page.goto("/manage/agencies")
    expect(page.get_by_role("heading", level=1)).to_have_text("Agencies")
    assert_accessible(page)

    page.get_by_role("button", name="Add an agency").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add an agency")
    assert_accessible(page)
    page.get_by_label("Agency name").fill("existing agency")
    page.get_by_role("button", name="Save agency").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the agency's sector")
    assert_accessible(page)
    page.get_by_label("Education").check()
    page.get_by_role("button", name="Save agency").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("An agency with this name already exists")
    page.get_by_label("Agency name").fill("Eastgate Surgery")
    page.get_by_label("Health").check()
    page.get_by_role("button", name="Save agency").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Eastgate Surgery has been added")

    page.get_by_role("link", name="Eastgate Surgery").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Edit Eastgate Surgery")
    assert_accessible(page)
    page.get_by_role("button", name="Deactivate agency").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Eastgate Surgery has been deactivated")
    expect(page.get_by_role("row", name=re.compile("Eastgate Surgery"))).to_contain_text("Deactivated")
    assert_accessible(page)
