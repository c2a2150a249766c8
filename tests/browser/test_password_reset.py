"""Forgotten password and changing your email address in Chromium, with axe-core checking every
page: the links are read from the outbox rows, as a person would read them from their inbox."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import TEST_PASSWORD, UserFactory
from training.extensions import db
from training.notifications.models import MessageKind, Outbox

NEW_PASSWORD = "a brand new long passphrase"


def _link(kind: MessageKind, recipient: str) -> str:
    """The path of the link in the newest email of this kind to this address."""
    db.session.commit()
    body = db.session.scalar(select(Outbox.text_body).where(Outbox.kind == kind, Outbox.recipient == recipient)
                             .order_by(Outbox.id.desc()).limit(1))
    assert body is not None, (kind, recipient)
    return urlsplit(re.search(r"https?://\S+", body.split("\n\n", 1)[1]).group(0)).path


def test_forgotten_password_to_signing_in_with_the_new_one(page):
    UserFactory(email="forgetful@example.org", name="Fran Forgetful")
    page.goto("/sign-in")
    page.get_by_role("link", name="Forgotten your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    assert_accessible(page)

    page.get_by_role("button", name="Send reset link").click()
    expect(page).to_have_title(re.compile(r"^Error: Reset your password"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your email address")
    assert_accessible(page)

    page.get_by_label("Email address").fill("forgetful@example.org")
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    expect(page.locator("main")).to_contain_text("If there is an account for that email, we have sent a link")
    assert_accessible(page)

    path = _link(MessageKind.PASSWORD_RESET, "forgetful@example.org")
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill("not the same passphrase")
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("The passwords you entered do not match")
    assert_accessible(page)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your password has been changed")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    assert_accessible(page)

    sign_in(page, "forgetful@example.org", NEW_PASSWORD)
    page.goto("/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    # The link worked once.
    page.goto(path)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link has expired or has already been used")
    assert_accessible(page)


def test_changing_email_address(page):
    UserFactory(email="before@example.org", name="Cam Changer")
    sign_in(page, "before@example.org")
    page.goto("/account")
    expect(page.locator("main")).to_contain_text("Your consent to safeguarding updates")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Change email address")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change your email address")
    assert_accessible(page)

    page.get_by_label("New email address").fill("after@example.org")
    page.get_by_label("Your password").fill("not my password")
    page.get_by_role("button", name="Send confirmation link").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Your password is incorrect")
    assert_accessible(page)

    page.get_by_label("Your password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Send confirmation link").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "We have sent a link to after@example.org. Your email address will change when you use it.")
    expect(page.locator("main")).to_contain_text("before@example.org")
    assert_accessible(page)

    page.goto(_link(MessageKind.EMAIL_CHANGE, "after@example.org"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your new email address")
    expect(page.locator("main")).to_contain_text("after@example.org")
    assert_accessible(page)
    page.get_by_role("button", name="Confirm new email address").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text(
        "Your email address has been changed to after@example.org")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("main .govuk-summary-list")).to_contain_text("after@example.org")
    assert_accessible(page)
