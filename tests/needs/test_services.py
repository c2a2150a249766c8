"""Workforce groups, requirements, people's groups and reviews: the rules and what they write."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import AgencyFactory, CoordinatorFactory, CourseFactory, UserFactory
from tests.needs.helpers import MembershipFactory, RequirementFactory, WorkforceGroupFactory, completed, noon
from training.accounts.models import Sector
from training.audit.models import AuditEvent
from training.catalogue.models import Level
from training.extensions import db
from training.needs import services, tna
from training.needs.errors import InvalidDetails, NotAllowed, NotCoordinator
from training.needs.models import Requirement, TnaReview, WorkforceGroup, WorkforceMembership
from training.needs.services import GroupDetails, RequirementDetails, ReviewDetails

TODAY = date(2026, 6, 15)
NOW = noon(TODAY)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------------------
# Groups
# ---------------------------------------------------------------------------

def test_a_coordinator_adds_and_changes_a_group():
    coordinator = CoordinatorFactory()
    group = services.create_group(coordinator, GroupDetails(
        "  DSLs in schools ", "Designated safeguarding leads", (Sector.EDUCATION, Sector.EARLY_YEARS)), now=NOW)
    assert (group.name, group.sectors, group.active) == ("DSLs in schools", [Sector.EARLY_YEARS, Sector.EDUCATION],
                                                         True)
    services.update_group(group.id, coordinator, GroupDetails("DSLs", "", (Sector.EDUCATION,), active=False),
                          now=NOW)
    db.session.expire_all()
    group = db.session.get(WorkforceGroup, group.id)
    assert (group.name, group.description, group.sectors, group.active) == ("DSLs", "", [Sector.EDUCATION], False)
    assert [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))] == [
        "needs.group.added", "needs.group.changed"]


@pytest.mark.parametrize(("details", "errors"), [
    (GroupDetails("  ", "", (Sector.HEALTH,)), {"name": "Enter a name for the workforce group"}),
    (GroupDetails("x" * 201, "", (Sector.HEALTH,)), {"name": "Name must be 200 characters or fewer"}),
    (GroupDetails("Police staff", "", ()), {"sectors": "Select the sectors this group works in"}),
    (GroupDetails("police OFFICERS", "", (Sector.POLICE,)),
     {"name": "There is already a workforce group with this name. Enter a different name"}),
])
def test_a_group_with_problems_is_refused_and_nothing_changes(details, errors):
    WorkforceGroupFactory(name="Police officers")
    with pytest.raises(InvalidDetails) as err:
        services.create_group(CoordinatorFactory(), details, now=NOW)
    assert err.value.errors == errors
    assert _count(WorkforceGroup) == 1


def test_only_coordinators_manage_groups_and_requirements():
    professional = UserFactory()
    group = WorkforceGroupFactory()
    with pytest.raises(NotCoordinator):
        services.create_group(professional, GroupDetails("Police", "", (Sector.POLICE,)))
    with pytest.raises(NotCoordinator):
        services.add_requirement(group.id, professional, RequirementDetails(None, Level.LEVEL_1, 3, 36))
    with pytest.raises(NotCoordinator):
        services.record_review(professional, ReviewDetails(TODAY, "A", "B"), 3, now=NOW)
    assert _count(WorkforceGroup) == 1 and _count(Requirement) == 0 and _count(TnaReview) == 0


# ---------------------------------------------------------------------------
# Requirements
# ---------------------------------------------------------------------------

def test_requirements_are_added_changed_and_removed():
    coordinator = CoordinatorFactory()
    group = WorkforceGroupFactory()
    course = CourseFactory()
    by_level = services.add_requirement(group.id, coordinator, RequirementDetails(None, Level.LEVEL_1, 3, 36), now=NOW)
    by_course = services.add_requirement(group.id, coordinator, RequirementDetails(course.id, None, 12, None),
                                         now=NOW)
    assert (by_level.label, by_level.deadline_label, by_level.refresher_label) == (
        "Any Level 1 course", "Within 3 months of starting", "Every 3 years")
    assert (by_course.label, by_course.refresher_label) == (course.title, "Once only")
    services.update_requirement(by_level.id, coordinator, RequirementDetails(None, Level.LEVEL_2, 0, 24), now=NOW)
    db.session.expire_all()
    changed = db.session.get(Requirement, by_level.id)
    assert (changed.level, changed.deadline_label, changed.refresher_label) == (
        Level.LEVEL_2, "Before starting", "Every 2 years")
    assert services.remove_requirement(by_course.id, coordinator, now=NOW) == group.id
    assert [r.id for r in db.session.scalars(select(Requirement))] == [by_level.id]
    actions = [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == ["needs.requirement.added", "needs.requirement.added", "needs.requirement.changed",
                       "needs.requirement.removed"]


@pytest.mark.parametrize(("details", "errors"), [
    (RequirementDetails(None, None, 3, 36), {"target": "Select a course or a level"}),
    (RequirementDetails(999_999, None, 3, 36), {"target": "Select a course from the list"}),
    (RequirementDetails(None, Level.LEVEL_1, 3, 36), {"target": "This group already has a requirement for this level"}),
    (RequirementDetails(None, Level.LEVEL_2, -1, 0), {"deadline_months": "Deadline must be between 0 and 120 months",
                                                      "refresher_months": "Refresher interval must be between 1 and "
                                                                          "120 months"}),
])
def test_a_requirement_with_problems_is_refused_and_nothing_changes(details, errors):
    group = WorkforceGroupFactory()
    RequirementFactory(group=group, level=Level.LEVEL_1)
    with pytest.raises(InvalidDetails) as err:
        services.add_requirement(group.id, CoordinatorFactory(), details, now=NOW)
    assert err.value.errors == errors
    assert _count(Requirement) == 1


def test_the_same_course_twice_is_refused_and_a_retired_course_only_stays():
    coordinator = CoordinatorFactory()
    group = WorkforceGroupFactory()
    course, retired = CourseFactory(), CourseFactory(active=False)
    kept = RequirementFactory(group=group, course=retired, level=None)
    services.add_requirement(group.id, coordinator, RequirementDetails(course.id, None, 3, None))
    with pytest.raises(InvalidDetails) as err:
        services.add_requirement(group.id, coordinator, RequirementDetails(course.id, None, 6, None))
    assert err.value.errors == {"target": "This group already has a requirement for this course"}
    with pytest.raises(InvalidDetails):
        services.add_requirement(WorkforceGroupFactory().id, coordinator, RequirementDetails(retired.id, None, 6, 36))
    # The requirement that already names the retired course can still be changed.
    services.update_requirement(kept.id, coordinator, RequirementDetails(retired.id, None, 9, 36))
    assert db.session.get(Requirement, kept.id).deadline_months == 9


# ---------------------------------------------------------------------------
# A person's group
# ---------------------------------------------------------------------------

def test_recording_a_group_then_changing_it_keeps_the_history():
    person = UserFactory()
    first, second = WorkforceGroupFactory(), WorkforceGroupFactory()
    services.record_membership(person.id, person, first.id, date(2024, 9, 1), now=noon(date(2024, 9, 2)))
    again = services.record_membership(person.id, person, first.id, date(2024, 9, 1), now=NOW)
    assert _count(WorkforceMembership) == 1 and again.group_id == first.id  # the same again: no change
    services.record_membership(person.id, person, second.id, date(2026, 3, 1), now=NOW)
    # A corrected start date in the same group is a change too, kept as history.
    services.record_membership(person.id, person, second.id, date(2026, 2, 1), now=NOW)
    rows = [(m.group_id, m.started_on, m.ended_on) for m in
            db.session.scalars(select(WorkforceMembership).order_by(WorkforceMembership.id))]
    assert rows == [(first.id, date(2024, 9, 1), date(2026, 3, 1)),
                    (second.id, date(2026, 3, 1), date(2026, 3, 1)),
                    (second.id, date(2026, 2, 1), None)]
    assert services.current_membership(person.id).started_on == date(2026, 2, 1)
    assert [m.started_on for m in services.membership_history(person.id)][0] == date(2026, 2, 1)


@pytest.mark.parametrize(("group", "started_on", "errors"), [
    (None, date(2025, 1, 1), {"group": "Select your workforce group"}),
    ("inactive", date(2025, 1, 1), {"group": "Select your workforce group"}),
    ("active", None, {"started_on": "Enter the date you started in this role"}),
    ("active", TODAY + timedelta(days=1), {"started_on": "The date you started must be today or in the past"}),
    ("active", date(1949, 12, 31), {"started_on": "The date you started must be a real date, after 1950"}),
])
def test_a_group_with_problems_is_refused_and_the_current_one_stays(group, started_on, errors):
    person = UserFactory()
    current = MembershipFactory(user=person, started_on=date(2020, 1, 1))
    groups = {"active": WorkforceGroupFactory(), "inactive": WorkforceGroupFactory(active=False), None: None}
    chosen = groups[group]
    with pytest.raises(InvalidDetails) as err:
        services.record_membership(person.id, person, chosen.id if chosen else None, started_on, now=NOW)
    assert err.value.errors == errors
    assert [m.id for m in db.session.scalars(select(WorkforceMembership))] == [current.id]
    assert services.current_membership(person.id).ended_on is None


def test_a_person_in_a_group_no_longer_offered_may_keep_it_but_not_join_it():
    person, newcomer = UserFactory(), UserFactory()
    retired = WorkforceGroupFactory(active=False)
    MembershipFactory(user=person, group=retired, started_on=date(2020, 1, 1))
    services.record_membership(person.id, person, retired.id, date(2021, 1, 1), now=NOW)
    assert services.current_membership(person.id).started_on == date(2021, 1, 1)
    with pytest.raises(InvalidDetails):
        services.record_membership(newcomer.id, newcomer, retired.id, date(2021, 1, 1), now=NOW)
    offered = services.groups_for_choosing(Sector.HEALTH, retired.id)
    assert retired in offered and retired not in services.groups_for_choosing(Sector.HEALTH)


def test_no_one_records_another_persons_group():
    person, other = UserFactory(), UserFactory()
    with pytest.raises(NotAllowed):
        services.record_membership(person.id, other, WorkforceGroupFactory().id, date(2025, 1, 1), now=NOW)
    assert _count(WorkforceMembership) == 0


def test_groups_for_the_persons_sector_come_first():
    police = WorkforceGroupFactory(name="A police group", sectors=[Sector.POLICE])
    schools = WorkforceGroupFactory(name="B schools group", sectors=[Sector.EDUCATION])
    WorkforceGroupFactory(name="C gone", active=False)
    assert services.groups_for_choosing(Sector.EDUCATION) == [schools, police]
    assert services.groups_for_choosing(Sector.POLICE) == [police, schools]


# ---------------------------------------------------------------------------
# Reviews
# ---------------------------------------------------------------------------

def _scene():
    agency = AgencyFactory(name="Alpha")
    group = WorkforceGroupFactory(name="Practitioners")
    RequirementFactory(group=group, level=Level.LEVEL_1, refresher_months=36)
    course = CourseFactory(level=Level.LEVEL_1)
    people = []
    for _ in range(3):
        person = UserFactory(agency=agency)
        MembershipFactory(user=person, group=group)
        people.append(person)
    return agency, group, course, people


def test_a_review_keeps_a_dated_snapshot_and_the_next_compares_with_it():
    coordinator = CoordinatorFactory()
    agency, group, course, people = _scene()
    first = services.record_review(coordinator, ReviewDetails(TODAY - timedelta(days=2), " Chair, MASH lead ",
                                                              "Run more Level 1", ""), 3, now=NOW)
    data = json.loads(first.snapshot)
    assert data["figures_on"] == "2026-06-15" and data["due_soon_months"] == 3
    assert [(r["agency"], r["group"], r["people"], r["never_trained"]) for r in data["rows"]] == [
        ("Alpha", "Practitioners", 3, 3)]
    assert (first.attendees, first.figures_on, first.recorded_by_id) == ("Chair, MASH lead", TODAY, coordinator.id)
    assert services.previous_review(first) is None

    # Two of the three are trained, and a new agency joins, before the next review.
    completed(people[0], course, date(2026, 5, 1))
    completed(people[1], course, date(2023, 8, 1))  # due 1 August 2026: due soon
    other = UserFactory(agency=AgencyFactory(name="Beta"))
    MembershipFactory(user=other, group=group)
    later = noon(TODAY + timedelta(days=30))
    second = services.record_review(coordinator, ReviewDetails(TODAY + timedelta(days=30), "Chair", "Keep going",
                                                               "Online harms"), 3, now=later)
    assert services.previous_review(second).id == first.id
    assert services.latest_review().id == second.id
    now_figures, before = tna.from_snapshot(second.snapshot), tna.from_snapshot(first.snapshot)
    (practitioners,) = tna.compare(now_figures.by_group(), before.by_group())
    assert {k: (c.now, c.change) for k, c in practitioners.figures.items()} == {
        "people": (4, 1), "in_date": (1, 1), "due_soon": (1, 1), "overdue": (0, 0), "never_trained": (2, -1),
        "never_past_deadline": (2, -1)}
    by_agency = {c.name: c for c in tna.compare(now_figures.by_agency(), before.by_agency())}
    assert by_agency["Beta"]["people"].change is None and by_agency["Beta"]["people"].label == "new"
    assert by_agency["Alpha"]["never_trained"].label == "\u22122"
    totals = tna.compare_totals(now_figures, before)
    assert (totals["in_date"].label, totals["people"].label) == ("+1", "+1")
    assert [r.id for r in services.reviews()] == [second.id, first.id]


@pytest.mark.parametrize(("details", "errors"), [
    (ReviewDetails(None, "A", "B"), {"reviewed_on": "Enter the date of the review"}),
    (ReviewDetails(TODAY + timedelta(days=1), "A", "B"),
     {"reviewed_on": "The date of the review must be today or in the past"}),
    (ReviewDetails(date(1999, 12, 31), "A", "B"),
     {"reviewed_on": "The date of the review must be a real date, after 2000"}),
    (ReviewDetails(TODAY, " ", "\n"), {"attendees": "Enter who attended the review",
                                       "decisions": "Enter the decisions made"}),
    (ReviewDetails(TODAY, "A", "B", "x" * 5001), {"emerging_issues": "This must be 5,000 characters or fewer"}),
])
def test_a_review_with_problems_is_refused(details, errors):
    with pytest.raises(InvalidDetails) as err:
        services.record_review(CoordinatorFactory(), details, 3, now=NOW)
    assert err.value.errors == errors
    assert _count(TnaReview) == 0
