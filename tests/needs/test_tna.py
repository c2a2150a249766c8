"""The TNA worked out from the registers: a dataset whose answer is known, the edge cases,
the drill-down and a person's own page agreeing with the counts, and a constant number of
queries."""
from __future__ import annotations

from datetime import date, time, timedelta

import pytest

from tests.factories import AgencyFactory, CourseFactory, UserFactory
from tests.needs.helpers import (
    MembershipFactory,
    RequirementFactory,
    WorkforceGroupFactory,
    completed,
    noon,
)
from tests.sql import statements_of
from training.attendance.models import AttendanceOutcome
from training.catalogue.models import Level
from training.extensions import db
from training.needs import services, tna
from training.needs.dates import add_months
from training.needs.models import TnaStatus, WorkforceMembership
from training.needs.tna import Counts

TODAY = date(2026, 6, 15)
NOW = noon(TODAY)
A_, P_ = AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL


@pytest.fixture
def scene():
    """Two agencies, three groups; every person's answer is worked out in the comments."""
    alpha, beta = AgencyFactory(name="Alpha School"), AgencyFactory(name="Beta Health")
    l1, l1_other = CourseFactory(level=Level.LEVEL_1), CourseFactory(level=Level.LEVEL_1)
    advanced, other_l3 = CourseFactory(level=Level.LEVEL_3), CourseFactory(level=Level.LEVEL_3)
    l2 = CourseFactory(level=Level.LEVEL_2)
    practitioners = WorkforceGroupFactory(name="Practitioners")
    volunteers = WorkforceGroupFactory(name="Volunteers")
    empty = WorkforceGroupFactory(name="No requirements")
    RequirementFactory(group=practitioners, level=Level.LEVEL_1, deadline_months=3, refresher_months=36)
    RequirementFactory(group=practitioners, course=advanced, level=None, deadline_months=12, refresher_months=24)
    RequirementFactory(group=volunteers, level=Level.LEVEL_1, deadline_months=3, refresher_months=None)

    def person(agency, group, started=date(2020, 1, 1), **kwargs):
        user = UserFactory(agency=agency, **kwargs)
        MembershipFactory(user=user, group=group, started_on=started)
        return user

    people = {}
    # Alpha, practitioners.
    people["p1"] = p = person(alpha, practitioners)  # in date on both
    completed(p, l1, date(2025, 1, 10))
    completed(p, advanced, date(2025, 1, 10))
    people["p2"] = p = person(alpha, practitioners)  # advanced due 1 August 2026: due soon
    completed(p, l1, date(2025, 1, 10))
    completed(p, advanced, date(2024, 8, 1))
    people["p3"] = p = person(alpha, practitioners)  # L1 due today (due soon); advanced due yesterday: overdue
    completed(p, l1, date(2023, 6, 15))
    completed(p, advanced, date(2024, 6, 14))
    people["p4"] = p = person(alpha, practitioners, started=date(2026, 5, 1))  # new starter: never trained
    completed(p, other_l3, date(2026, 5, 20))  # another Level 3 course: not the one required
    people["p5"] = p = person(alpha, practitioners)  # L1 by walk-in; advanced never, past its deadline
    completed(p, l1_other, date(2025, 3, 1), walk_in=True)
    people["p6"] = p = person(alpha, practitioners, started=date(2026, 6, 1))  # L1: cancelled and partial only
    completed(p, advanced, date(2025, 2, 1))
    completed(p, l1, date(2025, 5, 1), cancelled=True)
    completed(p, l1, date(2025, 6, 1), P_)
    people["p7"] = p = person(alpha, practitioners)  # a later did-not-attend undoes nothing
    completed(p, l1, date(2025, 1, 10))
    completed(p, l1, date(2026, 1, 10), AttendanceOutcome.DID_NOT_ATTEND)
    completed(p, advanced, date(2025, 1, 10))
    # Beta, practitioners.
    q1 = UserFactory(agency=beta)  # moved from volunteers: L1 done then still counts
    people["q1"] = q1
    services.record_membership(q1.id, q1, volunteers.id, date(2023, 1, 1), now=noon(date(2023, 2, 1)))
    completed(q1, l1, date(2024, 1, 1))
    services.record_membership(q1.id, q1, practitioners.id, date(2026, 1, 1), now=NOW)
    completed(q1, advanced, date(2025, 12, 1))
    people["q2"] = p = person(beta, practitioners, started=date(2019, 1, 1))  # L1 overdue, advanced never: overdue
    completed(p, l1, date(2023, 1, 1))
    # Beta, volunteers.
    people["q3"] = p = person(beta, volunteers)  # once only, long ago: in date
    completed(p, l1, date(2010, 1, 1))
    people["q4"] = p = person(beta, volunteers, started=date(2026, 6, 1))  # Level 2 is not Level 1: never
    completed(p, l2, date(2026, 6, 2))
    people["q5"] = p = person(beta, volunteers, active=False)  # deactivated: not counted
    # Alpha, a group with no requirements; and someone with no group.
    people["r1"] = person(alpha, empty)
    people["nobody"] = UserFactory(agency=alpha)
    return {"alpha": alpha, "beta": beta, "practitioners": practitioners, "volunteers": volunteers,
            "empty": empty, "people": people, "l1": l1, "advanced": advanced}


def _by_cell(figures) -> dict[tuple[str, str], Counts]:
    return {(r.agency, r.group): r.counts for r in figures.rows}


def test_the_counts_for_a_known_dataset(scene):
    figures = tna.compute(NOW, 3)
    assert figures.figures_on == TODAY
    assert _by_cell(figures) == {
        ("Alpha School", "No requirements"): Counts(people=1),
        ("Alpha School", "Practitioners"): Counts(people=7, in_date=2, due_soon=1, overdue=1, never_trained=3,
                                                  never_past_deadline=1),
        ("Beta Health", "Practitioners"): Counts(people=2, in_date=1, overdue=1),
        ("Beta Health", "Volunteers"): Counts(people=2, in_date=1, never_trained=1),
    }
    assert figures.totals == Counts(people=12, in_date=4, due_soon=1, overdue=2, never_trained=4,
                                    never_past_deadline=1)
    assert figures.without_group == 1
    assert [(s.name, s.counts.people) for s in figures.by_group()] == [
        ("No requirements", 1), ("Practitioners", 9), ("Volunteers", 2)]
    assert [(s.name, s.counts.overdue) for s in figures.by_agency()] == [("Alpha School", 1), ("Beta Health", 1)]


def test_one_agency_only(scene):
    figures = tna.compute(NOW, 3, agency_id=scene["beta"].id)
    assert set(_by_cell(figures)) == {("Beta Health", "Practitioners"), ("Beta Health", "Volunteers")}
    assert figures.without_group == 0


def test_the_drill_down_shows_each_requirement_and_agrees_with_the_counts(scene):
    people = tna.people_in(scene["alpha"].id, scene["practitioners"], NOW, 3)
    ids = {v.id: k for k, v in scene["people"].items()}
    found = {ids[p.user_id]: [s.status for s in p.statuses] for p in people}
    ok, due, late, never = TnaStatus.IN_DATE, TnaStatus.DUE_SOON, TnaStatus.OVERDUE, TnaStatus.NEVER_TRAINED
    assert found == {"p1": [ok, ok], "p2": [ok, due], "p3": [due, late], "p4": [never, never], "p5": [ok, never],
                     "p6": [never, ok], "p7": [ok, ok]}
    by_name = {ids[p.user_id]: p for p in people}
    assert by_name["p3"].statuses[0].next_due == TODAY  # exactly on the due date: due, not overdue
    assert by_name["p3"].statuses[1].next_due == TODAY - timedelta(days=1)
    assert by_name["p5"].statuses[0].completed_on == date(2025, 3, 1)  # the walk-in
    assert by_name["p5"].statuses[1].past_deadline
    assert by_name["p7"].statuses[0].completed_on == date(2025, 1, 10)  # the later DNA undid nothing
    assert by_name["p6"].statuses[0].completed_on is None  # cancelled and partial never count
    worst = {}
    for p in people:
        worst[p.worst] = worst.get(p.worst, 0) + 1
    counts = _by_cell(tna.compute(NOW, 3))[("Alpha School", "Practitioners")]
    assert worst == {ok: counts.in_date, due: counts.due_soon, late: counts.overdue, never: counts.never_trained}


def test_a_person_who_changed_group_has_only_the_new_groups_requirements(scene):
    q1 = scene["people"]["q1"]
    history = db.session.query(WorkforceMembership).filter_by(user_id=q1.id).order_by(WorkforceMembership.id).all()
    assert [(m.group.name, m.started_on, m.ended_on) for m in history] == [
        ("Volunteers", date(2023, 1, 1), date(2026, 1, 1)), ("Practitioners", date(2026, 1, 1), None)]
    mine = tna.my_requirements(services.current_membership(q1.id), NOW, 3)
    assert [m.requirement.group.name for m in mine] == ["Practitioners", "Practitioners"]
    # Level 1 was done while a volunteer, before the change: it still counts.
    assert [(m.status.status, m.status.completed_on, m.status.next_due) for m in mine] == [
        (TnaStatus.IN_DATE, date(2024, 1, 1), date(2027, 1, 1)),
        (TnaStatus.IN_DATE, date(2025, 12, 1), date(2027, 12, 1)),
    ]
    assert mine[1].course_title == scene["advanced"].title
    assert tna.people_in(scene["beta"].id, scene["volunteers"], NOW, 3)[0].user_id != q1.id


def test_my_requirements_match_the_drill_down(scene):
    for key in ("p2", "p3", "p5", "p6"):
        person = scene["people"][key]
        mine = tna.my_requirements(services.current_membership(person.id), NOW, 3)
        listed = next(p for p in tna.people_in(scene["alpha"].id, scene["practitioners"], NOW, 3)
                      if p.user_id == person.id)
        assert [m.status for m in mine] == listed.statuses, key


def test_the_london_date_of_a_session_just_after_midnight_counts(scene):
    """00:30 on 15 June 2023 in London is 23:30 on 14 June in UTC: due today, not overdue."""
    group = WorkforceGroupFactory()
    RequirementFactory(group=group, level=Level.LEVEL_2, refresher_months=36)
    agency = AgencyFactory()
    user = UserFactory(agency=agency)
    MembershipFactory(user=user, group=group)
    completed(user, CourseFactory(level=Level.LEVEL_2), date(2023, 6, 15), at=time(0, 30))
    assert _by_cell(tna.compute(NOW, 3))[(agency.name, group.name)] == Counts(people=1, due_soon=1)
    assert tna.people_in(agency.id, group, NOW, 3)[0].statuses[0].next_due == TODAY


def _edge_scene(size: int, agency=None, groups=None):
    """People at every edge of every bucket, for 24- and 36-month refreshers (`size` of each)."""
    agency = agency or AgencyFactory()
    course = CourseFactory(level=Level.DSL)
    if groups is None:
        groups = {}
        for months in (24, 36):
            groups[months] = WorkforceGroupFactory()
            RequirementFactory(group=groups[months], level=Level.DSL, deadline_months=6, refresher_months=months)
    for months, group in groups.items():
        horizon = add_months(TODAY, 3)
        edges = [add_months(TODAY, -months) - timedelta(days=1), add_months(TODAY, -months),
                 add_months(horizon, -months), add_months(horizon, -months) + timedelta(days=1)]
        for _ in range(size):
            for day in edges:
                user = UserFactory(agency=agency)
                MembershipFactory(user=user, group=group)
                completed(user, course, day)
            never = UserFactory(agency=agency)
            MembershipFactory(user=never, group=group, started_on=add_months(TODAY, -6))  # deadline today
    return agency, groups


def test_sql_buckets_agree_with_the_exact_rules_at_every_edge():
    agency, groups = _edge_scene(1)
    cells = _by_cell(tna.compute(NOW, 3))
    for months, group in groups.items():
        assert cells[(agency.name, group.name)] == Counts(people=5, in_date=1, due_soon=2, overdue=1,
                                                          never_trained=1, never_past_deadline=0), months
        statuses = sorted(p.statuses[0].status.value for p in tna.people_in(agency.id, group, NOW, 3))
        assert statuses == ["due-soon", "due-soon", "in-date", "never-trained", "overdue"]
    # A day later the one due today is overdue, and so is the one whose first deadline was today.
    later = _by_cell(tna.compute(noon(TODAY + timedelta(days=1)), 3))
    assert later[(agency.name, groups[36].name)].overdue == 2
    assert later[(agency.name, groups[36].name)].never_past_deadline == 1


def _count_queries(fn) -> int:
    return len(statements_of(fn).queries)


def test_the_number_of_queries_does_not_grow_with_the_data():
    agency, groups = _edge_scene(1)
    agency_id, group_id = agency.id, groups[24].id

    def counts() -> tuple[int, int]:
        db.session.expire_all()
        group = services.get_group(group_id)
        assert group.requirements  # loaded first, as the page does
        return (_count_queries(lambda: tna.compute(NOW, 3)),
                _count_queries(lambda: tna.people_in(agency_id, group, NOW, 3)))

    small = counts()
    _edge_scene(4, agency, groups)
    large = counts()
    assert len(tna.people_in(agency_id, services.get_group(group_id), NOW, 3)) == 25
    assert small == large == (3, 2)


def test_no_one_in_any_group():
    UserFactory()
    figures = tna.compute(NOW, 3)
    assert figures.rows == [] and figures.totals == Counts() and figures.without_group == 1


def test_a_snapshot_round_trips_and_compares(scene):
    figures = tna.compute(NOW, 3)
    again = tna.from_snapshot(tna.snapshot_json(figures))
    assert again == figures
    before = tna.for_agency(again, scene["beta"].id)
    compared = {c.name: c for c in tna.compare(figures.by_agency(), before.by_agency())}
    assert compared["Alpha School"]["people"].change is None  # not in the earlier figures
    assert compared["Beta Health"]["people"].change == 0
    assert compared["Beta Health"]["people"].label == "no change"
