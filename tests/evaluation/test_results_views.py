"""Results pages over HTTP: who sees what, no names, bad dates, quotable comments, query counts."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from tests.evaluation.results_data import attendee, build_known_session, evaluation, past_session, question_sets
from tests.factories import CoordinatorFactory, CourseFactory, TrainerFactory, UserFactory
from tests.sql import recorded_statements
from training.db import utcnow
from training.evaluation.models import Answer, Stage
from training.evaluation.results import current_financial_year
from training.extensions import db

A = Stage.AFTER


@pytest.fixture
def sets():
    return question_sets()


@pytest.fixture
def trainer():
    return TrainerFactory(name="Tara Trainer")


@pytest.fixture
def session(trainer):
    return past_session(trainers=[trainer])


def urls(session, course_id=None):
    return ["/results", f"/results/sessions/{session.id}", f"/results/courses/{course_id or session.course_id}"]


def test_anonymous_people_are_sent_to_sign_in(client, session):
    for url in urls(session) + ["/manage/reviews"]:
        response = client.get(url)
        assert response.status_code == 302 and "/sign-in" in response.headers["Location"], url
    response = client.post("/results/comments/1/quotable")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_professionals_are_refused(login_as, session):
    client = login_as(UserFactory())
    for url in urls(session):
        assert client.get(url).status_code == 403, url


def test_trainer_of_another_session_is_refused(login_as, session):
    client = login_as(TrainerFactory())
    assert client.get(f"/results/sessions/{session.id}").status_code == 403
    assert client.get(f"/results/courses/{session.course_id}").status_code == 403


def test_unknown_ids_are_404(login_as, session):
    client = login_as(CoordinatorFactory())
    for url in ["/results/sessions/999999", "/results/courses/999999", "/results/sessions/99999999999"]:
        assert client.get(url).status_code == 404, url


def test_trainer_sees_their_session_results_without_names(login_as, session, trainer, sets):
    people = build_known_session(sets, session)
    client = login_as(trainer)
    response = client.get(f"/results/sessions/{session.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "8 of 10 (80%)" in page
    assert "37.5%" in page and "12.5%" in page and "62.5%" in page
    assert "+1.8" in page  # learning shift for knowledge
    assert "“brilliant trainer”" in page and "“Very useful”" in page
    assert page.index("brilliant trainer") < page.index("Very useful")
    assert "DRAFT ONLY" not in page
    for booking in people:
        assert booking.user.name not in page
        assert booking.user.email not in page
    assert "Walk In" not in page
    assert "Mark as suitable for quoting" not in page  # coordinators only


def test_results_index_lists_only_sessions_the_viewer_may_see(login_as, session, trainer, sets):
    evaluation(attendee(session), A, sets[A], overall="good")
    other = past_session(trainers=[TrainerFactory()])
    evaluation(attendee(other), A, sets[A], overall="good")
    past_session(trainers=[trainer])  # no responses: not listed
    page = login_as(trainer).get("/results").get_data(as_text=True)
    assert f"/results/sessions/{session.id}" in page
    assert f"/results/sessions/{other.id}" not in page
    page = login_as(CoordinatorFactory()).get("/results").get_data(as_text=True)
    assert f"/results/sessions/{session.id}" in page and f"/results/sessions/{other.id}" in page


def test_course_results_default_to_the_financial_year(login_as, session, sets):
    evaluation(attendee(session), A, sets[A], overall="poor")
    old = past_session(course=session.course, days_ago=800)
    evaluation(attendee(old), A, sets[A], overall="excellent")
    year = current_financial_year(utcnow())
    response = login_as(CoordinatorFactory()).get(f"/results/courses/{session.course_id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'value="{year.first.isoformat()}"' in page and f'value="{year.last.isoformat()}"' in page
    assert 'data-figure="responses">1<' in page
    wide = login_as(CoordinatorFactory()).get(
        f"/results/courses/{session.course_id}?from=2000-01-01&to={date.today().isoformat()}").get_data(as_text=True)
    assert 'data-figure="responses">2<' in wide


@pytest.mark.parametrize("query, message", [
    ("from=2026-02-30", "From date must be a real date, like 2026-04-01"),
    ("from=tomorrow", "From date must be a real date, like 2026-04-01"),
    ("to=31/03/2027", "To date must be a real date, like 2027-03-31"),
    ("from=2026-05-01&to=2026-04-01", "To date must be the same as or after the from date"),
])
def test_bad_dates_give_an_error_message_not_a_500(login_as, session, query, message):
    response = login_as(CoordinatorFactory()).get(f"/results/courses/{session.course_id}?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page and "govuk-error-summary" in page
    assert "<title>Error: " in page


def test_trainer_course_results_show_only_their_sessions(login_as, session, trainer, sets):
    evaluation(attendee(session), A, sets[A], overall="good", comments="Mine")
    theirs = past_session(course=session.course, trainers=[TrainerFactory()])
    evaluation(attendee(theirs), A, sets[A], overall="poor", comments="Someone else's session")
    page = login_as(trainer).get(f"/results/courses/{session.course_id}").get_data(as_text=True)
    assert "Mine" in page and "Someone else&#39;s session" not in page and "Someone else's session" not in page
    assert "sessions of this course that you trained" in page


def _comment_id(text):
    return db.session.scalar(select(Answer.id).where(Answer.text == text))


def test_coordinator_marks_a_comment_as_quotable_and_back(login_as, session, sets):
    evaluation(attendee(session), A, sets[A], overall="good", comments="Quote me")
    answer_id = _comment_id("Quote me")
    client = login_as(CoordinatorFactory())
    back = f"/results/sessions/{session.id}"
    response = client.post(f"/results/comments/{answer_id}/quotable", data={"quotable": "yes", "back": back})
    assert response.status_code == 302 and response.headers["Location"] == back
    db.session.expire_all()
    assert db.session.get(Answer, answer_id).quotable is True
    page = client.get(back).get_data(as_text=True)
    assert "Can be quoted" in page and "Stop quoting" in page
    client.post(f"/results/comments/{answer_id}/quotable", data={"quotable": "no", "back": "https://evil.example/"})
    db.session.expire_all()
    assert db.session.get(Answer, answer_id).quotable is False


def test_quotable_toggle_is_coordinator_only_and_only_for_comments(login_as, session, trainer, sets):
    evaluation(attendee(session), A, sets[A], overall="good", comments="Quote me")
    evaluation(attendee(session), A, sets[A], submitted=False, comments="Draft comment")
    answer_id = _comment_id("Quote me")
    assert login_as(trainer).post(f"/results/comments/{answer_id}/quotable", data={"quotable": "yes"}).status_code == 403
    assert login_as(UserFactory()).post(f"/results/comments/{answer_id}/quotable", data={"quotable": "yes"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Answer, answer_id).quotable is False
    coordinator = login_as(CoordinatorFactory())
    overall_id = db.session.scalar(select(Answer.id).where(Answer.choice == "good"))
    for bad in (overall_id, _comment_id("Draft comment"), 999999):
        assert coordinator.post(f"/results/comments/{bad}/quotable", data={"quotable": "yes"}).status_code == 404
    db.session.expire_all()
    assert db.session.scalars(select(Answer.id).where(Answer.quotable)).all() == []


def _queries(client, url) -> int:
    with recorded_statements() as statements:
        assert client.get(url).status_code == 200
    return len(statements.queries)


def test_page_query_counts_do_not_grow_with_the_data(login_as, sets):
    course = CourseFactory()
    coordinator = CoordinatorFactory()
    first = past_session(course)
    build_known_session(sets, first)
    client = login_as(coordinator)
    urls_ = ["/results", f"/results/sessions/{first.id}", f"/results/courses/{course.id}"]
    small = [_queries(client, url) for url in urls_]
    for _ in range(3):
        build_known_session(sets, past_session(course))
    large = [_queries(client, url) for url in urls_]
    assert small == large
