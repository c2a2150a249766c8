"""The demand signals beside the TNA: waiting lists, course suggestions and themes rated low."""
from __future__ import annotations

from datetime import timedelta

from tests.evaluation.results_data import attendee, evaluation, past_session, question_sets
from tests.factories import BookingFactory, CourseFactory, SessionFactory, UserFactory
from training.booking.models import BookingStatus
from training.catalogue.models import SessionStatus, Theme
from training.db import utcnow
from training.evaluation.models import Stage
from training.extensions import db
from training.needs import services
from training.suggestions.models import CourseSuggestion, SuggestionStatus


def test_waiting_lists_count_people_waiting_for_upcoming_sessions_per_course():
    now = utcnow()
    busy, quiet = CourseFactory(title="Busy course"), CourseFactory(title="Quiet course")
    first, second = SessionFactory(course=busy), SessionFactory(course=busy, starts_at=now + timedelta(days=40),
                                                                 ends_at=now + timedelta(days=40, hours=3))
    for session, waiting in ((first, 3), (second, 1)):
        for _ in range(waiting):
            BookingFactory(session=session, status=BookingStatus.WAITLISTED, confirmed_at=None)
    BookingFactory(session=SessionFactory(course=quiet), status=BookingStatus.WAITLISTED, confirmed_at=None)
    # Not counted: confirmed places, people who left the list, past and cancelled sessions.
    BookingFactory(session=first)
    BookingFactory(session=first, status=BookingStatus.WITHDRAWN, confirmed_at=None)
    BookingFactory(session=past_session(busy), status=BookingStatus.WAITLISTED, confirmed_at=None)
    BookingFactory(session=SessionFactory(course=busy, status=SessionStatus.CANCELLED),
                   status=BookingStatus.WAITLISTED, confirmed_at=None)
    found = [(w.title, w.waiting, w.sessions) for w in services.waiting_lists(now)]
    assert found == [("Busy course", 4, 2), ("Quiet course", 1, 1)]


def _suggestion(status: SuggestionStatus, people: int, title: str) -> CourseSuggestion:
    person = UserFactory()
    suggestion = CourseSuggestion(title=title, need="Need", evidence="Evidence", audience="Audience",
                                  people_benefiting=people, agency_id=person.agency_id, suggested_by_id=person.id,
                                  status=status, decision_reason="Because" if status.is_decided else None)
    db.session.add(suggestion)
    db.session.commit()
    return suggestion


def test_suggestions_are_counted_by_status_and_the_open_ones_listed_by_reach():
    _suggestion(SuggestionStatus.SUBMITTED, 10, "Small")
    _suggestion(SuggestionStatus.UNDER_REVIEW, 80, "Large")
    _suggestion(SuggestionStatus.DECLINED, 500, "Declined")
    _suggestion(SuggestionStatus.AGREED, 5, "Agreed")
    found = services.suggestions()
    assert found.by_status == {SuggestionStatus.SUBMITTED: 1, SuggestionStatus.UNDER_REVIEW: 1,
                               SuggestionStatus.DECLINED: 1, SuggestionStatus.AGREED: 1}
    assert found.open_count == 2
    assert [s.title for s in found.open] == ["Large", "Small"]


def test_themes_are_rated_low_on_after_course_overall_ratings_in_the_last_12_months():
    sets = question_sets()
    neglect = CourseFactory(themes=[Theme.NEGLECT, Theme.CHILD_PROTECTION])
    online = CourseFactory(themes=[Theme.ONLINE_SAFETY])
    recent_neglect, recent_online = past_session(neglect, days_ago=20), past_session(online, days_ago=20)
    for overall in ("poor", "satisfactory", "good", "excellent"):
        evaluation(attendee(recent_neglect), Stage.AFTER, sets[Stage.AFTER], overall=overall)
    for overall in ("good", "excellent", "satisfactory"):
        evaluation(attendee(recent_online), Stage.AFTER, sets[Stage.AFTER], overall=overall)
    # Not counted: older than 12 months, drafts.
    old = past_session(online, days_ago=400)
    evaluation(attendee(old), Stage.AFTER, sets[Stage.AFTER], overall="poor")
    evaluation(attendee(recent_online), Stage.AFTER, sets[Stage.AFTER], overall="poor", submitted=False)
    found = {t.theme: t for t in services.theme_ratings(utcnow(), 25, 3)}
    assert set(found) == {Theme.NEGLECT, Theme.CHILD_PROTECTION, Theme.ONLINE_SAFETY}
    assert (found[Theme.NEGLECT].low.count, found[Theme.NEGLECT].low.total) == (2, 4)
    assert found[Theme.NEGLECT].flagged  # 50% > 25%
    assert (found[Theme.ONLINE_SAFETY].low.count, found[Theme.ONLINE_SAFETY].low.total) == (1, 3)
    assert found[Theme.ONLINE_SAFETY].flagged  # 33.3% > 25%
    assert not {t.theme: t for t in services.theme_ratings(utcnow(), 40, 3)}[Theme.ONLINE_SAFETY].flagged
    assert not {t.theme: t for t in services.theme_ratings(utcnow(), 25, 4)}[Theme.ONLINE_SAFETY].flagged
    assert [t.theme for t in services.theme_ratings(utcnow(), 25, 3)][-1] == Theme.ONLINE_SAFETY
