"""Building submitted evaluations directly, so the results tests do not depend on the forms.

The question keys are the contract with the evaluation forms.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from tests.factories import AttendanceFactory, BookingFactory, SessionFactory, UserFactory
from training.attendance.models import AttendanceOutcome
from training.db import utcnow, write_transaction
from training.evaluation.models import (
    Answer,
    Evaluation,
    EvaluationStatus,
    Question,
    QuestionSet,
    Stage,
)
from training.evaluation.models import (
    QuestionKind as K,
)
from training.evaluation.signals import evaluation_submitted
from training.extensions import db

QUESTIONS = {
    Stage.BEFORE: [("knowledge", K.RATING), ("confidence", K.RATING), ("learning_needs", K.TEXT)],
    Stage.AFTER: [("knowledge", K.RATING), ("confidence", K.RATING), ("outcomes", K.OUTCOMES),
                  ("trainer", K.RATING), ("materials", K.RATING), ("venue", K.RATING),
                  ("overall", K.OVERALL), ("do_differently", K.TEXT), ("comments", K.TEXT)],
    Stage.FOLLOW_UP: [("impact", K.RATING), ("impact_example", K.TEXT), ("shared_with_team", K.YES_NO),
                      ("manager_agrees", K.YES_NO)],
}


def question_sets(version: int = 1) -> dict[Stage, QuestionSet]:
    """A question set per stage, all at `version`."""
    sets = {}
    for stage, questions in QUESTIONS.items():
        qs = QuestionSet(stage=stage, version=version, note=f"Version {version}")
        qs.questions = [Question(key=key, kind=kind, text=f"{key} (v{version})", position=i)
                        for i, (key, kind) in enumerate(questions)]
        db.session.add(qs)
        sets[stage] = qs
    db.session.commit()
    return sets


def attendee(session, outcome: AttendanceOutcome = AttendanceOutcome.ATTENDED, name: str | None = None):
    """A booked person marked on the session's register; returns the booking."""
    user = UserFactory(name=name) if name else UserFactory()
    booking = BookingFactory(session=session, user=user)
    AttendanceFactory(booking=booking, outcome=outcome)
    return booking


def _answers(question_set: QuestionSet, values: dict) -> list[Answer]:
    by_key = {q.key: q for q in question_set.questions}
    answers = []
    for key, value in values.items():
        question = by_key[key]
        if question.kind == K.OUTCOMES:
            answers += [Answer(question=question, outcome_index=i, outcome_text=f"Outcome {i}", choice=choice)
                        for i, choice in enumerate(value, start=1)]
        elif question.kind == K.RATING:
            answers.append(Answer(question=question, rating=value))
        elif question.kind == K.TEXT:
            answers.append(Answer(question=question, text=value))
        else:
            answers.append(Answer(question=question, choice=value))
    return answers


def evaluation(booking, stage: Stage, question_set: QuestionSet, *, submitted: bool = True,
               now: datetime | None = None, **values) -> Evaluation:
    """A delegate's form with these answers, submitted unless told otherwise (no signal sent)."""
    now = now or utcnow()
    ev = Evaluation(
        booking_id=booking.id, session_id=booking.session_id, stage=stage, question_set=question_set,
        status=EvaluationStatus.SUBMITTED if submitted else EvaluationStatus.DRAFT,
        submitted_at=now if submitted else None, created_at=now, updated_at=now,
    )
    ev.answers = _answers(question_set, values)
    db.session.add(ev)
    db.session.commit()
    return ev


def submit(booking, question_set: QuestionSet, now: datetime | None = None, **values) -> Evaluation:
    """Submit an after-course form as the forms will: lock it and send evaluation_submitted
    inside the write transaction."""
    now = now or utcnow()
    ev = evaluation(booking, question_set.stage, question_set, submitted=False, now=now, **values)
    with write_transaction():
        ev = db.session.get(Evaluation, ev.id)
        ev.submit(now)
        evaluation_submitted.send(ev, now=now)
    return ev


def past_session(course=None, days_ago: int = 10, **kwargs):
    start = (utcnow() - timedelta(days=days_ago)).replace(microsecond=0)
    if course is not None:
        kwargs["course"] = course
    return SessionFactory(starts_at=start, **kwargs)


def build_known_session(sets, session):
    """Eight after-course forms with known answers, and the noise that must not count."""
    people = [attendee(session) for _ in range(10)]
    A, B, F = Stage.AFTER, Stage.BEFORE, Stage.FOLLOW_UP
    MET, PARTLY, NOT = "met", "partly", "not-met"
    overall = ["excellent"] * 3 + ["good"] * 3 + ["satisfactory", "poor"]
    outcomes = [[MET, MET]] * 5 + [[PARTLY, PARTLY], [PARTLY, NOT], [PARTLY, NOT]]
    knowledge_after = [4, 4, 4, 3, 5, 5, 5, 5]
    for i in range(8):
        extra = {}
        if i == 0:
            extra = {"confidence": 4, "comments": "Very useful", "do_differently": "Check the referral pathway"}
        if i == 1:
            extra = {"comments": "brilliant trainer"}
        evaluation(people[i], A, sets[A], overall=overall[i], outcomes=outcomes[i],
                   knowledge=knowledge_after[i], trainer=5 if i < 4 else 3, **extra)
    for i, rating in enumerate([2, 2, 3, 1]):
        evaluation(people[i], B, sets[B], knowledge=rating, **({"confidence": 3} if i == 0 else {}))
    evaluation(people[8], B, sets[B], knowledge=1)  # before only: not paired
    for i, (impact, shared, agrees) in enumerate([(4, "yes", "yes"), (5, "yes", "no"), (3, "no", "no")]):
        evaluation(people[i], F, sets[F], impact=impact, shared_with_team=shared, manager_agrees=agrees,
                   **({"impact_example": "Made a referral"} if i == 0 else {}))
    # A draft never counts.
    evaluation(people[9], A, sets[A], submitted=False, overall="poor", comments="DRAFT ONLY")
    # Did not attend: not in the denominator. A walk-in without a booking: reported apart.
    attendee(session, AttendanceOutcome.DID_NOT_ATTEND)
    AttendanceFactory(booking=None, session=session, user=None, attendee_name="Walk In",
                      attendee_email=None, agency=people[0].user.agency, walk_in=True)
    return people
