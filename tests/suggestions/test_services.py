"""Course suggestion services: the workflow, every illegal step refused, the history, the draft
course, and the read-only demand signals."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from tests.factories import AgencyFactory, CoordinatorFactory, CourseFactory, TrainerFactory, UserFactory
from tests.sql import recorded_statements
from tests.suggestions.conftest import reload
from tests.suggestions.factories import SuggestionFactory
from training.catalogue.models import Course, CourseFormat, Level
from training.db import utcnow
from training.extensions import db
from training.suggestions import services
from training.suggestions.errors import (
    CourseAlreadyCreated,
    InvalidSuggestion,
    InvalidTransition,
    NotAgreed,
    NotCoordinator,
    ReasonRequired,
    ReasonTooLong,
    SuggestionNotFound,
)
from training.suggestions.models import CourseSuggestion, SuggestionEvent, SuggestionStatus
from training.suggestions.services import SuggestionDetails


def details(agency_id: int, **changes) -> SuggestionDetails:
    values = {"title": "  Online harms and young people  ", "need": "Staff lack confidence about online harms",
              "evidence": "Local case review, 2025", "audience": "Youth workers and teachers",
              "people_benefiting": 80, "agency_id": agency_id}
    return SuggestionDetails(**{**values, **changes})


def counts() -> tuple[int, int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(CourseSuggestion.id))),
            db.session.scalar(select(func.count(SuggestionEvent.id))),
            db.session.scalar(select(func.count(Course.id))))


# ---------------------------------------------------------------------------
# Submitting
# ---------------------------------------------------------------------------

def test_anyone_signed_in_submits_a_suggestion_for_their_agency(now):
    trainer = TrainerFactory()
    suggestion = services.submit_suggestion(trainer, details(trainer.agency_id), now=now)
    found = reload(suggestion.id)
    assert found.title == "Online harms and young people"  # trimmed
    assert found.status == SuggestionStatus.SUBMITTED
    assert found.suggested_by_id == trainer.id and found.agency_id == trainer.agency_id
    assert found.people_benefiting == 80 and found.created_at == now.replace(microsecond=found.created_at.microsecond)
    assert [(e.from_status, e.to_status, e.actor_id) for e in found.events] == [
        (None, SuggestionStatus.SUBMITTED, trainer.id)]
    assert found.decided_at is None and found.course_id is None


def test_a_person_may_suggest_for_another_active_agency_but_not_an_inactive_one(professional):
    other = AgencyFactory()
    closed = AgencyFactory(active=False)
    assert services.submit_suggestion(professional, details(other.id)).agency_id == other.id
    before = counts()
    with pytest.raises(InvalidSuggestion) as err:
        services.submit_suggestion(professional, details(closed.id))
    assert err.value.errors == {"agency": "Select your agency"}
    assert counts() == before


def test_their_own_agency_stays_available_after_it_is_deactivated():
    agency = AgencyFactory(active=False)
    person = UserFactory(agency=agency)
    assert services.submit_suggestion(person, details(agency.id)).agency_id == agency.id


@pytest.mark.parametrize(("changes", "errors"), [
    ({"title": "   "}, {"title": "Enter a title for the course"}),
    ({"title": "x" * 201}, {"title": "Course title must be 200 characters or fewer"}),
    ({"need": ""}, {"need": "Enter the need the course would meet"}),
    ({"evidence": " \n "}, {"evidence": "Enter the evidence for the need"}),
    ({"audience": "a" * 1001}, {"audience": "Who the course is for must be 1,000 characters or fewer"}),
    ({"people_benefiting": None}, {"people_benefiting": "Enter how many people would benefit"}),
    ({"people_benefiting": 0}, {"people_benefiting": "The number of people who would benefit must be 1 or more"}),
    ({"people_benefiting": 100_001},
     {"people_benefiting": "The number of people who would benefit must be 100,000 or fewer"}),
    ({"agency_id": None}, {"agency": "Select your agency"}),
    ({"agency_id": 2**40}, {"agency": "Select your agency"}),
    ({"title": "", "need": "", "people_benefiting": -3},
     {"title": "Enter a title for the course", "need": "Enter the need the course would meet",
      "people_benefiting": "The number of people who would benefit must be 1 or more"}),
])
def test_bad_details_are_refused_with_every_problem_and_nothing_is_stored(professional, changes, errors):
    before = counts()
    with pytest.raises(InvalidSuggestion) as err:
        services.submit_suggestion(professional, details(**{"agency_id": professional.agency_id, **changes}))
    assert err.value.errors == errors
    assert counts() == before


# ---------------------------------------------------------------------------
# The workflow and its history
# ---------------------------------------------------------------------------

def test_submitted_under_review_agreed_keeps_who_did_what_and_when(submitted, coordinator, professional, now):
    services.start_review(submitted.id, coordinator, now=now)
    later = now + timedelta(days=14)
    services.agree(submitted.id, coordinator, "  Fills a gap in the Level 3 offer  ", now=later)
    found = reload(submitted.id)
    assert found.status == SuggestionStatus.AGREED
    assert found.decision_reason == "Fills a gap in the Level 3 offer"
    assert found.decided_by_id == coordinator.id and found.decided_at == later
    assert [(e.from_status, e.to_status, e.actor_id, e.at, e.note) for e in found.events[1:]] == [
        (SuggestionStatus.SUBMITTED, SuggestionStatus.UNDER_REVIEW, coordinator.id, now, None),
        (SuggestionStatus.UNDER_REVIEW, SuggestionStatus.AGREED, coordinator.id, later,
         "Fills a gap in the Level 3 offer"),
    ]
    assert found.events[0].actor_id == professional.id


def test_agreeing_without_a_reason_is_allowed(under_review, coordinator):
    services.agree(under_review.id, coordinator, "   ")
    found = reload(under_review.id)
    assert found.status == SuggestionStatus.AGREED and found.decision_reason is None


def test_declining_records_the_reason(under_review, coordinator):
    services.decline(under_review.id, coordinator, "Covered by the existing neglect course")
    found = reload(under_review.id)
    assert found.status == SuggestionStatus.DECLINED
    assert found.decision_reason == "Covered by the existing neglect course"
    assert found.events[-1].note == "Covered by the existing neglect course"


@pytest.mark.parametrize("reason", [None, "", "   \n "])
def test_declining_without_a_reason_is_refused(under_review, coordinator, reason):
    before = counts()
    with pytest.raises(ReasonRequired) as err:
        services.decline(under_review.id, coordinator, reason)
    assert err.value.message == "Enter why the subgroup declined the suggestion" and err.value.field == "reason"
    assert reload(under_review.id).status == SuggestionStatus.UNDER_REVIEW
    assert counts() == before


def test_the_model_refuses_a_decline_without_a_reason_too(under_review, coordinator):
    with pytest.raises(ReasonRequired):
        under_review.decline(coordinator, utcnow(), " ")
    db.session.rollback()


def test_a_reason_that_is_too_long_is_refused(under_review, coordinator):
    with pytest.raises(ReasonTooLong) as err:
        services.decline(under_review.id, coordinator, "x" * 5001)
    assert err.value.message == "Reason must be 5,000 characters or fewer"
    assert reload(under_review.id).status == SuggestionStatus.UNDER_REVIEW


ILLEGAL = [
    ("submitted", "agree", "Start the review before you agree or decline the suggestion"),
    ("submitted", "decline", "Start the review before you agree or decline the suggestion"),
    ("under_review", "start_review", "This suggestion is already under review"),
    ("agreed", "agree", "This suggestion has already been agreed"),
    ("agreed", "decline", "This suggestion has already been agreed"),
    ("agreed", "start_review", "This suggestion has already been agreed"),
    ("declined", "agree", "This suggestion has already been declined"),
    ("declined", "decline", "This suggestion has already been declined"),
    ("declined", "start_review", "This suggestion has already been declined"),
]


@pytest.mark.parametrize(("state", "action", "message"), ILLEGAL)
def test_illegal_transitions_are_refused_and_change_nothing(request, coordinator, state, action, message):
    suggestion = request.getfixturevalue(state)
    before_status, before_reason = suggestion.status, suggestion.decision_reason
    before = counts()
    call = {"start_review": lambda: services.start_review(suggestion.id, coordinator),
            "agree": lambda: services.agree(suggestion.id, coordinator, "Another go"),
            "decline": lambda: services.decline(suggestion.id, coordinator, "Another go")}[action]
    with pytest.raises(InvalidTransition) as err:
        call()
    assert err.value.message == message
    found = reload(suggestion.id)
    assert (found.status, found.decision_reason) == (before_status, before_reason)
    assert counts() == before


@pytest.mark.parametrize("who", ["professional", "trainer"])
def test_only_coordinators_review(submitted, professional, who):
    actor = professional if who == "professional" else TrainerFactory()
    for call in (lambda: services.start_review(submitted.id, actor),
                 lambda: services.agree(submitted.id, actor),
                 lambda: services.decline(submitted.id, actor, "No"),
                 lambda: services.create_draft_course(submitted.id, actor)):
        with pytest.raises(NotCoordinator):
            call()
    assert reload(submitted.id).status == SuggestionStatus.SUBMITTED


@pytest.mark.parametrize("bad_id", [0, -1, 999_999, 2**40, True])
def test_unknown_suggestions_are_not_found(coordinator, bad_id):
    with pytest.raises(SuggestionNotFound):
        services.start_review(bad_id, coordinator)
    assert services.get_suggestion(bad_id) is None


def test_a_stale_copy_cannot_overwrite_a_decision(under_review, coordinator):
    """The lock reloads the row: a copy loaded before another coordinator decided is not trusted."""
    stale = db.session.get(CourseSuggestion, under_review.id)
    assert stale.status == SuggestionStatus.UNDER_REVIEW
    other = CoordinatorFactory()
    services.decline(under_review.id, other, "Not a partnership priority")
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.agree(under_review.id, coordinator, "Yes")
    found = reload(under_review.id)
    assert found.status == SuggestionStatus.DECLINED and found.decided_by_id == other.id


# ---------------------------------------------------------------------------
# The draft course
# ---------------------------------------------------------------------------

def test_an_agreed_suggestion_becomes_an_inactive_draft_course_linked_to_it(agreed, coordinator, now):
    draft = services.create_draft_course(agreed.id, coordinator, now=now)
    assert draft.title_changed is False
    course = db.session.get(Course, draft.course.id)
    assert course.title == "Safeguarding disabled children"
    assert course.active is False
    assert agreed.need in course.summary and agreed.audience in course.summary
    assert (course.level, course.format, course.duration_minutes) == (Level.LEVEL_3, CourseFormat.FACE_TO_FACE, 180)
    assert course.themes == [] and course.learning_outcomes == ""
    found = reload(agreed.id)
    assert found.course_id == course.id and found.status == SuggestionStatus.AGREED
    assert (found.events[-1].from_status, found.events[-1].to_status, found.events[-1].note) == (
        SuggestionStatus.AGREED, SuggestionStatus.AGREED, "Draft course created: Safeguarding disabled children")


def test_a_second_draft_course_is_refused(agreed, coordinator):
    first = services.create_draft_course(agreed.id, coordinator).course.id
    before = counts()
    with pytest.raises(CourseAlreadyCreated):
        services.create_draft_course(agreed.id, coordinator)
    assert counts() == before and reload(agreed.id).course_id == first


@pytest.mark.parametrize("state", ["submitted", "under_review", "declined"])
def test_only_an_agreed_suggestion_becomes_a_course(request, coordinator, state):
    suggestion = request.getfixturevalue(state)
    before = counts()
    with pytest.raises(NotAgreed) as err:
        services.create_draft_course(suggestion.id, coordinator)
    assert err.value.message == "Only an agreed suggestion can be turned into a draft course"
    assert counts() == before and reload(suggestion.id).course_id is None


def test_a_taken_title_gets_a_number_instead_of_failing(agreed, coordinator):
    CourseFactory(title="SAFEGUARDING DISABLED CHILDREN")
    CourseFactory(title="Safeguarding disabled children (2)")
    draft = services.create_draft_course(agreed.id, coordinator)
    assert draft.title_changed is True
    assert draft.course.title == "Safeguarding disabled children (3)"


def test_a_long_taken_title_stays_within_the_course_title_limit(professional, coordinator):
    title = "T" * 200
    CourseFactory(title=title)
    suggestion = SuggestionFactory(suggested_by=professional, title=title)
    services.start_review(suggestion.id, coordinator)
    services.agree(suggestion.id, coordinator)
    course = services.create_draft_course(suggestion.id, coordinator).course
    assert course.title == "T" * 196 + " (2)" and len(course.title) == 200


def test_a_title_with_like_wildcards_is_matched_literally(professional, coordinator):
    CourseFactory(title="100% online_safety")
    CourseFactory(title="100X online-safety")
    suggestion = SuggestionFactory(suggested_by=professional, title="100% online_safety")
    services.start_review(suggestion.id, coordinator)
    services.agree(suggestion.id, coordinator)
    assert services.create_draft_course(suggestion.id, coordinator).course.title == "100% online_safety (2)"


# ---------------------------------------------------------------------------
# Reading: your suggestions, the coordinators' list and the demand signals
# ---------------------------------------------------------------------------

def test_a_person_sees_only_their_own_suggestions(professional):
    mine_old = SuggestionFactory(suggested_by=professional, created_at=utcnow() - timedelta(days=3))
    mine_new = SuggestionFactory(suggested_by=professional)
    theirs = SuggestionFactory()
    assert [s.id for s in services.suggestions_by(professional.id)] == [mine_new.id, mine_old.id]
    assert services.own_suggestion(professional.id, mine_old.id).id == mine_old.id
    assert services.own_suggestion(professional.id, theirs.id) is None
    assert services.own_suggestion(professional.id, 2**40) is None


def test_the_coordinators_list_puts_open_suggestions_first_and_filters(coordinator):
    now = utcnow()
    decided = SuggestionFactory(created_at=now - timedelta(days=30))
    services.start_review(decided.id, coordinator)
    services.decline(decided.id, coordinator, "No")
    old_open = SuggestionFactory(created_at=now - timedelta(days=10))
    new_open = SuggestionFactory(created_at=now - timedelta(days=1))
    services.start_review(new_open.id, coordinator)
    assert [s.id for s in services.all_suggestions()] == [old_open.id, new_open.id, decided.id]
    assert [s.id for s in services.all_suggestions(SuggestionStatus.UNDER_REVIEW)] == [new_open.id]
    assert [s.id for s in services.all_suggestions(SuggestionStatus.DECLINED)] == [decided.id]
    assert services.all_suggestions(SuggestionStatus.AGREED) == []


def test_counts_by_status_give_every_status_in_one_query(app, coordinator):
    assert services.suggestion_counts_by_status() == dict.fromkeys(SuggestionStatus, 0)
    for _ in range(3):
        SuggestionFactory()
    reviewed = [SuggestionFactory() for _ in range(2)]
    for s in reviewed:
        services.start_review(s.id, coordinator)
    services.agree(reviewed[0].id, coordinator)
    db.session.commit()
    with recorded_statements() as statements:
        result = services.suggestion_counts_by_status()
    assert result == {SuggestionStatus.SUBMITTED: 3, SuggestionStatus.UNDER_REVIEW: 1,
                      SuggestionStatus.AGREED: 1, SuggestionStatus.DECLINED: 0}
    assert len([s for s in statements if "GROUP BY" in s.upper()]) == 1
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def test_open_suggestions_are_the_undecided_ones_with_most_people_first(coordinator):
    small = SuggestionFactory(people_benefiting=10)
    big = SuggestionFactory(people_benefiting=400)
    reviewing = SuggestionFactory(people_benefiting=50)
    services.start_review(reviewing.id, coordinator)
    done = SuggestionFactory(people_benefiting=1000)
    services.start_review(done.id, coordinator)
    services.agree(done.id, coordinator)
    found = services.open_suggestions()
    assert [s.id for s in found] == [big.id, reviewing.id, small.id]
    assert all(s.agency.name for s in found)


def test_a_draft_course_leads_back_to_its_suggestion(app, agreed, coordinator):
    course = services.create_draft_course(agreed.id, coordinator).course
    assert services.suggestion_for_course(course.id).id == agreed.id
    assert services.suggestion_for_course(CourseFactory().id) is None
    assert services.suggestion_for_course(2**40) is None
    # The catalogue's templates reach it as a global, without importing this area.
    assert app.jinja_env.globals["course_suggestion"](course.id).id == agreed.id


def test_the_database_refuses_a_declined_suggestion_without_a_reason_and_nobody_benefiting(submitted):
    for values in ({"status": SuggestionStatus.DECLINED, "decision_reason": None}, {"people_benefiting": 0}):
        with pytest.raises(IntegrityError):
            db.session.execute(update(CourseSuggestion).where(CourseSuggestion.id == submitted.id).values(**values))
            db.session.flush()
        db.session.rollback()
    assert reload(submitted.id).status == SuggestionStatus.SUBMITTED
