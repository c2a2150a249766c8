"""Demo data for the training needs analysis: workforce groups with their requirements, most
of the demo people in a group, and an earlier review so the TNA shows what has changed.

`training/demo.py` calls `add_needs_demo` inside its own write transaction, after the
sessions and registers are flushed. It draws from its own random generator, so the rest of
the demo stays exactly as it was.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..accounts.models import Role, Sector, User
from ..attendance.models import Attendance, AttendanceOutcome, Register
from ..catalogue.models import Course, CourseSession, Level, SessionStatus
from ..catalogue.services import default_booking_close
from ..extensions import db
from ..timeutil import london_to_utc
from . import tna
from .dates import add_months
from .models import Requirement, TnaReview, WorkforceGroup, WorkforceMembership

SEED = 5
DSL_COURSE = "Designated safeguarding lead: new to the role"
#: Older sessions, from before the demo's year of registers, so some people are due soon or
#: overdue: course title, months ago, how many people in a group needing its level attended.
HISTORY = (("Introduction to safeguarding children", 34, 14), ("Introduction to safeguarding children", 39, 12),
           ("Designated safeguarding lead refresher", 23, 6), ("Designated safeguarding lead refresher", 26, 4))
#: The demo accounts' groups, by email: the demo professional is a deputy DSL at a school.
FIXED = {"professional@demo.example": "dsl"}
#: Left without a group, so the demo shows the prompt to choose one.
WITHOUT_GROUP = {"colleague@demo.example"}

_S = Sector
#: key, name, description, sectors, requirements (level or course title, deadline, refresher)
GROUPS: tuple[tuple[str, str, str, tuple[Sector, ...], tuple[tuple[Level | str, int, int | None], ...]], ...] = (
    ("all", "All staff in contact with children",
     "Anyone whose work brings them into contact with children, young people or their families, however briefly",
     tuple(Sector), ((Level.LEVEL_1, 3, 36),)),
    ("practitioners", "Practitioners working directly with children and families",
     "Social workers, teachers, health visitors, school nurses, early help and youth workers",
     (_S.CHILDRENS_SOCIAL_CARE, _S.EDUCATION, _S.EARLY_YEARS, _S.HEALTH, _S.PROBATION_JUSTICE, _S.HOUSING),
     ((Level.LEVEL_1, 3, 36), (Level.LEVEL_3, 12, 36))),
    ("dsl", "Designated safeguarding leads in schools and settings",
     "Designated safeguarding leads and deputies in schools, colleges, early years settings and voluntary groups",
     (_S.EDUCATION, _S.EARLY_YEARS, _S.VOLUNTARY_COMMUNITY, _S.FAITH),
     ((DSL_COURSE, 6, None), (Level.DSL, 6, 24), (Level.LEVEL_3, 12, 36))),
    ("gps", "GPs and practice staff", "GPs, practice nurses and reception staff in GP practices",
     (_S.HEALTH,), ((Level.LEVEL_1, 3, 36), (Level.LEVEL_2, 12, 36))),
    ("police", "Police officers", "Officers and staff in the Thameside policing area",
     (_S.POLICE,), ((Level.LEVEL_2, 6, 36),)),
    ("volunteers", "Community and faith volunteers",
     "Volunteers and leaders in community, sports and faith groups", (_S.VOLUNTARY_COMMUNITY, _S.FAITH),
     ((Level.LEVEL_1, 3, 36),)),
)


@dataclass(frozen=True)
class NeedsDemoSummary:
    groups: int
    requirements: int
    memberships: int
    reviews: int


def add_needs_demo(people: Sequence[User], now: datetime, seed: int = SEED) -> NeedsDemoSummary:
    """Add the groups, memberships and one earlier review to the current transaction."""
    rng = random.Random(seed)
    today = tna.london_today(now)
    courses = {c.title: c for c in db.session.scalars(select(Course).where(Course.title == DSL_COURSE))}
    groups: dict[str, WorkforceGroup] = {}
    requirements = 0
    for key, name, description, sectors, needs in GROUPS:
        group = WorkforceGroup(name=name, description=description, active=True, created_at=now, updated_at=now)
        group.sectors = sectors
        for target, deadline, refresher in needs:
            if isinstance(target, Level):
                group.requirements.append(Requirement(level=target, deadline_months=deadline,
                                                      refresher_months=refresher, created_at=now, updated_at=now))
            elif target in courses:
                group.requirements.append(Requirement(course=courses[target], deadline_months=deadline,
                                                      refresher_months=refresher, created_at=now, updated_at=now))
            else:
                continue
            requirements += 1
        groups[key] = group
    db.session.add_all(groups.values())
    db.session.flush()

    by_sector: dict[Sector, list[WorkforceGroup]] = {}
    for group in groups.values():
        for sector in group.sectors:
            by_sector.setdefault(sector, []).append(group)
    memberships = []
    for person in people:
        if person.email in WITHOUT_GROUP:
            continue
        if person.email in FIXED:
            group, started = groups[FIXED[person.email]], add_months(today, -14)
        else:
            # Staff of the partnership itself and one in ten others have not said yet.
            if Role.COORDINATOR in person.roles or rng.random() < 0.1:
                continue
            group = rng.choice(by_sector.get(person.agency.sector) or [groups["all"]])
            started = today - timedelta(days=rng.randint(20, 8 * 365))
        memberships.append(WorkforceMembership(user_id=person.id, group_id=group.id, started_on=started,
                                               recorded_at=now, recorded_by_id=person.id))
    db.session.add_all(memberships)
    db.session.flush()
    _add_history(memberships, groups, now, rng)

    # The figures as they stood three months ago (completions up to then), kept with that review.
    then = min(now, london_to_utc(tna.london_today(now - timedelta(days=91)), time(14, 0)))
    figures = tna.compute(then, 3)
    coordinator = next((p for p in people if Role.COORDINATOR in p.roles), None)
    db.session.add(TnaReview(
        reviewed_on=tna.london_today(then),
        attendees="Chair of the Learning and Development Subgroup\nPartnership training coordinator\n"
                  "Designated safeguarding lead for schools\nPolice and health training leads",
        decisions="Run two extra Level 3 multi-agency sessions this term.\n"
                  "Ask every partner agency to remind staff to record their workforce group.",
        emerging_issues="Online harms and sextortion of teenagers (national).\n"
                        "Rise in referrals about neglect in families with younger children (local).",
        recorded_by_id=coordinator.id if coordinator else None,
        created_at=then, figures_on=figures.figures_on, snapshot=tna.snapshot_json(figures),
    ))
    db.session.flush()
    return NeedsDemoSummary(groups=len(groups), requirements=requirements, memberships=len(memberships), reviews=1)


def _add_history(memberships: list[WorkforceMembership], groups: dict[str, WorkforceGroup], now: datetime,
                 rng: random.Random) -> None:
    """Registers of a few sessions from two to three years ago, with people in the groups that need them."""
    today = tna.london_today(now)
    titles = {title for title, _, _ in HISTORY}
    courses = {c.title: c for c in db.session.scalars(select(Course).where(Course.title.in_(titles)))}
    people = {p.id: p for p in db.session.scalars(select(User).where(User.id.in_([m.user_id for m in memberships])))}
    levels_by_group = {g.id: {r.level for r in g.requirements} for g in groups.values()}
    for title, months_ago, attended in HISTORY:
        course = courses.get(title)
        if course is None:
            continue
        day = add_months(today, -months_ago)
        while day.weekday() >= 5:
            day -= timedelta(days=1)
        starts = london_to_utc(day, time(9, 30))
        # Both courses are online: a joining link, no venue.
        session = CourseSession(course=course, starts_at=starts,
                                ends_at=starts + timedelta(minutes=course.duration_minutes),
                                booking_closes_at=default_booking_close(starts), capacity=max(attended, 30),
                                venue=None, online_link=f"https://meet.thameside-scp.example/j/{rng.randrange(10**9, 10**10)}",
                                places_taken=0, status=SessionStatus.SCHEDULED, created_at=starts - timedelta(days=60))
        db.session.add(session)
        db.session.flush()
        eligible = [m for m in memberships if course.level in levels_by_group[m.group_id]]
        for membership in rng.sample(eligible, min(attended, len(eligible))):
            person = people[membership.user_id]
            db.session.add(Attendance(session_id=session.id, user_id=person.id, attendee_name=person.name,
                                      attendee_email=person.email, agency_id=person.agency_id,
                                      outcome=AttendanceOutcome.ATTENDED, walk_in=True, recorded_at=session.ends_at))
        db.session.add(Register(session_id=session.id, completed_at=session.ends_at))
    db.session.flush()
