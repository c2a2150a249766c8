"""Database plumbing: UTC round trips and the write transaction."""
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError

from tests.factories import BookingFactory, CoordinatorFactory, SessionFactory, UserFactory
from tests.sql import recorded_statements
from training.accounts.models import Agency, Role, RoleGrant, Sector, User
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import CourseSession
from training.compliance.models import ReturnRound
from training.db import (
    attach,
    column_values,
    detached,
    insert_all_loaded,
    insert_loaded,
    update_loaded,
    write_transaction,
)
from training.extensions import db


def test_datetimes_come_back_aware_utc_whatever_zone_went_in():
    plus_two = timezone(timedelta(hours=2))
    session = SessionFactory(starts_at=datetime(2026, 7, 1, 11, 0, tzinfo=plus_two),
                             ends_at=datetime(2026, 7, 1, 14, 0, tzinfo=plus_two))
    session_id = session.id
    db.session.expire_all()
    stored = db.session.get(CourseSession, session_id)
    assert stored.starts_at == datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
    assert stored.starts_at.tzinfo is not None


def test_naive_datetimes_are_refused():
    with pytest.raises(Exception, match="naive datetime"):
        SessionFactory(starts_at=datetime(2026, 7, 1, 9, 0), ends_at=datetime(2026, 7, 1, 12, 0))
    db.session.rollback()


def test_write_transaction_commits_once_or_not_at_all():
    with pytest.raises(RuntimeError):
        with write_transaction():
            db.session.add(Agency(name="Rolled back", sector=Sector.HEALTH))
            db.session.flush()
            raise RuntimeError("boom")
    assert db.session.scalar(select(Agency).where(Agency.name == "Rolled back")) is None

    with write_transaction():
        db.session.add(Agency(name="Kept", sector=Sector.HEALTH))
    db.session.expire_all()
    assert db.session.scalar(select(Agency.name).where(Agency.name == "Kept")) == "Kept"


def test_booking_takes_the_write_lock_before_reading_capacity():
    """SQLite: the write transaction begins IMMEDIATE. PostgreSQL: the session row is locked
    FOR UPDATE. Either way the lock comes before the capacity is read."""
    from tests.factories import UserFactory
    from training.booking.services import book_place

    session_id = SessionFactory(capacity=1).id
    person = UserFactory()
    db.session.commit()
    person = db.session.get(type(person), person.id)  # loaded before we start listening
    _ = person.is_coordinator
    with recorded_statements() as statements:
        book_place(session_id, person)
    seen = [" ".join(statement.split()) for statement in statements]
    if db.engine.dialect.name == "sqlite":
        begins = [s for s in seen if s.startswith("BEGIN")]
        assert begins[-1] == "BEGIN IMMEDIATE"
        first_read = seen.index(begins[-1]) + 1
    else:
        first_read = next(i for i, s in enumerate(seen) if "FROM course_sessions" in s)
        assert seen[first_read].endswith("FOR UPDATE OF course_sessions")
    assert "FROM course_sessions" in seen[first_read]


def test_plain_reads_do_not_take_the_sqlite_write_lock():
    if db.engine.dialect.name != "sqlite":
        pytest.skip("BEGIN IMMEDIATE is SQLite-only")
    with recorded_statements() as statements:
        db.session.commit()
        db.session.scalar(select(Agency.id))
        db.session.commit()
    assert [statement for statement in statements if statement.startswith("BEGIN")] == ["BEGIN"]


def test_column_values_make_a_detached_copy_a_session_can_use_without_a_query():
    coordinator = CoordinatorFactory(name="Ada Coordinator")
    coordinator.agency.sector = Sector.HEALTH
    opened = ReturnRound(year=2026, due_on=date(2027, 5, 31), opened_by_id=coordinator.id,
                         opened_at=datetime(2026, 10, 25, 1, 30, tzinfo=UTC))  # the night the clocks went back
    db.session.add(opened)
    db.session.commit()
    user_values = column_values(coordinator, leave_out=frozenset({"password_hash"}))
    assert "password_hash" not in user_values
    # Through JSON, as the cache keeps them.
    records = json.loads(json.dumps({
        "user": user_values, "agency": column_values(coordinator.agency),
        "grants": [column_values(grant) for grant in coordinator.grants], "round": column_values(opened)}))
    user_id, password_hash = coordinator.id, coordinator.password_hash
    db.session.remove()

    with recorded_statements() as statements:
        person = detached(User, records["user"], agency=detached(Agency, records["agency"]),
                          grants=[detached(RoleGrant, grant) for grant in records["grants"]])
        person = db.session.merge(person, load=False)
        copied_round = db.session.merge(detached(ReturnRound, records["round"]), load=False)
        assert person is db.session.get(User, user_id)
        assert (person.name, person.agency.sector, person.roles) == (
            "Ada Coordinator", Sector.HEALTH, frozenset({Role.PROFESSIONAL, Role.COORDINATOR}))
        assert person.created_at.tzinfo is not None
        assert (copied_round.due_on, copied_round.opened_at) == (
            date(2027, 5, 31), datetime(2026, 10, 25, 1, 30, tzinfo=UTC))
        assert statements == []
        assert not db.session.dirty
        # Left out of the record, so read from the database when asked for.
        assert person.password_hash == password_hash
        selects = [statement for statement in statements if statement.lstrip().upper().startswith("SELECT")]
        assert len(selects) == 1 and "password_hash" in selects[0]


def _record_of(person: User) -> dict:
    """The person as the shared cache keeps them (see security.load_user), through JSON."""
    return json.loads(json.dumps({
        "user": column_values(person, leave_out=frozenset({"password_hash"})),
        "agency": column_values(person.agency), "grants": [column_values(grant) for grant in person.grants]}))


def _rebuilt(record: dict) -> tuple[User, Agency, list[RoleGrant]]:
    agency = detached(Agency, record["agency"])
    grants = [detached(RoleGrant, grant) for grant in record["grants"]]
    return detached(User, record["user"], agency=agency, grants=grants), agency, grants


def test_attach_adds_the_rebuilt_person_itself_to_an_empty_session_without_a_statement():
    coordinator = CoordinatorFactory(name="Ada Coordinator")
    db.session.commit()
    record, user_id = _record_of(coordinator), coordinator.id
    db.session.remove()
    with recorded_statements() as statements:
        person, agency, grants = _rebuilt(record)
        attached = attach(person, agency, *grants)
        assert attached is person  # no copy made
        assert db.session.get(User, user_id) is person and db.session.get(Agency, agency.id) is agency
        assert person.roles == frozenset({Role.PROFESSIONAL, Role.COORDINATOR})
        assert not db.session.dirty and not db.session.new
        db.session.flush()
        assert statements == []


def test_attach_merges_when_the_session_already_holds_the_persons_agency():
    coordinator = CoordinatorFactory(name="Ada Coordinator")
    db.session.commit()
    record = _record_of(coordinator)
    db.session.remove()
    already = db.session.get(Agency, coordinator.agency_id)  # loaded earlier in the request
    person, agency, grants = _rebuilt(record)
    attached = attach(person, agency, *grants)
    assert attached is not person  # a merged copy: adding would clash with the loaded agency
    assert attached.agency is already
    assert attached is db.session.get(User, person.id)
    assert attached.name == "Ada Coordinator" and not db.session.dirty


def test_a_write_after_a_read_goes_on_in_postgresqls_transaction_and_begins_afresh_on_sqlite():
    """PostgreSQL reads afresh at each statement (READ COMMITTED), so a request that has read
    (the signed-in person, say) writes in the same transaction, saving a COMMIT and a BEGIN.
    SQLite must end the read first: a reader cannot safely become a writer."""
    db.session.commit()
    read_in = db.session.connection()
    db.session.scalar(select(Agency.id))
    with recorded_statements() as seen, write_transaction():
        written_in = db.session.connection()
        db.session.add(Agency(name="Written after a read", sector=Sector.HEALTH))
    if db.engine.dialect.name == "sqlite":
        assert seen[0] == "BEGIN IMMEDIATE"
        assert written_in is not read_in
    else:
        assert written_in is read_in  # a commit in between would have given a new one
    db.session.expire_all()
    assert db.session.scalar(select(Agency.name).where(Agency.name == "Written after a read")) is not None


# ---------------------------------------------------------------------------
# insert_loaded: one INSERT ... RETURNING instead of a unit-of-work flush
# ---------------------------------------------------------------------------

def _new_booking(session: CourseSession, person: User) -> Booking:
    now = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)  # the night the clocks went back
    return Booking(session_id=session.id, user_id=person.id, created_by_id=person.id,
                   status=BookingStatus.WAITLISTED, queued_at=now, created_at=now, status_changed_at=now)


def test_insert_loaded_gives_the_row_an_orm_flush_writes_with_nothing_left_to_load():
    session, direct_person, flushed_person = SessionFactory(), UserFactory(), UserFactory()
    db.session.commit()
    with write_transaction():
        direct, flushed = _new_booking(session, direct_person), _new_booking(session, flushed_person)
        with recorded_statements() as statements:
            insert_loaded(direct)
        db.session.add(flushed)
        db.session.flush()
        # Persistent and clean: in the identity map, nothing pending, nothing left unloaded.
        assert db.session.get(Booking, direct.id) is direct
        assert direct not in db.session.new and direct not in db.session.dirty
        with recorded_statements() as reads:
            values = column_values(direct)
        assert reads == []
    inserts = [s for s in statements.queries if s.lstrip().upper().startswith("INSERT")]
    assert len(statements.queries) == 1 and len(inserts) == 1 and "RETURNING" in inserts[0].upper()
    # Python and server defaults alike came back from the database.
    assert values["calendar_sequence"] == 0 and values["approval_holds_place"] is False
    assert values["overbooked"] is False
    differing = {"id", "user_id", "created_by_id"}
    flushed_values = column_values(flushed)
    assert {k: v for k, v in values.items() if k not in differing} == \
        {k: v for k, v in flushed_values.items() if k not in differing}
    db.session.expire_all()
    assert column_values(db.session.get(Booking, direct.id)) == values  # what the database holds


def test_insert_loaded_writes_the_changes_made_before_it_first():
    """A transfer marks the old booking and then inserts the new one: the statements keep that order."""
    old, colleague = BookingFactory(), UserFactory()
    db.session.commit()
    with write_transaction():
        transfer = _new_booking(old.session, colleague)  # everything it reads is loaded here
        with recorded_statements() as statements:
            old.status = BookingStatus.TRANSFERRED
            insert_loaded(transfer)
    writes = [s.lstrip().split()[0].upper() for s in statements.queries]
    assert writes == ["UPDATE", "INSERT"]
    assert db.session.get(Booking, old.id).status == BookingStatus.TRANSFERRED


def test_insert_loaded_lets_a_listening_mapper_event_run():
    heard: list[int] = []

    def listener(_mapper, _connection, target):
        heard.append(target.user_id)

    person, session = UserFactory(), SessionFactory()
    db.session.commit()
    event.listen(Booking, "before_insert", listener)
    try:
        with write_transaction():
            booking = insert_loaded(_new_booking(session, person))
    finally:
        event.remove(Booking, "before_insert", listener)
    assert heard == [person.id]  # flushed as usual, so the event ran
    assert db.session.get(Booking, booking.id).user_id == person.id


def test_insert_loaded_raises_the_databases_refusal_and_the_transaction_rolls_back():
    booking = BookingFactory()  # a live booking: the unique index refuses a second one
    person_id, session_id = booking.user_id, booking.session_id
    db.session.commit()
    with pytest.raises(IntegrityError), write_transaction():
        insert_loaded(_new_booking(db.session.get(CourseSession, session_id), db.session.get(User, person_id)))
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.user_id == person_id)) == 1


def test_insert_loaded_writes_an_object_that_names_every_column_itself():
    """Nothing left for the database to fill in: the INSERT returns the id it was given."""
    when = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night the clocks went forward
    with write_transaction():
        agency = insert_loaded(Agency(id=2_000_000_001, name="Named in full", sector=Sector.EDUCATION,
                                      active=False, created_at=when))
    db.session.expire_all()
    assert column_values(db.session.get(Agency, 2_000_000_001)) == column_values(agency) == {
        "id": 2_000_000_001, "name": "Named in full", "sector": "education", "active": False,
        "created_at": when.isoformat()}


def test_insert_all_loaded_writes_rows_in_the_order_given_in_one_insert_where_the_database_can():
    """PostgreSQL returns a multi-row INSERT's rows in the order given; SQLite's driver writes
    them one by one. Either way each object gets its own row's id."""
    session, people = SessionFactory(), UserFactory.create_batch(3)
    db.session.commit()
    with write_transaction():
        bookings = [_new_booking(session, person) for person in people]
        with recorded_statements() as statements:
            insert_all_loaded(bookings)
        assert all(booking not in db.session.new and booking not in db.session.dirty for booking in bookings)
    inserts = [s for s in statements.queries if s.lstrip().upper().startswith("INSERT")]
    assert len(inserts) == (3 if db.engine.dialect.name == "sqlite" else 1)
    ids = [booking.id for booking in bookings]
    assert ids == sorted(ids) and len(set(ids)) == 3
    db.session.expire_all()
    assert [db.session.get(Booking, booking_id).user_id for booking_id in ids] == [person.id for person in people]


@pytest.mark.parametrize("event_listening", [False, True], ids=["direct", "through-the-unit-of-work"])
def test_insert_all_loaded_refuses_objects_that_give_different_columns(event_listening):
    """Refused whichever way the rows would be written: a listening event sends them through
    the unit of work, which would otherwise accept them."""
    session, first, second = SessionFactory(), UserFactory(), UserFactory()
    db.session.commit()
    other = _new_booking(session, second)
    other.overbooked = True  # given here, left to the default in the first
    heard: list[int] = []

    def listener(_mapper, _connection, target):
        heard.append(target.user_id)

    if event_listening:
        event.listen(Booking, "before_insert", listener)
    try:
        with pytest.raises(ValueError, match="same columns"), write_transaction():
            insert_all_loaded([_new_booking(session, first), other])
    finally:
        if event_listening:
            event.remove(Booking, "before_insert", listener)
    assert heard == []
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.session_id == session.id)) == 0


def test_insert_all_loaded_refuses_objects_of_different_classes():
    session, person = SessionFactory(), UserFactory()
    db.session.commit()
    with pytest.raises(ValueError, match="one class"), write_transaction():
        insert_all_loaded([_new_booking(session, person), Agency(name="Not a booking", sector=Sector.HEALTH)])
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.session_id == session.id)) == 0
    assert db.session.scalar(select(func.count(Agency.id)).where(Agency.name == "Not a booking")) == 0


# ---------------------------------------------------------------------------
# update_loaded: one UPDATE of the row instead of a dirty object for the commit to flush
# ---------------------------------------------------------------------------

def test_update_loaded_writes_the_row_and_leaves_the_object_clean():
    session = SessionFactory(capacity=20)
    db.session.commit()
    with write_transaction():
        loaded = db.session.get(CourseSession, session.id)
        with recorded_statements() as statements:
            update_loaded(loaded, places_taken=7)
        assert loaded.places_taken == 7
        assert loaded not in db.session.dirty  # nothing left for the commit to flush
        with recorded_statements() as at_commit:
            db.session.flush()
        assert at_commit == []
    assert len(statements.queries) == 1 and statements.queries[0].lstrip().upper().startswith("UPDATE")
    db.session.expire_all()
    assert db.session.get(CourseSession, session.id).places_taken == 7


def test_update_loaded_writes_the_changes_made_before_it_first():
    booking = BookingFactory()
    db.session.commit()
    with write_transaction():
        session = db.session.get(CourseSession, booking.session_id)
        with recorded_statements() as statements:
            booking.status = BookingStatus.CANCELLED
            update_loaded(session, places_taken=0)
    assert [s.lstrip().split()[0].upper() for s in statements.queries] == ["UPDATE", "UPDATE"]
    assert "bookings" in statements.queries[0] and "course_sessions" in statements.queries[1]
    db.session.expire_all()
    assert db.session.get(Booking, booking.id).status == BookingStatus.CANCELLED


def test_update_loaded_lets_a_listening_mapper_event_run():
    heard: list[int] = []

    def listener(_mapper, _connection, target):
        heard.append(target.places_taken)

    session = SessionFactory(capacity=20)
    db.session.commit()
    event.listen(CourseSession, "before_update", listener)
    try:
        with write_transaction():
            update_loaded(db.session.get(CourseSession, session.id), places_taken=3)
    finally:
        event.remove(CourseSession, "before_update", listener)
    assert heard == [3]  # flushed as usual, so the event ran
    db.session.expire_all()
    assert db.session.get(CourseSession, session.id).places_taken == 3


def test_update_loaded_refuses_a_row_that_is_no_longer_there():
    agency = Agency(name="Closed down", sector=Sector.HEALTH)
    db.session.add(agency)
    db.session.commit()
    with pytest.raises(LookupError), write_transaction():
        loaded = db.session.get(Agency, agency.id)
        db.session.connection().execute(Agency.__table__.delete().where(Agency.__table__.c.id == agency.id))
        update_loaded(loaded, name="Reopened")
    assert db.session.get(Agency, agency.id) is not None  # the transaction rolled back with the refusal
