"""Privacy journeys in Chromium: the notice, your data, and a coordinator deleting a
person's data, checking every page with axe-core."""
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import CoordinatorFactory, UserFactory
from tests.privacy.conftest import LONG_AGO, delegate, session_at
from training.accounts.models import User
from training.extensions import db
from training.privacy import services


def test_privacy_notice_is_accessible(page):
    page.goto("/privacy")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy notice")
    expect(page.get_by_role("heading", name="How long we keep it")).to_be_visible()
    assert_accessible(page)


def test_person_sees_their_data_and_how_to_ask_for_deletion(page):
    history = delegate(session_at(LONG_AGO), comment="Use the escalation policy sooner")
    sign_in(page, history.user.email)
    page.goto("/account/my-data")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    expect(page.locator("main")).to_contain_text("Use the escalation policy sooner")
    expect(page.locator("main")).to_contain_text(history.certificate.code)
    expect(page.get_by_role("heading", name="Ask us to delete your account")).to_be_visible()
    assert_accessible(page)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download your data as a file (JSON)").click()
    assert download.value.suggested_filename == "my-data.json"


def test_coordinator_deletes_a_persons_data(page):
    coordinator = CoordinatorFactory()
    person = UserFactory(name="Robin Hart")
    sign_in(page, coordinator.email)
    page.goto(f"/manage/people/{person.id}/delete")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete Robin Hart's personal data")
    assert_accessible(page)

    page.get_by_role("button", name="Delete personal data").click()

    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        f"now show them as Anonymised person {person.id}")
    assert_accessible(page)
    db.session.rollback()  # end the test's read transaction to see what the server wrote
    assert services.is_anonymised(db.session.get(User, person.id))


def test_coordinator_cannot_delete_their_own_data(page):
    coordinator = CoordinatorFactory()
    CoordinatorFactory()
    sign_in(page, coordinator.email)
    page.goto(f"/manage/people/{coordinator.id}/delete")
    expect(page.locator("main")).to_contain_text("You cannot delete your own personal data")
    expect(page.get_by_role("button", name="Delete personal data")).to_have_count(0)
    assert_accessible(page)
