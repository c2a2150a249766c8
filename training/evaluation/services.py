"""Evaluation forms: when each stage is open, drafts and submission, and who has not responded.

Each write is one user action in one write transaction. The booking row is locked first, so
two saves of the same person's form (a double click, two tabs) take turns, and the
get-or-create of its Evaluation row cannot race.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import CTE, Select, String, and_, bindparam, case, literal, or_, select, union_all
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Agency, User
from ..attendance.models import Attendance, AttendanceOutcome
from ..booking.models import Booking
from ..catalogue.models import Course, CourseSession
from ..catalogue.services import Page, paginate
from ..db import MAX_ID, write_transaction
from ..extensions import db
from ..timeutil import format_date
from . import signals
from .errors import EvaluationLocked, EvaluationNotFound, EvaluationNotOpen, InvalidAnswers  # noqa: F401  (raised here)
from .models import (
    Answer,
    Evaluation,
    EvaluationStatus,
    OutcomeMet,
    OverallRating,
    Question,
    QuestionKind,
    QuestionSet,
    Stage,
)
from .questions import (
    DEFAULT_QUESTIONS,
    NO,
    OUTCOME_LABELS,
    OVERALL_LABELS,
    RATING_VALUES,
    TEXT_MAX,
    YES,
    YES_NO_LABELS,
    QuestionDefinition,
    missing_message,
)

_STAGE_ORDER = {Stage.BEFORE: 0, Stage.AFTER: 1, Stage.FOLLOW_UP: 2}
_NOT_RECOGNISED = "Something on the form was not recognised: refresh the page and try again"


def outcome_field(index: int) -> str:
    """The form field name for the answer to learning outcome `index` (1-based)."""
    return f"outcome_{index}"


# ---------------------------------------------------------------------------
# Question sets
# ---------------------------------------------------------------------------

def _latest_question_set(stage: Stage) -> QuestionSet | None:
    return db.session.scalar(
        select(QuestionSet).where(QuestionSet.stage == stage).order_by(QuestionSet.version.desc()).limit(1)
    )


def _check_definitions(definitions: tuple[QuestionDefinition, ...]) -> None:
    keys = [d.key for d in definitions]
    if not keys:
        raise ValueError("a question set needs at least one question")
    if len(set(keys)) != len(keys):
        raise ValueError("question keys must be unique within a set")


def _build_question_set(stage: Stage, version: int, definitions: tuple[QuestionDefinition, ...],
                        now: datetime | None, note: str | None) -> QuestionSet:
    question_set = QuestionSet(stage=stage, version=version, note=note)
    if now is not None:
        question_set.introduced_at = now
    question_set.questions = [
        Question(key=d.key, kind=d.kind, text=d.text, hint=d.hint, position=position, required=d.required,
                 low_label=d.low_label, high_label=d.high_label)
        for position, d in enumerate(definitions, 1)
    ]
    return question_set


def current_question_set(stage: Stage) -> QuestionSet:
    """The latest version of a stage's questions, creating version 1 if there is none.

    Call inside the caller's write transaction. Two first-ever forms at once may both try to
    create version 1: the unique (stage, version) constraint lets one win, and the other
    reads the winner's, inside a savepoint so the caller's transaction carries on.
    """
    stage = Stage(stage)
    existing = _latest_question_set(stage)
    if existing is not None:
        return existing
    question_set = _build_question_set(stage, 1, DEFAULT_QUESTIONS[stage], None, "Version 1")
    try:
        with db.session.begin_nested():
            db.session.add(question_set)
    except IntegrityError:
        existing = _latest_question_set(stage)
        if existing is None:
            raise
        return existing
    return question_set


def new_question_set_version(stage: Stage, definitions: Iterable[QuestionDefinition], now: datetime,
                             note: str | None = None) -> QuestionSet:
    """Introduce a changed set of questions as the next version; past answers keep theirs."""
    stage = Stage(stage)
    definitions = tuple(definitions)
    _check_definitions(definitions)
    with write_transaction():
        latest = current_question_set(stage)
        question_set = _build_question_set(stage, latest.version + 1, definitions, now, note)
        db.session.add(question_set)
        db.session.flush()
    return question_set


def question_set_for(stage: Stage) -> QuestionSet:
    """The questions a new form for `stage` would ask, for showing a form: never written here.

    Before any form of the stage has been saved there is no stored version yet; the questions
    version 1 will have are shown, unsaved, so a GET changes nothing. Saving a form stores
    version 1 (`current_question_set`), inside that write.
    """
    stage = Stage(stage)
    existing = _latest_question_set(stage)
    if existing is not None:
        return existing
    return _build_question_set(stage, 1, DEFAULT_QUESTIONS[stage], None, "Version 1")


# ---------------------------------------------------------------------------
# When each form is open
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class FormState:
    """Whether a person's form for one stage is open now and, if not, why."""

    open: bool
    reason: str | None = None
    opens_at: datetime | None = None
    closes_at: datetime | None = None


def _follow_up_weeks() -> timedelta:
    return timedelta(weeks=current_app.config["FOLLOW_UP_WEEKS"])


def follow_up_opens_at(session: CourseSession) -> datetime:
    """FOLLOW_UP_WEEKS after the session ends."""
    return session.ends_at + _follow_up_weeks()


def _state(stage: Stage, booking: Booking, outcome: AttendanceOutcome | None, now: datetime) -> FormState:
    # The rules are the models' hybrids, which `_open_forms` uses in SQL; this adds the reasons.
    session = booking.session
    if stage == Stage.BEFORE:
        if session.is_cancelled:
            return FormState(False, "This session was cancelled")
        if not booking.is_active:
            return FormState(False, "This form is for people booked on the course")
        if session.has_started(now):
            return FormState(False, f"This form closed when the course started on {format_date(session.starts_at)}")
        return FormState(True, closes_at=session.starts_at)
    if outcome is None or not outcome.was_present:  # Attendance.was_present, for the outcome read alone
        if outcome == AttendanceOutcome.DID_NOT_ATTEND:
            return FormState(False, "This form is for people who attended the course")
        return FormState(False, "You can fill in this form once the trainer has marked you as attended")
    if stage == Stage.AFTER:
        return FormState(True)
    opens_at = follow_up_opens_at(session)
    if not session.has_ended(now - _follow_up_weeks()):
        return FormState(False, f"You can fill in this form with your line manager from {format_date(opens_at)}",
                         opens_at=opens_at)
    return FormState(True, opens_at=opens_at)


def _attendance_outcome(booking_id: int) -> AttendanceOutcome | None:
    return db.session.scalar(select(Attendance.outcome).where(Attendance.booking_id == booking_id))


def form_state(booking: Booking, stage: Stage, now: datetime) -> FormState:
    """Whether `booking`'s person can fill in the `stage` form now, and why not if not.

    Before: from booking (confirmed, waiting list or offered) until the session starts.
    After: once marked attended or partially attended. Follow-up: FOLLOW_UP_WEEKS after the
    session ends, for people who attended or partially attended.
    """
    stage = Stage(stage)
    outcome = None if stage == Stage.BEFORE else _attendance_outcome(booking.id)
    return _state(stage, booking, outcome, now)


# ---------------------------------------------------------------------------
# Filling in a form
# ---------------------------------------------------------------------------

def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _own_booking(booking_id: int, actor: User, *, lock: bool) -> Booking:
    """The actor's own booking; anyone else's (a coordinator's too) is not found."""
    if not _is_id(booking_id):
        raise EvaluationNotFound()
    stmt = select(Booking).where(Booking.id == booking_id)
    if lock:
        # OF bookings, so the eager joins do not lock the session, course or user rows too.
        stmt = stmt.with_for_update(of=Booking).execution_options(populate_existing=True)
    booking = db.session.execute(stmt).unique().scalar_one_or_none()
    if booking is None or booking.user_id != actor.id:
        raise EvaluationNotFound()
    return booking


def _evaluation(booking_id: int, stage: Stage) -> Evaluation | None:
    return db.session.scalar(
        select(Evaluation).where(Evaluation.booking_id == booking_id, Evaluation.stage == stage)
        .execution_options(populate_existing=True)
    )


def _get_or_create(booking: Booking, stage: Stage, now: datetime) -> Evaluation:
    evaluation = _evaluation(booking.id, stage)
    if evaluation is not None:
        return evaluation
    state = form_state(booking, stage, now)
    if not state.open:
        raise EvaluationNotOpen(state.reason)
    evaluation = Evaluation(
        booking_id=booking.id, session_id=booking.session_id, stage=stage,
        question_set=current_question_set(stage), status=EvaluationStatus.DRAFT,
        created_at=now, updated_at=now,
    )
    db.session.add(evaluation)
    db.session.flush()
    return evaluation


def start_or_get(booking_id: int, stage: Stage, actor: User, now: datetime) -> Evaluation:
    """The actor's form for this booking and stage, started (as an empty draft) if it is open."""
    stage = Stage(stage)
    with write_transaction():
        booking = _own_booking(booking_id, actor, lock=True)
        evaluation = _get_or_create(booking, stage, now)
    return evaluation


def _parse_rating(raw: object) -> int | None:
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit():
        value = int(raw.strip())
    else:
        return None
    return value if value in RATING_VALUES else None


def _parse_choice(raw: object, allowed: Iterable[str]) -> str | None:
    return raw if isinstance(raw, str) and raw in allowed else None


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


_CHOICES = {
    QuestionKind.OVERALL: frozenset(r.value for r in OverallRating),
    QuestionKind.YES_NO: frozenset({YES, NO}),
}


def _parse_answers(question_set: QuestionSet, outcomes: list[str], answers: Mapping[str, object],
                   submit: bool) -> tuple[list[Answer], dict[str, str]]:
    """Check every answer; returns the Answer rows to store, and errors by form field name.

    A draft may leave questions unanswered; a submitted form must answer every required one.
    A value that is not allowed is refused either way.
    """
    rows: list[Answer] = []
    errors: dict[str, str] = {}
    known = {q.key for q in question_set.questions}
    for key in answers:
        if key not in known:
            errors[str(key)] = _NOT_RECOGNISED
    for q in question_set.questions:
        raw = answers.get(q.key)
        if q.kind == QuestionKind.OUTCOMES:
            rows.extend(_parse_outcomes(q, outcomes, raw, submit, errors))
            continue
        if _blank(raw):
            if submit and q.required:
                errors[q.key] = missing_message(q.key, q.kind)
            continue
        if q.kind == QuestionKind.RATING:
            rating = _parse_rating(raw)
            if rating is None:
                errors[q.key] = "Select a rating from 1 to 5"
            else:
                rows.append(Answer(question_id=q.id, outcome_index=0, rating=rating))
        elif q.kind in _CHOICES:
            choice = _parse_choice(raw, _CHOICES[q.kind])
            if choice is None:
                errors[q.key] = missing_message(q.key, q.kind)
            else:
                rows.append(Answer(question_id=q.id, outcome_index=0, choice=choice))
        else:
            if not isinstance(raw, str):
                errors[q.key] = _NOT_RECOGNISED
            elif len(raw.strip()) > TEXT_MAX:
                errors[q.key] = f"Your answer must be {TEXT_MAX} characters or fewer"
            else:
                rows.append(Answer(question_id=q.id, outcome_index=0, text=raw.strip()))
    return rows, errors


def _parse_outcomes(question: Question, outcomes: list[str], raw: object, submit: bool,
                    errors: dict[str, str]) -> list[Answer]:
    """One answer per course learning outcome, keyed 1..n; the outcome's wording is kept."""
    if _blank(raw):
        raw = {}
    if not isinstance(raw, Mapping):
        errors[outcome_field(1)] = _NOT_RECOGNISED
        return []
    allowed = {o.value for o in OutcomeMet}
    if any(not _is_id(index) or index > len(outcomes) for index in raw):
        errors[outcome_field(1)] = _NOT_RECOGNISED
        return []
    rows = []
    for index, text in enumerate(outcomes, 1):
        value = raw.get(index)
        if _blank(value):
            if submit and question.required:
                errors[outcome_field(index)] = f"Select whether the learning outcome ‘{text}’ was met"
            continue
        choice = _parse_choice(value, allowed)
        if choice is None:
            errors[outcome_field(index)] = f"Select whether the learning outcome ‘{text}’ was met"
        else:
            rows.append(Answer(question_id=question.id, outcome_index=index, outcome_text=text, choice=choice))
    return rows


def save(evaluation_id: int | None = None, *, booking_id: int | None = None, stage: Stage | None = None,
         actor: User, answers: Mapping[str, object], now: datetime, submit: bool) -> Evaluation:
    """Save the actor's answers as a draft, or submit them (then the form is locked).

    Name the form by `evaluation_id`, or by `booking_id` and `stage` (it is started if need
    be). Missing or bad answers raise InvalidAnswers and nothing is saved. Submitting sends
    `evaluation_submitted` inside the transaction.
    """
    with write_transaction():
        if evaluation_id is not None:
            found = db.session.get(Evaluation, evaluation_id) if _is_id(evaluation_id) else None
            if found is None:
                raise EvaluationNotFound()
            booking_id, stage = found.booking_id, found.stage
        if booking_id is None or stage is None:
            raise EvaluationNotFound()
        stage = Stage(stage)
        booking = _own_booking(booking_id, actor, lock=True)
        evaluation = _get_or_create(booking, stage, now)
        if evaluation.is_locked:
            raise EvaluationLocked()
        # A draft started while the form was open cannot be finished once it has closed.
        state = form_state(booking, stage, now)
        if not state.open:
            raise EvaluationNotOpen(state.reason)
        outcomes = booking.session.course.outcomes
        rows, errors = _parse_answers(evaluation.question_set, outcomes, answers, submit)
        if errors:
            raise InvalidAnswers(errors)
        # Old rows go first: the unit of work inserts before it deletes, and the new rows
        # would clash with the old on (evaluation, question, outcome).
        evaluation.answers.clear()
        db.session.flush()
        evaluation.answers.extend(rows)
        evaluation.updated_at = now
        if submit:
            evaluation.submit(now)
        db.session.flush()
        if submit:
            signals.evaluation_submitted.send(evaluation, now=now)
    return evaluation


def has_submitted(booking_id: int, stage: Stage) -> bool:
    """Whether the person with this booking has submitted their form for `stage`."""
    return db.session.scalar(
        select(Evaluation.id).where(Evaluation.booking_id == booking_id, Evaluation.stage == Stage(stage),
                                    Evaluation.status == EvaluationStatus.SUBMITTED)
    ) is not None


# ---------------------------------------------------------------------------
# Reading a form
# ---------------------------------------------------------------------------

@dataclass
class FormPage:
    """What the form page shows for one person's booking and stage."""

    booking: Booking
    stage: Stage
    evaluation: Evaluation | None
    state: FormState
    question_set: QuestionSet | None  # None only when the form is closed and was never started
    outcomes: list[str]  # the learning outcomes asked about (as answered, once submitted)


def form_page(booking_id: int, stage: Stage, actor: User, now: datetime) -> FormPage:
    """The actor's form for this booking and stage (EvaluationNotFound if it is not theirs)."""
    stage = Stage(stage)
    booking = _own_booking(booking_id, actor, lock=False)
    evaluation = _evaluation(booking.id, stage)
    state = form_state(booking, stage, now)
    if evaluation is not None:
        question_set = evaluation.question_set
    else:
        # A closed form shows only why, so it needs no questions.
        question_set = question_set_for(stage) if state.open else None
    outcomes = booking.session.course.outcomes
    if evaluation is not None and evaluation.is_locked:
        outcomes = [a.outcome_text or "" for a in evaluation.answers if a.outcome_index]
    return FormPage(booking, stage, evaluation, state, question_set, outcomes)


def form_values(page: FormPage, user: User) -> dict[str, str]:
    """The form's starting values by field name: the saved draft, else helpful prefills."""
    values: dict[str, str] = {}
    if page.evaluation is None:
        if any(q.key == "manager_name" for q in page.question_set.questions) and user.manager_name:
            values["manager_name"] = user.manager_name
        return values
    for answer in page.evaluation.answers:
        name = outcome_field(answer.outcome_index) if answer.outcome_index else answer.question.key
        if answer.rating is not None:
            values[name] = str(answer.rating)
        elif answer.choice is not None:
            values[name] = answer.choice
        elif answer.text is not None:
            values[name] = answer.text
    return values


@dataclass(frozen=True)
class AnswerRow:
    question: str
    answer: str


def _answer_label(question: Question, answer: Answer) -> str:
    if question.kind == QuestionKind.RATING:
        return f"{answer.rating} out of 5"
    if question.kind == QuestionKind.OVERALL:
        return OVERALL_LABELS.get(answer.choice, answer.choice or "")
    if question.kind == QuestionKind.OUTCOMES:
        return OUTCOME_LABELS.get(answer.choice, answer.choice or "")
    if question.kind == QuestionKind.YES_NO:
        return YES_NO_LABELS.get(answer.choice, answer.choice or "")
    return answer.text or ""


def answer_rows(evaluation: Evaluation) -> list[AnswerRow]:
    """Each question of the version answered, with the answer given, in order."""
    by_question: dict[int, list[Answer]] = {}
    for answer in evaluation.answers:
        by_question.setdefault(answer.question_id, []).append(answer)
    rows = []
    for question in evaluation.question_set.questions:
        given = sorted(by_question.get(question.id, []), key=lambda a: a.outcome_index)
        if question.kind == QuestionKind.OUTCOMES:
            rows.extend(AnswerRow(f"Learning outcome: {a.outcome_text}", _answer_label(question, a)) for a in given)
        else:
            rows.append(AnswerRow(question.text, _answer_label(question, given[0]) if given else "Not answered"))
    return rows


# ---------------------------------------------------------------------------
# Lists: a person's outstanding forms, a session's non-respondents
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class OutstandingForm:
    """A form the person can fill in now and has not submitted: a row of My training's list."""

    booking_id: int
    stage: Stage
    course_title: str
    starts_at: datetime
    started: bool  # a draft is saved

    @property
    def closes_at(self) -> datetime | None:
        """Before-course forms close when the course starts; the others stay open."""
        return self.starts_at if self.stage == Stage.BEFORE else None


def _bookings_for_forms() -> CTE:
    """The person's bookings (parameter `user_id`) with what the forms' rules need, read once
    for all three stages: three reads of the bookings made PostgreSQL's estimate three times
    too dear, and it started parallel workers that cost more than the query."""
    return (
        select(Booking.id.label("booking_id"), Booking.is_active.label("active"),
               CourseSession.is_cancelled.label("cancelled"),
               CourseSession.has_started(bindparam("now")).label("started"),
               CourseSession.has_ended(bindparam("follow_up_from")).label("follow_up_due"),
               CourseSession.starts_at.label("starts_at"), Course.title.label("course_title"),
               Attendance.was_present.label("present"))
        .join(CourseSession, CourseSession.id == Booking.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        .outerjoin(Attendance, Attendance.booking_id == Booking.id)
        .where(Booking.user_id == bindparam("user_id"))
        .cte("bookings_for_forms")
    )


def _open_forms(mine: CTE, stage: Stage) -> Select:
    """Rows for the person's `stage` forms that are open now, with the form's status (None
    before a draft is saved): `_state`'s rules as a query, so the list is counted and paged by
    the database however long the history. Parameters: `now` and `follow_up_from` (sessions
    that ended by then are due a follow-up)."""
    # A subquery per row rather than a join: SQLite would filter all the evaluations to join them.
    form_status = (select(Evaluation.status)
                   .where(Evaluation.booking_id == mine.c.booking_id, Evaluation.stage == stage)
                   .scalar_subquery())
    stmt = select(mine.c.booking_id, literal(stage.value, String).label("stage"), mine.c.course_title,
                  mine.c.starts_at, form_status.label("form_status"))
    if stage == Stage.BEFORE:
        return stmt.where(mine.c.active, ~mine.c.cancelled, ~mine.c.started)
    # No attendance (an outer join's NULL) is not present.
    stmt = stmt.where(mine.c.present)
    if stage == Stage.FOLLOW_UP:
        stmt = stmt.where(mine.c.follow_up_due)
    return stmt


@cache
def _outstanding_statement() -> Select:
    """Built once: it is on every My training page, and building it costs more than running it."""
    mine = _bookings_for_forms()
    forms = union_all(*(_open_forms(mine, stage) for stage in Stage)).subquery()
    before = forms.c.stage == Stage.BEFORE.value
    return (
        select(forms)
        .where(or_(forms.c.form_status.is_(None), forms.c.form_status != EvaluationStatus.SUBMITTED))
        .order_by(
            case((before, 0), else_=1),
            case((before, forms.c.starts_at)),
            forms.c.starts_at.desc(),
            forms.c.booking_id.desc(),
            case({stage.value: order for stage, order in _STAGE_ORDER.items()}, value=forms.c.stage),
        )
    )


def outstanding_for(user: User, now: datetime, *, page: int = 1, per_page: int = 25) -> Page[OutstandingForm]:
    """One page of the forms `user` can fill in now and has not submitted.

    Before-course forms come first, the one that closes soonest first; then the after-course
    and follow-up forms, latest course first. One query however long the person's history.
    """
    stmt = _outstanding_statement().params(
        user_id=user.id, now=now, follow_up_from=now - _follow_up_weeks())
    rows = paginate(stmt, page, per_page, scalars=False)
    return replace(rows, items=[
        OutstandingForm(row.booking_id, Stage(row.stage), row.course_title, row.starts_at, row.form_status is not None)
        for row in rows.items
    ])


@dataclass(frozen=True)
class NonRespondent:
    booking_id: int
    name: str
    email: str
    agency: str
    started: bool  # a draft is saved, not yet submitted


@dataclass(frozen=True)
class NonRespondents:
    """For one session and stage: who could respond and has not."""

    stage: Stage
    people: list[NonRespondent]
    eligible: int  # everyone asked to fill in this stage's form
    open_now: bool  # whether the form can still be filled in
    opens_at: datetime | None

    @property
    def count(self) -> int:
        return len(self.people)

    @property
    def submitted(self) -> int:
        return self.eligible - self.count


def non_respondents(session_id: int, stage: Stage, now: datetime) -> NonRespondents:
    """People asked to fill in the `stage` form for a session who have not submitted it.

    Before: everyone with a live booking (confirmed, waiting list or offered). After and
    follow-up: everyone booked who was marked attended or partially attended. Walk-ins have
    no booking, so no forms. One query.
    """
    stage = Stage(stage)
    stmt = (
        select(Booking.id, User.name, User.email, Agency.name, Evaluation.status)
        .select_from(Booking)
        .join(User, User.id == Booking.user_id)
        .join(Agency, Agency.id == User.agency_id)
        .outerjoin(Evaluation, and_(Evaluation.booking_id == Booking.id, Evaluation.stage == stage))
        .where(Booking.session_id == session_id)
        .order_by(User.name, Booking.id)
    )
    if stage == Stage.BEFORE:
        stmt = stmt.where(Booking.is_active)
    else:
        stmt = stmt.join(Attendance, Attendance.booking_id == Booking.id).where(
            Attendance.was_present)
    rows = db.session.execute(stmt).all()
    people = [
        NonRespondent(booking_id, name, email, agency, status is not None)
        for booking_id, name, email, agency, status in rows
        if status != EvaluationStatus.SUBMITTED
    ]
    session = db.session.get(CourseSession, session_id)
    open_now, opens_at = True, None
    if session is not None:
        if stage == Stage.BEFORE:
            open_now = not session.is_cancelled and now < session.starts_at
        elif stage == Stage.FOLLOW_UP:
            opens_at = follow_up_opens_at(session)
            open_now = now >= opens_at
    return NonRespondents(stage, people, len(rows), open_now, opens_at)


def get_session(session_id: int) -> CourseSession | None:
    """A session by id, or None."""
    return db.session.get(CourseSession, session_id) if _is_id(session_id) else None


__all__ = [
    "AnswerRow", "EvaluationNotFound", "FormPage", "FormState", "InvalidAnswers", "NonRespondent",
    "NonRespondents", "OutstandingForm", "answer_rows", "current_question_set", "follow_up_opens_at",
    "form_page", "form_state", "form_values", "has_submitted", "new_question_set_version", "non_respondents",
    "get_session", "outcome_field", "outstanding_for", "question_set_for", "save", "start_or_get",
]
