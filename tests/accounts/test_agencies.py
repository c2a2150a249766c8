"""Coordinators' agency pages: list with counts, create, edit, deactivate."""
import re

import pytest
from sqlalchemy import func, select

from tests.factories import AgencyFactory, CoordinatorFactory, UserFactory
from training.accounts.models import Agency, Sector
from training.extensions import db


@pytest.fixture
def client(login_as):
    return login_as(CoordinatorFactory(agency=AgencyFactory(name="Partnership Team", sector=Sector.OTHER)))


def _rows(html):
    """(name, sector, status, people) for each row of the agencies table."""
    rows = []
    for row in re.findall(r'<tr class="govuk-table__row">(.*?)</tr>', html, re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        cells[3] = cells[3].split(" people in ")[0]
        rows.append(tuple(cells))
    return rows


def test_list_shows_sector_status_and_number_of_people(client):
    school = AgencyFactory(name="Northside School", sector=Sector.EDUCATION)
    AgencyFactory(name="Closed Clinic", sector=Sector.HEALTH, active=False)
    UserFactory(agency=school)
    UserFactory(agency=school)
    assert _rows(client.get("/manage/agencies").get_data(as_text=True)) == [
        ("Closed Clinic", "Health", "Deactivated", "0"),
        ("Northside School", "Education", "Active", "2"),
        ("Partnership Team", "Other", "Active", "1"),
    ]


def test_create_agency(client):
    response = client.post("/manage/agencies/new", data={"name": "  Eastgate Surgery ", "sector": "health"})
    assert response.headers["Location"] == "/manage/agencies"
    agency = db.session.scalar(select(Agency).where(Agency.name == "Eastgate Surgery"))
    assert agency.sector is Sector.HEALTH and agency.active is True


def _agencies() -> int:
    return db.session.scalar(select(func.count(Agency.id)))


@pytest.mark.parametrize("data, message", [
    ({"name": "", "sector": "health"}, "Enter the agency name"),
    ({"name": "x" * 201, "sector": "health"}, "Agency name must be 200 characters or fewer"),
    ({"name": "Somewhere"}, "Select the agency&#39;s sector"),
    ({"name": "Somewhere", "sector": "space-agency"}, "Select the agency&#39;s sector"),
    ({"name": "partnership TEAM", "sector": "health"}, "An agency with this name already exists"),
])
def test_bad_agency_input_creates_nothing(client, data, message):
    before = _agencies()
    response = client.post("/manage/agencies/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<title>Error: Add an agency" in html and message in html
    assert _agencies() == before


def test_edit_agency(client):
    agency = AgencyFactory(name="Old Name", sector=Sector.HEALTH)
    html = client.get(f"/manage/agencies/{agency.id}/edit").get_data(as_text=True)
    assert 'value="Old Name"' in html
    assert re.search(r'value="health" checked', html)
    response = client.post(f"/manage/agencies/{agency.id}/edit", data={"name": "New Name", "sector": "police"})
    assert response.headers["Location"] == "/manage/agencies"
    db.session.refresh(agency)
    assert (agency.name, agency.sector) == ("New Name", Sector.POLICE)


def test_agency_may_keep_its_own_name_in_another_case(client):
    agency = AgencyFactory(name="Riverside academy")
    client.post(f"/manage/agencies/{agency.id}/edit", data={"name": "Riverside Academy", "sector": "education"})
    db.session.refresh(agency)
    assert agency.name == "Riverside Academy"


def test_renaming_to_another_agencys_name_is_refused(client):
    AgencyFactory(name="Taken Name")
    agency = AgencyFactory(name="Mine")
    html = client.post(f"/manage/agencies/{agency.id}/edit",
                       data={"name": "Taken Name", "sector": "health"}).get_data(as_text=True)
    assert "An agency with this name already exists" in html
    db.session.refresh(agency)
    assert agency.name == "Mine"


def test_unknown_agency_is_404(client):
    assert client.get("/manage/agencies/99999/edit").status_code == 404
    assert client.post("/manage/agencies/99999/status", data={"active": "false"}).status_code == 404


def test_deactivated_agency_leaves_registration_but_people_keep_it(client, app):
    agency = AgencyFactory(name="Merged Trust")
    member = UserFactory(agency=agency)
    response = client.post(f"/manage/agencies/{agency.id}/status", data={"active": "false"})
    assert response.headers["Location"] == "/manage/agencies"
    db.session.refresh(agency)
    db.session.refresh(member)
    assert agency.active is False
    assert member.agency_id == agency.id
    assert "Merged Trust" not in app.test_client().get("/register").get_data(as_text=True)

    client.post(f"/manage/agencies/{agency.id}/status", data={"active": "true"})
    db.session.refresh(agency)
    assert agency.active is True
    assert "Merged Trust" in app.test_client().get("/register").get_data(as_text=True)


def test_agency_status_needs_a_clear_instruction(client):
    agency = AgencyFactory()
    assert client.post(f"/manage/agencies/{agency.id}/status", data={"active": "1"}).status_code == 400
    db.session.refresh(agency)
    assert agency.active is True
