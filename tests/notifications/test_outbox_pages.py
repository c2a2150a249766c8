"""The coordinators' outbox pages: the list with its counts, filter and pages, one message (its
text hidden when it holds a private link), and sending a failed message again."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import CoordinatorFactory, TrainerFactory, UserFactory
from training.audit.models import AuditEvent
from training.db import utcnow
from training.extensions import db
from training.notifications.models import MessageKind, MessageStatus, Outbox
from training.notifications.sender import deliver

#: 31 March 2026, 8:30am UTC is 9:30am in London (British Summer Time).
CREATED = datetime(2026, 3, 31, 8, 30, tzinfo=UTC)


def _message(**values) -> Outbox:
    fields = {"kind": MessageKind.BOOKING_CONFIRMED, "recipient": "sam@example.org",
              "subject": "Booking confirmed: Child protection level 2", "text_body": "Hello Sam\n\nYou are booked.",
              "html_body": "<p>Hello Sam</p><p>You are booked.</p>", "status": MessageStatus.QUEUED, "attempts": 0,
              "next_attempt_at": CREATED, "created_at": CREATED, **values}
    message = Outbox(**fields)
    db.session.add(message)
    db.session.commit()
    return message


def _failed(**values) -> Outbox:
    return _message(**{"status": MessageStatus.FAILED, "attempts": 10,
                       "last_error": "The mail server refused the message (550 5.7.1 Rejected)", **values})


@pytest.fixture
def coordinator_client(login_as):
    return login_as(CoordinatorFactory())


def _text(html: str) -> str:
    """The page's visible text, tags removed and spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _counts(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-status="([a-z]+)">([\d,]+)<', html))


# ---------------------------------------------------------------------------
# Who may see the outbox
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("factory", [UserFactory, TrainerFactory])
def test_only_coordinators_see_the_outbox(client, login_as, factory):
    message = _failed()
    urls = ["/manage/outbox", f"/manage/outbox/{message.id}"]
    for url in urls:
        assert client.get(url).status_code == 302
        assert login_as(factory()).get(url).status_code == 403
    assert login_as(factory()).post(f"/manage/outbox/{message.id}/retry").status_code == 403
    db.session.refresh(message)
    assert message.status == MessageStatus.FAILED


# ---------------------------------------------------------------------------
# The list
# ---------------------------------------------------------------------------

def test_the_outbox_lists_messages_newest_first_with_counts_by_status(coordinator_client):
    _message(subject="Oldest message", created_at=CREATED - timedelta(days=2), status=MessageStatus.SENT, attempts=1)
    _failed(subject="Failed message", kind=MessageKind.REMINDER, recipient="pat@example.org",
            created_at=CREATED - timedelta(days=1))
    _message(subject="Newest message", created_at=CREATED, attempts=2, last_error="Could not reach the mail server")
    _message(subject="Another queued", created_at=CREATED - timedelta(hours=1))
    response = coordinator_client.get("/manage/outbox")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert _counts(html) == {"queued": "2", "sending": "0", "sent": "1", "failed": "1"}
    text = _text(html)
    assert text.index("Newest message") < text.index("Another queued") < text.index("Failed message") \
        < text.index("Oldest message")
    assert "Tuesday 31 March 2026, 9:30am" in text  # created, in London time
    assert "Reminder" in text and "pat@example.org" in text
    assert "The mail server refused the message (550 5.7.1 Rejected)" in text
    assert "Could not reach the mail server" in text
    assert "All messages, newest first: 4" in text


def test_the_status_filter_shows_one_status(coordinator_client):
    _message(subject="Queued message")
    failed = _failed(subject="Failed message")
    response = coordinator_client.get("/manage/outbox?status=failed")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Failed message" in html and "Queued message" not in html
    assert f'href="/manage/outbox/{failed.id}"' in html
    assert "Failed messages, newest first: 1" in _text(html)
    assert _counts(html) == {"queued": "1", "sending": "0", "sent": "0", "failed": "1"}  # counts stay whole
    empty = coordinator_client.get("/manage/outbox?status=sending")
    assert "There are no sending messages." in empty.get_data(as_text=True)


@pytest.mark.parametrize("bad", ["nonsense", "<script>alert(1)</script>", "FAILED", "\u202e"])
def test_a_bad_status_is_a_clear_error_not_a_server_error(coordinator_client, bad):
    _message(subject="Queued message")
    response = coordinator_client.get("/manage/outbox", query_string={"status": bad})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "govuk-error-summary" in html and "Select a status from the list" in html
    assert "Queued message" in html  # the whole outbox, unfiltered
    assert "<script>alert(1)</script>" not in html


def test_the_outbox_is_paginated_keeping_the_filter(app, coordinator_client, monkeypatch):
    monkeypatch.setitem(app.config, "OUTBOX_PAGE_SIZE", 2)
    for n in range(5):
        _failed(subject=f"Failed {n}", created_at=CREATED + timedelta(minutes=n))
    _message(subject="Queued one", created_at=CREATED + timedelta(hours=1))
    first = _text(coordinator_client.get("/manage/outbox?status=failed").get_data(as_text=True))
    assert "Failed 4" in first and "Failed 3" in first and "Failed 2" not in first
    assert "Failed messages, newest first: 5, page 1 of 3" in first
    html = coordinator_client.get("/manage/outbox?status=failed").get_data(as_text=True)
    assert 'href="/manage/outbox?status=failed&amp;page=2"' in html
    second = _text(coordinator_client.get("/manage/outbox?status=failed&page=2").get_data(as_text=True))
    assert "Failed 2" in second and "Failed 1" in second and "Failed 4" not in second and "Queued one" not in second
    beyond = coordinator_client.get("/manage/outbox?status=failed&page=99999999999999999999")
    assert beyond.status_code == 200
    assert "There are no messages on this page." in beyond.get_data(as_text=True)
    for silly in ("-3", "0", "abc"):
        assert "Failed 4" in coordinator_client.get(f"/manage/outbox?status=failed&page={silly}").get_data(as_text=True)


def test_an_empty_outbox_says_so(coordinator_client):
    html = coordinator_client.get("/manage/outbox").get_data(as_text=True)
    assert "No emails have been sent yet." in html
    assert _counts(html) == {"queued": "0", "sending": "0", "sent": "0", "failed": "0"}


# ---------------------------------------------------------------------------
# One message
# ---------------------------------------------------------------------------

def test_a_message_shows_its_details_and_text(coordinator_client):
    message = _failed(text_body="Hello Sam\n\nYour place is confirmed.\nSee you there.\n\n<b>not markup</b>",
                      ics="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", ics_method="REQUEST")
    response = coordinator_client.get(f"/manage/outbox/{message.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    text = _text(html)
    for expected in ("Booking confirmed message", "Booking confirmed: Child protection level 2", "sam@example.org",
                     "Tuesday 31 March 2026, 9:30am", "The mail server refused the message (550 5.7.1 Rejected)",
                     "Failed", "A calendar invitation is attached", "Hello Sam", "Your place is confirmed."):
        assert expected in text
    assert "Your place is confirmed.<br>See you there." in html
    assert "&lt;b&gt;not markup&lt;/b&gt;" in html  # the text is escaped, never rendered as HTML
    assert "<p>Hello Sam</p><p>You are booked.</p>" not in html  # the HTML body is not shown
    assert "Send again" in html


def test_a_sent_message_shows_when_and_offers_no_retry(coordinator_client):
    message = _message(status=MessageStatus.SENT, attempts=1, sent_at=CREATED + timedelta(minutes=1))
    html = coordinator_client.get(f"/manage/outbox/{message.id}").get_data(as_text=True)
    assert "Tuesday 31 March 2026, 9:31am" in _text(html)
    assert "Send again" not in html
    assert "Next attempt" not in html


@pytest.mark.parametrize("kind", [MessageKind.PASSWORD_RESET, MessageKind.EMAIL_CHANGE, MessageKind.APPROVAL_REQUEST])
def test_a_message_with_a_private_link_does_not_show_its_text(coordinator_client, kind):
    message = _failed(kind=kind, subject="Reset your password",
                      text_body="Reset it here: https://training.example/reset/SECRET-TOKEN",
                      html_body='<a href="https://training.example/reset/SECRET-TOKEN">Reset</a>')
    html = coordinator_client.get(f"/manage/outbox/{message.id}").get_data(as_text=True)
    assert "This message contains a private link, so its text is not shown" in html
    assert "SECRET-TOKEN" not in html
    assert "Reset your password" in html and "sam@example.org" in html


def test_an_unknown_message_is_not_found(coordinator_client):
    assert coordinator_client.get("/manage/outbox/999999").status_code == 404
    assert coordinator_client.post("/manage/outbox/999999/retry").status_code == 404


# ---------------------------------------------------------------------------
# Sending a failed message again
# ---------------------------------------------------------------------------

def test_a_failed_message_is_sent_again(login_as, smtp_server):
    coordinator = CoordinatorFactory()
    message = _failed()
    before = utcnow()
    client = login_as(coordinator)
    response = client.post(f"/manage/outbox/{message.id}/retry")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/outbox/{message.id}"
    db.session.refresh(message)
    assert (message.status, message.attempts) == (MessageStatus.QUEUED, 0)
    assert before <= message.next_attempt_at <= utcnow()
    [event] = db.session.scalars(select(AuditEvent)).all()
    assert (event.action, event.object_type, event.object_id, event.actor_id) == (
        "outbox.retry", "outbox_message", message.id, coordinator.id)
    assert "sam@example.org" not in event.summary
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The message is queued to send again" in page and "govuk-notification-banner--success" in page
    assert deliver().sent == 1
    [received] = smtp_server.to("sam@example.org")
    assert received["Subject"] == "Booking confirmed: Child protection level 2"


@pytest.mark.parametrize("status", [MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT])
def test_only_a_failed_message_can_be_sent_again(coordinator_client, status):
    message = _message(status=status, attempts=3, last_error="Earlier problem")
    response = coordinator_client.post(f"/manage/outbox/{message.id}/retry", follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert f"Only a failed message can be sent again: this one is {status.label.lower()}" in html
    assert "govuk-notification-banner--success" not in html
    db.session.refresh(message)
    assert (message.status, message.attempts, message.next_attempt_at) == (status, 3, CREATED)
    assert db.session.scalars(select(AuditEvent)).all() == []


def test_retrying_is_a_post_only(coordinator_client):
    message = _failed()
    assert coordinator_client.get(f"/manage/outbox/{message.id}/retry").status_code == 405
    db.session.refresh(message)
    assert message.status == MessageStatus.FAILED
