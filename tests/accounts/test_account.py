"""Your account: the details page, editing them, and changing your password."""
import re

import pytest
from werkzeug.security import check_password_hash

from tests.factories import TEST_PASSWORD, AgencyFactory, CoordinatorFactory, UserFactory
from training.accounts.models import Role
from training.extensions import db

NEW_PASSWORD = "another long passphrase"


def test_account_page_shows_details_and_roles(login_as):
    user = CoordinatorFactory(name="Kim Lee", email="kim@example.org", job_title="Designated lead",
                              agency=AgencyFactory(name="Riverside Academy"))
    html = login_as(user).get("/account").get_data(as_text=True)
    for text in ("Kim Lee", "kim@example.org", "Riverside Academy", "Designated lead",
                 "Professional, Coordinator", "Change your password"):
        assert text in html
    assert 'href="/account/edit"' in html


def test_edit_form_is_filled_in_with_current_details(login_as):
    user = UserFactory(job_title="School nurse")
    html = login_as(user).get("/account/edit").get_data(as_text=True)
    assert 'value="School nurse"' in html
    assert f'<option value="{user.agency_id}" selected>' in html


def _profile(user, **changes):
    data = {
        "name": "New Name",
        "agency": str(user.agency_id),
        "job_title": "Senior practitioner",
        "manager_name": "New Manager",
        "manager_email": "New.Manager@Example.org",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_editing_details_saves_them(login_as):
    user = UserFactory()
    other = AgencyFactory()
    response = login_as(user).post("/account/edit", data=_profile(user, agency=str(other.id)))
    assert response.headers["Location"] == "/account"
    db.session.refresh(user)
    assert (user.name, user.agency_id, user.job_title, user.manager_name, user.manager_email) == (
        "New Name", other.id, "Senior practitioner", "New Manager", "new.manager@example.org")


def test_email_cannot_be_changed_here(login_as):
    user = UserFactory(email="keep@example.org")
    client = login_as(user)
    assert 'name="email"' not in client.get("/account/edit").get_data(as_text=True)
    client.post("/account/edit", data=_profile(user, email="changed@example.org"))
    db.session.refresh(user)
    assert user.email == "keep@example.org"


def test_giving_and_withdrawing_consent_is_timestamped(login_as):
    user = UserFactory(consent_updates=False)
    client = login_as(user)
    client.post("/account/edit", data=_profile(user, consent_updates="y"))
    db.session.refresh(user)
    assert user.consent_updates is True
    given_at = user.consent_updated_at
    assert given_at is not None

    client.post("/account/edit", data=_profile(user, consent_updates="y"))  # unchanged: time kept
    db.session.refresh(user)
    assert user.consent_updated_at == given_at

    client.post("/account/edit", data=_profile(user))  # unticked: withdrawn
    db.session.refresh(user)
    assert user.consent_updates is False
    assert user.consent_updated_at >= given_at


def test_people_in_a_deactivated_agency_keep_it(login_as):
    closed = AgencyFactory(name="Closed Clinic", active=False)
    user = UserFactory(agency=closed)
    client = login_as(user)
    assert "Closed Clinic" in client.get("/account/edit").get_data(as_text=True)
    assert client.post("/account/edit", data=_profile(user)).status_code == 302
    db.session.refresh(user)
    assert user.agency_id == closed.id and user.name == "New Name"


def test_a_deactivated_agency_cannot_be_newly_chosen(login_as):
    user = UserFactory()
    closed = AgencyFactory(active=False)
    html = login_as(user).post("/account/edit", data=_profile(user, agency=str(closed.id))).get_data(as_text=True)
    assert "Select your agency" in html
    db.session.refresh(user)
    assert user.agency_id != closed.id


@pytest.mark.parametrize("changes, message", [
    ({"name": ""}, "Enter your full name"),
    ({"agency": "abc"}, "Select your agency"),
    ({"agency": "424242"}, "Select your agency"),
    ({"agency": None}, "Select your agency"),
    ({"job_title": ""}, "Enter your job title"),
    ({"manager_name": "  "}, "Enter your line manager&#39;s name"),
    ({"manager_email": "nope"}, "Enter an email address in the correct format, like name@example.com"),
])
def test_bad_profile_input_changes_nothing(login_as, changes, message):
    user = UserFactory(name="Original Name")
    response = login_as(user).post("/account/edit", data=_profile(user, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: " in html and message in html
    db.session.refresh(user)
    assert user.name == "Original Name"


def _password(current=TEST_PASSWORD, new=NEW_PASSWORD, confirm=None):
    return {"current_password": current, "new_password": new,
            "confirm_password": new if confirm is None else confirm}


def test_changing_password(login_as):
    user = UserFactory()
    client = login_as(user)
    response = client.post("/account/password", data=_password())
    assert response.headers["Location"] == "/account"
    db.session.refresh(user)
    assert check_password_hash(user.password_hash, NEW_PASSWORD)
    assert "Your password has been changed" in client.get("/account").get_data(as_text=True)


@pytest.mark.parametrize("data, message", [
    (_password(current="not my password"), "Your current password is incorrect"),
    (_password(current=""), "Enter your current password"),
    (_password(new="short"), "Password must be 12 characters or more"),
    (_password(new=""), "Enter a new password"),
    (_password(confirm="something else entirely"), "The passwords you entered do not match"),
])
def test_bad_password_change_changes_nothing(login_as, data, message):
    user = UserFactory()
    before = user.password_hash
    response = login_as(user).post("/account/password", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: Your account" in html and message in html
    db.session.refresh(user)
    assert user.password_hash == before


def test_account_pages_are_never_cached(login_as):
    response = login_as(UserFactory()).get("/account")
    assert response.headers["Cache-Control"] == "no-store"


def _roles_row(html):
    return re.search(r'Roles\s*</dt>\s*<dd class="govuk-summary-list__value">\s*([^<]*?)\s*</dd>', html).group(1)


def test_roles_row_lists_roles_in_order(login_as):
    user = UserFactory(roles=[Role.COORDINATOR, Role.TRAINER, Role.PROFESSIONAL])
    assert _roles_row(login_as(user).get("/account").get_data(as_text=True)) == "Professional, Trainer, Coordinator"


def test_roles_row_for_someone_without_any(login_as):
    user = UserFactory(roles=[])
    assert _roles_row(login_as(user).get("/account").get_data(as_text=True)) == "None"
