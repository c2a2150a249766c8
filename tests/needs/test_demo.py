"""The TNA demo data: it loads into the demo partnership and gives the TNA pages something to show."""
from __future__ import annotations

from unittest.mock import patch

from sqlalchemy import func, select

from training.accounts.models import User
from training.db import utcnow, write_transaction
from training.demo import load_demo_data
from training.extensions import db
from training.needs import services, tna
from training.needs.demo import add_needs_demo
from training.needs.models import TnaReview, WorkforceMembership


def test_the_needs_demo_loads_on_the_demo_partnership(login_as):
    # The demo partnership loads the needs demo itself; here it is loaded again on a copy of the
    # partnership without it, to see what it returns.
    now = utcnow()
    with patch("training.demo.add_needs_demo"):
        load_demo_data(now)
    with write_transaction():
        people = list(db.session.scalars(select(User)))
        summary = add_needs_demo(people, now)
    assert (summary.groups, summary.reviews) == (6, 1)
    assert summary.requirements == 10  # the DSL course is in the demo catalogue
    assert summary.memberships == db.session.scalar(select(func.count()).select_from(WorkforceMembership)) > 150
    me = db.session.scalar(select(User).where(User.email == "professional@demo.example"))
    mine = tna.my_requirements(services.current_membership(me.id), now, 3)
    assert [m.status.completed_on is not None for m in mine][:2] == [True, True]  # the DSL courses they did
    assert services.current_membership(
        db.session.scalar(select(User.id).where(User.email == "colleague@demo.example"))) is None
    figures = tna.compute(now, 3)
    assert figures.totals.people == summary.memberships
    assert figures.totals.in_date and figures.totals.never_trained and figures.without_group
    coordinator = db.session.scalar(select(User).where(User.email == "coordinator@demo.example"))
    client = login_as(coordinator)
    page = client.get("/needs/tna").get_data(as_text=True)
    assert "Change since the last review" in page
    review = db.session.scalar(select(TnaReview))
    assert client.get(f"/needs/reviews/{review.id}").status_code == 200
    assert login_as(me).get("/needs/my-requirements").status_code == 200
