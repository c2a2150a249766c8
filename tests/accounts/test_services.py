"""Account services called directly: the rules that views rely on."""
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from tests.factories import TEST_PASSWORD, AgencyFactory, CoordinatorFactory, TrainerFactory, UserFactory
from training.accounts import services
from training.accounts.errors import (
    AgencyNameTaken,
    AgencyUnavailable,
    EmailTaken,
    OwnAccountStatus,
    OwnCoordinatorRole,
    WrongPassword,
)
from training.accounts.models import Agency, Role, Sector, User
from training.extensions import db

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def _register(agency, **changes):
    kwargs = dict(name=" Alex Morgan ", email=" Alex@Example.ORG ", agency_id=agency.id, job_title="Nurse",
                  manager_name="Jo", manager_email="JO@example.org", consent_updates=True,
                  password="a long enough passphrase", now=NOW)
    kwargs.update(changes)
    return services.register(**kwargs)


def test_register_normalises_and_records_consent_time():
    agency = AgencyFactory()
    user = _register(agency)
    db.session.expire_all()
    user = db.session.get(User, user.id)
    assert (user.name, user.email, user.manager_email) == ("Alex Morgan", "alex@example.org", "jo@example.org")
    assert user.consent_updated_at == NOW
    assert user.created_at == NOW
    assert user.roles == {Role.PROFESSIONAL}


def test_register_refuses_a_taken_email_in_any_case():
    agency = AgencyFactory()
    UserFactory(email="alex@example.org")
    with pytest.raises(EmailTaken):
        _register(agency, email="ALEX@example.org")


def test_register_turns_a_duplicate_insert_race_into_the_same_error(monkeypatch):
    """Two people register one address at once: the loser's insert fails on the unique index."""
    agency = AgencyFactory()
    UserFactory(email="alex@example.org")
    monkeypatch.setattr(services, "user_by_email", lambda email: None)  # the check saw nobody yet
    with pytest.raises(EmailTaken):
        _register(agency)
    assert db.session.scalar(select(func.count(User.id))) == 1


@pytest.mark.parametrize("agency_id", [0, 987654])
def test_register_refuses_unknown_agency(agency_id):
    with pytest.raises(AgencyUnavailable):
        services.register(name="A", email="a@example.org", agency_id=agency_id, job_title="J",
                          manager_name="M", manager_email="m@example.org", consent_updates=False,
                          password="a long enough passphrase")
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_register_refuses_deactivated_agency():
    with pytest.raises(AgencyUnavailable):
        _register(AgencyFactory(active=False))


def test_authenticate():
    user = UserFactory(email="sam@example.org")
    assert services.authenticate("SAM@example.org", TEST_PASSWORD) == user
    assert services.authenticate("sam@example.org", "wrong") is None
    assert services.authenticate("nobody@example.org", TEST_PASSWORD) is None
    assert services.authenticate("sam@example.org", "") is None
    assert services.authenticate("sam@example.org", TEST_PASSWORD + "x" * 200) is None
    user.active = False
    db.session.commit()
    assert services.authenticate("sam@example.org", TEST_PASSWORD) is None


def test_change_password_needs_the_current_one():
    user = UserFactory()
    with pytest.raises(WrongPassword):
        services.change_password(user, current_password="nope", new_password="brand new passphrase")
    assert user.check_password(TEST_PASSWORD)
    services.change_password(user, current_password=TEST_PASSWORD, new_password="brand new passphrase")
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("brand new passphrase")


def test_update_profile_timestamps_consent_changes_only():
    user = UserFactory(consent_updates=False)
    common = dict(name="N", agency_id=user.agency_id, job_title="J", manager_name="M",
                  manager_email="m@example.org")
    services.update_profile(user, consent_updates=False, now=NOW, **common)
    assert user.consent_updated_at is None
    services.update_profile(user, consent_updates=True, now=NOW, **common)
    assert user.consent_updated_at == NOW


def test_set_roles_refuses_removing_own_coordinator_role():
    coordinator = CoordinatorFactory()
    with pytest.raises(OwnCoordinatorRole):
        services.set_roles(coordinator, {Role.PROFESSIONAL}, actor=coordinator)
    db.session.expire_all()
    assert db.session.get(User, coordinator.id).is_coordinator


def test_set_roles_records_who_granted():
    coordinator = CoordinatorFactory()
    person = TrainerFactory()
    services.set_roles(person, {Role.COORDINATOR}, actor=coordinator)
    db.session.expire_all()
    person = db.session.get(User, person.id)
    assert person.roles == {Role.COORDINATOR}
    assert [g.granted_by_id for g in person.grants] == [coordinator.id]


def test_set_active_refuses_self_deactivation():
    coordinator = CoordinatorFactory()
    with pytest.raises(OwnAccountStatus):
        services.set_active(coordinator, False, actor=coordinator)
    assert coordinator.active is True


def test_agency_names_are_unique_ignoring_case():
    services.create_agency(name="Thameside Police", sector=Sector.POLICE)
    with pytest.raises(AgencyNameTaken):
        services.create_agency(name="THAMESIDE POLICE ", sector=Sector.POLICE)
    assert db.session.scalar(select(func.count(Agency.id))) == 1


def test_agency_summaries_count_people_in_one_query():
    a = AgencyFactory(name="A")
    AgencyFactory(name="B")
    UserFactory(agency=a)
    summaries = services.agency_summaries()
    assert [(s.agency.name, s.people) for s in summaries] == [("A", 1), ("B", 0)]


def test_agencies_for_includes_a_persons_deactivated_agency():
    closed = AgencyFactory(name="Closed", active=False)
    AgencyFactory(name="Open")
    user = UserFactory(agency=closed)
    assert [a.name for a in services.agencies_for(user)] == ["Open", "Closed"]
    assert [a.name for a in services.active_agencies()] == ["Open"]
