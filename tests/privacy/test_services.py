"""Subject access, anonymising a person on request, and the retention run."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.factories import CoordinatorFactory, TrainerFactory, UserFactory
from tests.needs.helpers import MembershipFactory, WorkforceGroupFactory
from tests.privacy.conftest import LONG_AGO, NOW, RECENTLY, delegate, figures, session_at, snapshot, walk_in
from tests.suggestions.factories import SuggestionFactory
from training.accounts.models import Role, User
from training.attendance.models import Attendance
from training.evaluation.models import Answer
from training.extensions import db
from training.privacy import services
from training.privacy.services import AnonymiseRefused


def _reload(model, ident):
    db.session.expire_all()
    return db.session.get(model, ident)


# ---------------------------------------------------------------------------
# Subject access
# ---------------------------------------------------------------------------

def test_my_data_holds_everything_about_the_person_and_nothing_about_others():
    session = session_at(LONG_AGO)
    mine = delegate(session, note="Needs a hearing loop")
    other = delegate(session, comment="Someone else's comment")
    mine.user.consent_updates = True
    mine.user.consent_updated_at = LONG_AGO
    db.session.commit()

    data = services.my_data_json(services.my_data(mine.user.id))

    assert data["account"]["email"] == mine.user.email
    assert data["account"]["agency"]["name"] == mine.user.agency.name
    assert data["account"]["roles"] == ["professional"]
    assert data["consent"] == {"safeguarding_updates": True, "updated_at": LONG_AGO.isoformat(), "history": []}
    [booking] = data["bookings"]
    assert booking["id"] == mine.booking.id and booking["status"] == "confirmed"
    assert booking["note"] == "Needs a hearing loop"
    assert booking["confirmed_at"] == mine.booking.confirmed_at.isoformat()
    assert booking["status_changed_at"] == mine.booking.status_changed_at.isoformat()
    [attendance] = data["attendance"]
    assert attendance["id"] == mine.attendance.id and attendance["outcome"] == "attended"
    [evaluation] = data["evaluations"]
    assert evaluation["stage"] == "after" and evaluation["status"] == "submitted"
    texts = {a["question_key"]: a for a in evaluation["answers"]}
    assert texts["do_differently"]["text"] == "Check the threshold document first"
    assert texts["overall"]["choice"] == "good"
    assert [c["code"] for c in data["certificates"]] == [mine.certificate.code]
    as_text = repr(data)
    assert other.user.email not in as_text and "Someone else's comment" not in as_text
    assert other.certificate.code not in as_text


def test_my_data_for_a_new_account_is_just_the_account():
    user = UserFactory()
    data = services.my_data_json(services.my_data(user.id))
    assert data["account"]["name"] == user.name
    assert data["bookings"] == data["attendance"] == data["evaluations"] == data["certificates"] == []
    assert data["course_suggestions"] == data["workforce_groups"] == []


def test_my_data_includes_course_suggestions_and_workforce_groups():
    user = UserFactory()
    SuggestionFactory(suggested_by=user, title="Online harms for coaches", need="Coaches are unsure")
    group = WorkforceGroupFactory(name="Sports coaches")
    MembershipFactory(user=user, group=group)
    SuggestionFactory(title="Someone else's idea")
    data = services.my_data_json(services.my_data(user.id))
    assert [(s["title"], s["need"]) for s in data["course_suggestions"]] == [
        ("Online harms for coaches", "Coaches are unsure")]
    assert [g["group"] for g in data["workforce_groups"]] == ["Sports coaches"]
    assert "Someone else's idea" not in repr(data)


# ---------------------------------------------------------------------------
# Anonymising one person on request
# ---------------------------------------------------------------------------

def test_anonymise_person_removes_identity_and_keeps_the_figures():
    session = session_at(LONG_AGO)
    target = delegate(session, overall="poor", note="Called about access needs")
    other = delegate(session, overall="excellent")
    target.user.consent_updates = True
    target.user.grant(Role.TRAINER)
    db.session.commit()
    coordinator = CoordinatorFactory()
    before = figures()

    services.anonymise_person(target.user.id, coordinator, NOW)

    user = _reload(User, target.user.id)
    uid = user.id
    assert user.name == f"Anonymised person {uid}"
    assert user.email == user.manager_email == f"anonymised-{uid}@invalid"
    assert user.job_title == user.manager_name == "Anonymised"
    assert not user.check_password("correct horse battery staple") and not user.check_password("")
    assert user.active is False and user.consent_updates is False and user.consent_updated_at == NOW
    assert user.roles == frozenset()
    attendance = db.session.get(Attendance, target.attendance.id)
    assert (attendance.attendee_name, attendance.attendee_email) == (f"Anonymised person {uid}",
                                                                    f"anonymised-{uid}@invalid")
    assert db.session.get(type(target.booking), target.booking.id).note == "[removed]"
    texts = [a.text for a in db.session.scalars(select(Answer).where(Answer.evaluation_id == target.evaluation.id))
             if a.text]
    assert texts and set(texts) == {"[removed]"}
    # The other delegate is untouched, and every figure is exactly as it was.
    assert db.session.get(User, other.user.id).email == other.user.email
    assert db.session.get(Attendance, other.attendance.id).attendee_name == other.user.name
    assert "Check the threshold document first" in {
        a.text for a in db.session.scalars(select(Answer).where(Answer.evaluation_id == other.evaluation.id))}
    assert figures() == before


def test_anonymise_person_refuses_yourself():
    coordinator = CoordinatorFactory()
    CoordinatorFactory()
    with pytest.raises(AnonymiseRefused, match="your own"):
        services.anonymise_person(coordinator.id, coordinator, NOW)
    assert _reload(User, coordinator.id).active is True


def test_anonymise_person_refuses_the_last_coordinator():
    coordinator = CoordinatorFactory()
    professional = UserFactory()
    with pytest.raises(AnonymiseRefused, match="last coordinator"):
        services.anonymise_person(coordinator.id, professional, NOW)
    assert _reload(User, coordinator.id).has_role(Role.COORDINATOR)


def test_anonymise_person_allows_a_coordinator_when_another_remains():
    first, second = CoordinatorFactory(), CoordinatorFactory()
    services.anonymise_person(second.id, first, NOW)
    assert _reload(User, second.id).roles == frozenset()


def test_anonymise_person_refuses_a_second_time_and_an_unknown_person():
    coordinator = CoordinatorFactory()
    person = UserFactory()
    services.anonymise_person(person.id, coordinator, NOW)
    with pytest.raises(AnonymiseRefused, match="already been deleted"):
        services.anonymise_person(person.id, coordinator, NOW)
    with pytest.raises(AnonymiseRefused, match="could not be found"):
        services.anonymise_person(person.id + 1000, coordinator, NOW)


# ---------------------------------------------------------------------------
# Retention
# ---------------------------------------------------------------------------

def test_cutoff_is_retention_years_before_now():
    assert services.retention_cutoff(NOW) == datetime(2020, 1, 15, 12, 0, tzinfo=UTC)
    leap = datetime(2024, 2, 29, tzinfo=UTC)
    assert services.retention_cutoff(leap, years=6) == datetime(2018, 2, 28, tzinfo=UTC)


def test_retention_run_anonymises_only_people_inactive_for_the_retention_period():
    old_session, recent_session = session_at(LONG_AGO), session_at(RECENTLY)
    inactive = delegate(old_session, overall="poor")
    booked_recently = delegate(old_session)
    delegate(recent_session, user=booked_recently.user)
    joined_recently = UserFactory(created_at=RECENTLY)
    # Attended long ago, but filled in a form within the period: still active.
    evaluated_recently = delegate(old_session)
    evaluated_recently.evaluation.updated_at = RECENTLY
    never_booked = UserFactory(created_at=LONG_AGO)
    trainer = TrainerFactory(created_at=LONG_AGO)
    coordinator = CoordinatorFactory(created_at=LONG_AGO)
    old_walk_in = walk_in(old_session)
    new_walk_in = walk_in(recent_session, name="Recent Walk In")
    db.session.commit()
    before = figures()

    result = services.anonymise_inactive(NOW)

    assert (result.people, result.walk_ins, result.dry_run) == (2, 1, False)
    db.session.expire_all()
    gone = {u.id for u in db.session.scalars(select(User)) if services.is_anonymised(u)}
    assert gone == {inactive.user.id, never_booked.id}
    for kept in (booked_recently.user, joined_recently, evaluated_recently.user, trainer, coordinator):
        assert db.session.get(User, kept.id).active is True
    walk_in_row = db.session.get(Attendance, old_walk_in.id)
    assert walk_in_row.attendee_name == f"Anonymised walk-in {old_walk_in.id}"
    assert walk_in_row.attendee_email is None
    assert db.session.get(Attendance, new_walk_in.id).attendee_name == "Recent Walk In"
    assert figures() == before


def test_retention_run_is_idempotent():
    old_session = session_at(LONG_AGO)
    for overall in ("excellent", "good", "poor"):
        delegate(old_session, overall=overall)
    walk_in(old_session)
    services.anonymise_inactive(NOW)
    after_first = snapshot()

    again = services.anonymise_inactive(NOW)

    assert (again.people, again.walk_ins) == (0, 0)
    assert snapshot() == after_first


def test_dry_run_counts_and_changes_nothing():
    old_session = session_at(LONG_AGO)
    delegate(old_session)
    walk_in(old_session)
    before = snapshot()

    result = services.anonymise_inactive(NOW, dry_run=True)

    assert (result.people, result.walk_ins, result.dry_run) == (1, 1, True)
    assert snapshot() == before


def test_retention_run_works_in_batches():
    old_session = session_at(LONG_AGO)
    people = [delegate(old_session).user.id for _ in range(5)]
    before = figures()

    result = services.anonymise_inactive(NOW, batch_size=2)

    assert result.people == 5
    db.session.expire_all()
    assert all(services.is_anonymised(db.session.get(User, uid)) for uid in people)
    assert figures() == before


def test_the_retention_period_follows_the_setting(app):
    person = UserFactory(created_at=NOW - timedelta(days=800))
    app.config["RETENTION_YEARS"] = 2
    try:
        assert services.inactive_people(NOW) == [person.id]
    finally:
        app.config["RETENTION_YEARS"] = 6
    assert services.inactive_people(NOW) == []
