"""`next=` never sends anyone to another site after signing in or registering."""
from __future__ import annotations

import pytest

from tests.factories import TEST_PASSWORD, AgencyFactory, UserFactory

HOME = "/"
UNSAFE = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example/",
    "///evil.example",
    "\\\\evil.example",
    "/\\evil.example",
    "\\/evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " //evil.example",
    "/\t/evil.example",
    "https:evil.example",
    "evil.example",
]


def _assert_home(response) -> None:
    assert response.status_code == 302
    assert response.headers["Location"] == HOME


@pytest.mark.parametrize("target", UNSAFE)
def test_sign_in_refuses_unsafe_next(client, target):
    user = UserFactory()
    response = client.post("/sign-in", query_string={"next": target},
                           data={"email": user.email, "password": TEST_PASSWORD})
    _assert_home(response)


@pytest.mark.parametrize("target", UNSAFE)
def test_register_refuses_unsafe_next(client, target):
    agency = AgencyFactory()
    password = "a long enough passphrase"
    response = client.post("/register", query_string={"next": target}, data={
        "name": "New Person", "email": "new.person@example.org", "agency": str(agency.id),
        "job_title": "Teacher", "manager_name": "Their Manager", "manager_email": "manager@example.org",
        "password": password, "confirm_password": password,
    })
    _assert_home(response)


@pytest.mark.parametrize("target", UNSAFE[:5])
def test_already_signed_in_visitors_are_not_sent_away_either(login_as, target):
    response = login_as(UserFactory()).get("/sign-in", query_string={"next": target})
    _assert_home(response)


def test_a_same_site_next_is_followed(client):
    user = UserFactory()
    response = client.post("/sign-in", query_string={"next": "/account?tab=1"},
                           data={"email": user.email, "password": TEST_PASSWORD})
    assert response.headers["Location"] == "/account?tab=1"
