"""The demo-data command: a realistic, consistent partnership that the services accept."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from unittest.mock import patch

import pytest
from sqlalchemy import func, select

from tests.factories import AgencyFactory
from tests.sql import recorded_statements
from training.accounts.models import Agency, Role, Sector, User
from training.attendance.models import PRESENT_OUTCOMES, Attendance, AttendanceOutcome, Register
from training.booking.models import ACTIVE_STATUSES, Booking, BookingStatus
from training.booking.services import (
    accept_offer,
    cancellation_deadline,
    expire_offers,
    my_training,
    transfer_booking,
    waiting_list_position,
)
from training.catalogue.models import Course, CourseFormat, CourseSession, Level, SessionKind, SessionStatus
from training.catalogue.services import default_booking_close
from training.certificates.services import CertificateState, certificate_page, states_for_person
from training.db import UTCDateTime, utcnow
from training.demo import (
    COLLEAGUE_EMAIL,
    COORDINATOR_EMAIL,
    DEMO_PASSWORD,
    PROFESSIONAL_EMAIL,
    TRAINER_EMAIL,
    load_demo_data,
)
from training.evaluation.models import (
    Answer,
    Evaluation,
    EvaluationStatus,
    OverallRating,
    QualityReview,
    QuestionKind,
    QuestionSet,
    ReviewStatus,
    Stage,
)
from training.evaluation.results import low_rating_share, results_for, session_scope
from training.evaluation.reviews import breaches_threshold, review_queue
from training.evaluation.services import non_respondents, outstanding_for
from training.extensions import db
from training.timeutil import is_working_day, to_london

LONDON_STARTS = {time(9, 30), time(10, 0), time(13, 30), time(14, 0)}


@pytest.fixture
def demo(runner):
    """The demo loaded through the command, as `make run` does."""
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert "Loaded demo data" in result.output
    db.session.expire_all()
    return result


def _user(email: str) -> User:
    return db.session.scalar(select(User).where(User.email == email))


def _sessions() -> list[CourseSession]:
    return list(db.session.scalars(select(CourseSession).order_by(CourseSession.starts_at)))


def _row_counts() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in db.metadata.sorted_tables}


def _open_register(trainer: User, now: datetime) -> CourseSession:
    """The one session of `trainer` that has started and whose register is not complete."""
    completed = {r.session_id for r in db.session.scalars(select(Register)) if r.is_complete}
    [session] = [s for s in _sessions() if s.is_trainer(trainer) and s.has_started(now) and s.id not in completed]
    return session


def _days_apart(session: CourseSession, now: datetime) -> str:
    started_on, today = to_london(session.starts_at).date(), to_london(now).date()
    if started_on == today:
        return "same day"
    between = [started_on + timedelta(days=n) for n in range(1, (today - started_on).days)]
    if started_on < today and not any(is_working_day(day) for day in between):
        return "last working day"
    return f"{started_on} is too long before {today}"


def test_agencies_cover_every_sector(demo):
    agencies = db.session.scalars(select(Agency)).all()
    assert 25 <= len(agencies) <= 35
    assert {a.sector for a in agencies} == set(Sector)
    staffed = set(db.session.scalars(select(User.agency_id).distinct()))
    assert staffed == {a.id for a in agencies}


def test_courses_are_complete_catalogue_entries(demo):
    courses = db.session.scalars(select(Course)).all()
    assert 22 <= len(courses) <= 28
    for course in courses:
        assert len(course.summary) > 100, course.title
        assert 3 <= len(course.outcomes) <= 5, course.title
        assert course.themes, course.title
        assert course.duration_minutes > 0
        assert course.refresher_months is None or course.refresher_months > 0
    assert {Level.LEVEL_1, Level.LEVEL_2, Level.LEVEL_3, Level.DSL, Level.SPECIALIST} <= {c.level for c in courses}
    assert {CourseFormat.FACE_TO_FACE, CourseFormat.VIRTUAL, CourseFormat.WORKSHOP} <= {c.format for c in courses}


def test_workshop_courses_run_workshops_and_the_rest_training_sessions(demo):
    """The annual report counts them apart, so the demo has past sessions of both types."""
    kinds = dict(db.session.execute(
        select(Course.format, func.count(CourseSession.id.distinct()))
        .join(CourseSession, CourseSession.course_id == Course.id)
        .where(CourseSession.kind == SessionKind.WORKSHOP)
        .group_by(Course.format)).all())
    assert set(kinds) == {CourseFormat.WORKSHOP}
    mismatched = db.session.scalar(
        select(func.count(CourseSession.id)).join(Course, Course.id == CourseSession.course_id)
        .where(Course.format == CourseFormat.WORKSHOP, CourseSession.kind != SessionKind.WORKSHOP))
    assert mismatched == 0
    past = dict(db.session.execute(
        select(CourseSession.kind, func.count(CourseSession.id))
        .where(CourseSession.starts_at < utcnow(), CourseSession.status == SessionStatus.SCHEDULED)
        .group_by(CourseSession.kind)).all())
    assert past.get(SessionKind.WORKSHOP, 0) >= 2 and past.get(SessionKind.TRAINING, 0) > past[SessionKind.WORKSHOP]


def test_people_and_demo_accounts(demo):
    people = db.session.scalars(select(User)).all()
    assert 150 <= len(people) <= 260
    assert all(p.has_role(Role.PROFESSIONAL) for p in people)
    coordinator, trainer = _user(COORDINATOR_EMAIL), _user(TRAINER_EMAIL)
    professional, colleague = _user(PROFESSIONAL_EMAIL), _user(COLLEAGUE_EMAIL)
    assert coordinator.roles == {Role.PROFESSIONAL, Role.COORDINATOR}
    assert trainer.roles == {Role.PROFESSIONAL, Role.TRAINER}
    assert professional.roles == {Role.PROFESSIONAL}
    assert colleague.agency_id == professional.agency_id  # so a place can be transferred
    for account in (coordinator, trainer, professional, colleague):
        assert account.check_password(DEMO_PASSWORD)
        assert not account.check_password(DEMO_PASSWORD.upper())
    assert [p for p in people if p.is_coordinator] == [coordinator]
    assert sum(p.is_trainer for p in people) >= 8
    # Hashed once: every account shares the one hash.
    assert len({p.password_hash for p in people}) == 1
    assert len({p.email for p in people}) == len(people)


def test_a_year_of_past_sessions_with_completed_registers(demo):
    now = utcnow()
    past = [s for s in _sessions() if s.ends_at < now]
    # The training needs analysis demo adds a few online sessions two to four years ago, so some
    # people are due a refresher or overdue; the rest is one year of the programme.
    older = [s for s in past if now - s.starts_at >= timedelta(days=372)]
    assert 1 <= len(older) <= 4 and all(s.online_link and now - s.starts_at > timedelta(days=600) for s in older)
    past = [s for s in past if s not in older]
    assert len(past) >= 40
    assert now - past[0].starts_at > timedelta(days=300)
    assert now - past[0].starts_at < timedelta(days=372)
    registers = {r.session_id: r for r in db.session.scalars(select(Register))}
    # All but the demo trainer's latest session, whose register is still to take.
    assert len([s for s in past if s.id not in registers]) <= 1
    past = [s for s in past if s.id in registers]
    attendances = db.session.scalars(select(Attendance)).all()
    by_session = Counter(a.session_id for a in attendances)
    for session in past:
        assert registers[session.id].is_complete
        assert registers[session.id].completed_at >= session.ends_at
        assert by_session[session.id] > 0
    outcomes = Counter(a.outcome for a in attendances)
    assert outcomes[AttendanceOutcome.ATTENDED] > outcomes[AttendanceOutcome.DID_NOT_ATTEND] > 0
    assert outcomes[AttendanceOutcome.PARTIAL] > 0
    walk_ins = [a for a in attendances if a.walk_in]
    assert walk_ins and all(a.booking_id is None for a in walk_ins)
    assert any(a.user_id is None for a in walk_ins)  # someone without an account
    # Every confirmed place on a past session has exactly one register entry, in the person's agency.
    booked = {a.booking_id: a for a in attendances if a.booking_id is not None}
    past_ids = {s.id for s in past}
    confirmed = db.session.scalars(
        select(Booking).where(Booking.session_id.in_(past_ids), Booking.status == BookingStatus.CONFIRMED)
    ).all()
    assert {b.id for b in confirmed} == set(booked)
    assert all(booked[b.id].agency_id == b.user.agency_id for b in confirmed)
    late = db.session.scalars(select(Booking).where(Booking.status == BookingStatus.LATE_CANCELLED)).all()
    assert 0 < len(late) < len(confirmed) / 10


def test_a_term_of_upcoming_sessions_in_every_state(demo):
    now = utcnow()
    upcoming = [s for s in _sessions() if s.starts_at > now]
    assert 20 <= len(upcoming) <= 35
    assert all(s.starts_at - now < timedelta(days=125) for s in upcoming)
    live = [s for s in upcoming if s.status == SessionStatus.SCHEDULED]
    virtual = [s for s in live if s.online_link]
    assert virtual and all(s.online_link.startswith("https://") for s in virtual)
    assert all(s.course.format == CourseFormat.VIRTUAL and s.venue is None for s in virtual)
    assert all(s.venue for s in live if not s.online_link)
    assert len([s for s in live if 1 <= s.places_left <= 2]) >= 2
    [cancelled] = [s for s in upcoming if s.status == SessionStatus.CANCELLED]
    assert cancelled.cancellation_reason and cancelled.cancelled_at < now
    assert cancelled.places_taken == 0
    released = db.session.scalars(select(Booking).where(Booking.session_id == cancelled.id)).all()
    assert released and {b.status for b in released} <= {BookingStatus.SESSION_CANCELLED, BookingStatus.CANCELLED}
    assert BookingStatus.SESSION_CANCELLED in {b.status for b in released}


def test_full_session_has_an_ordered_waiting_list(demo):
    waiting = db.session.scalars(
        select(Booking).where(Booking.status == BookingStatus.WAITLISTED).order_by(Booking.id)
    ).all()
    with_offers = set(
        db.session.scalars(select(Booking.session_id).where(Booking.status == BookingStatus.OFFERED))
    )
    [full_id] = {b.session_id for b in waiting} - with_offers
    full = db.session.get(CourseSession, full_id)
    assert full.is_full and full.status == SessionStatus.SCHEDULED
    queue = [b for b in waiting if b.session_id == full_id]
    assert len(queue) >= 3
    assert [waiting_list_position(b) for b in queue] == list(range(1, len(queue) + 1))
    assert [b.queued_at for b in queue] == sorted(b.queued_at for b in queue)
    confirmed = db.session.scalars(
        select(Booking).where(Booking.session_id == full_id, Booking.status == BookingStatus.CONFIRMED)
    ).all()
    # The queue formed after the places had gone.
    assert max(b.created_at for b in confirmed) < min(b.created_at for b in queue)


def test_places_taken_matches_the_bookings_of_every_session(demo):
    held = dict(db.session.execute(
        select(Booking.session_id, func.count()).where(Booking.holds_place).group_by(Booking.session_id)
    ).all())
    sessions = _sessions()
    assert sessions
    for session in sessions:
        assert session.places_taken == held.get(session.id, 0), session.id
        assert session.places_taken <= session.capacity
    active = Counter(
        (b.session_id, b.user_id) for b in db.session.scalars(select(Booking).where(Booking.is_active))
    )
    assert max(active.values()) == 1


def test_demo_professional_has_training_in_every_state(demo):
    now = utcnow()
    professional = _user(PROFESSIONAL_EMAIL)
    training = my_training(professional, now)
    assert len(training.upcoming) >= 2
    assert any(now >= cancellation_deadline(b.session) for b in training.upcoming)  # a late one to try
    assert [position for _b, position in training.waiting] == [2]
    assert len(training.offers) == 1
    assert training.past.total >= 3
    assert expire_offers(now) == 0  # the offer is open, not already lapsed
    # The services accept the demo's state: the offer can be taken up and a place transferred.
    offer = training.offers[0]
    assert accept_offer(offer.id, professional, now=now).status == BookingStatus.CONFIRMED
    transferred = transfer_booking(training.upcoming[-1].id, professional, COLLEAGUE_EMAIL, now=now)
    assert transferred.user.email == COLLEAGUE_EMAIL


def test_demo_trainer_has_a_register_to_take_and_sessions_ahead(demo):
    now = utcnow()
    trainer = _user(TRAINER_EMAIL)
    mine = [s for s in _sessions() if s.is_trainer(trainer)]
    open_register = _open_register(trainer, now)
    assert _days_apart(open_register, now) in ("same day", "last working day")
    assert open_register.status == SessionStatus.SCHEDULED
    assert open_register.places_taken > 0
    assert not db.session.scalar(select(func.count()).select_from(Attendance)
                                 .where(Attendance.session_id == open_register.id))
    assert len([s for s in mine if s.starts_at > now and not s.is_cancelled]) >= 3
    assert len([s for s in mine if s.ends_at < now]) >= 5


def test_sessions_run_at_london_wall_clock_times(demo):
    sessions = _sessions()
    assert {to_london(s.starts_at).time() for s in sessions} <= LONDON_STARTS
    # Both sides of the clock changes: a London time stored unconverted would break the line above.
    assert {to_london(s.starts_at).utcoffset() for s in sessions} == {timedelta(0), timedelta(hours=1)}
    for session in sessions:
        assert session.ends_at - session.starts_at == timedelta(minutes=session.course.duration_minutes)
        assert session.booking_closes_at == default_booking_close(session.starts_at)  # as the catalogue sets it
        assert to_london(session.starts_at).weekday() < 5


def test_every_stored_datetime_is_aware_utc_and_in_order(demo):
    now = utcnow()
    checked = 0
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, UTCDateTime):
                for value in db.session.scalars(select(column).where(column.isnot(None))):
                    assert value.tzinfo is not None and value.utcoffset() == timedelta(0), column
                    assert value < now + timedelta(days=130), column
                    checked += 1
    assert checked > 5000
    for booking in db.session.scalars(select(Booking)):
        assert booking.created_at <= booking.status_changed_at <= now
        assert booking.created_at < booking.session.starts_at
        assert booking.user.created_at < booking.created_at


def test_loads_without_a_query_per_row(runner):
    # The needs and compliance demos add a fixed handful of groups and returns through their
    # own services (tested in their areas); this is about the partnership's bulk data.
    with recorded_statements() as statements, patch("training.demo.add_needs_demo"), \
            patch("training.demo.add_demo_returns"):
        result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Booking)) > 1000
    # Only inserts scale with the data: nothing is looked up or updated row by row. The three
    # question sets are got or created as the forms do it (a select and a savepoint each), and
    # the due certificates are issued in one batch (a few selects and a savepoint).
    others = [s for s in statements if not s.lstrip().upper().startswith("INSERT")]
    assert len(others) < 25, others


def test_if_empty_loads_into_an_empty_database(runner):
    result = runner.invoke(args=["demo-data", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count()).select_from(Agency)) >= 25


def test_if_empty_second_run_changes_nothing(demo, runner):
    before = _row_counts()
    result = runner.invoke(args=["demo-data", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "not loaded" in result.output
    assert _row_counts() == before


def test_refuses_a_database_already_in_use(runner):
    AgencyFactory(name="Real agency")
    before = _row_counts()
    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 1
    assert "already has agencies" in result.output
    assert _row_counts() == before


def test_refuses_to_load_in_production(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    result = runner.invoke(args=["demo-data", "--if-empty"])
    assert result.exit_code == 1
    assert "production" in result.output
    assert db.session.scalar(select(func.count()).select_from(Agency)) == 0


def _fingerprint() -> tuple:
    # Sorted by content, not read in id or start order: two sessions can start at the same time,
    # and the database may return ties in any order.
    sessions = tuple(sorted(
        ((s.course.title, s.starts_at, s.capacity, s.places_taken, s.status, s.venue, s.online_link)
         for s in _sessions()),
        key=lambda row: (row[0], row[1], row[2], row[3], row[4].value, row[5] or "", row[6] or ""),
    ))
    people = tuple(sorted((u.email, u.name, u.agency.name, u.job_title) for u in db.session.scalars(select(User))))
    bookings = tuple(sorted(
        (b.session.course.title, b.session.starts_at, b.user.email, b.status, b.created_at)
        for b in db.session.scalars(select(Booking))
    ))
    evaluations = tuple(sorted(
        (e.booking.user.email, e.session.starts_at, e.stage, e.status, e.created_at, e.submitted_at,
         tuple((a.question.key, a.outcome_index, a.rating, a.choice, a.text, a.quotable) for a in e.answers))
        for e in db.session.scalars(select(Evaluation))
    ))
    reviews = tuple(sorted(
        (r.course.title, r.created_at, r.status, r.session.starts_at if r.session else None, r.reason)
        for r in db.session.scalars(select(QualityReview))
    ))
    return sessions, people, bookings, evaluations, reviews


def test_same_day_loads_are_identical(app):
    now = datetime(2026, 3, 27, 11, 0, tzinfo=UTC)  # the Friday before the clocks go forward
    load_demo_data(now=now)
    first = _fingerprint()
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())
    load_demo_data(now=now)
    assert _fingerprint() == first
    assert {status for *_rest, status, _at in first[2]} >= set(ACTIVE_STATUSES)


@pytest.mark.parametrize("now", [
    datetime(2026, 3, 29, 1, 30, tzinfo=UTC),  # the night the clocks go forward
    datetime(2026, 4, 6, 8, 0, tzinfo=UTC),  # Easter Monday morning, after a four-day weekend
    datetime(2026, 12, 24, 9, 0, tzinfo=UTC),  # Christmas Eve, before the morning session has begun
])
def test_demo_states_whatever_the_date(now):
    load_demo_data(now=now)
    training = my_training(_user(PROFESSIONAL_EMAIL), now)
    assert [position for _b, position in training.waiting] == [2]
    assert len(training.offers) == 1 and expire_offers(now) == 0
    assert any(now >= cancellation_deadline(b.session) for b in training.upcoming)
    # None of these is after 10:30am on a working day, so the session began on an earlier day.
    assert _days_apart(_open_register(_user(TRAINER_EMAIL), now), now) == "last working day"
    assert [f.stage for f in outstanding_for(_user(PROFESSIONAL_EMAIL), now).items].count(Stage.AFTER) == 1
    assert db.session.scalar(select(func.count()).select_from(QualityReview).where(
        QualityReview.automatic, QualityReview.status == ReviewStatus.OPEN, QualityReview.session_id.is_not(None),
    )) == 1


# ---------------------------------------------------------------------------
# Evaluations, quality reviews and certificates
# ---------------------------------------------------------------------------

def _evaluations() -> list[Evaluation]:
    return list(db.session.scalars(select(Evaluation).order_by(Evaluation.id)))


def _after_counts() -> Counter:
    """Submitted after-course forms by session id."""
    return Counter(db.session.scalars(select(Evaluation.session_id).where(
        Evaluation.stage == Stage.AFTER, Evaluation.status == EvaluationStatus.SUBMITTED)))


def test_evaluations_are_for_past_sessions_and_their_attendees(demo, app):
    now = utcnow()
    evaluations = _evaluations()
    assert len(evaluations) > 1000
    assert {(qs.stage, qs.version) for qs in db.session.scalars(select(QuestionSet))} == {(s, 1) for s in Stage}
    outcomes = {a.booking_id: a.outcome for a in db.session.scalars(select(Attendance)) if a.booking_id}
    follow_up_weeks = timedelta(weeks=app.config["FOLLOW_UP_WEEKS"])
    states = Counter((e.stage, e.status) for e in evaluations)
    for stage in Stage:
        assert states[stage, EvaluationStatus.SUBMITTED] > 5 * states[stage, EvaluationStatus.DRAFT] > 0, stage
    for evaluation in evaluations:
        booking, session = evaluation.booking, evaluation.session
        assert evaluation.session_id == booking.session_id
        assert session.ends_at < now and booking.id in outcomes  # a past session with its register taken
        assert evaluation.question_set.stage == evaluation.stage
        assert evaluation.created_at <= evaluation.updated_at < now
        if evaluation.status == EvaluationStatus.SUBMITTED:
            assert evaluation.submitted_at == evaluation.updated_at
        else:
            assert evaluation.submitted_at is None
        if evaluation.stage == Stage.BEFORE:
            assert booking.created_at <= evaluation.created_at and evaluation.updated_at < session.starts_at
        else:
            assert outcomes[booking.id] in PRESENT_OUTCOMES  # only people marked attended or partially attended
            assert evaluation.created_at >= session.ends_at
        if evaluation.stage == Stage.FOLLOW_UP:
            assert evaluation.created_at >= session.ends_at + follow_up_weeks
    # Submitted forms answer every required question, and every learning outcome of the course.
    for evaluation in evaluations:
        if evaluation.status != EvaluationStatus.SUBMITTED:
            continue
        keys = Counter(a.question.key for a in evaluation.answers)
        required = {q.key for q in evaluation.question_set.questions if q.required}
        assert required <= set(keys), evaluation.id
        outcome_questions = [q for q in evaluation.question_set.questions if q.kind == QuestionKind.OUTCOMES]
        if outcome_questions:
            assert keys["outcomes"] == len(evaluation.session.course.outcomes)
    # Not everyone responds: the non-respondents lists and response rates have something to show.
    after = _after_counts()
    present = sum(1 for outcome in outcomes.values() if outcome in PRESENT_OUTCOMES)
    assert 0.6 < sum(after.values()) / present < 0.95
    assert any(non_respondents(session_id, Stage.AFTER, now).count for session_id in after)


def test_ratings_are_mostly_good_with_a_few_quotable_comments(demo):
    overall = Counter(db.session.scalars(
        select(Answer.choice).join(Evaluation).where(Evaluation.status == EvaluationStatus.SUBMITTED)
        .where(Answer.question.has(key="overall"))
    ))
    total = sum(overall.values())
    assert overall[OverallRating.EXCELLENT] + overall[OverallRating.GOOD] > 0.8 * total
    assert overall[OverallRating.SATISFACTORY] > overall[OverallRating.POOR] > 0
    quotable = db.session.scalars(select(Answer).where(Answer.quotable)).all()
    assert 2 <= len(quotable) <= 3
    assert all(a.text and a.evaluation.status == EvaluationStatus.SUBMITTED for a in quotable)


def test_results_for_a_demo_session_add_up(demo):
    now = utcnow()
    session_id, responses = _after_counts().most_common(1)[0]
    session = db.session.get(CourseSession, session_id)
    results = results_for(session_scope(session_id))
    assert results.responses == responses
    assert sum(share.count for _rating, share in results.overall) == responses
    assert all(share.total == responses for _rating, share in results.overall)
    assert responses <= results.booked_present
    assert non_respondents(session_id, Stage.AFTER, now).submitted == responses
    outcomes = results.outcomes_met.total
    assert outcomes == responses * len(session.course.outcomes)
    assert results.outcomes_met.count > results.outcomes_partly.count + results.outcomes_not_met.count
    for key in ("trainer", "materials", "venue"):
        assert results.mean(Stage.AFTER, key).count == responses
    knowledge, confidence = results.shifts
    assert knowledge.people > 0 and knowledge.gain > 0 and confidence.gain > 0
    assert results.comments["do_differently"]


def test_poorly_rated_course_has_an_open_review(demo):
    now = utcnow()
    reviews = db.session.scalars(select(QualityReview)).all()
    [flagged] = [r for r in reviews if r.automatic and r.session_id is not None]
    assert flagged.status == ReviewStatus.OPEN and flagged.reason.startswith("Flagged automatically")
    assert breaches_threshold(low_rating_share(session_scope(flagged.session_id)))
    latest = max((s for s in _sessions() if s.course_id == flagged.course_id and s.ends_at < now),
                 key=lambda s: s.starts_at)
    assert flagged.session_id == latest.id
    # No other session was rated badly enough to be flagged.
    assert [s for s in _after_counts() if breaches_threshold(low_rating_share(session_scope(s)))] == [latest.id]
    assert all(r.course_id == flagged.course_id for r in reviews if r.automatic)
    [closed] = [r for r in reviews if r.status == ReviewStatus.CLOSED]
    assert closed.findings and closed.improvements and closed.trainer_response
    assert closed.session.is_trainer(db.session.get(User, closed.trainer_responded_by_id))
    assert (closed.session.ends_at < closed.created_at < closed.actions_agreed_at < closed.trainer_responded_at
            < closed.closed_at < now)
    queue = review_queue()
    assert queue[0].status == ReviewStatus.OPEN and queue[-1].status == ReviewStatus.CLOSED


def test_demo_professional_has_forms_to_fill_in_and_a_certificate(demo):
    now = utcnow()
    professional = _user(PROFESSIONAL_EMAIL)
    outstanding = outstanding_for(professional, now).items
    [after] = [f for f in outstanding if f.stage == Stage.AFTER]
    assert db.session.get(Booking, after.booking_id).session.ends_at < now and not after.started
    assert any(f.stage == Stage.BEFORE and f.starts_at > now for f in outstanding)
    states = states_for_person(professional.id)
    assert states[after.booking_id] == CertificateState.EVALUATION_NEEDED
    available = [booking_id for booking_id, state in states.items() if state == CertificateState.AVAILABLE]
    assert len(available) >= 2
    page = certificate_page(db.session.get(Booking, available[0]), professional)
    assert page.state == CertificateState.AVAILABLE and page.certificate is not None


def test_evaluation_pages_show_the_demo_data(demo, login_as):
    now = utcnow()
    coordinator, professional = _user(COORDINATOR_EMAIL), _user(PROFESSIONAL_EMAIL)
    session_id = _after_counts().most_common(1)[0][0]
    review = db.session.scalars(select(QualityReview).order_by(QualityReview.id)).first()
    as_coordinator = login_as(coordinator)
    for url in ("/results", f"/results/sessions/{session_id}", "/manage/reviews", f"/reviews/{review.id}",
                f"/results/courses/{review.course_id}", f"/manage/sessions/{session_id}/evaluations"):
        assert as_coordinator.get(url).status_code == 200, url
    as_professional = login_as(professional)
    page = as_professional.get("/my-training")
    assert page.status_code == 200
    after = next(f for f in outstanding_for(professional, now).items if f.stage == Stage.AFTER)
    assert as_professional.get(f"/bookings/{after.booking_id}/evaluation/after").status_code == 200
