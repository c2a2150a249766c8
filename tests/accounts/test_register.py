"""Self-registration: the form, its errors, and what a new account looks like."""
import re

import pytest
from sqlalchemy import func, select

from tests.factories import AgencyFactory, UserFactory
from training.accounts.models import Role, User
from training.extensions import db

PASSWORD = "a long enough passphrase"


@pytest.fixture
def agency():
    return AgencyFactory(name="Thameside Council")


def _valid(chosen, **changes):
    data = {
        "name": "Alex Morgan",
        "email": "Alex.Morgan@Example.org",
        "agency": str(chosen.id),
        "job_title": "Family support worker",
        "manager_name": "Jo Bloggs",
        "manager_email": "Jo.Bloggs@example.org",
        "password": PASSWORD,
        "confirm_password": PASSWORD,
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _people() -> int:
    return db.session.scalar(select(func.count(User.id)))


def _signed_in(client) -> bool:
    with client.session_transaction() as sess:
        return "_user_id" in sess


def test_registering_creates_a_professional_signed_in(client, agency):
    response = client.post("/register", data=_valid(agency))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    user = db.session.scalar(select(User))
    assert user.email == "alex.morgan@example.org"
    assert user.manager_email == "jo.bloggs@example.org"
    assert user.agency_id == agency.id
    assert user.roles == {Role.PROFESSIONAL}
    assert user.consent_updates is False and user.consent_updated_at is None
    assert user.password_hash.startswith("pbkdf2:sha256:1000")  # the configured method
    assert user.check_password(PASSWORD)
    assert _signed_in(client)
    assert "Your account has been created" in client.get("/").get_data(as_text=True)


def test_consent_is_recorded_with_its_time(client, agency, now):
    client.post("/register", data=_valid(agency, consent_updates="y"))
    user = db.session.scalar(select(User))
    assert user.consent_updates is True
    assert user.consent_updated_at is not None
    assert abs((user.consent_updated_at - now).total_seconds()) < 60


def test_next_is_honoured_only_when_local(client, agency):
    assert client.post("/register?next=/my-training", data=_valid(agency)).headers["Location"] == "/my-training"


def test_next_to_another_site_is_refused(client, agency):
    response = client.post("/register?next=//evil.example", data=_valid(agency))
    assert response.headers["Location"] == "/"


def test_agency_list_shows_active_agencies_by_name(client):
    AgencyFactory(name="Zeta Academy")
    AgencyFactory(name="alpha nursery")
    AgencyFactory(name="Closed Clinic", active=False)
    html = client.get("/register").get_data(as_text=True)
    options = re.findall(r'<option value="\d+"[^>]*>([^<]+)</option>', html)
    assert options == ["alpha nursery", "Zeta Academy"]


@pytest.mark.parametrize("changes, field, message", [
    ({"name": ""}, "name", "Enter your full name"),
    ({"name": "   "}, "name", "Enter your full name"),
    ({"email": None}, "email", "Enter your work email address"),
    ({"email": "not-an-email"}, "email", "Enter an email address in the correct format, like name@example.com"),
    ({"email": "name@"}, "email", "Enter an email address in the correct format, like name@example.com"),
    ({"agency": ""}, "agency", "Select your agency"),
    ({"agency": "99999"}, "agency", "Select your agency"),
    ({"agency": "abc"}, "agency", "Select your agency"),
    ({"agency": "1.5"}, "agency", "Select your agency"),
    ({"job_title": ""}, "job_title", "Enter your job title"),
    ({"job_title": "x" * 201}, "job_title", "Job title must be 200 characters or fewer"),
    ({"manager_name": ""}, "manager_name", "Enter your line manager&#39;s name"),
    ({"manager_email": ""}, "manager_email", "Enter your line manager&#39;s email address"),
    ({"manager_email": "jo at example"}, "manager_email",
     "Enter an email address in the correct format, like name@example.com"),
    ({"password": "", "confirm_password": ""}, "password", "Enter a password"),
    ({"password": "short", "confirm_password": "short"}, "password", "Password must be 12 characters or more"),
    ({"password": "x" * 129, "confirm_password": "x" * 129}, "password", "Password must be 128 characters or fewer"),
    ({"confirm_password": "a different passphrase"}, "confirm_password",
     "The passwords you entered do not match"),
    ({"confirm_password": ""}, "confirm_password", "Confirm your password"),
])
def test_bad_input_gives_a_govuk_error_and_creates_nothing(client, agency, changes, field, message):
    response = client.post("/register", data=_valid(agency, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: Create an account" in html
    assert f'<a href="#{field}">{message}</a>' in html  # in the error summary, linking to the field
    assert _people() == 0
    assert not _signed_in(client)


def test_deactivated_agency_cannot_be_chosen(client):
    closed = AgencyFactory(active=False)
    html = client.post("/register", data=_valid(closed)).get_data(as_text=True)
    assert "Select your agency" in html
    assert _people() == 0


def test_minimum_password_length_comes_from_config(app, client, agency, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_PASSWORD_LENGTH", 30)
    html = client.post("/register", data=_valid(agency)).get_data(as_text=True)
    assert "Password must be 30 characters or more" in html
    assert _people() == 0


def test_duplicate_email_in_another_case_is_refused(client, agency):
    UserFactory(email="alex.morgan@example.org")
    html = client.post("/register", data=_valid(agency, email="ALEX.MORGAN@example.org")).get_data(as_text=True)
    assert "An account already exists with this email address" in html
    assert _people() == 1
    assert not _signed_in(client)


def test_form_keeps_what_was_typed_but_not_the_password(client, agency):
    html = client.post("/register", data=_valid(agency, name="")).get_data(as_text=True)
    assert 'value="Family support worker"' in html
    assert PASSWORD not in html


def test_signed_in_people_are_sent_to_their_account(login_as):
    client = login_as(UserFactory())
    assert client.get("/register").headers["Location"] == "/account"
