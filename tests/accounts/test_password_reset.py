"""Forgotten password: asking for a link (the same answer for every address), the emailed link,
and choosing a new password with it: once, before it expires, and only if nobody tampered with it."""
from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from tests.factories import TEST_PASSWORD, UserFactory
from tests.notifications.conftest import body_html, body_text, smtp_server  # noqa: F401  (fixture)
from training.accounts import services, tokens
from training.accounts.errors import InvalidLink
from training.accounts.passwords import PasswordTooEasy
from training.db import utcnow
from training.extensions import db
from training.notifications.models import MessageKind, Outbox
from training.notifications.sender import deliver

NEW_PASSWORD = "another long passphrase"
SENT = "If there is an account for that email, we have sent a link to reset the password. It works for 60 minutes."
INVALID = "This link has expired or has already been used"
LINK = re.compile(r"https?://\S+/reset-password/[A-Za-z0-9_.\-]+")


def _outbox() -> list[Outbox]:
    db.session.commit()
    return list(db.session.scalars(select(Outbox).order_by(Outbox.id)))


def _link_in(text: str) -> str:
    match = LINK.search(text)
    assert match, text
    return match.group(0)


def _path(link: str) -> str:
    return urlsplit(link).path


def _ask(client, email: str):
    return client.post("/forgotten-password", data={"email": email})


def _reset(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    return client.post(path, data={"new_password": password,
                                   "confirm_password": password if confirm is None else confirm})


def _password_is(user, password: str) -> bool:
    db.session.expire_all()
    return db.session.get(type(user), user.id).check_password(password)


# ---------------------------------------------------------------------------
# Asking for a link
# ---------------------------------------------------------------------------

def test_sign_in_page_links_to_forgotten_password(client):
    html = client.get("/sign-in").get_data(as_text=True)
    assert '<a class="govuk-link" href="/forgotten-password">Forgotten your password?</a>' in html
    page = client.get("/forgotten-password")
    assert page.status_code == 200
    assert "Reset your password" in page.get_data(as_text=True)


@pytest.mark.parametrize(("email", "message"), [
    ("", "Enter your email address"),
    ("   ", "Enter your email address"),
    ("not-an-email", "Enter an email address in the correct format, like name@example.com"),
])
def test_bad_addresses_get_govuk_errors_and_send_nothing(client, email, message):
    response = _ask(client, email)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "govuk-error-summary" in html and message in html
    assert _outbox() == []


def test_every_address_gets_the_same_answer(client):
    UserFactory(email="known@example.org")
    UserFactory(email="gone@example.org", active=False)
    answers = [_ask(client, email) for email in ("known@example.org", "unknown@example.org", "gone@example.org")]
    assert {(r.status_code, r.headers["Location"]) for r in answers} == {(302, "/forgotten-password/sent")}
    page = client.get("/forgotten-password/sent")
    assert page.status_code == 200 and SENT in page.get_data(as_text=True)
    # Only the active, known account gets an email.
    assert [(m.kind, m.recipient) for m in _outbox()] == [(MessageKind.PASSWORD_RESET, "known@example.org")]


def test_unknown_and_deactivated_addresses_send_nothing(now):
    UserFactory(email="gone@example.org", active=False)
    assert services.request_password_reset("unknown@example.org", now=now) is None
    assert services.request_password_reset("gone@example.org", now=now) is None
    assert _outbox() == []


def test_the_address_is_matched_ignoring_case_and_spaces(client):
    user = UserFactory(email="mixed@example.org")
    _ask(client, "  Mixed@Example.ORG ")
    assert [(m.recipient, m.user_id) for m in _outbox()] == [("mixed@example.org", user.id)]


def test_asking_again_within_a_minute_sends_one_email(now):
    UserFactory(email="twice@example.org")
    services.request_password_reset("twice@example.org", now=now.replace(second=1))
    services.request_password_reset("twice@example.org", now=now.replace(second=30))
    assert len(_outbox()) == 1
    services.request_password_reset("twice@example.org", now=now.replace(second=30) + timedelta(minutes=1))
    assert len(_outbox()) == 2


def test_asking_is_rate_limited_like_signing_in(make_app):  # noqa: F811
    UserFactory(email="limited@example.org")
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="2 per minute").test_client()
    environ = {"REMOTE_ADDR": "192.0.2.44"}
    statuses = [client.post("/forgotten-password", data={"email": "limited@example.org"},
                            environ_base=environ).status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert client.get("/forgotten-password", environ_base=environ).status_code == 200


# ---------------------------------------------------------------------------
# The email and the link, end to end
# ---------------------------------------------------------------------------

def test_the_emailed_link_resets_the_password_once(client, smtp_server):  # noqa: F811
    user = UserFactory(email="reset.me@example.org", name="Robin Reset")
    _ask(client, "reset.me@example.org")
    report = deliver()
    assert report.sent == 1
    [message] = smtp_server.to("reset.me@example.org")
    assert message["Subject"] == "Reset your password"
    text = body_text(message)
    assert "Hello Robin Reset" in text and "works for 60 minutes" in text
    link = _link_in(text)
    assert link.startswith("http://127.0.0.1:5000/reset-password/")  # BASE_URL, never the Host header
    assert link in body_html(message)

    form = client.get(_path(link))
    assert form.status_code == 200
    assert "Choose a new password" in form.get_data(as_text=True)
    assert _password_is(user, TEST_PASSWORD)  # the GET changes nothing

    done = _reset(client, _path(link))
    assert (done.status_code, done.headers["Location"]) == (302, "/sign-in")
    assert _password_is(user, NEW_PASSWORD)
    assert services.authenticate("reset.me@example.org", NEW_PASSWORD) is not None
    assert services.authenticate("reset.me@example.org", TEST_PASSWORD) is None
    signed_in = client.post("/sign-in", data={"email": "reset.me@example.org", "password": NEW_PASSWORD})
    assert signed_in.status_code == 302 and "/sign-in" not in signed_in.headers["Location"]

    # Used once: the same link is refused, and changes nothing.
    for again in (client.get(_path(link)), _reset(client, _path(link), "a third long passphrase")):
        assert again.status_code == 400
        assert INVALID in again.get_data(as_text=True)
        assert 'href="/forgotten-password"' in again.get_data(as_text=True)
    assert _password_is(user, NEW_PASSWORD)


def test_success_is_flashed_on_the_sign_in_page(client, now):
    UserFactory(email="flash@example.org")
    token = services.request_password_reset("flash@example.org", now=now)
    response = _reset(client, f"/reset-password/{token}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your password has been changed. Sign in with your new password" in page


def test_resetting_signs_this_browser_out(login_as, now):
    user = UserFactory(email="signed.in@example.org")
    client = login_as(user)
    assert client.get("/account").status_code == 200
    token = services.request_password_reset(user.email, now=now)
    _reset(client, f"/reset-password/{token}")
    response = client.get("/account")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


# ---------------------------------------------------------------------------
# Refusals
# ---------------------------------------------------------------------------

def test_the_link_expires(now):
    user = UserFactory(email="slow@example.org")
    token = services.request_password_reset(user.email, now=now)
    assert services.password_reset_user(token, now=now + timedelta(minutes=59)).id == user.id
    with pytest.raises(InvalidLink):
        services.password_reset_user(token, now=now + timedelta(minutes=61))
    with pytest.raises(InvalidLink):
        services.reset_password(token, NEW_PASSWORD, now=now + timedelta(minutes=61))
    assert _password_is(user, TEST_PASSWORD)


def test_an_expired_link_shows_the_expired_page(client):
    user = UserFactory()
    token = services.request_password_reset(user.email, now=utcnow() - timedelta(minutes=61))
    response = client.get(f"/reset-password/{token}")
    assert response.status_code == 400 and INVALID in response.get_data(as_text=True)


def test_a_link_from_the_future_is_refused(now):
    user = UserFactory()
    token = tokens.password_reset_token(user, now + timedelta(hours=1))
    with pytest.raises(InvalidLink):
        services.password_reset_user(token, now=now)


def _tampered(token: str) -> list[str]:
    payload, _, signature = token.partition(".")
    flipped = ("A" if token[0] != "A" else "B") + token[1:]
    # The signature's second last character: the last one ends in padding bits, so changing
    # it may leave the signature's bytes as they were.
    other = "A" if token[-2] != "A" else "B"
    return [flipped, token[:-2] + other + token[-1], token + "x", payload, signature,
            "1", "not a token", "." * 3]


def test_tampered_links_are_refused(client, now):
    user = UserFactory(email="tamper@example.org")
    token = services.request_password_reset(user.email, now=now)
    for bad in _tampered(token):
        with pytest.raises(InvalidLink):
            services.password_reset_user(bad, now=now)
        response = _reset(client, f"/reset-password/{bad}")
        assert response.status_code in (400, 404), bad
    assert _password_is(user, TEST_PASSWORD)
    assert services.password_reset_user(token, now=now).id == user.id  # the real one still works


def test_a_link_for_another_purpose_or_key_is_refused(app, now):
    user = UserFactory()
    other_purpose = tokens.email_change_token(user, "nonce", now)
    with pytest.raises(InvalidLink):
        services.password_reset_user(other_purpose, now=now)
    token = tokens.password_reset_token(user, now)
    saved = app.config["SECRET_KEY"]
    app.config["SECRET_KEY"] = "another secret key that is long enough to use"
    try:
        with pytest.raises(InvalidLink):
            services.password_reset_user(token, now=now)
    finally:
        app.config["SECRET_KEY"] = saved


def test_the_token_reveals_nothing_of_the_password_hash(now):
    user = UserFactory()
    token = tokens.password_reset_token(user, now)
    for piece in re.findall(r"[0-9a-f]{8,}", user.password_hash):
        assert piece not in token


def test_a_deactivated_account_cannot_use_its_link(client, now):
    user = UserFactory(email="leaver@example.org")
    token = services.request_password_reset(user.email, now=now)
    user.active = False
    db.session.commit()
    response = _reset(client, f"/reset-password/{token}")
    assert response.status_code == 400
    assert _password_is(user, TEST_PASSWORD)


def test_changing_the_password_another_way_kills_the_link(login_as, now):
    user = UserFactory()
    token = services.request_password_reset(user.email, now=now)
    login_as(user).post("/account/password", data={"current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD,
                                                   "confirm_password": NEW_PASSWORD})
    with pytest.raises(InvalidLink):
        services.password_reset_user(token, now=now)


def test_only_the_newest_password_state_counts_for_two_links(now):
    user = UserFactory()
    first = services.request_password_reset(user.email, now=now)
    second = services.request_password_reset(user.email, now=now + timedelta(minutes=2))
    services.reset_password(second, NEW_PASSWORD, now=now + timedelta(minutes=3))
    with pytest.raises(InvalidLink):
        services.reset_password(first, "a third long passphrase", now=now + timedelta(minutes=4))
    assert _password_is(user, NEW_PASSWORD)


# ---------------------------------------------------------------------------
# The new password's rules: the same as everywhere else
# ---------------------------------------------------------------------------

@pytest.mark.parametrize(("password", "confirm", "message"), [
    ("", "", "Enter a new password"),
    ("short", "short", "Password must be 12 characters or more"),
    ("password1234", "password1234", "Choose a password that is harder to guess"),
    (NEW_PASSWORD, "something else entirely", "The passwords you entered do not match"),
    ("x" * 129, "x" * 129, "Password must be 128 characters or fewer"),
])
def test_the_new_password_follows_the_usual_rules(client, now, password, confirm, message):
    user = UserFactory(email="rules@example.org")
    token = services.request_password_reset(user.email, now=now)
    response = _reset(client, f"/reset-password/{token}", password, confirm)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "govuk-error-summary" in html and message in html
    assert _password_is(user, TEST_PASSWORD)
    assert services.password_reset_user(token, now=now).id == user.id  # still usable


def test_a_password_containing_the_email_is_refused_by_the_service(now):
    user = UserFactory(email="jordan.smith@example.org")
    token = services.request_password_reset(user.email, now=now)
    with pytest.raises(PasswordTooEasy):
        services.reset_password(token, "jordan.smith rocks the house", now=now)

