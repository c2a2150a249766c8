"""The unsubscribe link: its GET changes nothing, its POST (a button, or a mail provider's RFC 8058
one-click POST with no cookie or CSRF token) withdraws consent and records it, and a tampered
link is refused and changes nothing."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from tests.factories import CoordinatorFactory, UserFactory
from training.accounts.models import ConsentRecord, ConsentSource, User
from training.extensions import db
from training.notifications import bulletins as services
from training.notifications.models import Bulletin, Outbox

INVALID = "This unsubscribe link is not valid"


@pytest.fixture
def person():
    return UserFactory(consent_updates=True, email="ada@example.org")


def _url(user_id: int) -> str:
    return f"/unsubscribe/{services.unsubscribe_token(user_id)}"


def _state(user_id: int) -> tuple:
    db.session.rollback()  # end the test's read snapshot to see what the request wrote
    user = db.session.get(User, user_id)
    records = db.session.scalars(select(ConsentRecord).where(ConsentRecord.user_id == user_id)).all()
    return user.consent_updates, user.consent_updated_at, [(r.consented, r.source) for r in records]


@pytest.fixture
def csrf_on(app):
    """CSRF protection as in production, for this test only."""
    saved = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield
    finally:
        app.config["WTF_CSRF_ENABLED"] = saved


def test_the_get_shows_a_button_and_changes_nothing(client, person):
    before = _state(person.id)
    response = client.get(_url(person.id))
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Unsubscribe from safeguarding updates" in page
    assert re.search(r"<button[^>]*>\s*Unsubscribe\s*</button>", page)
    assert f'action="{_url(person.id)}"' in page
    assert response.headers["Cache-Control"] == "no-store"
    assert _state(person.id) == before == (True, None, [])


def test_the_button_unsubscribes_and_records_the_change(client, person, now):
    response = client.post(_url(person.id))
    assert response.status_code == 200
    assert "You have unsubscribed" in response.get_data(as_text=True)
    consent, changed_at, records = _state(person.id)
    assert consent is False
    assert abs(changed_at - now) < timedelta(minutes=1)
    assert records == [(False, ConsentSource.UNSUBSCRIBE_LINK)]
    record = db.session.scalars(select(ConsentRecord)).one()
    assert record.recorded_at == changed_at


def test_one_click_post_without_cookie_or_csrf_token_unsubscribes(app, person, csrf_on):
    client = app.test_client()
    # CSRF really is on: a coordinator's form posted without its token is refused...
    coordinator = CoordinatorFactory()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(coordinator.id)
        sess["_fresh"] = True
    assert client.post("/manage/bulletins/new", data={"subject": "S", "body": "B"}).status_code == 400
    assert db.session.scalars(select(Bulletin)).all() == []

    # ...but the mail provider's one-click POST, with no cookie and no token, is answered 200.
    provider = app.test_client(use_cookies=False)
    response = provider.post(_url(person.id), data="List-Unsubscribe=One-Click",
                             content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    consent, _, records = _state(person.id)
    assert consent is False and records == [(False, ConsentSource.UNSUBSCRIBE_LINK)]


def test_a_second_unsubscribe_adds_no_record_and_shows_the_same_page(client, person):
    first = client.post(_url(person.id))
    _, changed_at, _ = _state(person.id)
    second = client.post(_url(person.id), data={"List-Unsubscribe": "One-Click"})
    assert second.status_code == first.status_code == 200
    assert "You have unsubscribed" in second.get_data(as_text=True)
    assert _state(person.id) == (False, changed_at, [(False, ConsentSource.UNSUBSCRIBE_LINK)])


def _tampered(app, user_id: int) -> list[str]:
    token = services.unsubscribe_token(user_id)
    payload, signature = token.split(".")
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    other_user = UserFactory(consent_updates=True).id
    return [
        f"{payload}.{flipped}",                                    # a changed signature
        f"{services.unsubscribe_token(other_user).split('.')[0]}.{signature}",  # someone else's id, Ada's signature
        token[:-4],                                                # cut short
        "not-a-token",
        "MQ",                                                      # the payload alone, unsigned
        URLSafeSerializer(app.config["SECRET_KEY"], salt="another-purpose").dumps(user_id),  # another salt
        URLSafeSerializer("some other secret key at least 32 chars", salt=services.UNSUBSCRIBE_SALT).dumps(user_id),
        URLSafeSerializer(app.config["SECRET_KEY"], salt=services.UNSUBSCRIBE_SALT).dumps(str(user_id)),  # not an int
        URLSafeSerializer(app.config["SECRET_KEY"], salt=services.UNSUBSCRIBE_SALT).dumps(True),
        services.unsubscribe_token(999_999),                       # signed, but nobody has that id
    ]


def test_a_tampered_token_is_refused_and_nothing_changes(app, client, person):
    tokens = _tampered(app, person.id)
    before = _state(person.id)
    everyone = {u.id: (u.consent_updates, u.consent_updated_at) for u in db.session.scalars(select(User))}
    for token in tokens:
        for method in (client.get, client.post):
            response = method(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
            assert response.status_code == 404, token
            assert INVALID in response.get_data(as_text=True), token
    assert _state(person.id) == before
    assert {u.id: (u.consent_updates, u.consent_updated_at) for u in db.session.scalars(select(User))} == everyone
    assert db.session.scalars(select(ConsentRecord)).all() == []


def test_the_token_names_the_person_and_round_trips(person):
    token = services.unsubscribe_token(person.id)
    assert services.user_id_from_token(token) == person.id
    assert services.user_id_from_token(token + "x") is None
    assert services.unsubscribe_url(person.id).endswith(f"/unsubscribe/{token}")


def test_a_deactivated_person_can_still_unsubscribe(client):
    person = UserFactory(consent_updates=True, active=False)
    assert client.post(_url(person.id)).status_code == 200
    assert _state(person.id)[0] is False


def test_unsubscribing_leaves_messages_already_queued_alone_but_stops_the_next(client, person):
    coordinator = CoordinatorFactory()
    first = services.create_draft(services.BulletinDetails("June", "Text"), coordinator)
    services.send(first.id, coordinator)
    client.post(_url(person.id))
    db.session.rollback()
    second = services.create_draft(services.BulletinDetails("July", "Text"), coordinator)
    with pytest.raises(services.NoRecipients):
        services.send(second.id, coordinator)
    assert [m.dedupe_key for m in db.session.scalars(select(Outbox))] == [f"bulletin:{first.id}:{person.id}"]
