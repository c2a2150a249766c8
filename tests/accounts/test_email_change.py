"""Changing your email address: asked for with your password, confirmed through a link sent to
the new address (once, before it expires), and the old address told afterwards."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.factories import TEST_PASSWORD, UserFactory
from tests.notifications.conftest import body_html, body_text, smtp_server  # noqa: F401  (fixture)
from training.accounts import services, tokens
from training.accounts.errors import EmailTaken, InvalidLink, SameEmail, WrongPassword
from training.accounts.models import User
from training.extensions import db
from training.notifications.models import MessageKind, Outbox
from training.notifications.sender import deliver

INVALID = "This link has expired or has already been used"
LINK = re.compile(r"https?://\S+/account/email/confirm/[A-Za-z0-9_.\-]+")


def _outbox() -> list[Outbox]:
    db.session.commit()
    return list(db.session.scalars(select(Outbox).order_by(Outbox.id)))


def _email_of(user: User) -> str:
    db.session.expire_all()
    return db.session.get(User, user.id).email


def _ask(client, new_email: str, password: str = TEST_PASSWORD):
    return client.post("/account/email", data={"new_email": new_email, "password": password})


# ---------------------------------------------------------------------------
# Asking
# ---------------------------------------------------------------------------

def test_account_page_links_to_change_email(login_as):
    html = login_as(UserFactory(name="Sam Field")).get("/account").get_data(as_text=True)
    assert ('<a class="govuk-link" href="/account/email">Change<span class="govuk-visually-hidden">'
            ' email address (Sam Field)</span></a>') in html


def test_change_email_needs_signing_in(client):
    response = client.get("/account/email")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_asking_sends_a_link_to_the_new_address_only(login_as):
    user = UserFactory(email="old@example.org")
    client = login_as(user)
    assert client.get("/account/email").status_code == 200
    response = _ask(client, "  New@Example.org ")
    assert (response.status_code, response.headers["Location"]) == (302, "/account")
    page = client.get("/account").get_data(as_text=True)
    assert "We have sent a link to new@example.org. Your email address will change when you use it." in page
    assert [(m.kind, m.recipient, m.user_id) for m in _outbox()] == [
        (MessageKind.EMAIL_CHANGE, "new@example.org", user.id)]
    assert _email_of(user) == "old@example.org"  # nothing changes until the link is used


@pytest.mark.parametrize(("new_email", "password", "field", "message"), [
    ("", TEST_PASSWORD, "new_email", "Enter your new email address"),
    ("  ", TEST_PASSWORD, "new_email", "Enter your new email address"),
    ("not an email", TEST_PASSWORD, "new_email", "Enter an email address in the correct format, like name@example.com"),
    ("new@example.org", "", "password", "Enter your password"),
    ("new@example.org", "a wrong password", "password", "Your password is incorrect"),
    ("OLD@example.org", TEST_PASSWORD, "new_email", "Enter a different email address from the one you use now"),
    ("taken@example.org", TEST_PASSWORD, "new_email", "An account already exists with that email address"),
])
def test_bad_requests_are_refused_with_govuk_errors(login_as, new_email, password, field, message):
    UserFactory(email="taken@example.org")
    user = UserFactory(email="old@example.org")
    response = _ask(login_as(user), new_email, password)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "govuk-error-summary" in html and f'href="#{field}">{message}' in html
    assert _outbox() == []


def test_the_service_refuses_the_same_rules(now):
    UserFactory(email="taken@example.org")
    user = UserFactory(email="old@example.org")
    with pytest.raises(WrongPassword):
        services.request_email_change(user, new_email="new@example.org", password="wrong", now=now)
    with pytest.raises(SameEmail):
        services.request_email_change(user, new_email="Old@Example.org", password=TEST_PASSWORD, now=now)
    with pytest.raises(EmailTaken):
        services.request_email_change(user, new_email="taken@example.org", password=TEST_PASSWORD, now=now)
    assert _outbox() == []


# ---------------------------------------------------------------------------
# The emails and the link, end to end
# ---------------------------------------------------------------------------

def test_the_emailed_link_changes_the_address_and_tells_the_old_one(app, login_as, client, smtp_server):  # noqa: F811
    user = UserFactory(email="old@example.org", name="Alex Mover")
    _ask(login_as(user), "new@example.org")
    assert deliver().sent == 1
    [message] = smtp_server.to("new@example.org")
    assert message["Subject"] == "Confirm your new email address"
    text = body_text(message)
    assert "Hello Alex Mover" in text and "works for 24 hours" in text
    link = LINK.search(text).group(0)
    assert link.startswith("http://127.0.0.1:5000/account/email/confirm/")
    assert link in body_html(message)
    assert "new@example.org" not in link and "old@example.org" not in link  # paths are logged
    path = urlsplit(link).path

    # Signed out is fine: the link proves the new address is theirs.
    page = client.get(path)
    assert page.status_code == 200 and "new@example.org" in page.get_data(as_text=True)
    assert _email_of(user) == "old@example.org"  # the GET (a link scanner, say) changes nothing

    done = client.post(path)
    assert (done.status_code, done.headers["Location"]) == (302, "/sign-in")
    assert "Your email address has been changed to new@example.org" in client.get("/sign-in").get_data(as_text=True)
    assert _email_of(user) == "new@example.org"
    assert services.authenticate("new@example.org", TEST_PASSWORD) is not None
    assert services.authenticate("old@example.org", TEST_PASSWORD) is None

    assert deliver().sent == 1
    [notice] = smtp_server.to("old@example.org")
    assert notice["Subject"] == "Your email address has been changed"
    notice_text = body_text(notice)
    assert f"If you did not do this, contact {app.config['TRAINING_TEAM_EMAIL']}" in notice_text
    assert "new@example.org" not in notice_text  # the old mailbox may be someone else's now

    # Used once.
    for again in (client.get(path), client.post(path)):
        assert again.status_code == 400 and INVALID in again.get_data(as_text=True)
    assert len(smtp_server.messages) == 2


def test_confirming_while_signed_in_goes_back_to_the_account(login_as, now):
    user = UserFactory(email="old@example.org")
    token = services.request_email_change(user, new_email="new@example.org", password=TEST_PASSWORD, now=now)
    client = login_as(user)
    response = client.post(f"/account/email/confirm/{token}")
    assert response.headers["Location"] == "/account"
    assert "new@example.org" in client.get("/account").get_data(as_text=True)  # still signed in


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------

def _token(user: User, now, new_email: str = "new@example.org") -> str:
    return services.request_email_change(user, new_email=new_email, password=TEST_PASSWORD, now=now)


def test_the_link_expires(now):
    user = UserFactory(email="old@example.org")
    token = _token(user, now)
    assert services.pending_email_change(token, now=now + timedelta(hours=23, minutes=59)).new_email == "new@example.org"
    with pytest.raises(InvalidLink):
        services.confirm_email_change(token, now=now + timedelta(hours=24, minutes=1))
    assert _email_of(user) == "old@example.org"


def test_tampered_links_are_refused(client, now):
    user = UserFactory(email="old@example.org")
    token = _token(user, now)
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    for bad in (flipped, token[:-2], token + "x", "1", tokens.password_reset_token(user, now)):
        with pytest.raises(InvalidLink):
            services.pending_email_change(bad, now=now)
        assert client.post(f"/account/email/confirm/{bad}").status_code == 400
    assert _email_of(user) == "old@example.org"


def test_a_signed_token_naming_another_persons_message_is_refused(now):
    victim = UserFactory(email="victim@example.org")
    attacker = UserFactory(email="attacker@example.org")
    _token(victim, now, "victim.new@example.org")
    nonce = db.session.scalar(select(Outbox.dedupe_key)).removeprefix("email-change:")
    forged = tokens.email_change_token(attacker, nonce, now)  # as if the attacker knew the nonce
    with pytest.raises(InvalidLink):
        services.confirm_email_change(forged, now=now)
    assert _email_of(attacker) == "attacker@example.org"


def test_only_one_of_two_pending_links_can_be_used(now):
    user = UserFactory(email="old@example.org")
    first = _token(user, now, "first@example.org")
    second = _token(user, now, "second@example.org")
    assert services.confirm_email_change(second, now=now).new_email == "second@example.org"
    with pytest.raises(InvalidLink):
        services.confirm_email_change(first, now=now)
    assert _email_of(user) == "second@example.org"


def test_a_password_reset_kills_a_pending_email_change(now):
    user = UserFactory(email="old@example.org")
    token = _token(user, now)
    reset = services.request_password_reset(user.email, now=now)
    services.reset_password(reset, "another long passphrase", now=now)
    with pytest.raises(InvalidLink):
        services.confirm_email_change(token, now=now)


def test_an_email_change_kills_a_reset_link_sent_to_the_old_address(now):
    user = UserFactory(email="old@example.org")
    reset = services.request_password_reset(user.email, now=now)
    services.confirm_email_change(_token(user, now), now=now)
    with pytest.raises(InvalidLink):
        services.password_reset_user(reset, now=now)


def test_an_address_taken_meanwhile_is_refused_clearly(client, now):
    user = UserFactory(email="old@example.org")
    token = _token(user, now)
    UserFactory(email="new@example.org")  # someone registered it after the link was sent
    response = client.post(f"/account/email/confirm/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Your email address has not changed" in html and "An account already exists with that email address" in html
    assert _email_of(user) == "old@example.org"
    assert [m.kind for m in _outbox()] == [MessageKind.EMAIL_CHANGE]  # no "changed" notice


def test_the_unique_index_is_the_last_defence(now, monkeypatch):
    """Two people confirming the same new address at once: the check passes for both, the
    database refuses the second, and the person gets the clear message, not a 500."""
    user = UserFactory(email="old@example.org")
    token = _token(user, now)
    UserFactory(email="new@example.org")
    monkeypatch.setattr(services, "_email_free", lambda email, user: None)
    with pytest.raises(EmailTaken, match="An account already exists with that email address"):
        services.confirm_email_change(token, now=now)
    assert _email_of(user) == "old@example.org"


def test_a_deactivated_account_cannot_use_its_link(now):
    user = UserFactory(email="old@example.org")
    token = _token(user, now)
    user.active = False
    db.session.commit()
    with pytest.raises(InvalidLink):
        services.confirm_email_change(token, now=now)
