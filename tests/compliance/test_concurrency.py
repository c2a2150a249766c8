"""Actions on one return at the same moment take turns on its row lock: exactly one of each
conflicting pair wins, and the history records only what happened."""
from __future__ import annotations

import threading

from sqlalchemy import select

from tests.compliance.helpers import NARRATIVE, coordinator, lead_of, lines, open_round, return_for, scrutineer, submitted
from tests.factories import AgencyFactory
from training.accounts.models import User
from training.compliance import services
from training.compliance.errors import ComplianceError
from training.compliance.models import AgencyReturn, EventKind, ReturnEvent, ReturnStatus
from training.extensions import db

ROUNDS = 4


def _race(app, actions) -> tuple[list[str], list[BaseException]]:
    """Run the actions at the same moment, each in its own app context and connection."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def run(name, action) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=60)
                try:
                    action()
                    result = name
                except ComplianceError:
                    result = "refused"
                db.session.remove()
            with lock:
                outcomes.append(result)
        except BaseException as exc:  # noqa: BLE001  (reported by the caller)
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=run, args=item) for item in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes, errors


def test_accept_and_reopen_at_once_one_wins(app):
    for i in range(ROUNDS):
        db.session.rollback()
        agency = AgencyFactory()
        lead, the_scrutineer, the_coordinator = lead_of(agency), scrutineer(), coordinator()
        round_ = open_round(2025 + i, [agency])
        ret = submitted(return_for(round_, agency), lead)
        return_id, scrutineer_id, coordinator_id = ret.id, the_scrutineer.id, the_coordinator.id
        db.session.commit()

        def accept(return_id=return_id, scrutineer_id=scrutineer_id):
            services.accept(return_id, db.session.get(User, scrutineer_id))

        def reopen(return_id=return_id, coordinator_id=coordinator_id):
            services.reopen(return_id, "Typo", db.session.get(User, coordinator_id))

        outcomes, errors = _race(app, [("accept", accept), ("reopen", reopen)])
        assert errors == []
        assert sorted(outcomes) in (["accept", "refused"], ["refused", "reopen"])
        db.session.rollback()
        final = db.session.get(AgencyReturn, return_id)
        kinds = list(db.session.scalars(select(ReturnEvent.kind).where(ReturnEvent.return_id == return_id)))
        if "accept" in outcomes:
            assert final.status == ReturnStatus.ACCEPTED and EventKind.REOPENED not in kinds
        else:
            assert final.status == ReturnStatus.DRAFT and EventKind.ACCEPTED not in kinds


def test_two_leads_saving_the_same_page_at_once_never_overwrite_each_other(app):
    agency = AgencyFactory()
    first, second = lead_of(agency), lead_of(agency)
    round_ = open_round(2025, [agency])
    ret = return_for(round_, agency)
    services.save_draft(ret.id, lines(), NARRATIVE, first)
    db.session.rollback()
    return_id, version = ret.id, db.session.get(AgencyReturn, ret.id).version
    first_id, second_id = first.id, second.id

    def save(user_id, in_scope):
        def action():
            services.save_draft(return_id, lines(in_scope=in_scope, trained=1), NARRATIVE,
                                db.session.get(User, user_id), expected_version=version)
        return action

    outcomes, errors = _race(app, [("first", save(first_id, 50)), ("second", save(second_id, 60))])
    assert errors == []
    assert sorted(outcomes) in (["first", "refused"], ["refused", "second"])
    db.session.rollback()
    winner = 50 if "first" in outcomes else 60
    assert {line.staff_in_scope for line in db.session.get(AgencyReturn, return_id).lines} == {winner}
    saves = db.session.scalars(select(ReturnEvent).where(ReturnEvent.return_id == return_id,
                                                         ReturnEvent.kind == EventKind.SAVED)).all()
    assert len(saves) == 2  # the first save, and the winner's
