"""Double clicks and two tabs: simultaneous submissions of one form, through the HTTP endpoint,
each on its own thread and connection, submit it once."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.conftest import login
from tests.evaluation.conftest import valid_post
from tests.factories import BookingFactory
from training.evaluation import signals
from training.evaluation.models import Answer, Evaluation, EvaluationStatus, QuestionSet, Stage
from training.extensions import db

ATTEMPTS = 8


def test_simultaneous_submissions_of_one_form_submit_it_once(app):
    booking = BookingFactory()
    clients = [login(app.test_client(), booking.user) for _ in range(ATTEMPTS)]
    url = f"/bookings/{booking.id}/evaluation/before"
    db.session.commit()

    barrier = threading.Barrier(ATTEMPTS)
    statuses: list[int] = []
    errors: list[BaseException] = []
    submitted: list[int] = []
    lock = threading.Lock()

    def _received(evaluation, now):
        with lock:
            submitted.append(evaluation.id)

    def attempt(client):
        try:
            barrier.wait(timeout=60)
            response = client.post(url, data=valid_post(Stage.BEFORE))
            with lock:
                statuses.append(response.status_code)
        except BaseException as exc:  # noqa: BLE001  (reported below, not swallowed)
            with lock:
                errors.append(exc)

    signals.evaluation_submitted.connect(_received)
    try:
        threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        signals.evaluation_submitted.disconnect(_received)

    assert errors == []
    # Every click gets an answer: the first submits, the others are told it is already submitted.
    assert statuses == [302] * ATTEMPTS
    db.session.expire_all()
    evaluations = db.session.scalars(select(Evaluation)).all()
    assert [(e.booking_id, e.status) for e in evaluations] == [(booking.id, EvaluationStatus.SUBMITTED)]
    assert submitted == [evaluations[0].id]
    assert db.session.scalar(select(func.count(Answer.id))) == 3
    assert db.session.scalar(select(func.count(QuestionSet.id)).where(QuestionSet.stage == Stage.BEFORE)) == 1
