"""Quality review pages over HTTP: the queue, raising, findings, transitions, responses, permissions."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.evaluation.results_data import past_session
from tests.factories import CoordinatorFactory, CourseFactory, TrainerFactory, UserFactory
from training.db import utcnow
from training.evaluation import reviews
from training.evaluation.models import QualityReview, ReviewStatus
from training.extensions import db


def reload(review_id) -> QualityReview:
    db.session.expire_all()
    return db.session.get(QualityReview, review_id)


@pytest.fixture
def coordinator():
    return CoordinatorFactory()


@pytest.fixture
def trainer():
    return TrainerFactory()


@pytest.fixture
def session(trainer):
    return past_session(trainers=[trainer])


@pytest.fixture
def review(session, coordinator):
    return reviews.raise_review(session.course_id, session.id, "Two complaints about pace", coordinator)


def test_anonymous_and_professionals_are_kept_out(client, login_as, review):
    gets = ["/manage/reviews", "/manage/reviews/new", f"/reviews/{review.id}"]
    posts = [f"/reviews/{review.id}/findings", f"/reviews/{review.id}/status", f"/reviews/{review.id}/response",
             "/manage/reviews/new"]
    for url in gets:
        assert "/sign-in" in client.get(url).headers["Location"], url
    for url in posts:
        assert "/sign-in" in client.post(url).headers["Location"], url
    professional = login_as(UserFactory())
    for url in gets:
        assert professional.get(url).status_code == 403, url
    for url in posts:
        assert professional.post(url, data={"status": "closed", "response": "x"}).status_code == 403, url


def test_trainers_cannot_use_the_coordinator_pages(login_as, trainer, review):
    client = login_as(trainer)
    assert client.get("/manage/reviews").status_code == 403
    assert client.post("/manage/reviews/new", data={"course": str(review.course_id), "reason": "x"}).status_code == 403
    assert client.post(f"/reviews/{review.id}/findings", data={"findings": "x", "improvements": "y"}).status_code == 403
    assert client.post(f"/reviews/{review.id}/status", data={"status": "actions-agreed"}).status_code == 403
    assert reload(review.id).findings is None and reload(review.id).status == ReviewStatus.OPEN


def test_another_trainer_gets_404_for_the_review(login_as, review):
    client = login_as(TrainerFactory())
    assert client.get(f"/reviews/{review.id}").status_code == 404
    assert client.post(f"/reviews/{review.id}/response", data={"response": "Not mine"}).status_code == 404
    assert reload(review.id).trainer_response is None


def test_unknown_review_is_404(login_as):
    client = login_as(CoordinatorFactory())
    assert client.get("/reviews/999999").status_code == 404
    assert client.get("/reviews/99999999999").status_code == 404


def test_queue_shows_live_reviews_then_closed(login_as, coordinator, session):
    closed = reviews.raise_review(session.course_id, None, "Old", coordinator, utcnow() - timedelta(days=9))
    reviews.record_findings(closed.id, "F", "I", coordinator)
    reviews.move_review(closed.id, ReviewStatus.ACTIONS_AGREED, coordinator)
    reviews.move_review(closed.id, ReviewStatus.CLOSED, coordinator)
    live = reviews.raise_review(session.course_id, session.id, "New", coordinator)
    page = login_as(coordinator).get("/manage/reviews").get_data(as_text=True)
    assert page.index(f"/reviews/{live.id}\"") < page.index("Closed</h2>") < page.index(f"/reviews/{closed.id}\"")


def test_coordinator_raises_a_review_from_a_session(login_as, coordinator, session):
    client = login_as(coordinator)
    form = client.get(f"/manage/reviews/new?session_id={session.id}")
    assert form.status_code == 200 and session.course.title in form.get_data(as_text=True)
    response = client.post(f"/manage/reviews/new?session_id={session.id}",
                           data={"course": str(session.course_id), "reason": "Feedback from a school"})
    assert response.status_code == 302
    [review] = db.session.scalars(select(QualityReview)).all()
    assert (review.session_id, review.course_id, review.automatic, review.raised_by_id) == (
        session.id, session.course_id, False, coordinator.id)
    assert response.headers["Location"] == f"/reviews/{review.id}"


def test_raise_form_errors(login_as, coordinator, session):
    client = login_as(coordinator)
    response = client.post("/manage/reviews/new", data={"course": "", "reason": ""})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Select a course" in page and "Enter why this course or session needs a review" in page
    response = client.post("/manage/reviews/new", data={"course": "999999", "reason": "Reason"})
    assert response.status_code == 400 and "Select a course from the list" in response.get_data(as_text=True)
    assert client.get("/manage/reviews/new?session_id=abc").status_code == 404
    assert db.session.scalars(select(QualityReview)).all() == []


def test_review_runs_open_to_actions_agreed_to_closed(login_as, coordinator, trainer, review):
    client = login_as(coordinator)
    response = client.post(f"/reviews/{review.id}/status", data={"status": "actions-agreed"})
    assert response.status_code == 302
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Record the improvements suggested to the trainer before you agree actions" in page
    assert reload(review.id).status == ReviewStatus.OPEN

    client.post(f"/reviews/{review.id}/findings", data={"findings": "Pace too fast", "improvements": "Fewer slides"})
    assert (reload(review.id).findings, reload(review.id).improvements) == ("Pace too fast", "Fewer slides")

    client.post(f"/reviews/{review.id}/status", data={"status": "closed"})  # skips a step
    assert "That change cannot be made to this review" in client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert reload(review.id).status == ReviewStatus.OPEN

    client.post(f"/reviews/{review.id}/status", data={"status": "actions-agreed"})
    assert reload(review.id).status == ReviewStatus.ACTIONS_AGREED

    trainer_client = login_as(trainer)
    page = trainer_client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Pace too fast" in page and "Fewer slides" in page and "Save findings" not in page
    assert trainer_client.post(f"/reviews/{review.id}/response", data={"response": "I will cut slides"}).status_code == 302
    assert reload(review.id).trainer_response == "I will cut slides"

    client.post(f"/reviews/{review.id}/status", data={"status": "closed"})
    assert reload(review.id).status == ReviewStatus.CLOSED
    client.post(f"/reviews/{review.id}/status", data={"status": "open"})
    assert reload(review.id).status == ReviewStatus.CLOSED
    trainer_client.post(f"/reviews/{review.id}/response", data={"response": "Changed"})
    assert reload(review.id).trainer_response == "I will cut slides"


def test_empty_response_is_a_form_error(login_as, trainer, review):
    response = login_as(trainer).post(f"/reviews/{review.id}/response", data={"response": "  "})
    assert response.status_code == 400
    assert "Enter your response to the review" in response.get_data(as_text=True)
    assert reload(review.id).trainer_response is None


def test_too_long_findings_are_a_form_error(login_as, coordinator, review):
    response = login_as(coordinator).post(f"/reviews/{review.id}/findings",
                                          data={"findings": "x" * (reviews.TEXT_MAX + 1), "improvements": ""})
    assert response.status_code == 400
    assert "Findings must be 5000 characters or fewer" in response.get_data(as_text=True)
    assert reload(review.id).findings is None


def test_course_review_visible_to_any_trainer_of_the_course(login_as, coordinator, trainer, session):
    course_review = reviews.raise_review(session.course_id, None, "Course wide", coordinator)
    page = login_as(trainer).get("/results").get_data(as_text=True)
    assert f"/reviews/{course_review.id}" in page
    assert login_as(trainer).get(f"/reviews/{course_review.id}").status_code == 200


def test_review_history_global_renders_for_a_course(app, coordinator, review, session):
    from flask import render_template_string

    course = CourseFactory()
    with app.test_request_context():
        html = render_template_string('{% include "evaluation/review_history.html" %}', course=session.course)
        empty = render_template_string('{% include "evaluation/review_history.html" %}', course=course)
    assert f"/reviews/{review.id}" in html and "Session on" in html
    assert "This course has not been reviewed" in empty
