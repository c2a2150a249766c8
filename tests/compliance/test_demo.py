"""The demo compliance returns load, in every state, and their figures read back as the pages show them."""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.compliance.helpers import coordinator, lead_of, scrutineer
from tests.factories import AgencyFactory, UserFactory
from training.compliance import services
from training.compliance.demo import add_demo_returns
from training.compliance.models import AgencyReturn, ReturnRound, ReturnStatus
from training.db import write_transaction
from training.extensions import db

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_demo_returns_cover_every_state():
    agencies = [AgencyFactory(name=f"Demo agency {i}") for i in range(8)]
    for agency in agencies[1:]:
        UserFactory(agency=agency)
    lead, the_scrutineer, the_coordinator = lead_of(agencies[0]), scrutineer(), coordinator()
    with write_transaction():
        made = add_demo_returns(NOW, agencies, the_coordinator, lead, the_scrutineer)
    assert made == 14
    rounds = db.session.scalars(select(ReturnRound).order_by(ReturnRound.year)).all()
    assert [r.year for r in rounds] == [2024, 2025]
    current = services.overview(rounds[1].id, NOW)
    assert {row.status for row in current.rows} == set(ReturnStatus)
    # Due on 30 June 2026: by 26 November the draft and the return not started are overdue.
    assert [(o.row.agency, o.row.status) for o in current.overdue_returns] == [
        ("Demo agency 0", ReturnStatus.DRAFT), ("Demo agency 5", ReturnStatus.NOT_STARTED)]
    assert len(current.overdue_responses) == 1
    assert all(row.previous_tenths is not None for row in current.rows)
    own = db.session.scalar(select(AgencyReturn).where(AgencyReturn.round_id == rounds[1].id,
                                                       AgencyReturn.agency_id == lead.agency_id))
    assert own.status == ReturnStatus.DRAFT and services.submission_problems(own)
    # Everyone in the history is a real lead of that agency, the scrutineer or the coordinator.
    for r in db.session.scalars(select(AgencyReturn)):
        for e in services.history(r.id):
            assert e.actor is not None
            assert e.actor.agency_id == r.agency_id or e.actor.id in (the_scrutineer.id, the_coordinator.id)
