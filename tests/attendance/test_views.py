"""The register pages over HTTP: permissions, forms, bad input, and query counts."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import (
    AgencyFactory,
    BookingFactory,
    CoordinatorFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from tests.sql import recorded_statements
from training.attendance import services
from training.attendance.models import Attendance, Register
from training.attendance.models import AttendanceOutcome as A
from training.booking.models import BookingStatus
from training.db import utcnow
from training.extensions import db


def started_session(trainer=None, **kwargs):
    start = (utcnow() - timedelta(hours=1)).replace(microsecond=0)
    return SessionFactory(starts_at=start, trainers=[trainer] if trainer else [], **kwargs)


def attendances() -> list[Attendance]:
    db.session.expire_all()
    return list(db.session.scalars(select(Attendance).order_by(Attendance.id)))


def register_row(session_id) -> Register | None:
    db.session.expire_all()
    return db.session.get(Register, session_id)


@pytest.fixture
def trainer():
    return TrainerFactory()


@pytest.fixture
def session(trainer):
    return started_session(trainer)


@pytest.fixture
def as_trainer(login_as, trainer):
    return login_as(trainer)


def urls(session_id: int, attendance_id: int = 1) -> list[tuple[str, str]]:
    return [
        ("GET", f"/sessions/{session_id}/register"),
        ("POST", f"/sessions/{session_id}/register"),
        ("POST", f"/sessions/{session_id}/register/complete"),
        ("GET", f"/sessions/{session_id}/register/walk-in"),
        ("POST", f"/sessions/{session_id}/register/walk-in"),
        ("POST", f"/sessions/{session_id}/register/walk-ins/{attendance_id}/remove"),
        ("GET", f"/sessions/{session_id}/sign-in-sheet"),
    ]


# --- permissions --------------------------------------------------------------------------

def test_anonymous_people_are_sent_to_sign_in(client, session):
    for method, url in [("GET", "/my-sessions"), *urls(session.id)]:
        response = client.open(url, method=method)
        assert response.status_code == 302, url
        assert "/sign-in" in response.headers["Location"], url


def test_professionals_are_refused(login_as, session):
    client = login_as(UserFactory())
    for method, url in [("GET", "/my-sessions"), *urls(session.id)]:
        assert client.open(url, method=method).status_code == 403, url


def test_a_trainer_cannot_open_another_trainers_register(login_as, session):
    booking = BookingFactory(session=session)
    walk_in = services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                                   outcome=A.ATTENDED, actor=CoordinatorFactory())
    client = login_as(TrainerFactory())
    for method, url in urls(session.id, walk_in.id):
        data = {f"booking-{booking.id}": "attended", "name": "X", "agency": str(booking.user.agency_id)}
        response = client.open(url, method=method, data=data)
        assert response.status_code == 403, url
        assert booking.user.name not in response.get_data(as_text=True)
    assert [a.walk_in for a in attendances()] == [True]


def test_unknown_sessions_give_404(as_trainer):
    for method, url in urls(999_999):
        assert as_trainer.open(url, method=method).status_code == 404, url
    assert as_trainer.get("/sessions/abc/register").status_code == 404
    # Larger than the database's integers: a miss, not a database error.
    for method, url in urls(2**31) + urls(10**20):
        assert as_trainer.open(url, method=method).status_code == 404, url


def test_non_numeric_or_huge_walk_in_ids_give_404(as_trainer, session):
    for attendance_id in ("abc", str(2**31), str(10**20)):
        response = as_trainer.post(f"/sessions/{session.id}/register/walk-ins/{attendance_id}/remove")
        assert response.status_code == 404


def test_a_coordinator_can_open_any_register(login_as, session):
    booking = BookingFactory(session=session)
    page = login_as(CoordinatorFactory()).get(f"/sessions/{session.id}/register")
    assert page.status_code == 200
    assert booking.user.name in page.get_data(as_text=True)


# --- taking the register ------------------------------------------------------------------

def test_register_page_lists_booked_people_with_radios(as_trainer, session):
    booked = BookingFactory(session=session, user=UserFactory(name="Amir Khan"))
    BookingFactory(session=session, status=BookingStatus.CANCELLED, user=UserFactory(name="Cancelled Person"))
    html = as_trainer.get(f"/sessions/{session.id}/register").get_data(as_text=True)
    assert "Amir Khan" in html
    assert booked.user.agency.name in html
    assert "Cancelled Person" not in html
    for outcome in A:
        assert f'name="booking-{booked.id}" type="radio" value="{outcome.value}"' in html
    assert "Complete register" in html


def test_marking_saves_and_redirects(as_trainer, session):
    first, second = BookingFactory(session=session), BookingFactory(session=session)
    response = as_trainer.post(f"/sessions/{session.id}/register",
                               data={f"booking-{first.id}": "attended", f"booking-{second.id}": "did-not-attend"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/sessions/{session.id}/register")
    assert [(a.booking_id, a.outcome) for a in attendances()] == [(first.id, A.ATTENDED),
                                                                  (second.id, A.DID_NOT_ATTEND)]
    page = as_trainer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Attendance saved" in page
    assert 'value="attended" checked' in page


def test_re_marking_changes_the_outcome(as_trainer, session):
    booking = BookingFactory(session=session)
    as_trainer.post(f"/sessions/{session.id}/register", data={f"booking-{booking.id}": "attended"})
    as_trainer.post(f"/sessions/{session.id}/register", data={f"booking-{booking.id}": "partial"})
    assert [a.outcome for a in attendances()] == [A.PARTIAL]


@pytest.mark.parametrize("data_for, message", [
    (lambda b: {f"booking-{b.id}": "late"}, "Select attended, partially attended or did not attend"),
    (lambda b: {"booking-abc": "attended"}, "not recognised"),
    (lambda b: {"booking-": "attended"}, "not recognised"),
    (lambda b: {"booking-99999999999999999999": "attended"}, "not recognised"),
    (lambda b: {"booking-١": "attended"}, "not recognised"),  # a non-ASCII digit
])
def test_malformed_marks_are_refused_and_change_nothing(as_trainer, session, data_for, message):
    booking = BookingFactory(session=session)
    other = BookingFactory(session=session)
    data = {f"booking-{other.id}": "attended", **data_for(booking)}
    response = as_trainer.post(f"/sessions/{session.id}/register", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert "There is a problem" in html
    assert "<title>Error: " in html
    assert attendances() == []


def test_two_values_for_one_person_are_refused(as_trainer, session):
    booking = BookingFactory(session=session)
    response = as_trainer.post(f"/sessions/{session.id}/register",
                               data={f"booking-{booking.id}": ["attended", "partial"]})
    assert response.status_code == 400
    assert attendances() == []


def test_a_booking_from_another_session_is_refused(as_trainer, session, trainer):
    mine = BookingFactory(session=session)
    elsewhere = BookingFactory(session=started_session(trainer))
    response = as_trainer.post(f"/sessions/{session.id}/register",
                               data={f"booking-{mine.id}": "attended", f"booking-{elsewhere.id}": "attended"})
    assert response.status_code == 400
    assert "not booked on this session" in response.get_data(as_text=True)
    assert attendances() == []


def test_a_cancelled_booking_is_refused(as_trainer, session):
    cancelled = BookingFactory(session=session, status=BookingStatus.CANCELLED)
    response = as_trainer.post(f"/sessions/{session.id}/register", data={f"booking-{cancelled.id}": "attended"})
    assert response.status_code == 400
    assert attendances() == []


def test_after_a_refusal_the_persons_choices_are_kept(as_trainer, session):
    booking = BookingFactory(session=session)
    response = as_trainer.post(f"/sessions/{session.id}/register",
                               data={f"booking-{booking.id}": "partial", "booking-abc": "x"})
    assert response.status_code == 400
    assert f'id="booking-{booking.id}-partial" name="booking-{booking.id}" type="radio" value="partial" checked' in (
        response.get_data(as_text=True))


def test_before_the_start_the_register_is_read_only_and_saving_is_refused(as_trainer, trainer):
    future = SessionFactory(trainers=[trainer])
    booking = BookingFactory(session=future)
    html = as_trainer.get(f"/sessions/{future.id}/register").get_data(as_text=True)
    assert "when the session starts" in html
    assert 'type="radio"' not in html
    assert "Complete register" not in html
    assert booking.user.name in html  # the trainer can still see who is coming
    response = as_trainer.post(f"/sessions/{future.id}/register", data={f"booking-{booking.id}": "attended"})
    assert response.status_code == 400
    assert "when the session starts" in response.get_data(as_text=True)
    assert attendances() == []
    response = as_trainer.post(f"/sessions/{future.id}/register/complete")
    assert response.status_code == 400
    assert register_row(future.id) is None


# --- completing ---------------------------------------------------------------------------

def test_completing_saves_the_marks_sent_with_it(as_trainer, session, trainer):
    booking = BookingFactory(session=session)
    response = as_trainer.post(f"/sessions/{session.id}/register/complete",
                               data={f"booking-{booking.id}": "attended"})
    assert response.status_code == 302
    assert [a.outcome for a in attendances()] == [A.ATTENDED]
    register = register_row(session.id)
    assert register.is_complete and register.completed_by_id == trainer.id
    page = as_trainer.get(f"/sessions/{session.id}/register").get_data(as_text=True)
    assert "Register completed" in page
    assert "Only a coordinator can change it" in page
    assert 'type="radio"' not in page


def test_completing_with_people_unmarked_is_refused_and_keeps_choices(as_trainer, session):
    marked, _unmarked = BookingFactory(session=session), BookingFactory(session=session)
    response = as_trainer.post(f"/sessions/{session.id}/register/complete",
                               data={f"booking-{marked.id}": "partial"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "1 person is not marked" in html
    assert f'name="booking-{marked.id}" type="radio" value="partial" checked' in html
    assert register_row(session.id) is None
    assert attendances() == []


def test_trainer_edits_after_completion_are_refused(as_trainer, session, trainer):
    booking = BookingFactory(session=session)
    services.complete_register(session.id, trainer, marks={booking.id: A.ATTENDED})
    response = as_trainer.post(f"/sessions/{session.id}/register", data={f"booking-{booking.id}": "partial"})
    assert response.status_code == 400
    assert "Only a coordinator can change it" in response.get_data(as_text=True)
    response = as_trainer.post(f"/sessions/{session.id}/register/walk-in",
                               data={"name": "Sam", "agency": str(AgencyFactory().id), "outcome": "attended"})
    assert response.status_code == 302
    assert [a.outcome for a in attendances()] == [A.ATTENDED]


def test_a_coordinator_corrects_a_completed_register(login_as, session, trainer):
    booking = BookingFactory(session=session)
    services.complete_register(session.id, trainer, marks={booking.id: A.ATTENDED})
    client = login_as(CoordinatorFactory())
    page = client.get(f"/sessions/{session.id}/register").get_data(as_text=True)
    assert "you can still correct it" in page
    assert 'type="radio"' in page
    response = client.post(f"/sessions/{session.id}/register", data={f"booking-{booking.id}": "did-not-attend"})
    assert response.status_code == 302
    assert [a.outcome for a in attendances()] == [A.DID_NOT_ATTEND]


# --- walk-ins -----------------------------------------------------------------------------

def test_walk_in_form_lists_active_agencies(as_trainer, session):
    AgencyFactory(name="Riverside Academy")
    AgencyFactory(name="Closed Agency", active=False)
    html = as_trainer.get(f"/sessions/{session.id}/register/walk-in").get_data(as_text=True)
    assert "Riverside Academy" in html
    assert "Closed Agency" not in html


def test_adding_a_walk_in_without_an_account(as_trainer, session):
    agency = AgencyFactory()
    response = as_trainer.post(f"/sessions/{session.id}/register/walk-in",
                               data={"name": "Sam Walker", "email": "", "agency": str(agency.id),
                                     "outcome": "partial"})
    assert response.status_code == 302
    [row] = attendances()
    assert (row.attendee_name, row.agency_id, row.outcome, row.walk_in, row.user_id) == (
        "Sam Walker", agency.id, A.PARTIAL, True, None)
    page = as_trainer.get(response.headers["Location"]).get_data(as_text=True)
    assert "Sam Walker added to the register" in page


def test_adding_a_walk_in_with_an_account_uses_their_agency(as_trainer, session):
    person = UserFactory(email="sam@example.org")
    response = as_trainer.post(f"/sessions/{session.id}/register/walk-in",
                               data={"name": "Sam Walker", "email": "SAM@example.org", "agency": "",
                                     "outcome": "attended"})
    assert response.status_code == 302
    [row] = attendances()
    assert (row.user_id, row.agency_id) == (person.id, person.agency_id)


@pytest.mark.parametrize("data, message", [
    ({"name": "", "agency": "AGENCY"}, "Enter the person&#39;s full name"),
    ({"name": "Sam", "agency": ""}, "Select the person&#39;s agency"),
    ({"name": "Sam", "email": "nobody@example.org", "agency": ""}, "there is no account with that email address"),
    ({"name": "Sam", "agency": "abc"}, "Select an agency from the list"),
    ({"name": "Sam", "agency": "999999"}, "Select an agency from the list"),
    ({"name": "Sam", "email": "not-an-email", "agency": "AGENCY"}, "Enter an email address in the correct format"),
    ({"name": "Sam", "agency": "AGENCY", "outcome": "did-not-attend"}, "Select whether they attended"),
    ({"name": "x" * 201, "agency": "AGENCY"}, "Full name must be 200 characters or fewer"),
])
def test_walk_in_bad_input_shows_errors_and_changes_nothing(as_trainer, session, data, message):
    agency = AgencyFactory()
    data = {"outcome": "attended", **data}
    data["agency"] = data["agency"].replace("AGENCY", str(agency.id))
    response = as_trainer.post(f"/sessions/{session.id}/register/walk-in", data=data)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert message in html
    assert "There is a problem" in html
    assert attendances() == []


def test_a_booked_person_cannot_be_added_as_a_walk_in(as_trainer, session):
    booking = BookingFactory(session=session)
    response = as_trainer.post(f"/sessions/{session.id}/register/walk-in",
                               data={"name": "Sam", "email": booking.user.email, "agency": "", "outcome": "attended"})
    assert response.status_code == 400
    assert "mark their attendance on the register" in response.get_data(as_text=True)
    assert attendances() == []


def test_walk_in_page_before_the_start_sends_the_trainer_back(as_trainer, trainer):
    future = SessionFactory(trainers=[trainer])
    response = as_trainer.get(f"/sessions/{future.id}/register/walk-in")
    assert response.status_code == 302
    page = as_trainer.get(response.headers["Location"]).get_data(as_text=True)
    assert "when the session starts" in page


def test_removing_a_walk_in(as_trainer, session, trainer):
    walk_in = services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                                   outcome=A.ATTENDED, actor=trainer)
    html = as_trainer.get(f"/sessions/{session.id}/register").get_data(as_text=True)
    assert f"/register/walk-ins/{walk_in.id}/remove" in html
    response = as_trainer.post(f"/sessions/{session.id}/register/walk-ins/{walk_in.id}/remove")
    assert response.status_code == 302
    assert attendances() == []


def test_removing_a_walk_in_of_another_session_gives_404(as_trainer, session, trainer):
    other = started_session(trainer)
    walk_in = services.add_walk_in(other.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                                   outcome=A.ATTENDED, actor=trainer)
    response = as_trainer.post(f"/sessions/{session.id}/register/walk-ins/{walk_in.id}/remove")
    assert response.status_code == 404
    assert len(attendances()) == 1


# --- sign-in sheet ------------------------------------------------------------------------

def test_sign_in_sheet_lists_booked_people_with_agency_signature_column_and_blank_rows(as_trainer, trainer):
    future = SessionFactory(trainers=[trainer], venue="Civic Centre, Room 4")
    booked = BookingFactory(session=future, user=UserFactory(name="Amir Khan"))
    BookingFactory(session=future, status=BookingStatus.WAITLISTED, user=UserFactory(name="Waiting Person"))
    response = as_trainer.get(f"/sessions/{future.id}/sign-in-sheet")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Amir Khan" in html and booked.user.agency.name in html
    assert "Waiting Person" not in html
    assert booked.user.email not in html  # the sheet is passed round the room
    assert future.course.title in html and "Civic Centre, Room 4" in html
    assert 'class="app-sign-in-sheet"' in html
    assert html.count('class="govuk-table__cell app-signature"') == 1 + 6
    assert html.count("app-sign-in-sheet__blank") == 6
    assert 'class="app-no-print"' in html


# --- my sessions --------------------------------------------------------------------------

def test_my_sessions_shows_the_trainers_sessions_with_register_status(as_trainer, trainer):
    now = utcnow()
    recent = SessionFactory(starts_at=now - timedelta(days=3), trainers=[trainer])
    upcoming = SessionFactory(starts_at=now + timedelta(days=3), trainers=[trainer])
    theirs = SessionFactory(starts_at=now - timedelta(days=2), trainers=[TrainerFactory()])
    services.complete_register(recent.id, trainer)
    html = as_trainer.get("/my-sessions").get_data(as_text=True)
    assert f"/sessions/{recent.id}/register" in html
    assert f"/sessions/{upcoming.id}/sign-in-sheet" in html
    assert f"/sessions/{theirs.id}/register" not in html
    assert "Complete" in html and "Not started" in html


def test_my_sessions_shows_coordinators_every_session(login_as):
    session = SessionFactory(trainers=[TrainerFactory(name="Tara Trainer")])
    html = login_as(CoordinatorFactory()).get("/my-sessions").get_data(as_text=True)
    assert f"/sessions/{session.id}/register" in html
    assert "Tara Trainer" in html


# --- query counts -------------------------------------------------------------------------

def _queries_for(client, url) -> int:
    with recorded_statements() as statements:
        response = client.get(url)
    assert response.status_code == 200
    return len(statements.queries)


@pytest.mark.parametrize("page", ["register", "sign-in-sheet"])
def test_register_pages_use_the_same_queries_for_5_or_25_bookings(login_as, page):
    trainer = TrainerFactory()
    client = login_as(trainer)
    counts = []
    for size in (5, 25):
        session = started_session(trainer)
        bookings = BookingFactory.create_batch(size, session=session)
        # Half marked, with a moved agency and a walk-in, so every kind of row is drawn.
        services.record_attendance(session.id, {b.id: A.ATTENDED for b in bookings[: size // 2]}, trainer)
        bookings[0].user.agency = AgencyFactory()
        services.add_walk_in(session.id, name="Sam", email=None, agency_id=AgencyFactory().id,
                             outcome=A.PARTIAL, actor=trainer)
        db.session.commit()
        counts.append(_queries_for(client, f"/sessions/{session.id}/{page}"))
    assert counts[0] == counts[1], counts


def test_my_sessions_uses_the_same_queries_for_few_or_many_sessions(login_as):
    trainer = TrainerFactory()
    client = login_as(trainer)
    counts = []
    for size in (2, 10):
        for n in range(size):
            s = SessionFactory(starts_at=utcnow() + timedelta(days=n - size // 2, hours=1),
                               trainers=[trainer, TrainerFactory()])
            BookingFactory(session=s)
        counts.append(_queries_for(client, "/my-sessions"))
    assert counts[0] == counts[1], counts


def test_completed_register_page_keeps_constant_queries(login_as):
    coordinator = CoordinatorFactory()
    client = login_as(coordinator)
    counts = []
    for size in (5, 25):
        session = started_session()
        bookings = BookingFactory.create_batch(size, session=session)
        services.complete_register(session.id, coordinator, marks={b.id: A.ATTENDED for b in bookings})
        counts.append(_queries_for(client, f"/sessions/{session.id}/register"))
    assert counts[0] == counts[1], counts
    assert db.session.scalar(select(func.count()).select_from(Register)) == 2
