"""Evaluation form services: when forms open, drafts, submission, validation, versions, lists."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.booking.helpers import reload
from tests.evaluation.conftest import OUTCOMES, attended_booking, past_session, valid_answers
from tests.factories import BookingFactory, CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from tests.sql import recorded_statements
from training.accounts.models import User
from training.attendance.models import AttendanceOutcome
from training.booking.models import BookingStatus
from training.catalogue.models import SessionStatus
from training.db import utcnow
from training.evaluation import services, signals
from training.evaluation.errors import EvaluationLocked, EvaluationNotOpen
from training.evaluation.models import Answer, Evaluation, EvaluationStatus, QuestionKind, QuestionSet, Stage
from training.evaluation.questions import DEFAULT_QUESTIONS, QuestionDefinition
from training.extensions import db

# ---------------------------------------------------------------------------
# When each form is open
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [BookingStatus.CONFIRMED, BookingStatus.WAITLISTED, BookingStatus.OFFERED])
def test_before_form_opens_on_booking_and_closes_when_the_session_starts(status):
    booking = BookingFactory(status=status)
    starts = booking.session.starts_at
    assert services.form_state(booking, Stage.BEFORE, utcnow()).open
    assert services.form_state(booking, Stage.BEFORE, starts - timedelta(seconds=1)).open
    closed = services.form_state(booking, Stage.BEFORE, starts)
    assert not closed.open
    assert "closed when the course started" in closed.reason


def test_before_form_is_closed_for_cancelled_bookings_and_sessions():
    cancelled = BookingFactory(status=BookingStatus.CANCELLED)
    assert not services.form_state(cancelled, Stage.BEFORE, utcnow()).open
    booking = BookingFactory()
    booking.session.status = SessionStatus.CANCELLED
    db.session.commit()
    state = services.form_state(booking, Stage.BEFORE, utcnow())
    assert not state.open and state.reason == "This session was cancelled"


@pytest.mark.parametrize("outcome, is_open", [
    (AttendanceOutcome.ATTENDED, True),
    (AttendanceOutcome.PARTIAL, True),
    (AttendanceOutcome.DID_NOT_ATTEND, False),
])
def test_after_form_opens_only_for_people_marked_present(outcome, is_open):
    booking = attended_booking(outcome)
    assert services.form_state(booking, Stage.AFTER, utcnow()).open is is_open


def test_after_form_is_closed_until_the_register_is_taken():
    booking = BookingFactory(session=past_session())
    state = services.form_state(booking, Stage.AFTER, utcnow())
    assert not state.open
    assert "marked you as attended" in state.reason


def test_follow_up_opens_follow_up_weeks_after_the_session_ends(app):
    booking = attended_booking(AttendanceOutcome.PARTIAL)
    opens = booking.session.ends_at + timedelta(weeks=app.config["FOLLOW_UP_WEEKS"])
    early = services.form_state(booking, Stage.FOLLOW_UP, opens - timedelta(seconds=1))
    assert not early.open and early.opens_at == opens
    assert "with your line manager from" in early.reason
    assert services.form_state(booking, Stage.FOLLOW_UP, opens).open


def test_follow_up_is_closed_for_people_who_did_not_attend():
    booking = attended_booking(AttendanceOutcome.DID_NOT_ATTEND, ended_days_ago=100)
    assert not services.form_state(booking, Stage.FOLLOW_UP, utcnow()).open


def test_follow_up_opening_date_is_shown_in_london_time_across_the_clock_change(app):
    # Ends 23:30 UTC on Saturday 21 March 2026 (GMT); six weeks on is after the clocks go
    # forward, when 23:30 UTC is already 00:30 on Sunday 3 May in London.
    from datetime import UTC, datetime
    session = SessionFactory(starts_at=datetime(2026, 3, 21, 20, 30, tzinfo=UTC),
                             ends_at=datetime(2026, 3, 21, 23, 30, tzinfo=UTC),
                             booking_closes_at=datetime(2026, 3, 20, tzinfo=UTC))
    booking = attended_booking(session=session)
    state = services.form_state(booking, Stage.FOLLOW_UP, datetime(2026, 4, 1, tzinfo=UTC))
    assert state.opens_at == datetime(2026, 5, 2, 23, 30, tzinfo=UTC)
    assert state.reason.endswith("from 3 May 2026")


# ---------------------------------------------------------------------------
# Drafts and submission
# ---------------------------------------------------------------------------

def test_a_draft_can_be_saved_with_missing_answers_then_submitted():
    booking = BookingFactory(session=SessionFactory(course=CourseFactory(learning_outcomes="\n".join(OUTCOMES))))
    now = utcnow()
    draft = services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user,
                          answers={"knowledge": "2"}, now=now, submit=False)
    draft = reload(draft)
    assert draft.status == EvaluationStatus.DRAFT and draft.submitted_at is None
    assert [(a.question.key, a.rating) for a in draft.answers] == [("knowledge", 2)]
    assert draft.question_set.version == 1
    assert not services.has_submitted(booking.id, Stage.BEFORE)

    services.save(draft.id, actor=booking.user, answers=valid_answers(Stage.BEFORE), now=now, submit=True)
    done = reload(draft)
    assert done.status == EvaluationStatus.SUBMITTED and done.submitted_at == now
    assert {a.question.key: (a.rating, a.text) for a in done.answers} == {
        "knowledge": (2, None), "confidence": (3, None), "learning_needs": (None, "How to refer a concern"),
    }
    assert services.has_submitted(booking.id, Stage.BEFORE)
    assert db.session.scalar(select(func.count(Evaluation.id))) == 1


def test_after_form_stores_one_answer_per_learning_outcome_with_its_wording():
    course = CourseFactory(learning_outcomes="\n".join(OUTCOMES))
    booking = attended_booking(session=past_session(course=course))
    answers = valid_answers(Stage.AFTER) | {"outcomes": {1: "met", 2: "not-met"}, "overall": "poor"}
    evaluation = services.save(booking_id=booking.id, stage=Stage.AFTER, actor=booking.user, answers=answers,
                               now=utcnow(), submit=True)
    rows = db.session.execute(
        select(Answer.outcome_index, Answer.outcome_text, Answer.choice)
        .where(Answer.evaluation_id == evaluation.id, Answer.outcome_index > 0).order_by(Answer.outcome_index)
    ).all()
    assert rows == [(1, OUTCOMES[0], "met"), (2, OUTCOMES[1], "not-met")]
    assert evaluation.session_id == booking.session_id


def test_a_submitted_form_is_locked():
    booking = BookingFactory()
    evaluation = services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user,
                               answers=valid_answers(Stage.BEFORE), now=utcnow(), submit=True)
    for submit in (False, True):
        with pytest.raises(EvaluationLocked):
            services.save(evaluation.id, actor=booking.user, answers={"knowledge": 5}, now=utcnow(), submit=submit)
    assert [a.rating for a in reload(evaluation).answers if a.question.key == "knowledge"] == [2]


def test_a_draft_cannot_be_finished_once_its_form_has_closed():
    booking = BookingFactory()
    services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user, answers={}, now=utcnow(),
                  submit=False)
    with pytest.raises(EvaluationNotOpen):
        services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user,
                      answers=valid_answers(Stage.BEFORE), now=booking.session.starts_at, submit=True)
    assert not services.has_submitted(booking.id, Stage.BEFORE)


def test_a_form_that_is_not_open_cannot_be_started():
    booking = BookingFactory(session=past_session())  # not marked attended
    with pytest.raises(EvaluationNotOpen):
        services.start_or_get(booking.id, Stage.AFTER, booking.user, utcnow())
    assert db.session.scalar(select(func.count(Evaluation.id))) == 0


def test_start_or_get_starts_one_draft_and_returns_it_again():
    booking = BookingFactory()
    first = services.start_or_get(booking.id, Stage.BEFORE, booking.user, utcnow())
    again = services.start_or_get(booking.id, Stage.BEFORE, booking.user, utcnow())
    assert first.id == again.id and first.status == EvaluationStatus.DRAFT
    assert db.session.scalar(select(func.count(Evaluation.id))) == 1


def test_only_the_booked_person_can_fill_in_their_form():
    booking = BookingFactory()
    for someone_else in (UserFactory(), CoordinatorFactory()):
        with pytest.raises(services.EvaluationNotFound):
            services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=someone_else,
                          answers=valid_answers(Stage.BEFORE), now=utcnow(), submit=True)
        with pytest.raises(services.EvaluationNotFound):
            services.start_or_get(booking.id, Stage.BEFORE, someone_else, utcnow())
    assert db.session.scalar(select(func.count(Evaluation.id))) == 0


def test_submitting_sends_evaluation_submitted_inside_the_transaction():
    booking = BookingFactory()
    received = []

    def _receiver(evaluation, now):
        # Still inside the write transaction: the row is flushed, locked and visible here.
        received.append((evaluation.id, evaluation.status, now))

    signals.evaluation_submitted.connect(_receiver)
    try:
        now = utcnow()
        services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user, answers={"knowledge": 1},
                      now=now, submit=False)
        assert received == []
        evaluation = services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user,
                                   answers=valid_answers(Stage.BEFORE), now=now, submit=True)
    finally:
        signals.evaluation_submitted.disconnect(_receiver)
    assert received == [(evaluation.id, EvaluationStatus.SUBMITTED, now)]


def test_a_failing_receiver_rolls_the_submission_back():
    booking = BookingFactory()

    def _fails(evaluation, now):
        raise RuntimeError("receiver failed")

    signals.evaluation_submitted.connect(_fails)
    try:
        with pytest.raises(RuntimeError):
            services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user,
                          answers=valid_answers(Stage.BEFORE), now=utcnow(), submit=True)
    finally:
        signals.evaluation_submitted.disconnect(_fails)
    db.session.commit()
    assert not services.has_submitted(booking.id, Stage.BEFORE)


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------

def _errors(booking, stage, answers, submit=True) -> dict[str, str]:
    with pytest.raises(services.InvalidAnswers) as caught:
        services.save(booking_id=booking.id, stage=stage, actor=booking.user, answers=answers, now=utcnow(),
                      submit=submit)
    db.session.commit()
    assert db.session.scalar(select(func.count(Answer.id))) == 0, "nothing is saved"
    return caught.value.errors


@pytest.mark.parametrize("bad", [0, 6, "abc", "", "2.5", True, -1, "٣"])
@pytest.mark.parametrize("submit", [False, True])
def test_ratings_must_be_whole_numbers_from_1_to_5(bad, submit):
    booking = BookingFactory()
    answers = valid_answers(Stage.BEFORE) | {"knowledge": bad}
    if bad == "" and not submit:
        # A blank rating in a draft is simply unanswered.
        services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user, answers=answers,
                      now=utcnow(), submit=False)
        return
    errors = _errors(booking, Stage.BEFORE, answers, submit)
    assert set(errors) == {"knowledge"}
    expected = ("Select how you would rate your knowledge of this subject" if bad == ""
                else "Select a rating from 1 to 5")
    assert errors["knowledge"] == expected


@pytest.mark.parametrize("field, bad, message", [
    ("overall", "brilliant", "Select how you would rate this course overall"),
    ("overall", 3, "Select how you would rate this course overall"),
    ("outcomes", {1: "mostly", 2: "met"}, "Select whether the learning outcome ‘Recognise signs of abuse’ was met"),
])
def test_choices_must_come_from_the_list(field, bad, message):
    booking = attended_booking(session=past_session(course=CourseFactory(learning_outcomes="\n".join(OUTCOMES))))
    errors = _errors(booking, Stage.AFTER, valid_answers(Stage.AFTER) | {field: bad}, submit=False)
    assert message in errors.values()


def test_yes_no_must_be_yes_or_no():
    booking = attended_booking(ended_days_ago=60)
    errors = _errors(booking, Stage.FOLLOW_UP, valid_answers(Stage.FOLLOW_UP) | {"shared_with_team": "maybe"})
    assert errors == {"shared_with_team": "Select yes if you have shared what you learnt with your team"}


def test_submit_requires_every_required_answer_with_gov_uk_messages():
    booking = attended_booking(session=past_session(course=CourseFactory(learning_outcomes="\n".join(OUTCOMES))))
    errors = _errors(booking, Stage.AFTER, {"comments": "  "})
    assert errors == {
        "knowledge": "Select how you would rate your knowledge of this subject",
        "confidence": "Select how confident you feel to act on concerns about this subject",
        "outcome_1": "Select whether the learning outcome ‘Recognise signs of abuse’ was met",
        "outcome_2": "Select whether the learning outcome ‘Know how to make a referral’ was met",
        "trainer": "Select how you would rate the trainer",
        "materials": "Select how you would rate the course materials",
        "venue": "Select how you would rate the venue or the online delivery",
        "overall": "Select how you would rate this course overall",
        "do_differently": "Enter what you will do differently in your practice",
    }


def test_submit_requires_an_answer_for_every_learning_outcome():
    booking = attended_booking(session=past_session(course=CourseFactory(learning_outcomes="\n".join(OUTCOMES))))
    errors = _errors(booking, Stage.AFTER, valid_answers(Stage.AFTER) | {"outcomes": {1: "partly"}})
    assert errors == {"outcome_2": "Select whether the learning outcome ‘Know how to make a referral’ was met"}


@pytest.mark.parametrize("outcomes", [{3: "met"}, {0: "met"}, {"1": "met"}, ["met", "met"]])
def test_answers_for_outcomes_the_course_does_not_have_are_refused(outcomes):
    booking = attended_booking(session=past_session(course=CourseFactory(learning_outcomes="\n".join(OUTCOMES))))
    errors = _errors(booking, Stage.AFTER, valid_answers(Stage.AFTER) | {"outcomes": outcomes}, submit=False)
    assert list(errors) == ["outcome_1"]


def test_unknown_questions_and_overlong_text_are_refused():
    booking = BookingFactory()
    errors = _errors(booking, Stage.BEFORE, valid_answers(Stage.BEFORE) | {"salary": "1",
                                                                           "learning_needs": "x" * 5001})
    assert set(errors) == {"salary", "learning_needs"}
    assert errors["learning_needs"] == "Your answer must be 5000 characters or fewer"


# ---------------------------------------------------------------------------
# Question set versions
# ---------------------------------------------------------------------------

def test_current_question_set_creates_version_1_from_the_definitions_once():
    from training.db import write_transaction

    with write_transaction():
        first = services.current_question_set(Stage.AFTER)
    with write_transaction():
        again = services.current_question_set(Stage.AFTER)
    assert first.id == again.id and first.version == 1
    assert [q.key for q in first.questions] == [d.key for d in DEFAULT_QUESTIONS[Stage.AFTER]]
    assert [q.key for q in first.questions] == ["knowledge", "confidence", "outcomes", "trainer", "materials",
                                                "venue", "overall", "do_differently", "comments"]
    assert db.session.scalar(select(func.count(QuestionSet.id))) == 1


def test_keys_are_the_contract_results_depend_on():
    keys = {stage: [d.key for d in DEFAULT_QUESTIONS[stage]] for stage in Stage}
    assert keys[Stage.BEFORE][:2] == ["knowledge", "confidence"]
    kinds = {d.key: d.kind for d in DEFAULT_QUESTIONS[Stage.AFTER]}
    assert kinds["outcomes"] == QuestionKind.OUTCOMES and kinds["overall"] == QuestionKind.OVERALL
    assert keys[Stage.FOLLOW_UP] == ["impact", "impact_example", "shared_with_team", "manager_agrees",
                                     "manager_name"]


def test_a_question_set_changed_mid_year_keeps_old_answers_on_the_old_version():
    old_booking, new_booking = BookingFactory(), BookingFactory()
    old = services.save(booking_id=old_booking.id, stage=Stage.BEFORE, actor=old_booking.user,
                        answers=valid_answers(Stage.BEFORE), now=utcnow(), submit=True)
    changed = [
        QuestionDefinition("knowledge", QuestionKind.RATING, "How much do you know about this subject?",
                           low_label="nothing", high_label="a great deal"),
        QuestionDefinition("confidence", QuestionKind.RATING, "How confident are you to act?",
                           low_label="not confident", high_label="very confident"),
        QuestionDefinition("learning_needs", QuestionKind.TEXT, "What do you need from this course?", required=False),
    ]
    version_2 = services.new_question_set_version(Stage.BEFORE, changed, utcnow(), note="Reworded for 2026")
    assert version_2.version == 2

    old = reload(old)
    assert old.question_set.version == 1
    assert [r.question for r in services.answer_rows(old)][0] == "How would you rate your knowledge of this subject?"

    new = services.save(booking_id=new_booking.id, stage=Stage.BEFORE, actor=new_booking.user,
                        answers={"knowledge": 4, "confidence": 5}, now=utcnow(), submit=True)
    new = reload(new)
    assert new.question_set_id == version_2.id
    assert {a.question.question_set_id for a in new.answers} == {version_2.id}
    assert services.answer_rows(new)[0].question == "How much do you know about this subject?"
    assert services.answer_rows(new)[2].answer == "Not answered"


def test_a_draft_started_on_the_old_version_is_finished_on_it():
    booking = BookingFactory()
    draft = services.save(booking_id=booking.id, stage=Stage.BEFORE, actor=booking.user, answers={"knowledge": 1},
                          now=utcnow(), submit=False)
    services.new_question_set_version(Stage.BEFORE, DEFAULT_QUESTIONS[Stage.BEFORE], utcnow())
    done = services.save(draft.id, actor=booking.user, answers=valid_answers(Stage.BEFORE), now=utcnow(),
                         submit=True)
    assert reload(done).question_set.version == 1


def test_a_new_version_needs_unique_keys():
    with pytest.raises(ValueError):
        services.new_question_set_version(Stage.BEFORE, [DEFAULT_QUESTIONS[Stage.BEFORE][0]] * 2, utcnow())


# ---------------------------------------------------------------------------
# Outstanding forms and non-respondents
# ---------------------------------------------------------------------------

def _outstanding(user) -> set[tuple[int, Stage]]:
    return {(f.booking_id, f.stage) for f in services.outstanding_for(user, utcnow()).items}


def test_outstanding_forms_are_those_open_now_and_not_submitted():
    person = UserFactory()
    upcoming = BookingFactory(user=person)
    waiting = BookingFactory(user=person, status=BookingStatus.WAITLISTED,
                             session=SessionFactory(starts_at=upcoming.session.starts_at + timedelta(days=10)))
    recent = attended_booking(user=person)
    long_ago = attended_booking(user=person, ended_days_ago=60, outcome=AttendanceOutcome.PARTIAL)
    attended_booking(user=person, outcome=AttendanceOutcome.DID_NOT_ATTEND)
    BookingFactory(user=person, status=BookingStatus.CANCELLED)
    BookingFactory()  # someone else's
    assert _outstanding(person) == {
        (upcoming.id, Stage.BEFORE), (waiting.id, Stage.BEFORE), (recent.id, Stage.AFTER),
        (long_ago.id, Stage.AFTER), (long_ago.id, Stage.FOLLOW_UP),
    }
    services.save(booking_id=upcoming.id, stage=Stage.BEFORE, actor=person, answers={"knowledge": 3},
                  now=utcnow(), submit=False)
    services.save(booking_id=long_ago.id, stage=Stage.AFTER, actor=person,
                  answers=valid_answers(Stage.AFTER), now=utcnow(), submit=True)
    forms = services.outstanding_for(person, utcnow()).items
    assert [(f.booking_id, f.stage) for f in forms] == [
        # Before-course forms first, the one closing soonest first; then the latest course first.
        (upcoming.id, Stage.BEFORE), (waiting.id, Stage.BEFORE), (recent.id, Stage.AFTER),
        (long_ago.id, Stage.FOLLOW_UP),
    ]
    assert [f.started for f in forms] == [True, False, False, False]
    assert forms[0].closes_at == upcoming.session.starts_at
    assert [f.closes_at for f in forms[2:]] == [None, None]
    assert forms[2].course_title == recent.session.course.title


def test_outstanding_forms_agree_with_each_forms_own_state():
    """The list's query and the form page's rules must never disagree about what is open."""
    person = UserFactory()
    bookings = [
        BookingFactory(user=person), BookingFactory(user=person, status=BookingStatus.OFFERED),
        BookingFactory(user=person, status=BookingStatus.CANCELLED),
        BookingFactory(user=person, session=SessionFactory(status=SessionStatus.CANCELLED)),
        attended_booking(user=person), attended_booking(user=person, ended_days_ago=41),
        attended_booking(user=person, ended_days_ago=43, outcome=AttendanceOutcome.PARTIAL),
        attended_booking(user=person, ended_days_ago=4000),
        attended_booking(user=person, outcome=AttendanceOutcome.DID_NOT_ATTEND, ended_days_ago=60),
    ]
    services.save(booking_id=bookings[-2].id, stage=Stage.AFTER, actor=person,
                  answers=valid_answers(Stage.AFTER), now=utcnow(), submit=True)
    now = utcnow()
    listed = _outstanding(person)
    expected = {(b.id, stage) for b in bookings for stage in Stage
                if services.form_state(b, stage, now).open and not services.has_submitted(b.id, stage)}
    assert listed == expected
    assert len(expected) == 7


def test_outstanding_forms_come_a_page_at_a_time():
    person = UserFactory()
    bookings = [attended_booking(user=person, ended_days_ago=days) for days in (1, 2, 3, 4, 5)]
    first = services.outstanding_for(person, utcnow(), per_page=2)
    assert first.total == 5 and first.pages == 3
    assert [f.booking_id for f in first.items] == [bookings[0].id, bookings[1].id]
    last = services.outstanding_for(person, utcnow(), page=99, per_page=2)
    assert last.number == 3 and [f.booking_id for f in last.items] == [bookings[4].id]


def _count_outstanding_queries(person_id: int) -> tuple[int, int]:
    db.session.commit()
    db.session.expunge_all()
    person = db.session.get(User, person_id)
    with recorded_statements() as statements:
        page = services.outstanding_for(person, utcnow(), per_page=100)
    return len(statements.queries), len(page.items)


def test_outstanding_for_uses_the_same_number_of_queries_for_2_or_10_bookings():
    person = UserFactory()
    person_id = person.id
    for _ in range(2):
        BookingFactory(user=person)
    few, shown = _count_outstanding_queries(person_id)
    assert shown == 2
    person = db.session.get(User, person_id)
    for _ in range(4):
        BookingFactory(user=person)
        booking = attended_booking(user=person, ended_days_ago=60)
        services.save(booking_id=booking.id, stage=Stage.AFTER, actor=person, answers={"knowledge": 3},
                      now=utcnow(), submit=False)
    many, shown = _count_outstanding_queries(person_id)
    assert shown == 6 + 4 * 2
    assert many == few == 1


def test_non_respondents_lists_who_could_respond_and_has_not():
    agency_person = UserFactory(name="Ada Ahmed", email="ada@example.org")
    session = SessionFactory()
    ada = BookingFactory(session=session, user=agency_person)
    ben = BookingFactory(session=session, user=UserFactory(name="Ben Brown"))
    cat = BookingFactory(session=session, user=UserFactory(name="Cat Cole"), status=BookingStatus.WAITLISTED)
    BookingFactory(session=session, status=BookingStatus.CANCELLED)
    services.save(booking_id=ben.id, stage=Stage.BEFORE, actor=ben.user, answers=valid_answers(Stage.BEFORE),
                  now=utcnow(), submit=True)
    services.save(booking_id=cat.id, stage=Stage.BEFORE, actor=cat.user, answers={}, now=utcnow(), submit=False)

    result = services.non_respondents(session.id, Stage.BEFORE, utcnow())
    assert result.count == 2 and result.eligible == 3 and result.submitted == 1 and result.open_now
    assert [(p.name, p.email, p.agency, p.started) for p in result.people] == [
        ("Ada Ahmed", "ada@example.org", ada.user.agency.name, False),
        ("Cat Cole", cat.user.email, cat.user.agency.name, True),
    ]
    after = services.non_respondents(session.id, Stage.AFTER, utcnow())
    assert after.count == 0 and after.eligible == 0


def test_non_respondents_after_the_course_are_the_attendees_without_a_submitted_form(app):
    session = past_session(ended_days_ago=3)
    came = attended_booking(session=session)
    partly = attended_booking(session=session, outcome=AttendanceOutcome.PARTIAL)
    attended_booking(session=session, outcome=AttendanceOutcome.DID_NOT_ATTEND)
    services.save(booking_id=came.id, stage=Stage.AFTER, actor=came.user, answers=valid_answers(Stage.AFTER),
                  now=utcnow(), submit=True)
    after = services.non_respondents(session.id, Stage.AFTER, utcnow())
    assert [p.booking_id for p in after.people] == [partly.id] and after.eligible == 2
    follow_up = services.non_respondents(session.id, Stage.FOLLOW_UP, utcnow())
    assert follow_up.count == 2 and not follow_up.open_now
    assert follow_up.opens_at == session.ends_at + timedelta(weeks=app.config["FOLLOW_UP_WEEKS"])
    before = services.non_respondents(session.id, Stage.BEFORE, utcnow())
    assert not before.open_now
