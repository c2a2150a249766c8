"""Evaluation results for a session or a course: every figure is aggregated in SQL.

Answers are joined to their question by `Question.key`, never by question id, so results
add up across versions of the question sets. Only submitted forms count. Results never
join to people: nothing here can put a name to an answer.

Decisions where the issue was silent:

* Learning shift is paired: for each person (booking) who rated a question both before and
  after, after minus before, averaged. The plain before and after means (everyone who
  answered either) are shown as well, but the shift only compares a person with themselves,
  so a different mix of people answering each form cannot fake a gain.
* Response rate is submitted after-course forms over booked people marked attended or
  partially attended. Walk-ins without a booking are never sent a form (forms belong to a
  booking), so they are left out of the denominator and reported separately.
* Comments are listed in alphabetical order of their text (case-insensitive). Order of
  submission or of answer id could be matched against the register to guess who wrote what.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, case, func, or_, select
from sqlalchemy.orm import defaultload

from ..accounts.models import User
from ..attendance.models import Attendance, AttendanceOutcome
from ..catalogue.models import Course, CourseSession, session_trainers
from ..db import MAX_ID, write_transaction
from ..errors import DomainError
from ..extensions import db
from ..timeutil import london_to_utc, to_london
from .models import Answer, Evaluation, EvaluationStatus, OutcomeMet, OverallRating, Question, Stage

# The question keys are the contract with the evaluation forms.
SHIFT_KEYS = ("knowledge", "confidence")
AFTER_RATING_KEYS = ("trainer", "materials", "venue")
IMPACT_KEY = "impact"
OVERALL_KEY = "overall"
OUTCOMES_KEY = "outcomes"
YES_NO_KEYS = ("shared_with_team", "manager_agrees")
COMMENT_KEYS = ("comments", "do_differently")
IMPACT_EXAMPLE_KEY = "impact_example"
LOW_RATINGS = (OverallRating.SATISFACTORY, OverallRating.POOR)

COMMENT_HEADINGS = {
    "comments": "Comments",
    "do_differently": "What people will do differently",
    "impact_example": "Examples of impact (follow-up)",
}
RATING_LABELS = {
    "knowledge": "Knowledge", "confidence": "Confidence", "trainer": "The trainer",
    "materials": "The materials", "venue": "The venue or online platform", "impact": "Impact on practice",
}


@dataclass(frozen=True)
class Share:
    """`count` out of `total`; no percentage when there is nothing to divide by."""

    count: int
    total: int

    @property
    def percent(self) -> float | None:
        return None if not self.total else 100 * self.count / self.total

    @property
    def percent_label(self) -> str:
        """To one decimal place, without a trailing '.0': '37.5%', '25%'."""
        return "–" if self.percent is None else f"{round(self.percent, 1):g}%"

    @property
    def label(self) -> str:
        if not self.total:
            return "No answers"
        return f"{self.count} of {self.total} ({self.percent_label})"


@dataclass(frozen=True)
class Mean:
    value: float | None
    count: int

    @property
    def label(self) -> str:
        return "No answers" if self.value is None else f"{self.value:.1f} out of 5"


@dataclass(frozen=True)
class Shift:
    """Paired learning shift for one question: people who answered before and after."""

    key: str
    people: int
    before: float | None
    after: float | None

    @property
    def gain(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def label(self) -> str:
        return RATING_LABELS.get(self.key, self.key)


@dataclass(frozen=True)
class Comment:
    id: int
    key: str
    text: str
    quotable: bool


@dataclass(frozen=True)
class Period:
    """London dates, both inclusive."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return london_to_utc(self.first, time(0, 0))

    @property
    def end(self) -> datetime:
        return london_to_utc(self.last + timedelta(days=1), time(0, 0))


def financial_year(day: date) -> Period:
    """The financial year (1 April to 31 March) containing `day`."""
    first_year = day.year if day.month >= 4 else day.year - 1
    return Period(date(first_year, 4, 1), date(first_year + 1, 3, 31))


def current_financial_year(now: datetime) -> Period:
    """The financial year containing today's London date."""
    return financial_year(to_london(now).date())


@dataclass
class Results:
    """Everything a results page shows."""

    responses: int  # submitted after-course forms
    booked_present: int  # booked people marked attended or partially attended
    walk_ins_present: int  # walk-ins without a booking: they are never sent a form
    overall: list[tuple[OverallRating, Share]]
    low: Share  # Satisfactory or Poor
    means: dict[tuple[Stage, str], Mean]
    shifts: list[Shift]
    outcomes_met: Share
    outcomes_partly: Share
    outcomes_not_met: Share
    follow_ups: int
    impact: Mean
    shared_with_team: Share
    manager_agrees: Share
    comments: dict[str, list[Comment]] = field(default_factory=dict)

    @property
    def response_rate(self) -> Share:
        return Share(self.responses, self.booked_present)

    def mean(self, stage: Stage, key: str) -> Mean:
        return self.means.get((stage, key), Mean(None, 0))

    @property
    def has_responses(self) -> bool:
        return bool(self.responses or self.follow_ups or any(m.count for m in self.means.values()))


# ---------------------------------------------------------------------------
# Scopes: which sessions count
# ---------------------------------------------------------------------------

def trained_by(user_id: int) -> Select:
    """Ids of the sessions `user_id` trains on."""
    return select(session_trainers.c.session_id).where(session_trainers.c.user_id == user_id)


def session_scope(session_id: int) -> Select:
    """The one session."""
    return select(CourseSession.id).where(CourseSession.id == session_id)


def course_scope(course_id: int, period: Period, trainer_id: int | None = None) -> Select:
    """The course's sessions starting in `period`; only `trainer_id`'s sessions when given."""
    stmt = select(CourseSession.id).where(
        CourseSession.course_id == course_id,
        CourseSession.starts_at >= period.start, CourseSession.starts_at < period.end,
    )
    if trainer_id is not None:
        stmt = stmt.where(CourseSession.id.in_(trained_by(trainer_id)))
    return stmt


def _answers(scope: Select, *columns) -> Select:
    return (
        select(*columns)
        .select_from(Answer)
        .join(Evaluation, Evaluation.id == Answer.evaluation_id)
        .join(Question, Question.id == Answer.question_id)
        .where(Evaluation.status == EvaluationStatus.SUBMITTED, Evaluation.session_id.in_(scope))
    )


def _float(value) -> float | None:
    return None if value is None else float(value)


# ---------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------

def _choice_counts(scope: Select) -> dict[tuple[str, str], int]:
    stmt = _answers(scope, Question.key, Answer.choice, func.count()).where(
        Answer.choice.is_not(None),
        or_(
            and_(Evaluation.stage == Stage.AFTER, Question.key.in_((OVERALL_KEY, OUTCOMES_KEY))),
            and_(Evaluation.stage == Stage.FOLLOW_UP, Question.key.in_(YES_NO_KEYS)),
        ),
    ).group_by(Question.key, Answer.choice)
    return {(key, choice): count for key, choice, count in db.session.execute(stmt)}


def _means(scope: Select) -> dict[tuple[Stage, str], Mean]:
    keys = (*SHIFT_KEYS, *AFTER_RATING_KEYS, IMPACT_KEY)
    stmt = _answers(scope, Evaluation.stage, Question.key, func.avg(Answer.rating), func.count(Answer.rating)).where(
        Question.key.in_(keys), Answer.rating.is_not(None),
    ).group_by(Evaluation.stage, Question.key)
    return {(Stage(stage), key): Mean(_float(avg), count) for stage, key, avg, count in db.session.execute(stmt)}


def _shifts(scope: Select) -> list[Shift]:
    before = func.max(case((Evaluation.stage == Stage.BEFORE, Answer.rating))).label("before")
    after = func.max(case((Evaluation.stage == Stage.AFTER, Answer.rating))).label("after")
    per_person = _answers(scope, Question.key.label("key"), before, after).where(
        Question.key.in_(SHIFT_KEYS), Evaluation.stage.in_((Stage.BEFORE, Stage.AFTER)),
        Answer.rating.is_not(None),
    ).group_by(Evaluation.booking_id, Question.key).subquery()
    stmt = select(
        per_person.c.key, func.count(), func.avg(per_person.c.before), func.avg(per_person.c.after),
    ).where(per_person.c.before.is_not(None), per_person.c.after.is_not(None)).group_by(per_person.c.key)
    found = {key: Shift(key, n, _float(b), _float(a)) for key, n, b, a in db.session.execute(stmt)}
    return [found.get(key, Shift(key, 0, None, None)) for key in SHIFT_KEYS]


def _form_counts(scope: Select) -> dict[Stage, int]:
    stmt = select(Evaluation.stage, func.count()).where(
        Evaluation.status == EvaluationStatus.SUBMITTED, Evaluation.session_id.in_(scope),
    ).group_by(Evaluation.stage)
    return {Stage(stage): count for stage, count in db.session.execute(stmt)}


def _present(scope: Select) -> tuple[int, int]:
    stmt = select(
        func.coalesce(func.sum(case((Attendance.booking_id.is_not(None), 1), else_=0)), 0),
        func.coalesce(func.sum(case((Attendance.booking_id.is_(None), 1), else_=0)), 0),
    ).where(
        Attendance.session_id.in_(scope),
        Attendance.outcome.in_((AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL)),
    )
    booked, walk_ins = db.session.execute(stmt).one()
    return int(booked), int(walk_ins)


def _comments(scope: Select) -> dict[str, list[Comment]]:
    stmt = _answers(scope, Answer.id, Question.key, Answer.text, Answer.quotable).where(
        Answer.text.is_not(None), func.trim(Answer.text) != "",
        or_(
            and_(Evaluation.stage == Stage.AFTER, Question.key.in_(COMMENT_KEYS)),
            and_(Evaluation.stage == Stage.FOLLOW_UP, Question.key == IMPACT_EXAMPLE_KEY),
        ),
    ).order_by(func.lower(Answer.text), Answer.text, Answer.id)  # alphabetical: see the module docstring
    grouped: dict[str, list[Comment]] = {key: [] for key in COMMENT_HEADINGS}
    for answer_id, key, text, quotable in db.session.execute(stmt):
        grouped[key].append(Comment(answer_id, key, text, quotable))
    return grouped


def results_for(scope: Select) -> Results:
    """The figures for the sessions in `scope`, in a fixed number of queries."""
    choices = _choice_counts(scope)
    overall_total = sum(choices.get((OVERALL_KEY, r.value), 0) for r in OverallRating)
    overall = [(r, Share(choices.get((OVERALL_KEY, r.value), 0), overall_total)) for r in OverallRating]
    low = Share(sum(choices.get((OVERALL_KEY, r.value), 0) for r in LOW_RATINGS), overall_total)
    outcome_total = sum(choices.get((OUTCOMES_KEY, o.value), 0) for o in OutcomeMet)

    def yes_share(key: str) -> Share:
        yes = choices.get((key, "yes"), 0)
        return Share(yes, yes + choices.get((key, "no"), 0))

    means = _means(scope)
    forms = _form_counts(scope)
    booked_present, walk_ins = _present(scope)
    return Results(
        responses=forms.get(Stage.AFTER, 0),
        booked_present=booked_present,
        walk_ins_present=walk_ins,
        overall=overall,
        low=low,
        means=means,
        shifts=_shifts(scope),
        outcomes_met=Share(choices.get((OUTCOMES_KEY, OutcomeMet.MET.value), 0), outcome_total),
        outcomes_partly=Share(choices.get((OUTCOMES_KEY, OutcomeMet.PARTLY.value), 0), outcome_total),
        outcomes_not_met=Share(choices.get((OUTCOMES_KEY, OutcomeMet.NOT_MET.value), 0), outcome_total),
        follow_ups=forms.get(Stage.FOLLOW_UP, 0),
        impact=means.get((Stage.FOLLOW_UP, IMPACT_KEY), Mean(None, 0)),
        shared_with_team=yes_share("shared_with_team"),
        manager_agrees=yes_share("manager_agrees"),
        comments=_comments(scope),
    )


def low_rating_share(scope: Select) -> Share:
    """How many after-course overall ratings in `scope` are Satisfactory or Poor (one query)."""
    low = func.sum(case((Answer.choice.in_([r.value for r in LOW_RATINGS]), 1), else_=0))
    stmt = _answers(scope, func.coalesce(low, 0), func.count()).where(
        Evaluation.stage == Stage.AFTER, Question.key == OVERALL_KEY, Answer.choice.is_not(None),
    )
    count, total = db.session.execute(stmt).one()
    return Share(int(count), int(total))


# ---------------------------------------------------------------------------
# Who may see what, and the index
# ---------------------------------------------------------------------------

def may_see_session(session: CourseSession, user: User) -> bool:
    """Coordinators see every session's results; trainers only the sessions they train."""
    return user.is_coordinator or session.is_trainer(user)


def trains_on_course(course_id: int, user: User) -> bool:
    """Whether `user` trains any session of the course."""
    return db.session.scalar(
        select(CourseSession.id).where(CourseSession.course_id == course_id,
                                       CourseSession.id.in_(trained_by(user.id))).limit(1)
    ) is not None


@dataclass(frozen=True)
class SessionResponses:
    session: CourseSession
    responses: int


#: The results index lists at most this many sessions, latest first.
INDEX_LIMIT = 100


def sessions_with_responses(user: User) -> list[SessionResponses]:
    """Sessions `user` may see that have submitted after-course forms, latest first."""
    counts = (
        select(Evaluation.session_id, func.count().label("responses"))
        .where(Evaluation.status == EvaluationStatus.SUBMITTED, Evaluation.stage == Stage.AFTER)
        .group_by(Evaluation.session_id)
        .subquery()
    )
    stmt = (
        select(CourseSession, counts.c.responses)
        .join(counts, counts.c.session_id == CourseSession.id)
        .order_by(CourseSession.starts_at.desc(), CourseSession.id.desc())
        .limit(INDEX_LIMIT)
        .options(
            defaultload(CourseSession.course).lazyload(Course.theme_rows),
            defaultload(CourseSession.trainers).lazyload(User.grants),
        )
    )
    if not user.is_coordinator:
        stmt = stmt.where(CourseSession.id.in_(trained_by(user.id)))
    return [SessionResponses(s, n) for s, n in db.session.execute(stmt).unique()]


# ---------------------------------------------------------------------------
# Quotable comments
# ---------------------------------------------------------------------------

class CommentNotFound(DomainError):
    message = "That comment does not exist"


class NotCoordinator(DomainError):
    message = "Only coordinators can choose which comments may be quoted"


def set_quotable(answer_id: int, quotable: bool, actor: User) -> Answer:
    """Mark a submitted comment as suitable (or not) for quoting, without a name, in reports."""
    if not actor.is_coordinator:
        raise NotCoordinator()
    if not (isinstance(answer_id, int) and 0 < answer_id <= MAX_ID):
        raise CommentNotFound()
    with write_transaction():
        answer = db.session.execute(
            select(Answer).join(Evaluation, Evaluation.id == Answer.evaluation_id)
            .join(Question, Question.id == Answer.question_id)
            .where(Answer.id == answer_id, Evaluation.status == EvaluationStatus.SUBMITTED,
                   Question.key.in_((*COMMENT_KEYS, IMPACT_EXAMPLE_KEY)), Answer.text.is_not(None))
            .with_for_update(of=Answer)
        ).scalar_one_or_none()
        if answer is None:
            raise CommentNotFound()
        answer.quotable = quotable
    return answer
