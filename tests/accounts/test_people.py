"""Coordinators' people pages: the list, one person, their roles and account status."""
import re
from datetime import UTC, datetime

import pytest

from tests.factories import AgencyFactory, CoordinatorFactory, TrainerFactory, UserFactory
from tests.sql import recorded_statements
from training.accounts.models import Role
from training.extensions import db


def _names(html: str) -> list[str]:
    return re.findall(r'<a class="govuk-link" href="/manage/people/\d+">([^<]+)</a>', html)


@pytest.fixture
def coordinator():
    return CoordinatorFactory(name="Cora Ordinator", email="cora@example.org")


@pytest.fixture
def client(login_as, coordinator):
    return login_as(coordinator)


def test_list_shows_people_by_name_with_agency_and_roles(client, coordinator):
    UserFactory(name="bea Smith", agency=AgencyFactory(name="Northside School"))
    TrainerFactory(name="Adam Jones")
    html = client.get("/manage/people").get_data(as_text=True)
    assert _names(html) == ["Adam Jones", "bea Smith", "Cora Ordinator"]
    assert "Northside School" in html
    assert "Professional, Trainer" in html
    assert "3 people" in html


@pytest.mark.parametrize("term, expected", [
    ("smith", ["Bea Smith"]),
    ("JONES@", ["Adam Jones"]),
    ("%", []),  # a LIKE wildcard is searched for literally
    ("_", []),
])
def test_search_by_name_or_email(client, term, expected):
    UserFactory(name="Bea Smith", email="bea@example.org")
    UserFactory(name="Adam Jones", email="adam.jones@example.org")
    html = client.get("/manage/people", query_string={"q": term}).get_data(as_text=True)
    assert _names(html) == expected


def test_filter_by_agency_and_role(client):
    school = AgencyFactory(name="Northside School")
    UserFactory(name="Pat Pupil-Support", agency=school)
    TrainerFactory(name="Tess Trainer", agency=school)
    TrainerFactory(name="Other Trainer")
    html = client.get("/manage/people", query_string={"agency": school.id}).get_data(as_text=True)
    assert _names(html) == ["Pat Pupil-Support", "Tess Trainer"]
    html = client.get("/manage/people", query_string={"role": "trainer"}).get_data(as_text=True)
    assert _names(html) == ["Other Trainer", "Tess Trainer"]
    html = client.get("/manage/people", query_string={"role": "trainer", "agency": school.id}).get_data(as_text=True)
    assert _names(html) == ["Tess Trainer"]
    assert "Clear filters" in html


@pytest.mark.parametrize("args", [
    {"agency": "abc"}, {"agency": "99999"}, {"role": "emperor"}, {"page": "x"}, {"page": "-3"}, {"page": "500"},
    {"page": "99999999999999999999999"}, {"q": "x" * 5000},
])
def test_nonsense_filters_do_not_break_the_page(client, args):
    UserFactory(name="Someone")
    response = client.get("/manage/people", query_string=args)
    assert response.status_code == 200


def test_pagination_keeps_filters(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "PEOPLE_PAGE_SIZE", 2)
    for n in range(5):
        TrainerFactory(name=f"Trainer {n}")
    html = client.get("/manage/people", query_string={"role": "trainer"}).get_data(as_text=True)
    assert _names(html) == ["Trainer 0", "Trainer 1"]
    assert "page 1 of 3" in html
    assert 'href="/manage/people?role=trainer&amp;page=2"' in html
    html = client.get("/manage/people", query_string={"role": "trainer", "page": 3}).get_data(as_text=True)
    assert _names(html) == ["Trainer 4"]


def _people_page_queries(client) -> tuple[int, int]:
    """(people listed, SQL statements run) for one request, transaction control left out."""
    with recorded_statements() as statements:
        html = client.get("/manage/people").get_data(as_text=True)
    return len(_names(html)), len([s for s in statements if s.split()[0] not in {"BEGIN", "COMMIT", "ROLLBACK"}])


def test_people_list_query_count_does_not_grow_with_people(client):
    for n in range(4):
        (TrainerFactory if n % 2 else UserFactory)(agency=AgencyFactory())
    listed, few = _people_page_queries(client)
    assert listed == 5
    for n in range(20):
        (TrainerFactory if n % 2 else UserFactory)(agency=AgencyFactory())
    listed, many = _people_page_queries(client)
    assert listed == 25
    assert many == few
    # the signed-in user with their roles, the agencies for the filter, the count, the page, its roles
    assert few == 5


def test_person_page_shows_details_and_roles(client):
    person = TrainerFactory(name="Tess Trainer", job_title="Trainer", manager_name="Manny Manager")
    html = client.get(f"/manage/people/{person.id}").get_data(as_text=True)
    for text in ("Tess Trainer", person.email, person.agency.name, "Manny Manager"):
        assert text in html
    assert re.search(r'value="trainer" checked', html)
    assert not re.search(r'value="coordinator" checked', html)


def test_person_page_shows_the_london_date_the_account_was_created(client):
    # 23:30 UTC on the last Saturday of October is already Sunday in London (BST, UTC+1).
    person = UserFactory(created_at=datetime(2026, 10, 24, 23, 30, tzinfo=UTC))
    html = client.get(f"/manage/people/{person.id}").get_data(as_text=True)
    assert "25 October 2026" in html


def test_unknown_person_is_404(client):
    assert client.get("/manage/people/999999").status_code == 404
    assert client.post("/manage/people/999999/roles", data={"roles": ["trainer"]}).status_code == 404
    assert client.post("/manage/people/999999/status", data={"active": "false"}).status_code == 404


def test_coordinator_grants_and_revokes_roles(client, coordinator):
    person = UserFactory()
    response = client.post(f"/manage/people/{person.id}/roles", data={"roles": ["trainer", "coordinator"]})
    assert response.headers["Location"] == f"/manage/people/{person.id}"
    db.session.refresh(person)
    assert person.roles == {Role.TRAINER, Role.COORDINATOR}
    assert {g.granted_by_id for g in person.grants} == {coordinator.id}
    client.post(f"/manage/people/{person.id}/roles", data={"roles": ["professional"]})
    db.session.refresh(person)
    assert person.roles == {Role.PROFESSIONAL}


def test_unknown_role_is_refused(client):
    person = UserFactory()
    html = client.post(f"/manage/people/{person.id}/roles",
                       data={"roles": ["professional", "superuser"]}).get_data(as_text=True)
    assert "Select roles from the list" in html
    db.session.refresh(person)
    assert person.roles == {Role.PROFESSIONAL}


def test_coordinator_cannot_remove_their_own_coordinator_role(client, coordinator):
    response = client.post(f"/manage/people/{coordinator.id}/roles", data={"roles": ["professional"]})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "You cannot remove your own coordinator role" in html
    assert "<title>Error: " in html
    db.session.refresh(coordinator)
    assert coordinator.roles == {Role.PROFESSIONAL, Role.COORDINATOR}


def test_coordinator_can_change_their_other_roles(client, coordinator):
    client.post(f"/manage/people/{coordinator.id}/roles", data={"roles": ["coordinator", "trainer"]})
    db.session.refresh(coordinator)
    assert coordinator.roles == {Role.TRAINER, Role.COORDINATOR}


def test_coordinator_can_remove_another_coordinators_role(client):
    other = CoordinatorFactory()
    client.post(f"/manage/people/{other.id}/roles", data={"roles": ["professional"]})
    db.session.refresh(other)
    assert other.roles == {Role.PROFESSIONAL}


def test_deactivate_and_reactivate(client):
    person = UserFactory(name="Dee Activated")
    response = client.post(f"/manage/people/{person.id}/status", data={"active": "false"})
    assert response.headers["Location"] == f"/manage/people/{person.id}"
    db.session.refresh(person)
    assert person.active is False
    html = client.get(f"/manage/people/{person.id}").get_data(as_text=True)
    assert "Dee Activated&#39;s account has been deactivated" in html
    assert "Reactivate account" in html
    client.post(f"/manage/people/{person.id}/status", data={"active": "true"})
    db.session.refresh(person)
    assert person.active is True


def test_status_needs_a_clear_instruction(client):
    person = UserFactory()
    assert client.post(f"/manage/people/{person.id}/status", data={"active": "maybe"}).status_code == 400
    assert client.post(f"/manage/people/{person.id}/status").status_code == 400
    db.session.refresh(person)
    assert person.active is True


def test_coordinator_cannot_deactivate_themselves(client, coordinator):
    client.post(f"/manage/people/{coordinator.id}/status", data={"active": "false"})
    db.session.refresh(coordinator)
    assert coordinator.active is True
    html = client.get(f"/manage/people/{coordinator.id}").get_data(as_text=True)
    assert "You cannot deactivate your own account" in html
    assert "Deactivate account" not in html
