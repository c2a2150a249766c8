"""Coordinators' catalogue pages: who may see them, the forms and their errors, and what they change."""
from __future__ import annotations

import html as html_lib
import re
from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from tests.catalogue.helpers import date_fields, future_day, next_clock_change, utc
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
from training.catalogue.models import Course, CourseFormat, CourseSession, Level, SessionKind, SessionStatus, Theme
from training.catalogue.services import default_booking_close
from training.db import utcnow
from training.extensions import db
from training.timeutil import london_to_utc


def reload(obj):
    db.session.expire_all()
    return db.session.get(type(obj), obj.id)


def page_text(response) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def input_value(html: str, input_id: str) -> str:
    """The value of the <input> with this id."""
    tag = re.search(rf'<input [^>]*id="{input_id}"[^>]*>', html)
    assert tag, f"no input {input_id}"
    value = re.search(r'value="([^"]*)"', tag[0])
    return html_lib.unescape(value[1]) if value else ""


def checked_values(html: str, name: str) -> list[str]:
    """The values of the checked radios or checkboxes called `name`."""
    tags = re.findall(rf'<input [^>]*name="{name}"[^>]*>', html)
    return [re.search(r'value="([^"]*)"', tag)[1] for tag in tags if re.search(r"\schecked\b", tag)]


def error_summary(response) -> str:
    text = page_text(response)
    assert response.status_code == 200
    assert "There is a problem" in text, "expected the error summary"
    return text


@pytest.fixture
def coordinator():
    return CoordinatorFactory()


@pytest.fixture
def manager(coordinator, login_as):
    return login_as(coordinator)


def course_form(**overrides) -> dict:
    data = {
        "title": "Working Together to Safeguard Children",
        "summary": "Statutory guidance in practice.",
        "learning_outcomes": "Know each agency's role\nMake a referral",
        "level": "level-3",
        "format": "face-to-face",
        "duration_hours": "3",
        "duration_minutes": "30",
        "themes": ["child-protection", "neglect"],
        "refresher_months": "36",
    }
    data.update(overrides)
    return data


def next_summer_day() -> date:
    """The next 15 July at least two days away: a date in British Summer Time."""
    soon = future_day(2)
    return date(soon.year if soon <= date(soon.year, 7, 15) else soon.year + 1, 7, 15)


def session_form(day: date | None = None, **overrides) -> dict:
    data = {
        "kind": "training",
        **date_fields("date", day or future_day(30)),
        "start_time": "09:30",
        "end_time": "12:30",
        "venue": "Civic Centre\nHigh Street",
        "online_link": "",
        "capacity": "20",
        **date_fields("closes_date", None),
        "closes_time": "",
    }
    data.update(overrides)
    return data


# ---------------------------------------------------------------------------
# Permissions
# ---------------------------------------------------------------------------

def _manage_urls(course_id: int, session_id: int) -> list[tuple[str, str]]:
    return [
        ("get", "/manage/"),
        ("get", "/manage/courses"),
        ("get", "/manage/courses/new"),
        ("post", "/manage/courses/new"),
        ("get", f"/manage/courses/{course_id}"),
        ("get", f"/manage/courses/{course_id}/edit"),
        ("post", f"/manage/courses/{course_id}/edit"),
        ("post", f"/manage/courses/{course_id}/duplicate"),
        ("get", f"/manage/courses/{course_id}/sessions/new"),
        ("post", f"/manage/courses/{course_id}/sessions/new"),
        ("get", f"/manage/sessions/{session_id}/edit"),
        ("post", f"/manage/sessions/{session_id}/edit"),
        ("post", f"/manage/sessions/{session_id}/duplicate"),
        ("get", f"/manage/sessions/{session_id}/cancel"),
        ("post", f"/manage/sessions/{session_id}/cancel"),
    ]


def test_anonymous_people_are_sent_to_sign_in(client):
    session = SessionFactory()
    for method, url in _manage_urls(session.course_id, session.id):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/sign-in"), url


@pytest.mark.parametrize("factory", [UserFactory, TrainerFactory])
def test_professionals_and_trainers_are_refused(login_as, factory):
    session = SessionFactory()
    client = login_as(factory())
    for method, url in _manage_urls(session.course_id, session.id):
        assert getattr(client, method)(url).status_code == 403, url
    assert reload(session).status == SessionStatus.SCHEDULED
    assert db.session.scalar(select(func.count(Course.id))) == 1


def test_unknown_ids_are_not_found(manager):
    for method, url in _manage_urls(999_999, 999_999)[4:]:
        assert getattr(manager, method)(url).status_code == 404, url


# ---------------------------------------------------------------------------
# Home and lists
# ---------------------------------------------------------------------------

def test_manage_home_links_and_upcoming_sessions_with_fill(manager):
    session = SessionFactory(course=CourseFactory(title="Prevent"), capacity=12)
    for _ in range(3):
        BookingFactory(session=session)
    SessionFactory(course=CourseFactory(title="Gone"), status=SessionStatus.CANCELLED)
    text = page_text(manager.get("/manage/"))
    assert 'href="/manage/courses"' in text
    assert 'href="/manage/people"' in text and 'href="/manage/agencies"' in text
    assert "Prevent" in text and "3 of 12" in text
    assert f'href="/manage/sessions/{session.id}/bookings"' in text
    assert f'href="/sessions/{session.id}/register"' in text
    assert "Gone" not in text


def test_manage_home_queries_do_not_grow_with_sessions(manager, app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOGUE_PAGE_SIZE", 3)
    SessionFactory(starts_at=utcnow() + timedelta(days=3))
    with recorded_statements() as small:
        assert manager.get("/manage/").status_code == 200
    for n in range(8):
        SessionFactory(starts_at=utcnow() + timedelta(days=4 + n), trainers=[TrainerFactory()])
    with recorded_statements() as large:
        assert "page=2" in manager.get("/manage/").get_data(as_text=True)
    assert len(small) == len(large)


def test_courses_list(manager):
    course = CourseFactory(title="Neglect", level=Level.DSL, format=CourseFormat.WORKSHOP)
    SessionFactory.create_batch(2, course=course)
    text = page_text(manager.get("/manage/courses"))
    assert f'href="/manage/courses/{course.id}"' in text
    assert "Designated safeguarding lead (DSL)" in text and "Workshop" in text


def test_course_management_page_lists_upcoming_and_past_sessions(manager):
    course = CourseFactory(title="FGM awareness")
    upcoming = SessionFactory(course=course, starts_at=utcnow() + timedelta(days=5))
    cancelled = SessionFactory(course=course, starts_at=utcnow() + timedelta(days=6),
                               status=SessionStatus.CANCELLED)
    past = SessionFactory(course=course, starts_at=utcnow() - timedelta(days=5), kind=SessionKind.WORKSHOP)
    text = page_text(manager.get(f"/manage/courses/{course.id}"))
    upcoming_part, past_part = text.split(">Past sessions</h2>")
    assert "Training session" in upcoming_part and "Workshop" not in upcoming_part
    assert "Workshop" in past_part and "Training session" not in past_part
    assert f"/manage/sessions/{upcoming.id}/edit" in upcoming_part
    assert f"/manage/sessions/{upcoming.id}/cancel" in upcoming_part
    assert f"/manage/sessions/{cancelled.id}/duplicate" in upcoming_part
    assert f"/manage/sessions/{cancelled.id}/edit" not in text and "Cancelled" in upcoming_part
    assert f"/manage/sessions/{past.id}/duplicate" in past_part
    assert f"/manage/sessions/{past.id}/edit" not in text
    assert f"/manage/sessions/{past.id}/bookings" in past_part


# ---------------------------------------------------------------------------
# Courses
# ---------------------------------------------------------------------------

def test_add_a_course(manager):
    response = manager.post("/manage/courses/new", data=course_form())
    course = db.session.scalar(select(Course))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/manage/courses/{course.id}"
    assert course.title == "Working Together to Safeguard Children"
    assert course.duration_minutes == 210 and course.level == Level.LEVEL_3
    assert course.themes == [Theme.CHILD_PROTECTION, Theme.NEGLECT]
    assert course.refresher_months == 36
    assert "Course added" in page_text(manager.get(response.headers["Location"]))


def test_refresher_is_optional(manager):
    manager.post("/manage/courses/new", data=course_form(refresher_months=""))
    assert db.session.scalar(select(Course)).refresher_months is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": ""}, "Enter the course title"),
        ({"title": "   "}, "Enter the course title"),
        ({"summary": ""}, "Enter a summary of the course"),
        ({"learning_outcomes": ""}, "Enter at least one learning outcome"),
        ({"level": ""}, "Select the level of the course"),
        ({"level": "level-9"}, "Select the level of the course"),
        ({"format": "hologram"}, "Select the format of the course"),
        ({"duration_hours": "", "duration_minutes": ""}, "Enter how long the course lasts"),
        ({"duration_hours": "three"}, "Hours must be a whole number, like 3"),
        ({"duration_minutes": "75"}, "Minutes must be between 0 and 59"),
        ({"duration_hours": "0", "duration_minutes": "0"}, "Duration must be at least 1 minute"),
        ({"themes": []}, "Select at least one priority theme"),
        ({"themes": ["neglect", "made-up"]}, "Select priority themes from the list"),
        ({"refresher_months": "abc"}, "Refresher interval must be a whole number of months, like 36"),
        ({"refresher_months": "0"}, "Refresher interval must be between 1 and 120 months"),
        ({"refresher_months": "99999999999999"}, "Refresher interval must be a whole number of months, like 36"),
    ],
)
def test_course_form_errors(manager, overrides, message):
    response = manager.post("/manage/courses/new", data=course_form(**overrides))
    text = error_summary(response)
    assert message in text
    assert "<title>Error: Add a course" in text
    assert db.session.scalar(select(func.count(Course.id))) == 0


def test_duplicate_title_is_a_clear_error(manager):
    CourseFactory(title="Safer recruitment")
    response = manager.post("/manage/courses/new", data=course_form(title="Safer Recruitment"))
    assert "There is already a course with this title. Enter a different title" in error_summary(response)
    assert 'href="#title"' in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Course.id))) == 1


def test_edit_a_course(manager):
    course = CourseFactory(title="Old title")
    form = page_text(manager.get(f"/manage/courses/{course.id}/edit"))
    assert 'value="Old title"' in form and 'value="level-2" checked' in form
    response = manager.post(f"/manage/courses/{course.id}/edit",
                            data=course_form(title="New title", format="virtual"))
    assert response.headers["Location"] == f"/manage/courses/{course.id}"
    course = reload(course)
    assert (course.title, course.format) == ("New title", CourseFormat.VIRTUAL)


def test_edit_a_course_with_errors_changes_nothing(manager):
    course = CourseFactory(title="Keep me")
    CourseFactory(title="Taken")
    response = manager.post(f"/manage/courses/{course.id}/edit", data=course_form(title="Taken"))
    assert "There is already a course with this title" in error_summary(response)
    assert reload(course).title == "Keep me"


def test_duplicate_a_course_opens_the_copy_for_editing(manager):
    course = CourseFactory(title="Early Help", themes=[Theme.EARLY_HELP])
    response = manager.post(f"/manage/courses/{course.id}/duplicate")
    copy = db.session.scalar(select(Course).where(Course.id != course.id))
    assert copy.title == "Copy of Early Help" and copy.themes == [Theme.EARLY_HELP]
    assert response.headers["Location"] == f"/manage/courses/{copy.id}/edit"
    text = page_text(manager.get(response.headers["Location"]))
    assert 'value="Copy of Early Help"' in text and "Course copied" in text


# ---------------------------------------------------------------------------
# Sessions
# ---------------------------------------------------------------------------

def test_add_a_session_in_london_time(manager):
    course = CourseFactory()
    trainer = TrainerFactory(name="Terry Trainer")
    day = next_summer_day()
    response = manager.post(f"/manage/courses/{course.id}/sessions/new",
                            data=session_form(day, trainers=[str(trainer.id)]))
    assert response.status_code == 302, page_text(response)
    assert response.headers["Location"] == f"/manage/courses/{course.id}"
    session = db.session.scalar(select(CourseSession))
    assert session.starts_at == london_to_utc(day, time(9, 30))
    assert session.starts_at.hour == 8  # British Summer Time
    assert session.ends_at == london_to_utc(day, time(12, 30))
    assert session.booking_closes_at == london_to_utc(day - timedelta(days=1), time(23, 59))
    assert [t.id for t in session.trainers] == [trainer.id]
    assert session.venue == "Civic Centre\nHigh Street" and session.capacity == 20
    assert session.kind is SessionKind.TRAINING


@pytest.mark.parametrize(("course_format", "preselected"), [
    (CourseFormat.WORKSHOP, "workshop"), (CourseFormat.FACE_TO_FACE, "training"), (CourseFormat.VIRTUAL, "training"),
])
def test_new_session_form_preselects_the_type_from_the_course_format(manager, course_format, preselected):
    course = CourseFactory(format=course_format)
    html = manager.get(f"/manage/courses/{course.id}/sessions/new").get_data(as_text=True)
    assert "Type of session" in html
    assert checked_values(html, "kind") == [preselected]
    assert 'value="training"' in html and 'value="workshop"' in html


def test_a_session_is_saved_as_the_type_chosen_not_the_one_suggested(manager):
    course = CourseFactory(format=CourseFormat.WORKSHOP)
    response = manager.post(f"/manage/courses/{course.id}/sessions/new", data=session_form(kind="training"))
    assert response.status_code == 302, page_text(response)
    assert db.session.scalar(select(CourseSession.kind)) is SessionKind.TRAINING
    response = manager.post(f"/manage/courses/{course.id}/sessions/new", data=session_form(kind="workshop"))
    assert response.status_code == 302, page_text(response)
    assert db.session.scalar(select(func.count(CourseSession.id)).where(
        CourseSession.kind == SessionKind.WORKSHOP)) == 1


@pytest.mark.parametrize("kind", [None, "", "seminar"])
def test_the_type_of_session_is_required(manager, kind):
    course = CourseFactory(format=CourseFormat.WORKSHOP)
    data = session_form()
    if kind is None:
        del data["kind"]
    else:
        data["kind"] = kind
    response = manager.post(f"/manage/courses/{course.id}/sessions/new", data=data)
    assert "Select the type of session" in error_summary(response)
    assert 'href="#kind"' in response.get_data(as_text=True)
    # Nothing is pre-selected again after an error: the coordinator's answer (or its absence) stands.
    assert checked_values(response.get_data(as_text=True), "kind") == []
    assert db.session.scalar(select(func.count(CourseSession.id))) == 0


@pytest.mark.parametrize(("month", "utc_hour"), [(3, 9), (10, 10)])
def test_session_times_on_clock_change_sundays(manager, month, utc_hour):
    """10:00 on the Sunday the clocks go forward is 09:00 UTC; on the Sunday they go back, 10:00 UTC."""
    course = CourseFactory()
    day = next_clock_change(month)
    assert day.weekday() == 6
    response = manager.post(f"/manage/courses/{course.id}/sessions/new",
                            data=session_form(day, start_time="10:00", end_time="13:00"))
    assert response.status_code == 302, page_text(response)
    session = db.session.scalar(select(CourseSession))
    assert session.starts_at == utc(day.year, day.month, day.day, utc_hour, 0)
    assert session.ends_at == utc(day.year, day.month, day.day, utc_hour + 3, 0)
    # It shows as 10:00 again on the edit form.
    assert 'value="10:00"' in page_text(manager.get(f"/manage/sessions/{session.id}/edit"))


def test_a_time_that_does_not_exist_on_the_spring_clock_change_is_refused(manager):
    course = CourseFactory()
    day = next_clock_change(3)
    response = manager.post(f"/manage/courses/{course.id}/sessions/new",
                            data=session_form(day, start_time="01:30", end_time="03:30"))
    assert "01:30 does not exist on" in error_summary(response)
    assert db.session.scalar(select(func.count(CourseSession.id))) == 0


@pytest.mark.parametrize(
    ("course_format", "overrides", "message"),
    [
        ("face-to-face", {"date": ["", "", ""]}, "Enter the date of the session"),
        ("face-to-face", {"date": ["31", "2", "2030"]}, "Date must be a real date"),
        ("face-to-face", {"date": ["31", "", "2030"]}, "Date must include a month"),
        ("face-to-face", {"date": ["1", "2", "30"]}, "Year must include 4 numbers"),
        ("face-to-face", {"date": ["x", "2", "2030"]}, "Date must be a real date"),
        ("face-to-face", {"date": ["1", "1", "2020"]}, "The session must start in the future"),
        ("face-to-face", {"start_time": ""}, "Enter the start time"),
        ("face-to-face", {"start_time": "25:00"}, "Start time must be a real time, like 09:30 or 14:00"),
        ("face-to-face", {"end_time": "half past"}, "End time must be a real time, like 09:30 or 14:00"),
        ("face-to-face", {"end_time": "09:00"}, "The end time must be after the start time"),
        ("face-to-face", {"end_time": "09:30"}, "The end time must be after the start time"),
        ("face-to-face", {"capacity": ""}, "Enter the number of places"),
        ("face-to-face", {"capacity": "0"}, "Number of places must be between 1 and 1,000"),
        ("face-to-face", {"capacity": "-1"}, "Number of places must be between 1 and 1,000"),
        ("face-to-face", {"capacity": "abc"}, "Number of places must be a whole number, like 20"),
        ("face-to-face", {"capacity": "2.5"}, "Number of places must be a whole number, like 20"),
        ("face-to-face", {"capacity": "99999999999"}, "Number of places must be a whole number, like 20"),
        ("face-to-face", {"venue": ""}, "Enter the venue address"),
        ("virtual", {"venue": "", "online_link": ""}, "Enter the joining link for this online session"),
        ("virtual", {"online_link": "http://meet.example.org/x"}, "Enter a joining link in the correct format"),
        ("virtual", {"online_link": "meet.example.org/x"}, "Enter a joining link in the correct format"),
        ("face-to-face", {"trainers": ["999999"]}, "Select trainers from the list"),
        ("face-to-face", {"closes_date": ["1", "1", "2099"]}, "Booking must close before the session starts"),
        ("face-to-face", {"closes_date": ["30", "2", "2030"]}, "Date booking closes must be a real date"),
        ("face-to-face", {"closes_time": "12:00"}, "Enter the date booking closes, or leave the time blank"),
        ("face-to-face", {"closes_date": ["1", "1", "2030"], "closes_time": "noon"},
         "Time booking closes must be a real time, like 09:30 or 14:00"),
    ],
)
def test_session_form_errors(manager, course_format, overrides, message):
    course = CourseFactory(format=CourseFormat(course_format))
    response = manager.post(f"/manage/courses/{course.id}/sessions/new", data=session_form(**overrides))
    assert message in error_summary(response)
    assert db.session.scalar(select(func.count(CourseSession.id))) == 0


def test_session_form_shows_every_rule_error_at_once(manager):
    course = CourseFactory(format=CourseFormat.VIRTUAL)
    response = manager.post(f"/manage/courses/{course.id}/sessions/new",
                            data=session_form(end_time="08:00", online_link="http://x.example.org"))
    text = error_summary(response)
    assert "The end time must be after the start time" in text
    assert "Enter a joining link in the correct format" in text
    assert 'href="#end_time"' in response.get_data(as_text=True)


def test_booking_close_date_and_time_are_london_time(manager):
    course = CourseFactory()
    day = future_day(40)
    closes = day - timedelta(days=7)
    manager.post(f"/manage/courses/{course.id}/sessions/new",
                 data=session_form(day, **date_fields("closes_date", closes), closes_time="17:00"))
    session = db.session.scalar(select(CourseSession))
    assert session.booking_closes_at == london_to_utc(closes, time(17, 0))


def test_edit_a_session(manager):
    trainer = TrainerFactory()
    # A workshop of a face-to-face course: the edit form shows the saved type, not the format's.
    session = SessionFactory(capacity=10, kind=SessionKind.WORKSHOP)
    form = page_text(manager.get(f"/manage/sessions/{session.id}/edit"))
    assert 'value="10"' in form
    assert checked_values(form, "kind") == ["workshop"]
    day = future_day(45)
    response = manager.post(f"/manage/sessions/{session.id}/edit",
                            data=session_form(day, capacity="15", trainers=[str(trainer.id)]))
    assert response.headers["Location"] == f"/manage/courses/{session.course_id}"
    session = reload(session)
    assert session.kind is SessionKind.TRAINING
    assert session.capacity == 15 and session.starts_at == london_to_utc(day, time(9, 30))
    assert [t.id for t in session.trainers] == [trainer.id]


def test_edit_form_leaves_a_default_close_blank_and_shows_a_custom_one(manager):
    start = london_to_utc(future_day(20), time(10, 0))
    default = SessionFactory(starts_at=start, booking_closes_at=default_booking_close(start))
    form = manager.get(f"/manage/sessions/{default.id}/edit").get_data(as_text=True)
    assert input_value(form, "start_time") == "10:00"
    assert input_value(form, "closes_date-day") == "" and input_value(form, "closes_time") == ""
    custom = SessionFactory(starts_at=start, booking_closes_at=london_to_utc(future_day(15), time(12, 0)))
    form = manager.get(f"/manage/sessions/{custom.id}/edit").get_data(as_text=True)
    assert input_value(form, "closes_time") == "12:00"
    assert int(input_value(form, "closes_date-day")) == future_day(15).day


def test_lowering_capacity_below_places_taken_is_refused(manager):
    session = SessionFactory(capacity=5)
    for _ in range(4):
        BookingFactory(session=session)
    response = manager.post(f"/manage/sessions/{session.id}/edit",
                            data=session_form(future_day(30), capacity="3"))
    text = error_summary(response)
    assert "Number of places cannot be lower than the 4 places already taken" in text
    assert reload(session).capacity == 5


def test_raising_capacity_offers_places_to_the_waiting_list(manager):
    session = SessionFactory(capacity=1)
    first, second = UserFactory(), UserFactory()
    booking.book_place(session.id, first)
    waiting = booking.book_place(session.id, second)
    assert waiting.status == BookingStatus.WAITLISTED
    response = manager.post(f"/manage/sessions/{session.id}/edit", data=session_form(future_day(30), capacity="2"))
    assert response.status_code == 302
    assert reload(waiting).status == BookingStatus.OFFERED
    assert reload(session).places_taken == 2


def test_cancelled_and_past_sessions_cannot_be_edited(manager):
    cancelled = SessionFactory(status=SessionStatus.CANCELLED)
    past = SessionFactory(starts_at=utcnow() - timedelta(days=1))
    for session, message in ((cancelled, "You cannot change a session that has been cancelled"),
                             (past, "You cannot change a session that has already started")):
        for response in (manager.get(f"/manage/sessions/{session.id}/edit"),
                         manager.post(f"/manage/sessions/{session.id}/edit", data=session_form(capacity="99"))):
            assert response.headers["Location"] == f"/manage/courses/{session.course_id}"
        assert message in page_text(manager.get(f"/manage/courses/{session.course_id}"))
        assert reload(session).capacity == 20


def test_duplicate_a_session_prefills_a_new_session_without_a_date(manager):
    trainer = TrainerFactory()
    start = london_to_utc(future_day(20), time(13, 15))
    source = SessionFactory(starts_at=start, ends_at=start + timedelta(hours=2), venue="Library",
                            capacity=17, trainers=[trainer], kind=SessionKind.WORKSHOP)
    response = manager.post(f"/manage/sessions/{source.id}/duplicate")
    assert response.headers["Location"] == f"/manage/courses/{source.course_id}/sessions/new?copy={source.id}"
    form = page_text(manager.get(response.headers["Location"]))
    assert "Copied from the session on" in form
    assert checked_values(form, "kind") == ["workshop"]  # copied, though the course is face to face
    assert ">Library</textarea>" in form and 'value="17"' in form
    assert f'value="{trainer.id}" checked' in form
    assert input_value(form, "start_time") == "13:15" and input_value(form, "end_time") == "15:15"
    assert input_value(form, "date-day") == input_value(form, "date-year") == ""  # the coordinator picks a date
    assert db.session.scalar(select(func.count(CourseSession.id))) == 1  # nothing written yet
    new_day = future_day(50)
    manager.post(f"/manage/courses/{source.course_id}/sessions/new",
                 data=session_form(new_day, start_time="13:15", end_time="15:15", venue="Library", capacity="17",
                                   trainers=[str(trainer.id)]))
    copy = db.session.scalar(select(CourseSession).where(CourseSession.id != source.id))
    assert copy.course_id == source.course_id and copy.starts_at == london_to_utc(new_day, time(13, 15))


def test_copy_from_another_course_is_not_found(manager):
    other = SessionFactory()
    course = CourseFactory()
    assert manager.get(f"/manage/courses/{course.id}/sessions/new?copy={other.id}").status_code == 404


def test_cancel_asks_for_a_reason_then_releases_bookings(manager):
    session = SessionFactory(capacity=1)
    confirmed = booking.book_place(session.id, UserFactory())
    waiting = booking.book_place(session.id, UserFactory())
    page = page_text(manager.get(f"/manage/sessions/{session.id}/cancel"))
    assert "Cancel this session?" in page and "1 of 1" in page and "Training session" in page

    response = manager.post(f"/manage/sessions/{session.id}/cancel", data={"reason": " "})
    assert "Enter the reason for cancelling the session" in error_summary(response)
    assert reload(session).status == SessionStatus.SCHEDULED

    response = manager.post(f"/manage/sessions/{session.id}/cancel", data={"reason": "Trainer unwell"})
    assert response.headers["Location"] == f"/manage/courses/{session.course_id}"
    session = reload(session)
    assert session.status == SessionStatus.CANCELLED and session.cancellation_reason == "Trainer unwell"
    assert reload(confirmed).status == BookingStatus.SESSION_CANCELLED
    assert reload(waiting).status == BookingStatus.SESSION_CANCELLED
    assert db.session.scalar(select(func.count(Booking.id)).where(Booking.is_active)) == 0

    again = manager.post(f"/manage/sessions/{session.id}/cancel", data={"reason": "Again"})
    assert again.status_code == 302
    assert "This session has already been cancelled" in page_text(manager.get(again.headers["Location"]))


def test_a_started_session_cannot_be_cancelled(manager):
    session = SessionFactory(starts_at=utcnow() - timedelta(minutes=10))
    response = manager.post(f"/manage/sessions/{session.id}/cancel", data={"reason": "Late"})
    assert response.status_code == 302
    assert reload(session).status == SessionStatus.SCHEDULED
