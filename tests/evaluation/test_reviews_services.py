"""The quality review loop: automatic flags at the threshold, manual reviews, transitions."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from sqlalchemy import select

from tests.evaluation.results_data import attendee, evaluation, question_sets, submit
from tests.factories import CoordinatorFactory, CourseFactory, SessionFactory, TrainerFactory, UserFactory
from training.db import utcnow
from training.evaluation import reviews
from training.evaluation.errors import InvalidReviewTransition
from training.evaluation.models import QualityReview, ReviewStatus, Stage
from training.extensions import db
from training.timeutil import london_to_utc


def all_reviews() -> list[QualityReview]:
    db.session.expire_all()
    return list(db.session.scalars(select(QualityReview).order_by(QualityReview.id)))


def past_session(course=None, days_ago=10, **kwargs):
    if course is not None:
        kwargs["course"] = course
    return SessionFactory(starts_at=(utcnow() - timedelta(days=days_ago)).replace(microsecond=0), **kwargs)


@pytest.fixture
def sets():
    return question_sets()


def rate(session, sets, *ratings):
    for rating in ratings:
        submit(attendee(session), sets[Stage.AFTER], overall=rating)


def test_exactly_at_the_threshold_is_not_flagged_and_one_more_poor_is(sets):
    session = past_session()
    rate(session, sets, "excellent", "good", "good", "poor")  # 1 of 4 = 25%: not above 25
    assert all_reviews() == []
    rate(session, sets, "poor")  # 2 of 5 = 40%
    found = all_reviews()
    assert [(r.session_id, r.course_id, r.automatic, r.status) for r in found] == [
        (session.id, session.course_id, True, ReviewStatus.OPEN),
        (None, session.course_id, True, ReviewStatus.OPEN),
    ]
    assert "2 of 5 (40%)" in found[0].reason and "25% threshold" in found[0].reason


def test_too_few_ratings_are_not_flagged(sets, app):
    session = past_session()
    rate(session, sets, "poor", "poor")  # 100%, but only 2 ratings (minimum 3)
    assert all_reviews() == []
    rate(session, sets, "satisfactory")
    assert len(all_reviews()) == 2


def test_no_duplicate_automatic_review_while_one_is_live(sets):
    session = past_session()
    rate(session, sets, "poor", "poor", "poor")
    assert len(all_reviews()) == 2
    rate(session, sets, "poor", "satisfactory")
    assert len(all_reviews()) == 2
    # Once both are closed, continued poor ratings flag again.
    coordinator = CoordinatorFactory()
    for review in all_reviews():
        reviews.record_findings(review.id, "Findings", "Improve pace", coordinator)
        reviews.move_review(review.id, ReviewStatus.ACTIONS_AGREED, coordinator)
        reviews.move_review(review.id, ReviewStatus.CLOSED, coordinator)
    rate(session, sets, "poor")
    assert [r.status for r in all_reviews()] == [ReviewStatus.CLOSED] * 2 + [ReviewStatus.OPEN] * 2


def test_course_is_flagged_across_its_sessions_when_no_session_is(sets):
    course = CourseFactory()
    one = past_session(course)
    rate(one, sets, "good", "good", "poor")  # 33% of 3 ratings: the session and the course
    assert [(r.session_id) for r in all_reviews()] == [one.id, None]
    course2 = CourseFactory()
    a, b = past_session(course2), past_session(course2)
    rate(a, sets, "good", "poor")  # 2 ratings each: no session has enough on its own
    rate(b, sets, "good", "poor")
    flagged = [r for r in all_reviews() if r.course_id == course2.id]
    assert [(r.session_id, r.automatic) for r in flagged] == [(None, True)]
    assert "this course's sessions" in flagged[0].reason


def test_course_flag_counts_only_the_same_financial_year(sets):
    course = CourseFactory()
    old = SessionFactory(course=course, starts_at=london_to_utc(date(2025, 3, 31), time(10)))
    new = SessionFactory(course=course, starts_at=london_to_utc(date(2025, 4, 1), time(10)))
    rate(old, sets, "good", "poor")
    rate(new, sets, "good", "poor")  # 2 of 4 poor overall, but only 1 of 2 in each year
    assert all_reviews() == []


def test_follow_up_and_before_forms_do_not_flag(sets):
    session = past_session()
    for _ in range(3):
        evaluation(attendee(session), Stage.AFTER, sets[Stage.AFTER], overall="poor")  # no signal
    submit(attendee(session), sets[Stage.FOLLOW_UP], impact=1)
    assert all_reviews() == []


def test_coordinator_raises_a_review_by_hand():
    coordinator = CoordinatorFactory()
    session = past_session()
    review = reviews.raise_review(session.course_id, session.id, "  Complaint from an agency  ", coordinator)
    found = all_reviews()
    assert [(r.id, r.automatic, r.reason, r.raised_by_id, r.session_id) for r in found] == [
        (review.id, False, "Complaint from an agency", coordinator.id, session.id)]


def test_manual_raise_refusals():
    coordinator = CoordinatorFactory()
    session, elsewhere = past_session(), past_session()
    with pytest.raises(reviews.ReasonMissing):
        reviews.raise_review(session.course_id, None, "   ", coordinator)
    with pytest.raises(reviews.SessionNotOnCourse):
        reviews.raise_review(session.course_id, elsewhere.id, "Reason", coordinator)
    with pytest.raises(reviews.ReviewNotAllowed):
        reviews.raise_review(session.course_id, None, "Reason", TrainerFactory())
    with pytest.raises(LookupError):
        reviews.raise_review(999_999, None, "Reason", coordinator)
    with pytest.raises(reviews.TextTooLong):
        reviews.raise_review(session.course_id, None, "x" * (reviews.TEXT_MAX + 1), coordinator)
    assert all_reviews() == []


def test_transitions_legal_and_illegal():
    coordinator = CoordinatorFactory()
    review = reviews.raise_review(past_session().course_id, None, "Reason", coordinator)
    with pytest.raises(reviews.ImprovementsMissing):
        reviews.move_review(review.id, ReviewStatus.ACTIONS_AGREED, coordinator)
    with pytest.raises(InvalidReviewTransition):
        reviews.move_review(review.id, ReviewStatus.CLOSED, coordinator)  # open -> closed skips a step
    with pytest.raises(InvalidReviewTransition):
        reviews.move_review(review.id, "reopened", coordinator)
    reviews.record_findings(review.id, "Too fast", "Slow down the case study", coordinator)
    now = utcnow()
    reviews.move_review(review.id, ReviewStatus.ACTIONS_AGREED, coordinator, now)
    with pytest.raises(InvalidReviewTransition):
        reviews.move_review(review.id, ReviewStatus.OPEN, coordinator)
    reviews.move_review(review.id, ReviewStatus.CLOSED, coordinator, now)
    [found] = all_reviews()
    assert (found.status, found.actions_agreed_at, found.closed_at) == (ReviewStatus.CLOSED, now, now)
    for status in ReviewStatus:
        with pytest.raises(InvalidReviewTransition):
            reviews.move_review(review.id, status, coordinator)
    with pytest.raises(reviews.ReviewClosed):
        reviews.record_findings(review.id, "Later", "Later", coordinator)
    with pytest.raises(reviews.ReviewNotAllowed):
        reviews.move_review(review.id, ReviewStatus.CLOSED, TrainerFactory())


def test_trainer_responds_to_reviews_of_their_training_only():
    coordinator = CoordinatorFactory()
    trainer, other = TrainerFactory(), TrainerFactory()
    course = CourseFactory()
    session = past_session(course, trainers=[trainer])
    past_session(course, trainers=[other])
    session_review = reviews.raise_review(course.id, session.id, "Session", coordinator)
    course_review = reviews.raise_review(course.id, None, "Course", coordinator)
    reviews.respond(session_review.id, "I will change the slides", trainer)
    reviews.respond(course_review.id, "Agreed", other)  # trains a session of the course
    with pytest.raises(reviews.ReviewNotAllowed):
        reviews.respond(session_review.id, "Not mine", other)
    with pytest.raises(reviews.ReviewNotAllowed):
        reviews.respond(session_review.id, "Not a trainer", UserFactory())
    with pytest.raises(reviews.ResponseMissing):
        reviews.respond(session_review.id, " ", trainer)
    found = {r.id: r for r in all_reviews()}
    assert found[session_review.id].trainer_response == "I will change the slides"
    assert found[session_review.id].trainer_responded_by_id == trainer.id
    assert found[course_review.id].trainer_responded_by_id == other.id
    assert [r.id for r in reviews.reviews_for_trainer(trainer)] == [course_review.id, session_review.id]
    assert [r.id for r in reviews.reviews_for_trainer(TrainerFactory())] == []


def test_queue_lists_live_reviews_before_closed_ones():
    coordinator = CoordinatorFactory()
    course = CourseFactory()
    first = reviews.raise_review(course.id, None, "First", coordinator, utcnow() - timedelta(days=3))
    reviews.record_findings(first.id, "F", "I", coordinator)
    reviews.move_review(first.id, ReviewStatus.ACTIONS_AGREED, coordinator)
    reviews.move_review(first.id, ReviewStatus.CLOSED, coordinator)
    second = reviews.raise_review(course.id, None, "Second", coordinator, utcnow() - timedelta(days=2))
    third = reviews.raise_review(course.id, None, "Third", coordinator, utcnow() - timedelta(days=1))
    assert [r.id for r in reviews.review_queue()] == [third.id, second.id, first.id]
    assert [r.id for r in reviews.course_reviews(course.id)] == [third.id, second.id, first.id]


def test_automatic_review_rolls_back_with_the_submission(sets):
    """The receiver writes inside the sender's transaction, so a failed submission leaves no review."""
    from training.db import write_transaction
    from training.evaluation.models import Evaluation
    from training.evaluation.signals import evaluation_submitted

    session = past_session()
    rate(session, sets, "poor", "poor")
    draft = evaluation(attendee(session), Stage.AFTER, sets[Stage.AFTER], submitted=False, overall="poor")
    with pytest.raises(RuntimeError):
        with write_transaction():
            ev = db.session.get(Evaluation, draft.id)
            ev.submit(utcnow())
            evaluation_submitted.send(ev, now=utcnow())
            assert len(db.session.scalars(select(QualityReview)).all()) == 2  # raised, not yet committed
            raise RuntimeError("the submission failed after the signal")
    assert all_reviews() == []
