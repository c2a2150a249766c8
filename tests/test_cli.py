"""The create-coordinator command."""
import pytest
from sqlalchemy import func, select

from tests.factories import TEST_PASSWORD, AgencyFactory, UserFactory
from training.accounts.models import Agency, Role, Sector, User
from training.extensions import db

PASSWORD = "a long enough passphrase"


def _run(runner, *extra, email="Lead@Example.org", password=PASSWORD, **kwargs):
    args = ["create-coordinator", "--email", email, "--name", "Lee Lead", "--agency", "Partnership Team", *extra]
    if password is not None:
        args += ["--password", password]
    return runner.invoke(args=args, **kwargs)


def _users() -> list[User]:
    db.session.expire_all()
    return list(db.session.scalars(select(User)))


def test_creates_a_coordinator_with_a_new_agency(app, runner):
    result = _run(runner)
    assert result.exit_code == 0, result.output
    assert "Coordinator role granted: lead@example.org" in result.output
    [user] = _users()
    assert user.email == "lead@example.org"
    assert user.roles == {Role.PROFESSIONAL, Role.COORDINATOR}
    assert user.check_password(PASSWORD)
    assert user.password_hash.startswith(app.config["PASSWORD_HASH_METHOD"])
    assert user.agency.name == "Partnership Team" and user.agency.sector is Sector.OTHER


def test_uses_an_existing_agency_whatever_its_case(runner):
    agency = AgencyFactory(name="PARTNERSHIP TEAM")
    assert _run(runner).exit_code == 0
    assert db.session.scalar(select(func.count(Agency.id))) == 1
    assert _users()[0].agency_id == agency.id


def test_second_run_grants_without_duplicating(runner):
    assert _run(runner).exit_code == 0
    result = _run(runner, email="lead@example.org", password=None)  # no password needed now
    assert result.exit_code == 0, result.output
    assert "Already a coordinator" in result.output
    assert len(_users()) == 1


def test_grants_the_role_to_an_existing_professional(runner):
    person = UserFactory(email="lead@example.org")
    result = _run(runner, password="short")  # an existing account keeps its password
    assert result.exit_code == 0, result.output
    assert "password not changed" in result.output
    [user] = _users()
    assert user.id == person.id
    assert user.roles == {Role.PROFESSIONAL, Role.COORDINATOR}
    assert user.check_password(TEST_PASSWORD)


def test_reactivates_a_deactivated_account(runner):
    UserFactory(email="lead@example.org", active=False)
    result = _run(runner, password=None)
    assert "account reactivated" in result.output
    assert _users()[0].active is True


def test_short_password_is_refused(runner):
    result = _run(runner, password="short")
    assert result.exit_code != 0
    assert "Password must be 12 characters or more" in result.output
    assert _users() == []


def test_common_password_is_refused(runner):
    result = _run(runner, password="password123456")
    assert result.exit_code != 0
    assert "Choose a password that is harder to guess" in result.output
    assert _users() == []


def test_password_is_asked_for_when_not_given(runner):
    result = _run(runner, password=None, input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert _users()[0].check_password(PASSWORD)


@pytest.mark.parametrize("email", ["not-an-email", "lead@", ""])
def test_bad_email_is_refused(runner, email):
    result = _run(runner, email=email)
    assert result.exit_code != 0
    assert "Enter an email address in the correct format" in result.output
    assert _users() == []
