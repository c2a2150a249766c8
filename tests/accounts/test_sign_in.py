"""Signing in and out: generic errors, deactivated accounts, session rotation, safe `next`."""
import re

import pytest

from tests.factories import TEST_PASSWORD, UserFactory

GENERIC = "Enter a correct email address and password"


def _sign_in(client, email, password=TEST_PASSWORD, query=""):
    return client.post(f"/sign-in{query}", data={"email": email, "password": password})


def _signed_in_user_id(client):
    with client.session_transaction() as sess:
        return sess.get("_user_id")


def test_sign_in_page_has_the_agreed_labels(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert re.search(r'<label class="govuk-label" for="email">\s*Email address\s*</label>', html)
    assert re.search(r'<label class="govuk-label" for="password">\s*Password\s*</label>', html)
    assert re.search(r'<button type="submit"[^>]*>\s*Sign in\s*</button>', html)


def test_correct_credentials_sign_in_and_go_to_the_catalogue(client):
    user = UserFactory(email="sam@example.org")
    response = _sign_in(client, "sam@example.org")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert _signed_in_user_id(client) == str(user.id)
    assert client.get("/account").status_code == 200


def test_email_is_matched_ignoring_case_and_spaces(client):
    user = UserFactory(email="sam@example.org")
    assert _sign_in(client, "  Sam@Example.ORG ").status_code == 302
    assert _signed_in_user_id(client) == str(user.id)


@pytest.mark.parametrize("email, password", [
    ("sam@example.org", "wrong password entirely"),
    ("nobody@example.org", TEST_PASSWORD),
])
def test_wrong_email_or_password_gives_the_same_generic_error(client, email, password):
    UserFactory(email="sam@example.org")
    response = _sign_in(client, email, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert GENERIC in html
    assert "<title>Error: " in html
    assert "There is a problem" in html
    assert _signed_in_user_id(client) is None


def test_missing_fields_give_govuk_errors(client):
    html = client.post("/sign-in", data={"email": "", "password": ""}).get_data(as_text=True)
    assert "Enter your email address" in html
    assert "Enter your password" in html
    assert _signed_in_user_id(client) is None


def test_deactivated_account_cannot_sign_in(client):
    UserFactory(email="gone@example.org", active=False)
    html = _sign_in(client, "gone@example.org").get_data(as_text=True)
    assert GENERIC in html  # no hint that the account exists but is deactivated
    assert _signed_in_user_id(client) is None


def test_deactivating_ends_an_existing_session(login_as):
    from training.extensions import db

    user = UserFactory()
    client = login_as(user)
    assert client.get("/account").status_code == 200
    user.active = False
    db.session.commit()
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_signing_in_starts_a_fresh_session(client):
    """Anything planted in the session before sign-in (session fixation) is gone after it."""
    UserFactory(email="sam@example.org")
    with client.session_transaction() as sess:
        sess["planted"] = "attacker value"
        sess["_user_id"] = "999"
    _sign_in(client, "sam@example.org")
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] != "999"


def test_next_is_followed_when_it_is_a_local_path(client):
    UserFactory(email="sam@example.org")
    response = _sign_in(client, "sam@example.org", query="?next=/account")
    assert response.headers["Location"] == "/account"


@pytest.mark.parametrize("target", [
    "https://evil.example",
    "//evil.example",
    "/\\evil.example",
    "http://localhost/account",
    "javascript:alert(1)",
])
def test_next_cannot_redirect_to_another_site(client, target):
    from urllib.parse import quote

    UserFactory(email="sam@example.org")
    response = _sign_in(client, "sam@example.org", query="?next=" + quote(target, safe=""))
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_anonymous_visit_to_account_comes_back_after_sign_in(client):
    UserFactory(email="sam@example.org")
    response = client.get("/account")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/sign-in?next=")
    assert _sign_in(client, "sam@example.org", query=location[len("/sign-in"):]).headers["Location"] == "/account"


def test_signed_in_visit_to_sign_in_page_goes_on(login_as):
    client = login_as(UserFactory())
    assert client.get("/sign-in").headers["Location"] == "/"


def test_sign_out_is_post_only_and_ends_the_session(login_as):
    client = login_as(UserFactory())
    assert client.get("/sign-out").status_code == 405
    assert client.get("/account").status_code == 200
    response = client.post("/sign-out")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    assert client.get("/account").status_code == 302
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
    assert "You have signed out" in client.get("/").get_data(as_text=True)
