"""Safeguarding-updates bulletins in Chromium, with axe-core checking every page: a coordinator
writes a bulletin (making a mistake first), previews it and sends it; a recipient follows the
unsubscribe link from the email, sees the button page, unsubscribes and sees the confirmation."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, CoordinatorFactory, UserFactory
from training.accounts.models import ConsentRecord, ConsentSource, Sector, User
from training.extensions import db
from training.notifications.models import Bulletin, Outbox
from training.notifications.outbox import headers_of


def test_a_coordinator_writes_previews_and_sends_a_bulletin_and_a_recipient_unsubscribes(page):
    hospital = AgencyFactory(name="Thameside Hospital", sector=Sector.HEALTH)
    school = AgencyFactory(name="Thameside Primary", sector=Sector.EDUCATION)
    nurse = UserFactory(agency=hospital, consent_updates=True, name="Nia Nurse")
    UserFactory(agency=hospital, consent_updates=False)
    UserFactory(agency=school, consent_updates=True)
    coordinator = CoordinatorFactory()

    sign_in(page, coordinator.email)
    page.goto("/manage/bulletins")
    expect(page.get_by_role("heading", level=1)).to_have_text("Safeguarding updates")
    expect(page.locator("#consenting")).to_have_text("2 people currently agree to receive updates.")
    assert_accessible(page)

    page.get_by_role("button", name="Write a bulletin").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Write a bulletin")
    assert_accessible(page)
    page.get_by_label("Bulletin text").fill("The neglect strategy is out.\n\nThe next forum is on 9 July.")
    page.get_by_role("button", name="Save and check").click()
    expect(page).to_have_title(re.compile(r"^Error: Write a bulletin"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a subject")
    assert_accessible(page)

    page.get_by_label("Subject").fill("Safeguarding update: July")
    page.get_by_label("Sector (optional)").select_option("health")
    page.get_by_role("button", name="Save and check").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Draft saved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Safeguarding update: July")
    expect(page.locator("#will-send")).to_have_text("This will be sent to 1 person.")
    expect(page.locator("#preview")).to_contain_text("The next forum is on 9 July.")
    assert_accessible(page)

    page.get_by_role("button", name="Send bulletin to 1 person").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Bulletin sent to 1 person")
    expect(page.locator("#recipient-count")).to_have_text("1")
    expect(page.get_by_role("button", name=re.compile("Send bulletin"))).to_have_count(0)
    assert_accessible(page)
    page.get_by_role("link", name="Safeguarding updates").first.click()
    expect(page.locator("main")).to_contain_text("There are no drafts.")
    assert_accessible(page)
    page.get_by_role("button", name="Sign out").click()

    db.session.rollback()  # end the test's read snapshot to see what the server wrote
    assert db.session.scalars(select(Bulletin)).one().recipient_count == 1
    message = db.session.scalars(select(Outbox)).one()
    assert message.recipient == nurse.email
    link = headers_of(message)["List-Unsubscribe"][1:-1]
    assert link in message.text_body

    # The recipient, signed out, follows the link from the email.
    page.goto(urlsplit(link).path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe from safeguarding updates")
    assert_accessible(page)
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You have unsubscribed")
    assert_accessible(page)

    page.goto(urlsplit(link).path + "x")
    expect(page.get_by_role("heading", level=1)).to_have_text("This unsubscribe link is not valid")
    assert_accessible(page)

    db.session.rollback()
    assert db.session.get(User, nurse.id).consent_updates is False
    [record] = db.session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == nurse.id))
    assert record.consented is False and record.source == ConsentSource.UNSUBSCRIBE_LINK
