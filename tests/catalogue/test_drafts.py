"""Draft courses (from an agreed suggestion, or unticked by a coordinator) and imported historic
courses are not in the catalogue: nobody but a coordinator finds, sees or books them."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.catalogue.test_manage_pages import course_form
from tests.factories import CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from training.booking import services as booking
from training.booking.errors import CourseNotPublished
from training.booking.models import Booking, BookingStatus
from training.catalogue import services
from training.catalogue.models import Course
from training.catalogue.services import CatalogueFilters
from training.extensions import db


@pytest.fixture
def draft_session():
    return SessionFactory(course=CourseFactory(title="Draft: online harms", active=False))


def test_a_draft_course_is_not_in_the_catalogue_search(draft_session):
    published = SessionFactory()
    found = services.search_sessions(CatalogueFilters()).items
    assert [s.id for s in found] == [published.id]


def test_only_coordinators_see_a_draft_courses_pages(client, login_as, draft_session):
    course_url = f"/courses/{draft_session.course_id}"
    session_url = f"/sessions/{draft_session.id}"
    for who in (client, login_as(UserFactory())):
        assert who.get(course_url).status_code == 404
        assert who.get(session_url).status_code == 404
    coordinator = login_as(CoordinatorFactory())
    assert coordinator.get(course_url).status_code == 200
    assert coordinator.get(session_url).status_code == 200


def test_a_professional_cannot_book_a_draft_course(login_as, draft_session):
    person = UserFactory()
    with pytest.raises(CourseNotPublished):
        booking.book_place(draft_session.id, person)
    response = login_as(person).post(f"/sessions/{draft_session.id}/book")
    assert response.status_code in (302, 404)
    assert db.session.scalar(select(Booking).where(Booking.user_id == person.id)) is None


def test_a_coordinator_can_book_someone_on_a_draft_course(draft_session):
    made = booking.book_place(draft_session.id, UserFactory(), by=CoordinatorFactory())
    assert made.status == BookingStatus.CONFIRMED


def test_the_course_form_saves_a_draft_and_publishes_it(login_as):
    manager = login_as(CoordinatorFactory())
    response = manager.post("/manage/courses/new", data=course_form(title="Drafted course", draft="y"))
    assert response.status_code == 302
    course = db.session.scalar(select(Course).where(Course.title == "Drafted course"))
    assert course.active is False
    page = manager.get(f"/manage/courses/{course.id}").get_data(as_text=True)
    assert "This course is not in the catalogue" in page
    edit = manager.get(f"/manage/courses/{course.id}/edit").get_data(as_text=True)
    assert 'name="draft"' in edit and "checked" in edit.split('name="draft"')[1].split(">")[0]

    assert manager.post(f"/manage/courses/{course.id}/edit", data=course_form(title="Drafted course")).status_code == 302
    db.session.expire_all()
    assert db.session.get(Course, course.id).active is True
