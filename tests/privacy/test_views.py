"""The privacy notice, your data as a page and a download, and deleting a person's data."""
from __future__ import annotations

import json

from tests.factories import CoordinatorFactory, UserFactory
from tests.privacy.conftest import LONG_AGO, RECENTLY, delegate, figures, session_at
from tests.sql import recorded_statements
from training.accounts.models import User
from training.extensions import db
from training.privacy import services


def test_privacy_notice_is_public_and_covers_the_essentials(client, app):
    response = client.get("/privacy")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1 class=\"govuk-heading-l\">Privacy notice</h1>" in page
    assert app.config["PARTNERSHIP_NAME"] in page and "data controller" in page
    assert "public task" in page and "legitimate interests" in page and "consent" in page
    assert "anonymous to trainers and in reports" in page
    assert f"We keep your data for {app.config['RETENTION_YEARS']} years after your last activity" in page
    assert 'href="/account/my-data"' in page and 'href="/account"' in page and "mailto:" in page


def test_my_data_pages_need_sign_in(client):
    for path in ("/account/my-data", "/account/my-data.json"):
        response = client.get(path)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_my_data_page_shows_your_data_only(login_as):
    session = session_at(LONG_AGO)
    mine, other = delegate(session, comment="My own comment"), delegate(session, comment="Not mine at all")
    response = login_as(mine.user).get("/account/my-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert mine.user.email in page and mine.user.manager_email in page
    assert session.course.title in page and "My own comment" in page and mine.certificate.code in page
    assert other.user.email not in page and "Not mine at all" not in page and other.certificate.code not in page
    assert "mailto:" in page and 'id="delete-your-account"' in page


def test_my_data_download_is_an_uncached_json_attachment(login_as):
    history = delegate(session_at(LONG_AGO))
    other = delegate(session_at(RECENTLY))
    response = login_as(history.user).get("/account/my-data.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["id"] == history.user.id
    assert [b["id"] for b in data["bookings"]] == [history.booking.id]
    assert [c["code"] for c in data["certificates"]] == [history.certificate.code]
    assert other.user.email not in response.get_data(as_text=True)


def _statements(client, path: str) -> int:
    with recorded_statements() as statements:
        assert client.get(path).status_code == 200
    return len(statements)


def test_my_data_uses_the_same_number_of_queries_however_much_there_is(login_as):
    user = UserFactory()
    client = login_as(user)
    delegate(session_at(LONG_AGO), user=user)
    one = {path: _statements(client, path) for path in ("/account/my-data", "/account/my-data.json")}
    for months in (1, 2, 3, 4):
        delegate(session_at(RECENTLY.replace(month=RECENTLY.month + months)), user=user)
    five = {path: _statements(client, path) for path in ("/account/my-data", "/account/my-data.json")}
    assert len(services.my_data(user.id).bookings) == 5
    assert five == one


def test_coordinator_sees_the_confirmation_page(login_as):
    person = UserFactory(name="Kim Lee")
    response = login_as(CoordinatorFactory()).get(f"/manage/people/{person.id}/delete")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1 class=\"govuk-heading-l\">Delete Kim Lee's personal data</h1>" in page and "You cannot undo this." in page
    assert 'name="csrf_token"' in page


def test_only_coordinators_can_delete_personal_data(client, login_as):
    person = UserFactory()
    path = f"/manage/people/{person.id}/delete"
    assert login_as(UserFactory()).post(path).status_code == 403
    assert "/sign-in" in client.post(path).headers["Location"]
    db.session.expire_all()
    assert not services.is_anonymised(db.session.get(User, person.id))


def test_deleting_a_person_anonymises_them_and_ends_their_session(login_as):
    history = delegate(session_at(LONG_AGO))
    person_client = login_as(history.user)
    assert person_client.get("/account/my-data").status_code == 200
    before = figures()

    response = login_as(CoordinatorFactory()).post(f"/manage/people/{history.user.id}/delete",
                                                   follow_redirects=True)

    assert response.status_code == 200
    assert response.request.path == f"/manage/people/{history.user.id}"
    assert f"now show them as Anonymised person {history.user.id}" in response.get_data(as_text=True)
    db.session.expire_all()
    assert services.is_anonymised(db.session.get(User, history.user.id))
    assert figures() == before
    assert "/sign-in" in person_client.get("/account/my-data").headers["Location"]


def test_deleting_yourself_is_refused(login_as):
    coordinator = CoordinatorFactory()
    CoordinatorFactory()
    client = login_as(coordinator)
    page = client.get(f"/manage/people/{coordinator.id}/delete").get_data(as_text=True)
    assert "You cannot delete your own personal data" in page and "Delete personal data</button>" not in page

    response = client.post(f"/manage/people/{coordinator.id}/delete", follow_redirects=True)

    assert "You cannot delete your own personal data" in response.get_data(as_text=True)
    db.session.expire_all()
    assert not services.is_anonymised(db.session.get(User, coordinator.id))


def test_deleting_an_unknown_person_is_not_found(login_as):
    assert login_as(CoordinatorFactory()).get("/manage/people/99999/delete").status_code == 404
