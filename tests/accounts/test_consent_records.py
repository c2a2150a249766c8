"""Consent to safeguarding updates: every actual change is recorded with its date and source,
`consent_updated_at` follows the latest record, and the person sees their history."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import TEST_PASSWORD, AgencyFactory, UserFactory
from training.accounts import services
from training.accounts.errors import AgencyUnavailable
from training.accounts.models import ConsentRecord, ConsentSource, User
from training.extensions import db

SUMMER = datetime(2026, 6, 1, 8, 30, tzinfo=UTC)  # 9:30am in London (BST)
WINTER = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # 3:00pm in London (GMT)


def _records(user_id: int) -> list[tuple[bool, ConsentSource]]:
    db.session.commit()
    return [(r.consented, r.source) for r in db.session.scalars(
        select(ConsentRecord).where(ConsentRecord.user_id == user_id).order_by(ConsentRecord.id))]


def _user(user_id: int) -> User:
    db.session.expire_all()
    return db.session.get(User, user_id)


def _registration(agency, **changes) -> dict:
    data = {"name": "Jo Bloggs", "email": "jo@example.org", "agency": str(agency.id), "job_title": "Teacher",
            "manager_name": "Pat", "manager_email": "pat@example.org", "password": TEST_PASSWORD,
            "confirm_password": TEST_PASSWORD}
    return {**data, **changes}


def _profile(user: User, **changes) -> dict:
    data = {"name": user.name, "agency": str(user.agency_id), "job_title": user.job_title,
            "manager_name": user.manager_name, "manager_email": user.manager_email}
    return {k: v for k, v in {**data, **changes}.items() if v is not None}


def _edit(user: User, consented: bool, now: datetime, **changes) -> None:
    details = {"name": user.name, "agency_id": user.agency_id, "job_title": user.job_title,
               "manager_name": user.manager_name, "manager_email": user.manager_email, **changes}
    services.update_profile(user, consent_updates=consented, now=now, **details)


# ---------------------------------------------------------------------------
# Registration
# ---------------------------------------------------------------------------

def test_registering_with_consent_records_it(client):
    agency = AgencyFactory()
    client.post("/register", data=_registration(agency, consent_updates="y"))
    user = db.session.scalar(select(User).where(User.email == "jo@example.org"))
    assert _records(user.id) == [(True, ConsentSource.REGISTRATION)]
    record = db.session.scalar(select(ConsentRecord))
    assert user.consent_updates is True and user.consent_updated_at == record.recorded_at


def test_registering_without_consent_records_nothing(client):
    agency = AgencyFactory()
    client.post("/register", data=_registration(agency))
    user = db.session.scalar(select(User).where(User.email == "jo@example.org"))
    assert user.consent_updates is False and user.consent_updated_at is None
    assert _records(user.id) == []


def test_the_registration_record_has_the_services_time():
    agency = AgencyFactory()
    user = services.register(name="Jo", email="jo@example.org", agency_id=agency.id, job_title="Nurse",
                             manager_name="Pat", manager_email="pat@example.org", consent_updates=True,
                             password=TEST_PASSWORD, now=SUMMER)
    record = db.session.scalar(select(ConsentRecord).where(ConsentRecord.user_id == user.id))
    assert (record.consented, record.source, record.recorded_at) == (True, ConsentSource.REGISTRATION, SUMMER)
    assert _user(user.id).consent_updated_at == SUMMER


# ---------------------------------------------------------------------------
# The account page
# ---------------------------------------------------------------------------

def test_only_actual_changes_on_the_account_page_are_recorded(login_as):
    user = UserFactory(consent_updates=False)
    client = login_as(user)
    client.post("/account/edit", data=_profile(user))  # still no: nothing to record
    assert _records(user.id) == []
    client.post("/account/edit", data=_profile(user, consent_updates="y"))
    client.post("/account/edit", data=_profile(user, consent_updates="y", job_title="Senior nurse"))  # unchanged
    client.post("/account/edit", data=_profile(user))  # withdrawn
    assert _records(user.id) == [(True, ConsentSource.ACCOUNT), (False, ConsentSource.ACCOUNT)]
    latest = db.session.scalar(select(ConsentRecord).order_by(ConsentRecord.id.desc()).limit(1))
    fresh = _user(user.id)
    assert fresh.consent_updates is False and fresh.consent_updated_at == latest.recorded_at


def test_the_service_records_with_its_time_and_keeps_the_timestamp_in_step():
    user = UserFactory(consent_updates=False)
    _edit(user, True, SUMMER)
    _edit(user, True, SUMMER + timedelta(days=1))
    assert _user(user.id).consent_updated_at == SUMMER
    _edit(_user(user.id), False, WINTER)
    times = [r.recorded_at for r in db.session.scalars(select(ConsentRecord).order_by(ConsentRecord.id))]
    assert times == [SUMMER, WINTER]
    assert _user(user.id).consent_updated_at == WINTER


def test_a_refused_profile_change_records_nothing():
    user = UserFactory(consent_updates=False)
    closed = AgencyFactory(active=False)
    with pytest.raises(AgencyUnavailable):
        _edit(user, True, SUMMER, agency_id=closed.id)
    assert _records(user.id) == []
    assert _user(user.id).consent_updates is False


def test_record_consent_says_whether_anything_changed():
    user = UserFactory(consent_updates=True)
    assert services.record_consent(user, True, source=ConsentSource.COORDINATOR, now=SUMMER) is False
    assert services.record_consent(user, False, source=ConsentSource.UNSUBSCRIBE_LINK, now=SUMMER) is True
    db.session.commit()
    assert _records(user.id) == [(False, ConsentSource.UNSUBSCRIBE_LINK)]


# ---------------------------------------------------------------------------
# Showing the history
# ---------------------------------------------------------------------------

def test_the_account_page_shows_the_history_in_london_time_newest_first(login_as):
    user = UserFactory(consent_updates=False)
    _edit(user, True, SUMMER)
    _edit(_user(user.id), False, WINTER)
    html = login_as(_user(user.id)).get("/account").get_data(as_text=True)
    assert "Your consent to safeguarding updates" in html
    withdrawn = html.index("Tuesday 1 December 2026, 3:00pm")
    agreed = html.index("Monday 1 June 2026, 9:30am")
    assert withdrawn < agreed
    assert html.index("Withdrawn", withdrawn) < agreed
    assert "Agreed" in html[agreed:agreed + 200] and "Account settings" in html[agreed:agreed + 300]


def test_each_source_has_its_label(login_as):
    user = UserFactory(consent_updates=False)
    for i, source in enumerate(ConsentSource):
        services.record_consent(user, i % 2 == 0, source=source, now=SUMMER + timedelta(hours=i))
    db.session.commit()
    html = login_as(user).get("/account").get_data(as_text=True)
    for label in ("Registration", "Account settings", "Unsubscribe link in an email", "Coordinator"):
        assert f'<td class="govuk-table__cell">{label}</td>' in html


def test_no_history_is_said_plainly(login_as):
    html = login_as(UserFactory(consent_updates=False)).get("/account").get_data(as_text=True)
    assert "You have not agreed to safeguarding updates." in html
    assert "govuk-table__cell" not in html.split("consent-history", 1)[1].split("your-requirements", 1)[0]


def test_someone_else_s_history_is_never_shown(login_as):
    other = UserFactory(consent_updates=False)
    _edit(other, True, SUMMER)
    html = login_as(UserFactory()).get("/account").get_data(as_text=True)
    assert "Monday 1 June 2026" not in html
