"""Forms submitted at the same moment never raise duplicate automatic reviews: the receiver
locks the course row before it looks for a live review (BEGIN IMMEDIATE does it on SQLite)."""
from __future__ import annotations

import threading

from sqlalchemy import select

from tests.evaluation.results_data import attendee, evaluation, past_session, question_sets
from training.db import utcnow, write_transaction
from training.evaluation.models import Evaluation, QualityReview, Stage
from training.evaluation.signals import evaluation_submitted
from training.extensions import db

SUBMITTERS = 8


def test_simultaneous_poor_ratings_raise_one_review_each_for_session_and_course(app):
    sets = question_sets()
    session = past_session()
    drafts = [evaluation(attendee(session), Stage.AFTER, sets[Stage.AFTER], submitted=False, overall="poor").id
              for _ in range(SUBMITTERS)]
    session_id = session.id
    db.session.commit()

    barrier = threading.Barrier(SUBMITTERS)
    errors: list[BaseException] = []
    lock = threading.Lock()

    def submit(evaluation_id: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=60)
                with write_transaction():
                    ev = db.session.get(Evaluation, evaluation_id)
                    ev.submit(utcnow())
                    evaluation_submitted.send(ev, now=utcnow())
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  (reported below)
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=submit, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)

    assert errors == []
    db.session.rollback()
    found = db.session.scalars(select(QualityReview).order_by(QualityReview.id)).all()
    assert sorted((r.session_id is None, r.automatic) for r in found) == [(False, True), (True, True)]
    assert {r.session_id for r in found} == {session_id, None}
