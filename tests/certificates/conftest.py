"""Helpers for the certificate tests: people marked present, submitted evaluations, PDF text."""
from __future__ import annotations

import io

from pypdf import PdfReader

from tests.factories import AttendanceFactory, BookingFactory, UserFactory
from training.attendance.models import Attendance, AttendanceOutcome
from training.evaluation.models import Evaluation, EvaluationStatus, QuestionSet, Stage
from training.extensions import db


def pdf_pages(content: bytes) -> list[str]:
    """The text of each page of a PDF, with runs of whitespace (line wrapping) as one space."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def attended(session=None, outcome: AttendanceOutcome = AttendanceOutcome.ATTENDED, **user) -> Attendance:
    """A confirmed booking marked with `outcome` on the register."""
    kwargs = {"user": UserFactory(**user)}
    if session is not None:
        kwargs["session"] = session
    return AttendanceFactory(booking=BookingFactory(**kwargs), outcome=outcome)


def evaluate(booking, stage: Stage = Stage.AFTER, status: EvaluationStatus = EvaluationStatus.SUBMITTED) -> Evaluation:
    """The booking's evaluation for `stage`, straight into the database (the evaluation
    area's own services are tested there)."""
    question_set = db.session.query(QuestionSet).filter_by(stage=stage, version=1).one_or_none()
    if question_set is None:
        question_set = QuestionSet(stage=stage, version=1)
        db.session.add(question_set)
        db.session.flush()
    evaluation = Evaluation(booking_id=booking.id, session_id=booking.session_id, stage=stage,
                            question_set_id=question_set.id, status=status)
    db.session.add(evaluation)
    db.session.commit()
    return evaluation
