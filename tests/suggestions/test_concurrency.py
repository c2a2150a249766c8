"""Coordinators acting on one suggestion at the same moment take turns on its row lock: exactly
one decision and one draft course, and everyone else is refused rather than overwriting."""
from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import func, select

from tests.factories import CoordinatorFactory
from training.accounts.models import User
from training.catalogue.models import Course
from training.extensions import db
from training.suggestions import services
from training.suggestions.errors import CourseAlreadyCreated, InvalidTransition
from training.suggestions.models import CourseSuggestion, SuggestionEvent, SuggestionStatus

WORKERS = 6
_NOT_RUN = object()


def _race(app, actions: list[Callable[[User], object]], actor_ids: list[int]) -> list[object]:
    """Run each action on its own thread and connection at once; return each result or exception."""
    barrier = threading.Barrier(len(actions))
    results: list[object] = [_NOT_RUN] * len(actions)

    def run(i: int) -> None:
        try:
            with app.app_context():
                actor = db.session.get(User, actor_ids[i])
                db.session.commit()
                barrier.wait(timeout=60)
                results[i] = actions[i](actor)
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  (returned to the test)
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(actions))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_simultaneous_decisions_make_exactly_one(app, under_review):
    coordinators = [CoordinatorFactory().id for _ in range(WORKERS)]
    sid = under_review.id
    actions = [(lambda actor, i=i: services.agree(sid, actor, f"Yes {i}") and None) if i % 2 == 0
               else (lambda actor, i=i: services.decline(sid, actor, f"No {i}") and None) for i in range(WORKERS)]
    results = _race(app, actions, coordinators)
    won = [r for r in results if r is None]  # a decision returns nothing here; a refusal, its error
    refused = [r for r in results if isinstance(r, InvalidTransition)]
    assert len(won) == 1 and len(refused) == WORKERS - 1, results
    db.session.rollback()  # end the test's read snapshot to see what the threads wrote
    found = db.session.get(CourseSuggestion, sid)
    assert found.status in (SuggestionStatus.AGREED, SuggestionStatus.DECLINED)
    decisions = db.session.scalars(select(SuggestionEvent).where(
        SuggestionEvent.suggestion_id == sid, SuggestionEvent.from_status == SuggestionStatus.UNDER_REVIEW)).all()
    assert len(decisions) == 1 and decisions[0].note == found.decision_reason
    assert decisions[0].actor_id == found.decided_by_id


def test_simultaneous_draft_courses_make_exactly_one(app, agreed):
    coordinators = [CoordinatorFactory().id for _ in range(WORKERS)]
    sid = agreed.id
    results = _race(app, [lambda actor: services.create_draft_course(sid, actor).course.id] * WORKERS, coordinators)
    won = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, CourseAlreadyCreated)]
    assert len(won) == 1 and len(refused) == WORKERS - 1, results
    db.session.rollback()  # end the test's read snapshot to see what the threads wrote
    assert db.session.scalar(select(func.count(Course.id))) == 1
    assert db.session.get(CourseSuggestion, sid).course_id == won[0]
