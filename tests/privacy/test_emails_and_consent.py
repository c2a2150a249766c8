"""Emails and consent in subject access, anonymisation and retention."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from tests.factories import CoordinatorFactory, UserFactory
from tests.privacy.conftest import NOW
from training.accounts.models import ConsentRecord, ConsentSource
from training.extensions import db
from training.notifications.models import MessageKind, MessageStatus, Outbox
from training.privacy import services


def _email(user, *, to=None, status=MessageStatus.QUEUED, sent_at=None, subject="Booking confirmed"):
    message = Outbox(kind=MessageKind.BOOKING_CONFIRMED, recipient=to or user.email, user_id=user.id,
                     subject=subject, text_body=f"Hello {user.name}", html_body=f"<p>Hello {user.name}</p>",
                     status=status, sent_at=sent_at, created_at=NOW - timedelta(days=200))
    db.session.add(message)
    db.session.commit()
    return message.id


def test_subject_access_lists_the_persons_emails_and_consent_history_only():
    person, other = UserFactory(consent_updates=True), UserFactory()
    db.session.add(ConsentRecord(user_id=person.id, consented=True, source=ConsentSource.REGISTRATION,
                                 recorded_at=NOW - timedelta(days=30)))
    db.session.add(ConsentRecord(user_id=other.id, consented=True, source=ConsentSource.ACCOUNT, recorded_at=NOW))
    db.session.commit()
    _email(person, subject="Booking confirmed: Neglect")
    _email(person, to=person.manager_email, subject="Copy: Booking confirmed")
    _email(other, subject="Someone else's email")

    data = services.my_data_json(services.my_data(person.id))

    assert [e["subject"] for e in data["emails"]] == ["Booking confirmed: Neglect", "Copy: Booking confirmed"]
    assert {e["to"] for e in data["emails"]} == {person.email, person.manager_email}
    assert data["consent"]["history"] == [
        {"consented": True, "source": "registration", "source_label": "Registration",
         "recorded_at": (NOW - timedelta(days=30)).isoformat()}]


def test_the_my_data_page_shows_emails_and_consent(client, login_as):
    person = UserFactory(consent_updates=True)
    db.session.add(ConsentRecord(user_id=person.id, consented=True, source=ConsentSource.ACCOUNT, recorded_at=NOW))
    db.session.commit()
    _email(person, subject="Reminder: Neglect tomorrow")
    page = login_as(person).get("/account/my-data").get_data(as_text=True)
    assert "Reminder: Neglect tomorrow" in page
    assert "Account settings" in page and "Agreed" in page


def test_anonymising_deletes_the_persons_emails_and_calendar_feed():
    person, other = UserFactory(calendar_token="secret-feed-token"), UserFactory()
    db.session.commit()
    _email(person)
    kept = _email(other)
    services.anonymise_person(person.id, CoordinatorFactory(), NOW)
    db.session.expire_all()
    assert list(db.session.scalars(select(Outbox.id))) == [kept]
    assert db.session.get(type(person), person.id).calendar_token is None


def test_sent_emails_are_purged_after_the_retention_days_and_others_are_kept(app):
    person = UserFactory()
    db.session.commit()
    old_sent = _email(person, status=MessageStatus.SENT, sent_at=NOW - timedelta(days=91))
    recent_sent = _email(person, status=MessageStatus.SENT, sent_at=NOW - timedelta(days=89))
    old_failed = _email(person, status=MessageStatus.FAILED)
    old_queued = _email(person)

    assert services.purge_sent_emails(NOW) == 1
    assert services.purge_sent_emails(NOW) == 0
    db.session.expire_all()
    remaining = set(db.session.scalars(select(Outbox.id)))
    assert old_sent not in remaining
    assert remaining == {recent_sent, old_failed, old_queued}
    assert services.purge_sent_emails(NOW, days=30) == 1
    assert db.session.scalar(select(func.count(Outbox.id))) == 2
