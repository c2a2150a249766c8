"""Showing a form never writes: the first GET shows version 1's questions without storing them."""
from __future__ import annotations

from sqlalchemy import func, select

from training.db import write_transaction
from training.evaluation.models import QuestionSet, Stage
from training.evaluation.questions import DEFAULT_QUESTIONS
from training.evaluation.services import current_question_set, question_set_for
from training.extensions import db


def _stored() -> int:
    return db.session.scalar(select(func.count(QuestionSet.id)))


def test_the_questions_are_shown_before_any_version_is_stored_and_nothing_is_written():
    shown = question_set_for(Stage.AFTER)
    assert [q.key for q in shown.questions] == [d.key for d in DEFAULT_QUESTIONS[Stage.AFTER]]
    assert shown.version == 1 and shown.id is None
    db.session.flush()
    assert _stored() == 0


def test_once_stored_the_stored_version_is_shown():
    with write_transaction():
        stored = current_question_set(Stage.BEFORE)
    assert question_set_for(Stage.BEFORE).id == stored.id
    assert _stored() == 1
