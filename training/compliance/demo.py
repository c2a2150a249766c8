"""Demo compliance returns, for training/demo.py.

Call `add_demo_returns(now, agencies, coordinator, lead, scrutineer)` inside the demo's write
transaction, after the agencies and people are flushed. It makes two rounds:

* last financial year but one (for the comparison), every return accepted; the lead's agency's
  return went through a challenge and a response;
* last financial year, due on 30 June this year, with returns in every state: the lead's own
  agency has a draft to finish and submit, and the scrutineer has returns to challenge or
  accept, a response to read, an overdue response and overdue returns.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..accounts.models import Agency, Role, User
from ..catalogue.models import Level
from ..extensions import db
from ..timeutil import to_london
from .models import LEVELS, AgencyReturn, EventKind, ReturnEvent, ReturnLine, ReturnRound, ReturnStatus

LEAD_EMAIL = "lead@demo.example"
SCRUTINEER_EMAIL = "scrutineer@demo.example"

QUALITY = ("Every course has an evaluation form; line managers discuss learning in supervision within six weeks, "
           "and the safeguarding team audits twelve case files each quarter against what was taught.")
GAPS = ("Level 3 compliance fell after staff turnover in the spring. Two extra sessions are booked, and new "
        "starters are enrolled on Level 1 in their first week.")
# Staff in scope per level, and the share trained, per demo state: enough spread to show every rating.
_SCOPE = {Level.LEVEL_1: 240, Level.LEVEL_2: 120, Level.LEVEL_3: 45, Level.DSL: 6, Level.SPECIALIST: 0}


def _fill(lines: Sequence[ReturnLine], share: float, courses: int) -> None:
    for position, line in enumerate(lines):
        scope = _SCOPE[line.level]
        line.staff_in_scope = scope
        line.trained_in_date = int(scope * min(share + 0.02 * position, 1.0)) if scope else 0
        line.courses_delivered = courses if scope else 0


def _financial_year(now: datetime) -> int:
    today = to_london(now).date()
    return today.year if today.month >= 4 else today.year - 1


def add_demo_returns(now: datetime, agencies: Sequence[Agency], coordinator: User, lead: User,
                     scrutineer: User) -> int:
    """Two rounds of demo returns for `agencies` (at least six, the lead's agency among them); returns
    how many returns were made."""
    this_year = _financial_year(now) - 1
    chosen = [lead.agency] + [a for a in agencies if a.id != lead.agency_id][:6]
    count = 0
    # Each other agency's first generated person becomes its training lead, so its history names
    # a real lead. The named demo accounts (…@demo.example) keep the roles the README gives them.
    leads = {lead.agency_id: lead}
    for agency in chosen[1:]:
        person = db.session.scalar(select(User).where(User.agency_id == agency.id,
                                                      User.email.not_like("%@demo.example"))
                                   .order_by(User.id).limit(1))
        if person is not None:
            person.grant(Role.AGENCY_LEAD)
            leads[agency.id] = person

    def event(r: AgencyReturn, kind: EventKind, actor: User | None, at: datetime, **values) -> None:
        db.session.add(ReturnEvent(return_id=r.id, kind=kind, actor_id=actor.id if actor else None, occurred_at=at,
                                   **values))

    def make(round_: ReturnRound, agency: Agency, status: ReturnStatus, share: float, opened: datetime,
             challenge_due: date | None = None) -> AgencyReturn:
        nonlocal count
        r = AgencyReturn(round=round_, agency=agency, status=ReturnStatus.NOT_STARTED, created_at=opened,
                         updated_at=opened, lines=[ReturnLine(level=level, position=i) for i, level in enumerate(LEVELS)])
        db.session.add(r)
        db.session.flush()
        count += 1
        event(r, EventKind.OPENED, coordinator, opened)
        if status == ReturnStatus.NOT_STARTED:
            return r
        saved = opened + timedelta(days=20)
        _fill(r.lines, share, 3 + count % 4)
        r.quality_and_impact, r.gaps_and_plans = QUALITY, GAPS
        changes = {"lines": {line.level.value: {"staff_in_scope": [None, line.staff_in_scope],
                                                "trained_in_date": [None, line.trained_in_date],
                                                "courses_delivered": [None, line.courses_delivered]}
                             for line in r.lines},
                   "quality_and_impact": [None, QUALITY], "gaps_and_plans": [None, GAPS]}
        if status == ReturnStatus.DRAFT:
            # A draft still missing its specialist and DSL figures and the plans.
            for line in r.lines:
                if line.level in (Level.DSL, Level.SPECIALIST):
                    line.staff_in_scope = line.trained_in_date = line.courses_delivered = None
                    changes["lines"].pop(line.level.value)
            r.gaps_and_plans = None
            changes.pop("gaps_and_plans")
        agency_lead = leads.get(agency.id)
        event(r, EventKind.SAVED, agency_lead, saved, changes=changes)
        r.status, r.version, r.updated_at = ReturnStatus.DRAFT, 1, saved
        if status == ReturnStatus.DRAFT:
            return r
        submitted_at = saved + timedelta(days=5)
        r.status, r.submitted_at, r.version = ReturnStatus.SUBMITTED, submitted_at, 2
        r.submitted_by_id = agency_lead.id if agency_lead else None
        event(r, EventKind.SUBMITTED, agency_lead, submitted_at)
        if status == ReturnStatus.SUBMITTED:
            return r
        if status == ReturnStatus.ACCEPTED and challenge_due is None:
            r.status, r.accepted_at, r.accepted_by_id = status, submitted_at + timedelta(days=14), scrutineer.id
            event(r, EventKind.ACCEPTED, scrutineer, r.accepted_at)
            return r
        challenged_at = submitted_at + timedelta(days=10)
        due = challenge_due or (to_london(challenged_at).date() + timedelta(days=28))
        r.status, r.response_due_on, r.version = ReturnStatus.CHALLENGED, due, 3
        event(r, EventKind.CHALLENGED, scrutineer, challenged_at, response_due_on=due,
              text="Level 3 compliance is below the partnership's target. What is the plan to close the gap, "
                   "and how will you know the training has changed practice?")
        if status == ReturnStatus.CHALLENGED:
            return r
        responded_at = challenged_at + timedelta(days=12)
        r.status, r.version = ReturnStatus.RESPONDED, 4
        event(r, EventKind.RESPONDED, agency_lead, responded_at,
              text="Two extra Level 3 sessions are booked for the autumn. Managers will confirm in supervision "
                   "that staff have used the referral pathway, and the next audit will check it.")
        if status == ReturnStatus.RESPONDED:
            return r
        r.status, r.accepted_at, r.accepted_by_id, r.version = ReturnStatus.ACCEPTED, responded_at + timedelta(days=7), \
            scrutineer.id, 5
        event(r, EventKind.ACCEPTED, scrutineer, r.accepted_at)
        return r

    last_opened = now - timedelta(days=540)
    last = ReturnRound(year=this_year - 1, due_on=date(this_year, 6, 30), opened_by_id=coordinator.id,
                       opened_at=last_opened)
    db.session.add(last)
    for i, agency in enumerate(chosen):
        make(last, agency, ReturnStatus.ACCEPTED, 0.78 + 0.03 * i, last_opened,
             challenge_due=to_london(last_opened).date() + timedelta(days=60) if i == 0 else None)

    opened = now - timedelta(days=200)
    current = ReturnRound(year=this_year, due_on=date(this_year + 1, 6, 30), opened_by_id=coordinator.id,
                          opened_at=opened)
    db.session.add(current)
    today = to_london(now).date()
    plan = [
        (ReturnStatus.DRAFT, 0.88, None),  # the lead's own: finish and submit it
        (ReturnStatus.SUBMITTED, 0.93, None),  # for the scrutineer to challenge or accept
        (ReturnStatus.RESPONDED, 0.84, None),  # a response to read
        (ReturnStatus.CHALLENGED, 0.72, today - timedelta(days=9)),  # an overdue response
        (ReturnStatus.ACCEPTED, 0.95, None),
        (ReturnStatus.NOT_STARTED, 0.0, None),  # overdue once the due date has passed
        (ReturnStatus.CHALLENGED, 0.81, today + timedelta(days=21)),
    ]
    for agency, (status, share, due) in zip(chosen, plan, strict=False):
        make(current, agency, status, share, opened, challenge_due=due)
    db.session.flush()
    return count
