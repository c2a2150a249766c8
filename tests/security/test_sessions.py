"""Idle timeout, the absolute cap, a new session at sign-in, sign-out that sticks, cookie flags."""
from __future__ import annotations

from datetime import timedelta

from tests.factories import TEST_PASSWORD, UserFactory
from training.accounts.models import User
from training.db import utcnow
from training.extensions import db
from training.security import LAST_ACTIVE, STARTED

IDLE_MESSAGE = "You were signed out because you were inactive for 30 minutes"


def _sign_in(client, user) -> None:
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302


def _set(client, **values) -> None:
    with client.session_transaction() as sess:
        sess.update(values)


def test_idle_for_more_than_30_minutes_signs_you_out(app, client):
    assert app.config["SESSION_IDLE_MINUTES"] == 30
    _sign_in(client, UserFactory())
    assert client.get("/account").status_code == 200
    _set(client, **{LAST_ACTIVE: utcnow().timestamp() - 31 * 60})
    response = client.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in?next=/account"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert IDLE_MESSAGE in page
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
    assert client.get("/account").status_code == 302


def test_activity_within_30_minutes_keeps_you_signed_in(client):
    _sign_in(client, UserFactory())
    _set(client, **{LAST_ACTIVE: utcnow().timestamp() - 29 * 60})
    assert client.get("/account").status_code == 200
    # That request counted as activity: the clock starts again.
    with client.session_transaction() as sess:
        assert utcnow().timestamp() - sess[LAST_ACTIVE] < 60


def test_activity_is_noted_at_most_once_a_minute_so_the_cookie_is_not_resent_each_time(client):
    _sign_in(client, UserFactory())
    assert client.get("/account").status_code == 200  # the first page puts its CSRF secret in the session
    noted = utcnow().timestamp() - 50
    _set(client, **{LAST_ACTIVE: noted})
    response = client.get("/account")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    with client.session_transaction() as sess:
        assert sess[LAST_ACTIVE] == noted
    _set(client, **{LAST_ACTIVE: utcnow().timestamp() - 61})
    response = client.get("/account")
    assert response.status_code == 200
    assert response.headers["Set-Cookie"].startswith("session=")
    with client.session_transaction() as sess:
        assert utcnow().timestamp() - sess[LAST_ACTIVE] < 5


def test_an_expired_post_does_nothing_and_asks_you_to_sign_in(login_as):
    user = UserFactory()
    client = login_as(user)
    client.get("/account")
    old_hash = user.password_hash
    _set(client, **{LAST_ACTIVE: utcnow().timestamp() - 31 * 60})
    response = client.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": "a long enough passphrase",
        "confirm_password": "a long enough passphrase"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == old_hash


def test_sessions_end_after_12_hours_however_active(app, client):
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(hours=12)
    _sign_in(client, UserFactory())
    now = utcnow().timestamp()
    _set(client, **{STARTED: now - 12 * 3600 - 60, LAST_ACTIVE: now - 60})
    response = client.get("/account")
    assert response.status_code == 302
    assert "You were signed out because you have been signed in for 12 hours" in client.get(
        response.headers["Location"]).get_data(as_text=True)
    assert client.get("/account").status_code == 302


def test_signing_in_starts_a_new_session(client):
    user = UserFactory()
    _set(client, planted="by someone else")
    before = client.get_cookie("session").value
    _sign_in(client, user)
    after = client.get_cookie("session").value
    assert after != before
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == str(user.id)


def test_a_copy_of_the_cookie_stops_working_after_sign_out(app, client):
    _sign_in(client, UserFactory())
    stolen = client.get_cookie("session").value
    copy = app.test_client()
    copy.set_cookie("session", stolen)
    assert copy.get("/account").status_code == 200  # the copy works while the session lasts

    client.post("/sign-out")
    assert client.get("/account").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_a_session_naming_no_real_person_is_signed_out(client):
    user = UserFactory()
    for user_id in (str(user.id + 1), str(2**31), "9" * 30, "not-a-number"):
        with client.session_transaction() as sess:
            sess["_user_id"] = user_id
        response = client.get("/account")
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), user_id
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
    assert client.get("/account").status_code == 200


def test_the_session_cookie_is_httponly_and_samesite_lax(client):
    user = UserFactory()
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # development over plain HTTP


def test_the_session_cookie_is_secure_in_production(make_app):
    live = make_app(ENV_NAME="production", SECRET_KEY="a-production-secret-of-at-least-32-characters")
    user = UserFactory()
    response = live.test_client().post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD},
                                       base_url="https://localhost")
    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
