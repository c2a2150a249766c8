"""A new password ends the person's other sessions: a reset ends all, a change all but this one."""
from __future__ import annotations

from tests.factories import TEST_PASSWORD, UserFactory
from training.accounts import services as account_services
from training.accounts import tokens
from training.db import utcnow
from training.extensions import db

NEW_PASSWORD = "a-much-longer-passphrase-42"


def _signed_in(app, user):
    client = app.test_client()
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert client.get("/account").status_code == 200
    return client


def test_changing_the_password_signs_out_other_devices_but_not_this_one(app):
    user = UserFactory()
    db.session.commit()
    laptop, phone = _signed_in(app, user), _signed_in(app, user)

    response = laptop.post("/account/password", data={
        "current_password": TEST_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD})
    assert response.status_code == 302

    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302  # back to sign in
    assert "/sign-in" in phone.get("/account").headers["Location"]


def test_a_password_reset_signs_out_every_session(app):
    user = UserFactory()
    db.session.commit()
    laptop, phone = _signed_in(app, user), _signed_in(app, user)
    token = tokens.password_reset_token(user, utcnow())

    account_services.reset_password(token, NEW_PASSWORD)

    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").status_code == 302
    fresh = app.test_client()
    assert fresh.post("/sign-in", data={"email": user.email, "password": NEW_PASSWORD}).status_code == 302
    assert fresh.get("/account").status_code == 200


def test_a_session_from_before_the_mark_existed_carries_on_until_the_password_changes(app, client, login_as):
    user = UserFactory()
    db.session.commit()
    old = login_as(user)  # sets the session directly, as an old cookie would, without the mark
    assert old.get("/account").status_code == 200
    assert old.get("/account").status_code == 200
    with app.app_context():
        person = db.session.get(type(user), user.id)
        person.set_password(NEW_PASSWORD, "pbkdf2:sha256:1000")
        db.session.commit()
    assert old.get("/account").status_code == 302
