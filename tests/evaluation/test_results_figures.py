"""Results figures, asserted exactly on data built so the answers are known."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from tests.evaluation.results_data import attendee, build_known_session, evaluation, past_session, question_sets
from tests.factories import CourseFactory, SessionFactory, TrainerFactory
from tests.sql import statements_of
from training.evaluation import results
from training.evaluation.models import OverallRating, Stage
from training.extensions import db
from training.timeutil import london_to_utc

A, F, B = Stage.AFTER, Stage.FOLLOW_UP, Stage.BEFORE
MET, NOT = "met", "not-met"


@pytest.fixture
def sets():
    return question_sets()


def test_session_figures_are_exact(sets):
    session = past_session()
    build_known_session(sets, session)
    other = past_session(course=session.course)
    evaluation(attendee(other), A, sets[A], overall="poor", knowledge=1, comments="Other session")

    r = results.results_for(results.session_scope(session.id))

    assert r.responses == 8
    assert (r.response_rate.count, r.response_rate.total) == (8, 10)
    assert r.walk_ins_present == 1
    assert [(rating, s.count) for rating, s in r.overall] == [
        (OverallRating.EXCELLENT, 3), (OverallRating.GOOD, 3), (OverallRating.SATISFACTORY, 1), (OverallRating.POOR, 1)]
    assert [s.percent for _r, s in r.overall] == [37.5, 37.5, 12.5, 12.5]
    assert (r.low.count, r.low.total, r.low.percent) == (2, 8, 25.0)

    assert r.mean(B, "knowledge").value == pytest.approx(1.8)
    assert r.mean(B, "knowledge").count == 5
    assert r.mean(A, "knowledge").value == pytest.approx(4.375)
    knowledge, confidence = r.shifts
    assert (knowledge.key, knowledge.people) == ("knowledge", 4)
    assert knowledge.before == pytest.approx(2.0)
    assert knowledge.after == pytest.approx(3.75)
    assert knowledge.gain == pytest.approx(1.75)
    assert (confidence.people, confidence.gain) == (1, pytest.approx(1.0))
    assert r.mean(A, "trainer").value == pytest.approx(4.0)

    assert (r.outcomes_met.count, r.outcomes_met.total) == (10, 16)
    assert r.outcomes_met.percent == pytest.approx(62.5)
    assert (r.outcomes_partly.count, r.outcomes_not_met.count) == (4, 2)

    assert r.follow_ups == 3
    assert r.impact.value == pytest.approx(4.0)
    assert (r.shared_with_team.count, r.shared_with_team.total) == (2, 3)
    assert (r.manager_agrees.count, r.manager_agrees.total) == (1, 3)
    assert r.shared_with_team.label == "2 of 3 (66.7%)" and r.low.label == "2 of 8 (25%)"

    # Alphabetical, case-insensitive; drafts and other sessions left out.
    assert [c.text for c in r.comments["comments"]] == ["brilliant trainer", "Very useful"]
    assert [c.text for c in r.comments["do_differently"]] == ["Check the referral pathway"]
    assert [c.text for c in r.comments["impact_example"]] == ["Made a referral"]


def test_no_responses_gives_empty_figures_not_errors(sets):
    session = past_session()
    attendee(session)
    r = results.results_for(results.session_scope(session.id))
    assert r.responses == 0 and not r.has_responses
    assert r.response_rate.label == "0 of 1 (0%)"
    assert r.low.percent is None and r.low.label == "No answers"
    assert [s.gain for s in r.shifts] == [None, None]
    assert r.impact.value is None


def test_question_set_changed_mid_year_counts_both_versions(sets):
    course = CourseFactory()
    first, second = past_session(course, days_ago=20), past_session(course, days_ago=5)
    v2 = question_sets(version=2)
    assert v2[A].questions[0].id != sets[A].questions[0].id  # new Question rows, same keys
    for _ in range(2):
        evaluation(attendee(first), A, sets[A], overall="excellent", knowledge=5, outcomes=[MET, MET])
    for _ in range(2):
        evaluation(attendee(second), A, v2[A], overall="poor", knowledge=3, outcomes=[NOT])
    period = results.financial_year(date.today())
    r = results.results_for(results.course_scope(course.id, results.Period(period.first - timedelta(days=400), period.last)))
    assert r.responses == 4
    assert dict((k.value, s.count) for k, s in r.overall) == {"excellent": 2, "good": 0, "satisfactory": 0, "poor": 2}
    assert r.mean(A, "knowledge").value == pytest.approx(4.0)
    assert (r.outcomes_met.count, r.outcomes_met.total) == (4, 6)


def test_course_period_uses_london_dates_across_the_clock_change(sets):
    """1 April is in British Summer Time: 00:30 on 1 April London is 23:30 UTC on 31 March."""
    course = CourseFactory()
    late_march = SessionFactory(course=course, starts_at=london_to_utc(date(2026, 3, 31), time(23, 30)))
    early_april = SessionFactory(course=course, starts_at=london_to_utc(date(2026, 4, 1), time(0, 30)))
    assert early_april.starts_at.date() == date(2026, 3, 31)  # UTC date is still March
    evaluation(attendee(late_march), A, sets[A], overall="poor")
    evaluation(attendee(early_april), A, sets[A], overall="excellent")

    year = results.financial_year(date(2026, 4, 1))
    assert (year.first, year.last) == (date(2026, 4, 1), date(2027, 3, 31))
    r = results.results_for(results.course_scope(course.id, year))
    assert dict((k.value, s.count) for k, s in r.overall)["excellent"] == 1
    assert r.responses == 1
    earlier = results.results_for(results.course_scope(course.id, results.financial_year(date(2026, 3, 31))))
    assert earlier.responses == 1 and earlier.low.count == 1


def test_financial_year_defaults_from_the_london_date():
    # 23:30 UTC on 31 March 2027 is already 1 April in London.
    now = datetime(2027, 3, 31, 23, 30, tzinfo=UTC)
    assert results.current_financial_year(now).first == date(2027, 4, 1)
    assert results.financial_year(date(2027, 3, 31)).first == date(2026, 4, 1)


def test_course_scope_for_a_trainer_counts_only_their_sessions(sets):
    course = CourseFactory()
    trainer, colleague = TrainerFactory(), TrainerFactory()
    mine = past_session(course, trainers=[trainer])
    theirs = past_session(course, trainers=[colleague])
    evaluation(attendee(mine), A, sets[A], overall="good")
    evaluation(attendee(theirs), A, sets[A], overall="poor", comments="Their session")
    year = results.Period(date(2000, 1, 1), date(2100, 1, 1))
    r = results.results_for(results.course_scope(course.id, year, trainer_id=trainer.id))
    assert r.responses == 1 and r.low.count == 0
    assert r.comments["comments"] == []
    everyone = results.results_for(results.course_scope(course.id, year))
    assert everyone.responses == 2


def _count_queries(fn) -> int:
    return len(statements_of(fn).queries)


def test_query_count_does_not_grow_with_the_data(sets):
    course = CourseFactory()
    course_id = course.id
    build_known_session(sets, past_session(course))
    db.session.expire_all()
    year = results.Period(date(2000, 1, 1), date(2100, 1, 1))
    small_count = _count_queries(lambda: results.results_for(results.course_scope(course_id, year)))
    for _ in range(3):
        build_known_session(sets, past_session(course))
    db.session.expire_all()
    large_count = _count_queries(lambda: results.results_for(results.course_scope(course_id, year)))
    assert small_count == large_count == 6
