"""Passwords that are easy to guess are refused on registration and password change."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import TEST_PASSWORD, AgencyFactory, UserFactory
from training.accounts.models import User
from training.accounts.passwords import (
    HARDER_TO_GUESS,
    PasswordTooEasy,
    check_password_strength,
    common_passwords,
    is_easy_to_guess,
)
from training.extensions import db

GOOD = "a long enough passphrase"


def test_the_bundled_list_has_about_a_thousand_passwords():
    assert len(common_passwords()) >= 1000


@pytest.mark.parametrize("password", [
    "password123456", "PASSWORD123456", "Password123456", "qwertyuiop123", "QwertyUiop123",
    "letmein12345", "LetMeIn12345", "safeguarding1", "Safeguarding1", "safeguarding2025",
    "Safeguarding training", "safeguardingtraining", "Thameside Safeguarding Children Partnership",
    "aaaaaaaaaaaaaa", "123456789012",
])
def test_common_and_obvious_passwords_are_refused(password):
    assert is_easy_to_guess(password)
    with pytest.raises(PasswordTooEasy) as caught:
        check_password_strength(password)
    assert caught.value.message == "Choose a password that is harder to guess"


def test_the_configured_service_name_is_refused(app):
    app.config["SERVICE_NAME"], old = "Borough Child Protection Courses", app.config["SERVICE_NAME"]
    try:
        assert is_easy_to_guess("borough child protection courses")
    finally:
        app.config["SERVICE_NAME"] = old


def test_a_password_containing_the_email_local_part_is_refused():
    assert is_easy_to_guess("my name is JaneDoe ok", email="janedoe@example.org")
    assert not is_easy_to_guess("my name is JaneDoe ok", email="someone.else@example.org")


def test_a_very_short_local_part_is_not_matched_inside_passwords():
    assert not is_easy_to_guess(GOOD, email="al@example.org")


def test_a_long_uncommon_passphrase_is_accepted():
    assert not is_easy_to_guess(GOOD, email="person@example.org")
    check_password_strength(GOOD, email="person@example.org")


def _registration(agency_id: int, password: str, email: str = "new.person@example.org") -> dict:
    return {
        "name": "New Person", "email": email, "agency": str(agency_id), "job_title": "Teacher",
        "manager_name": "Their Manager", "manager_email": "manager@example.org",
        "password": password, "confirm_password": password,
    }


@pytest.mark.parametrize("password, email", [
    ("Password123456", "new.person@example.org"),
    ("new.person is my password", "new.person@example.org"),
])
def test_registration_refuses_a_password_that_is_easy_to_guess(client, password, email):
    agency = AgencyFactory()
    response = client.post("/register", data=_registration(agency.id, password, email))
    html = response.get_data(as_text=True)
    assert HARDER_TO_GUESS in html
    assert "govuk-error-summary" in html
    assert db.session.scalar(select(User).where(User.email == email)) is None


def test_registration_accepts_a_good_password(client):
    agency = AgencyFactory()
    response = client.post("/register", data=_registration(agency.id, GOOD))
    assert response.status_code == 302
    assert db.session.scalar(select(User).where(User.email == "new.person@example.org")) is not None


def test_password_change_refuses_a_password_that_is_easy_to_guess(login_as):
    user = UserFactory(email="sam.smith@example.org")
    old_hash = user.password_hash
    client = login_as(user)
    for new_password in ("letmein12345", "sam.smith-2025!"):
        response = client.post("/account/password", data={
            "current_password": TEST_PASSWORD, "new_password": new_password, "confirm_password": new_password,
        })
        assert HARDER_TO_GUESS in response.get_data(as_text=True)
        db.session.expire_all()
        assert db.session.get(User, user.id).password_hash == old_hash


def test_password_change_accepts_a_good_password(login_as):
    user = UserFactory()
    old_hash = user.password_hash
    response = login_as(user).post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": GOOD, "confirm_password": GOOD,
    })
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash != old_hash
