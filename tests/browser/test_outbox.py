"""The outbox in Chromium, with axe-core checking every page: a coordinator looks at the outbox,
filters the failed messages, opens one and sends it again."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import CoordinatorFactory
from training.extensions import db
from training.notifications.models import MessageKind, MessageStatus, Outbox

CREATED = datetime(2026, 3, 31, 8, 30, tzinfo=UTC)
FAILED_SUBJECT = "Booking confirmed: Child protection level 2 on 14 April 2026"


def _outbox() -> Outbox:
    """A sent, a queued and a failed message, and a private one; returns the failed one."""
    def add(**values) -> Outbox:
        message = Outbox(**{"kind": MessageKind.BOOKING_CONFIRMED, "recipient": "sam@example.org",
                            "text_body": "Hello Sam\n\nYour place is confirmed.", "html_body": "<p>Hello Sam</p>",
                            "next_attempt_at": CREATED, **values})
        db.session.add(message)
        return message

    add(subject="Reminder: Neglect level 3 tomorrow", kind=MessageKind.REMINDER, status=MessageStatus.SENT,
        attempts=1, sent_at=CREATED, created_at=CREATED - timedelta(days=1))
    add(subject="Reset your password", kind=MessageKind.PASSWORD_RESET, status=MessageStatus.QUEUED,
        created_at=CREATED - timedelta(hours=2), text_body="https://training.example/reset/SECRET")
    failed = add(subject=FAILED_SUBJECT, status=MessageStatus.FAILED, attempts=10, created_at=CREATED,
                 last_error="The mail server refused the message (550 5.7.1 Rejected)")
    db.session.commit()
    return failed


def test_a_coordinator_finds_a_failed_message_and_sends_it_again(page):
    coordinator = CoordinatorFactory()
    failed = _outbox()

    sign_in(page, coordinator.email)
    page.goto("/manage/outbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("Outbox")
    expect(page.locator('td[data-status="failed"]')).to_have_text("1")
    expect(page.locator("main")).to_contain_text("Reset your password")
    assert_accessible(page)

    page.get_by_label("Status").select_option("failed")
    page.get_by_role("button", name="Show messages").click()
    expect(page).to_have_url("/manage/outbox?status=failed")
    listed = page.locator("main table").nth(1)
    expect(listed).to_contain_text(FAILED_SUBJECT)
    expect(listed).to_contain_text("550 5.7.1 Rejected")
    expect(listed).not_to_contain_text("Reset your password")
    assert_accessible(page)

    page.get_by_role("link", name=FAILED_SUBJECT).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(FAILED_SUBJECT)
    expect(page.locator("main .govuk-tag")).to_have_text("Failed")
    expect(page.locator("main")).to_contain_text("Your place is confirmed.")
    assert_accessible(page)

    page.get_by_role("button", name="Send again").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("The message is queued to send again")
    expect(page.locator("main .govuk-tag")).to_have_text("Queued")
    expect(page.get_by_role("button", name="Send again")).to_have_count(0)
    assert_accessible(page)
    db.session.commit()  # end the test's snapshot: the server has written since
    db.session.refresh(failed)
    assert (failed.status, failed.attempts) == (MessageStatus.QUEUED, 0)

    page.get_by_role("link", name="Outbox").click()
    page.get_by_role("link", name="Reset your password").click()
    expect(page.locator("main")).to_contain_text("This message contains a private link, so its text is not shown")
    expect(page.locator("main")).not_to_contain_text("SECRET")
    assert_accessible(page)
