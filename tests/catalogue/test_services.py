"""Catalogue services: the rules for courses and sessions, and what they tell the booking area."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import func, select

from tests.catalogue.helpers import utc
from tests.factories import (
    BookingFactory,
    CoordinatorFactory,
    CourseFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from tests.sql import recorded_statements
from training.booking import services as booking
from training.booking.models import Booking, BookingStatus
from training.catalogue import services
from training.catalogue.errors import InvalidDetails, NotCoordinator, SessionAlreadyCancelled, SessionNotEditable
from training.catalogue.models import Course, CourseFormat, CourseSession, Level, SessionKind, SessionStatus, Theme
from training.db import utcnow
from training.extensions import db
from training.timeutil import london_to_utc

# A fixed clock for service tests, so the spec's 2026 clock-change dates are in the future.
NOW = utc(2026, 1, 5, 12, 0)


def course_details(**overrides) -> services.CourseDetails:
    values = dict(
        title="Working Together to Safeguard Children",
        summary="The statutory guidance in practice.",
        learning_outcomes="Know the roles of each agency\n\n  Make a good referral  \n",
        level=Level.LEVEL_3,
        duration_minutes=210,
        format=CourseFormat.FACE_TO_FACE,
        themes=(Theme.CHILD_PROTECTION, Theme.NEGLECT),
        refresher_months=36,
    )
    values.update(overrides)
    return services.CourseDetails(**values)


def session_details(start: datetime | None = None, **overrides) -> services.SessionDetails:
    start = start or NOW + timedelta(days=30)
    values = dict(starts_at=start, ends_at=start + timedelta(hours=3), capacity=20, kind=SessionKind.TRAINING,
                  venue="Civic Centre\nHigh Street", online_link=None)
    values.update(overrides)
    return services.SessionDetails(**values)


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def problems(excinfo) -> dict[str, str]:
    return excinfo.value.errors


@pytest.fixture
def coordinator():
    return CoordinatorFactory()


# ---------------------------------------------------------------------------
# Courses
# ---------------------------------------------------------------------------

def test_create_course_stores_details_and_tidies_outcomes(coordinator):
    course = services.create_course(coordinator, course_details(), now=NOW)
    course = reload(course)
    assert course.title == "Working Together to Safeguard Children"
    assert course.outcomes == ["Know the roles of each agency", "Make a good referral"]
    assert course.learning_outcomes == "Know the roles of each agency\nMake a good referral"
    assert course.themes == [Theme.CHILD_PROTECTION, Theme.NEGLECT]
    assert (course.level, course.format, course.duration_minutes, course.refresher_months) == (
        Level.LEVEL_3, CourseFormat.FACE_TO_FACE, 210, 36)
    assert course.created_at == NOW


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"title": "   "}, "title", "Enter the course title"),
        ({"title": "x" * 201}, "title", "Course title must be 200 characters or fewer"),
        ({"summary": ""}, "summary", "Enter a summary of the course"),
        ({"learning_outcomes": " \n \n"}, "learning_outcomes", "Enter at least one learning outcome"),
        ({"duration_minutes": 0}, "duration", "Duration must be at least 1 minute"),
        ({"themes": ()}, "themes", "Select at least one priority theme"),
        ({"refresher_months": 0}, "refresher_months", "Refresher interval must be between 1 and 120 months"),
    ],
)
def test_course_rules(coordinator, overrides, field, message):
    with pytest.raises(InvalidDetails) as excinfo:
        services.create_course(coordinator, course_details(**overrides), now=NOW)
    assert problems(excinfo)[field] == message
    assert db.session.scalar(select(func.count(Course.id))) == 0


def test_course_titles_are_unique_ignoring_case(coordinator):
    CourseFactory(title="Neglect: Recognising and Responding")
    with pytest.raises(InvalidDetails) as excinfo:
        services.create_course(coordinator, course_details(title="  neglect: recognising and responding "), now=NOW)
    assert problems(excinfo) == {"title": "There is already a course with this title. Enter a different title"}


def test_update_course_may_keep_its_own_title_but_not_take_another(coordinator):
    mine = CourseFactory(title="Prevent awareness")
    CourseFactory(title="Exploitation")
    services.update_course(mine.id, coordinator, course_details(title="Prevent awareness", level=Level.LEVEL_1),
                           now=NOW)
    assert reload(mine).level == Level.LEVEL_1
    with pytest.raises(InvalidDetails) as excinfo:
        services.update_course(mine.id, coordinator, course_details(title="EXPLOITATION"), now=NOW)
    assert "title" in problems(excinfo)
    assert reload(mine).title == "Prevent awareness"


def test_update_course_replaces_themes(coordinator):
    course = CourseFactory(themes=[Theme.NEGLECT, Theme.FGM])
    services.update_course(course.id, coordinator, course_details(title=course.title,
                                                                  themes=(Theme.FGM, Theme.PREVENT)), now=NOW)
    assert reload(course).themes == [Theme.FGM, Theme.PREVENT]


def test_duplicate_course_copies_details_not_sessions_with_a_free_title(coordinator):
    source = CourseFactory(title="Domestic abuse", themes=[Theme.DOMESTIC_ABUSE, Theme.CHILD_PROTECTION],
                           refresher_months=24)
    SessionFactory(course=source)
    first = services.duplicate_course(source.id, coordinator, now=NOW)
    second = services.duplicate_course(source.id, coordinator, now=NOW)
    first, second = reload(first), reload(second)
    assert first.title == "Copy of Domestic abuse"
    assert second.title == "Copy of Domestic abuse (2)"
    assert first.themes == [Theme.CHILD_PROTECTION, Theme.DOMESTIC_ABUSE]
    assert (first.summary, first.learning_outcomes, first.level, first.format, first.duration_minutes,
            first.refresher_months) == (source.summary, source.learning_outcomes, source.level, source.format,
                                        source.duration_minutes, 24)
    assert db.session.scalar(select(func.count(CourseSession.id)).where(CourseSession.course_id == first.id)) == 0


def test_duplicate_of_a_longest_title_stays_within_the_limit(coordinator):
    source = CourseFactory(title="T" * 200)
    copy = services.duplicate_course(source.id, coordinator, now=NOW)
    again = services.duplicate_course(source.id, coordinator, now=NOW)
    assert len(copy.title) == 200 and copy.title.startswith("Copy of TTT")
    assert len(again.title) == 200 and again.title.endswith(" (2)")


def test_only_coordinators_change_the_catalogue():
    trainer = TrainerFactory()
    course = CourseFactory()
    session = SessionFactory(course=course)
    with pytest.raises(NotCoordinator):
        services.create_course(trainer, course_details(), now=NOW)
    with pytest.raises(NotCoordinator):
        services.update_course(course.id, trainer, course_details(), now=NOW)
    with pytest.raises(NotCoordinator):
        services.duplicate_course(course.id, trainer, now=NOW)
    with pytest.raises(NotCoordinator):
        services.create_session(course.id, trainer, session_details(), now=NOW)
    with pytest.raises(NotCoordinator):
        services.update_session(session.id, trainer, session_details(), now=NOW)
    with pytest.raises(NotCoordinator):
        services.cancel_session(session.id, trainer, "Trainer ill", now=NOW)


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------

def test_create_session_defaults_booking_close_to_2359_london_the_day_before(coordinator):
    course = CourseFactory()
    trainer = TrainerFactory()
    start = london_to_utc(datetime(2026, 6, 10).date(), time(9, 30))
    session = services.create_session(course.id, coordinator,
                                      session_details(start, trainer_ids=(trainer.id,)), now=NOW)
    session = reload(session)
    assert session.starts_at == utc(2026, 6, 10, 8, 30)  # BST
    assert session.booking_closes_at == utc(2026, 6, 9, 22, 59)  # 23:59 BST on 9 June
    assert session.status == SessionStatus.SCHEDULED and session.places_taken == 0
    assert session.kind is SessionKind.TRAINING
    assert session.venue == "Civic Centre\nHigh Street"
    assert [t.id for t in session.trainers] == [trainer.id]


def test_default_booking_close_across_the_clock_changes():
    # The day before 29 March 2026 is still GMT; the day before 30 March is BST.
    assert services.default_booking_close(utc(2026, 3, 29, 9, 0)) == utc(2026, 3, 28, 23, 59)
    assert services.default_booking_close(utc(2026, 3, 30, 9, 0)) == utc(2026, 3, 29, 22, 59)
    # The day before 25 October 2026 is BST; the day before 26 October is GMT.
    assert services.default_booking_close(utc(2026, 10, 25, 10, 0)) == utc(2026, 10, 24, 22, 59)
    assert services.default_booking_close(utc(2026, 10, 26, 10, 0)) == utc(2026, 10, 25, 23, 59)


def test_sessions_on_clock_change_sundays_keep_their_london_wall_clock_time(coordinator):
    course = CourseFactory()
    spring = london_to_utc(datetime(2026, 3, 29).date(), time(10, 0))
    autumn = london_to_utc(datetime(2026, 10, 25).date(), time(10, 0))
    s1 = services.create_session(course.id, coordinator, session_details(spring), now=NOW)
    s2 = services.create_session(course.id, coordinator, session_details(autumn), now=NOW)
    assert reload(s1).starts_at == utc(2026, 3, 29, 9, 0)
    assert reload(s2).starts_at == utc(2026, 10, 25, 10, 0)


def test_explicit_booking_close_is_kept(coordinator):
    course = CourseFactory()
    start = NOW + timedelta(days=20)
    closes = start - timedelta(days=7)
    session = services.create_session(course.id, coordinator, session_details(start, booking_closes_at=closes),
                                      now=NOW)
    assert reload(session).booking_closes_at == closes


@pytest.mark.parametrize(
    ("course_format", "overrides", "field", "message"),
    [
        (CourseFormat.FACE_TO_FACE, {"ends_at": NOW + timedelta(days=30)}, "ends_at",
         "The end time must be after the start time"),
        (CourseFormat.FACE_TO_FACE, {"ends_at": NOW + timedelta(days=30, hours=-1)}, "ends_at",
         "The end time must be after the start time"),
        (CourseFormat.FACE_TO_FACE, {"starts_at": NOW - timedelta(hours=1), "ends_at": NOW + timedelta(hours=2)},
         "starts_at", "The session must start in the future"),
        (CourseFormat.FACE_TO_FACE, {"capacity": 0}, "capacity", "Number of places must be 1 or more"),
        (CourseFormat.FACE_TO_FACE, {"capacity": -1}, "capacity", "Number of places must be 1 or more"),
        (CourseFormat.FACE_TO_FACE, {"capacity": 1001}, "capacity", "Number of places must be 1,000 or fewer"),
        (CourseFormat.FACE_TO_FACE, {"venue": "  "}, "venue", "Enter the venue address"),
        (CourseFormat.WORKSHOP, {"venue": None}, "venue", "Enter the venue address"),
        (CourseFormat.VIRTUAL, {"venue": None}, "online_link", "Enter the joining link for this online session"),
        (CourseFormat.E_LEARNING, {"venue": None}, "online_link", "Enter the joining link for this online session"),
        (CourseFormat.VIRTUAL, {"online_link": "http://meet.example.org/abc"}, "online_link",
         "Enter a joining link in the correct format, starting with https://, like https://meet.example.org/session"),
        (CourseFormat.VIRTUAL, {"online_link": "javascript:alert(1)"}, "online_link",
         "Enter a joining link in the correct format, starting with https://, like https://meet.example.org/session"),
        (CourseFormat.VIRTUAL, {"online_link": "https://"}, "online_link",
         "Enter a joining link in the correct format, starting with https://, like https://meet.example.org/session"),
        (CourseFormat.VIRTUAL, {"online_link": "https://meet example.org"}, "online_link",
         "Enter a joining link in the correct format, starting with https://, like https://meet.example.org/session"),
        (CourseFormat.FACE_TO_FACE, {"booking_closes_at": NOW + timedelta(days=30, seconds=1)}, "booking_closes_at",
         "Booking must close before the session starts"),
        (CourseFormat.FACE_TO_FACE, {"trainer_ids": (999_999,)}, "trainer_ids", "Select trainers from the list"),
    ],
)
def test_session_rules(coordinator, course_format, overrides, field, message):
    course = CourseFactory(format=course_format)
    with pytest.raises(InvalidDetails) as excinfo:
        services.create_session(course.id, coordinator, session_details(**overrides), now=NOW)
    assert problems(excinfo)[field] == message
    assert db.session.scalar(select(func.count(CourseSession.id))) == 0


def test_session_rules_report_every_problem_at_once(coordinator):
    course = CourseFactory(format=CourseFormat.VIRTUAL)
    start = NOW + timedelta(days=3)
    with pytest.raises(InvalidDetails) as excinfo:
        services.create_session(course.id, coordinator, session_details(
            start, ends_at=start, capacity=0, online_link="http://x.example.org"), now=NOW)
    assert set(problems(excinfo)) == {"ends_at", "capacity", "online_link"}


def test_a_trainer_must_hold_the_trainer_role(coordinator):
    course = CourseFactory()
    professional = UserFactory()
    with pytest.raises(InvalidDetails) as excinfo:
        services.create_session(course.id, coordinator, session_details(trainer_ids=(professional.id,)), now=NOW)
    assert problems(excinfo) == {"trainer_ids": "Select trainers from the list"}


def test_a_virtual_session_keeps_its_link_and_may_have_no_venue(coordinator):
    course = CourseFactory(format=CourseFormat.VIRTUAL)
    session = services.create_session(course.id, coordinator, session_details(
        venue="", online_link=" https://teams.example.org/meet/123?p=abc "), now=NOW)
    session = reload(session)
    assert session.online_link == "https://teams.example.org/meet/123?p=abc"
    assert session.venue is None and session.is_virtual


def test_update_session_changes_details_and_trainers(coordinator):
    old, new = TrainerFactory(name="A Trainer"), TrainerFactory(name="B Trainer")
    session = SessionFactory(trainers=[old], starts_at=NOW + timedelta(days=10),
                             ends_at=NOW + timedelta(days=10, hours=2),
                             booking_closes_at=NOW + timedelta(days=9))
    start = NOW + timedelta(days=12)
    services.update_session(session.id, coordinator, session_details(start, capacity=25, trainer_ids=(new.id,),
                                                                     kind=SessionKind.WORKSHOP), now=NOW)
    session = reload(session)
    assert session.starts_at == start and session.capacity == 25
    assert session.kind is SessionKind.WORKSHOP
    assert [t.id for t in session.trainers] == [new.id]
    assert session.booking_closes_at == services.default_booking_close(start)


def test_capacity_cannot_be_lowered_below_places_taken(coordinator):
    session = SessionFactory(capacity=10, starts_at=NOW + timedelta(days=30))
    for _ in range(4):
        BookingFactory(session=session)
    with pytest.raises(InvalidDetails) as excinfo:
        services.update_session(session.id, coordinator,
                                session_details(session.starts_at, capacity=3), now=NOW)
    assert problems(excinfo) == {"capacity": "Number of places cannot be lower than the 4 places already taken "
                                             "by confirmed bookings and open offers"}
    assert reload(session).capacity == 10
    services.update_session(session.id, coordinator, session_details(session.starts_at, capacity=4), now=NOW)
    assert reload(session).capacity == 4


def test_an_overbooked_session_can_still_be_edited_without_lowering_capacity(coordinator):
    session = SessionFactory(capacity=2, starts_at=NOW + timedelta(days=30))
    for _ in range(3):
        BookingFactory(session=session)
    services.update_session(session.id, coordinator,
                            session_details(session.starts_at, capacity=2, venue="Library, Room 4"), now=NOW)
    assert reload(session).venue == "Library, Room 4"


def test_raising_capacity_offers_places_to_people_waiting(coordinator):
    now = utcnow()
    session = SessionFactory(capacity=1)
    first, second, third = UserFactory.create_batch(3)
    for person in (first, second, third):
        booking.book_place(session.id, person)
    services.update_session(session.id, coordinator, session_details(
        session.starts_at, ends_at=session.ends_at, capacity=2), now=now)
    statuses = {b.user_id: b.status for b in db.session.scalars(select(Booking))}
    assert statuses == {first.id: BookingStatus.CONFIRMED, second.id: BookingStatus.OFFERED,
                        third.id: BookingStatus.WAITLISTED}
    assert reload(session).places_taken == 2


def test_capacity_check_locks_the_session_row(coordinator):
    session = SessionFactory(starts_at=NOW + timedelta(days=30))
    session_id, details = session.id, session_details(session.starts_at, capacity=5)
    db.session.expire_all()
    with recorded_statements() as queries:
        services.update_session(session_id, coordinator, details, now=NOW)
    if db.engine.dialect.name == "postgresql":
        locks = [s for s in queries if "FOR UPDATE" in s]
        assert locks and all("FOR UPDATE OF course_sessions" in s for s in locks)
    else:
        # SQLite has no row locks: the write transaction begins IMMEDIATE, before the session is read.
        begin = queries.index("BEGIN IMMEDIATE")
        assert any("FROM course_sessions" in s for s in queries[begin:])
        assert not any("FROM course_sessions" in s for s in queries[:begin])


def test_cancelled_and_started_sessions_cannot_be_edited(coordinator):
    started = SessionFactory(starts_at=NOW - timedelta(minutes=5), ends_at=NOW + timedelta(hours=1),
                             booking_closes_at=NOW - timedelta(days=1))
    cancelled = SessionFactory(starts_at=NOW + timedelta(days=5), status=SessionStatus.CANCELLED)
    with pytest.raises(SessionNotEditable, match="already started"):
        services.update_session(started.id, coordinator, session_details(), now=NOW)
    with pytest.raises(SessionNotEditable, match="cancelled"):
        services.update_session(cancelled.id, coordinator, session_details(), now=NOW)


def test_cancel_session_releases_every_booking(coordinator):
    session = SessionFactory(capacity=1)
    booked, waiting = UserFactory(), UserFactory()
    b1 = booking.book_place(session.id, booked)
    b2 = booking.book_place(session.id, waiting)
    assert (b1.status, b2.status) == (BookingStatus.CONFIRMED, BookingStatus.WAITLISTED)
    now = utcnow()
    services.cancel_session(session.id, coordinator, "  Trainer unwell  ", now=now)
    session = reload(session)
    assert session.status == SessionStatus.CANCELLED
    assert session.cancellation_reason == "Trainer unwell"
    assert session.cancelled_at == now
    assert session.places_taken == 0
    assert {b.status for b in db.session.scalars(select(Booking))} == {BookingStatus.SESSION_CANCELLED}


def test_cancel_needs_a_reason_and_happens_once(coordinator):
    session = SessionFactory()
    with pytest.raises(InvalidDetails) as excinfo:
        services.cancel_session(session.id, coordinator, "   ")
    assert problems(excinfo) == {"reason": "Enter the reason for cancelling the session"}
    assert reload(session).status == SessionStatus.SCHEDULED
    services.cancel_session(session.id, coordinator, "Venue unavailable")
    with pytest.raises(SessionAlreadyCancelled):
        services.cancel_session(session.id, coordinator, "Again")


def test_a_started_session_cannot_be_cancelled(coordinator):
    session = SessionFactory(starts_at=NOW - timedelta(minutes=1), ends_at=NOW + timedelta(hours=2),
                             booking_closes_at=NOW - timedelta(days=1))
    with pytest.raises(SessionNotEditable):
        services.cancel_session(session.id, coordinator, "Too late", now=NOW)
    assert reload(session).status == SessionStatus.SCHEDULED


def test_duplicate_session_copies_times_place_capacity_and_trainers(coordinator):
    trainer = TrainerFactory()
    session = SessionFactory(starts_at=utc(2026, 7, 1, 8, 30), ends_at=utc(2026, 7, 1, 12, 0),
                             capacity=18, venue="Town Hall", trainers=[trainer], kind=SessionKind.WORKSHOP)
    draft = services.duplicate_session(session.id, coordinator, now=NOW)
    assert draft == services.SessionDraft(course_id=session.course_id, start_time=time(9, 30),
                                          end_time=time(13, 0), capacity=18, kind=SessionKind.WORKSHOP,
                                          venue="Town Hall", online_link=None, trainer_ids=(trainer.id,))


@pytest.mark.parametrize(("course_format", "kind"), [
    (CourseFormat.WORKSHOP, SessionKind.WORKSHOP),
    (CourseFormat.FACE_TO_FACE, SessionKind.TRAINING),
    (CourseFormat.VIRTUAL, SessionKind.TRAINING),
    (CourseFormat.E_LEARNING, SessionKind.TRAINING),
])
def test_a_new_session_is_offered_as_the_type_its_course_format_suggests(course_format, kind):
    assert services.default_session_kind(CourseFactory(format=course_format)) is kind


def test_a_workshop_session_of_a_face_to_face_course_is_kept_as_a_workshop(coordinator):
    """The format suggests the type; the coordinator decides it, and it is saved as chosen."""
    course = CourseFactory(format=CourseFormat.FACE_TO_FACE)
    session = services.create_session(course.id, coordinator, session_details(kind=SessionKind.WORKSHOP), now=NOW)
    assert reload(session).kind is SessionKind.WORKSHOP


def test_an_unknown_session_type_is_refused(coordinator):
    course = CourseFactory()
    with pytest.raises(InvalidDetails) as excinfo:
        services.create_session(course.id, coordinator, session_details(kind="seminar"), now=NOW)
    assert problems(excinfo) == {"kind": "Select the type of session"}
    assert db.session.scalar(select(func.count(CourseSession.id))) == 0


# ---------------------------------------------------------------------------
# Queries
# ---------------------------------------------------------------------------

def test_page_is_clamped_to_the_results():
    for days in range(1, 6):
        SessionFactory(starts_at=utcnow() + timedelta(days=days))
    filters = services.CatalogueFilters()
    assert services.search_sessions(filters, page=-3, per_page=2).number == 1
    last = services.search_sessions(filters, page=99, per_page=2)
    assert (last.number, last.pages, len(last.items), last.first_index, last.last_index) == (3, 3, 1, 5, 5)
    empty = services.search_sessions(services.CatalogueFilters(themes=(Theme.FGM,)), page=4, per_page=2)
    assert (empty.number, empty.pages, empty.items, empty.total) == (1, 1, [], 0)


def test_a_page_with_rows_is_one_query_and_its_total_comes_with_it():
    ids = [SessionFactory().id for _ in range(5)]
    stmt = select(CourseSession.id).order_by(CourseSession.id)
    with recorded_statements() as in_range:
        page = services.paginate(stmt, 2, 2)
    assert (page.number, page.total, page.items) == (2, 5, ids[2:4])
    with recorded_statements() as past_the_end:  # nothing there, a count, then the last page
        last = services.paginate(stmt, 7, 2)
    assert (last.number, last.total, last.items) == (3, 5, ids[4:])
    with recorded_statements() as nothing:
        empty = services.paginate(stmt.where(CourseSession.id < 0), 1, 2)
    assert (empty.number, empty.total, empty.items) == (1, 0, [])
    assert (len(in_range), len(past_the_end), len(nothing)) == (1, 3, 1)
    rows = services.paginate(select(CourseSession.id, CourseSession.capacity).order_by(CourseSession.id), 1, 2,
                             scalars=False)
    assert [(row.id, row.capacity) for row in rows.items] == [(ids[0], 20), (ids[1], 20)]
    # Rows hold the statement's columns only: the total stays inside paginate.
    assert [tuple(row) for row in rows.items] == [(ids[0], 20), (ids[1], 20)]
    assert all("_total" not in row._fields for row in rows.items)
    past = services.paginate(select(CourseSession.id, CourseSession.capacity).order_by(CourseSession.id), 9, 2,
                             scalars=False)
    assert (past.number, [tuple(row) for row in past.items]) == (3, [(ids[4], 20)])


def test_month_starts_are_london_months():
    # 23:30 UTC on 31 May is already 1 June in London.
    months = services.month_starts(utc(2026, 5, 31, 23, 30), count=3)
    assert [m.isoformat() for m in months] == ["2026-06-01", "2026-07-01", "2026-08-01"]
    december = services.month_starts(utc(2026, 12, 15, 12, 0), count=2)
    assert [m.isoformat() for m in december] == ["2026-12-01", "2027-01-01"]


def test_courses_with_upcoming_counts(coordinator):
    busy = CourseFactory(title="b busy")
    quiet = CourseFactory(title="A quiet")
    SessionFactory.create_batch(2, course=busy)
    SessionFactory(course=busy, status=SessionStatus.CANCELLED)
    SessionFactory(course=quiet, starts_at=utcnow() - timedelta(days=3))  # past sessions do not count
    assert [(c.title, n) for c, n in services.courses_with_upcoming_counts()] == [("A quiet", 0), ("b busy", 2)]


@pytest.mark.parametrize(
    ("link", "ok"),
    [
        ("https://meet.example.org/abc", True),
        ("HTTPS://Teams.Microsoft.com/l/meetup-join/19%3a", True),
        ("http://meet.example.org", False),
        ("https://localhost/x", False),
        ("https://example.org:99999/x", False),
        ("ftp://example.org", False),
        ("//example.org/x", False),
        ("example.org", False),
    ],
)
def test_joining_links_must_be_https_addresses(link, ok):
    assert services.is_https_url(link) is ok
