"""flask anonymise-inactive: the retention run from cron."""
from __future__ import annotations

from sqlalchemy import select

from tests.factories import UserFactory
from tests.privacy.conftest import LONG_AGO, delegate, figures, session_at, walk_in
from training.accounts.models import User
from training.extensions import db
from training.privacy import services


def test_command_anonymises_as_of_the_date_given(runner):
    session = session_at(LONG_AGO)
    history = delegate(session)
    walk_in(session)
    before = figures()

    result = runner.invoke(args=["anonymise-inactive", "--now", "2026-01-15"])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Anonymised 1 person(s) and 1 walk-in(s) with no activity for 6 year(s)"
    db.session.expire_all()
    assert services.is_anonymised(db.session.get(User, history.user.id))
    assert figures() == before

    again = runner.invoke(args=["anonymise-inactive", "--now", "2026-01-15"])
    assert again.output.strip() == "Anonymised 0 person(s) and 0 walk-in(s) with no activity for 6 year(s)"


def test_dry_run_reports_without_changing_anything(runner):
    history = delegate(session_at(LONG_AGO))

    result = runner.invoke(args=["anonymise-inactive", "--dry-run", "--now", "2026-01-15"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Would anonymise 1 person(s) and 0 walk-in(s)")
    db.session.expire_all()
    assert db.session.get(User, history.user.id).email == history.user.email


def test_without_a_date_it_runs_as_of_today(runner):
    UserFactory()  # created today: kept

    result = runner.invoke(args=["anonymise-inactive"])

    assert result.exit_code == 0, result.output
    assert result.output.startswith("Anonymised 0 person(s)")
    assert all(not services.is_anonymised(u) for u in db.session.scalars(select(User)))


def test_a_badly_written_date_is_refused(runner):
    result = runner.invoke(args=["anonymise-inactive", "--now", "15/01/2026"])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output or "%Y-%m-%d" in result.output
