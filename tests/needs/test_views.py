"""The TNA pages: who may use them, what they show, and forms that explain their errors and
change nothing on bad input."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.factories import AgencyFactory, BookingFactory, CoordinatorFactory, CourseFactory, SessionFactory, TrainerFactory, UserFactory
from tests.needs.helpers import MembershipFactory, RequirementFactory, WorkforceGroupFactory, completed
from tests.sql import recorded_statements
from training.accounts.models import Role, Sector
from training.booking.models import BookingStatus
from training.catalogue.models import Level
from training.db import utcnow
from training.extensions import db
from training.needs import services
from training.needs.dates import add_months
from training.needs.models import Requirement, TnaReview, WorkforceGroup, WorkforceMembership
from training.needs.services import ReviewDetails
from training.needs.tna import london_today


def _count(model) -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(model))


def _text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


@pytest.fixture
def coordinator(login_as):
    return login_as(CoordinatorFactory())


# ---------------------------------------------------------------------------
# Access
# ---------------------------------------------------------------------------

def _urls(group_id: int, requirement_id: int, review_id: int, agency_id: int) -> list[str]:
    return [
        "/needs/groups", "/needs/groups/new", f"/needs/groups/{group_id}", f"/needs/groups/{group_id}/edit",
        f"/needs/groups/{group_id}/requirements/new", f"/needs/requirements/{requirement_id}/edit",
        f"/needs/requirements/{requirement_id}/remove", "/needs/tna",
        f"/needs/tna/agencies/{agency_id}/groups/{group_id}", "/needs/reviews", "/needs/reviews/new",
        f"/needs/reviews/{review_id}",
    ]


@pytest.mark.parametrize("roles", [[Role.PROFESSIONAL], [Role.PROFESSIONAL, Role.TRAINER],
                                   [Role.PROFESSIONAL, Role.AGENCY_LEAD], [Role.PROFESSIONAL, Role.SCRUTINEER]])
def test_only_coordinators_reach_groups_the_tna_and_reviews(app, login_as, roles):
    coordinator = CoordinatorFactory()
    requirement = RequirementFactory()
    member = UserFactory(name="Secret Person-Qx")
    MembershipFactory(user=member, group=requirement.group)
    review = services.record_review(coordinator, ReviewDetails(london_today(utcnow()), "A", "B"), 3)
    urls = _urls(requirement.group_id, requirement.id, review.id, member.agency_id)
    client = login_as(UserFactory(roles=roles))
    anonymous = app.test_client()
    before = (_count(WorkforceGroup), _count(Requirement), _count(TnaReview))
    for url in urls:
        response = client.get(url)
        assert response.status_code == 403, url
        assert "Secret Person-Qx" not in response.get_data(as_text=True)
        assert client.post(url, data={"name": "X", "sectors": "health", "target": "level:level-2",
                                      "deadline_months": "3"}).status_code in (403, 405), url
        assert "/sign-in" in anonymous.get(url).headers["Location"], url
    assert (_count(WorkforceGroup), _count(Requirement), _count(TnaReview)) == before
    for url in urls:
        assert login_as(coordinator).get(url).status_code == 200, url


def test_everyone_signed_in_reaches_only_their_own_group_and_requirements(app, login_as):
    for url in ("/needs/my-group", "/needs/my-requirements"):
        assert "/sign-in" in app.test_client().get(url).headers["Location"]
        assert login_as(TrainerFactory()).get(url).status_code == 200


@pytest.mark.parametrize("url", ["/needs/groups/999", "/needs/groups/999/edit", "/needs/groups/999/requirements/new",
                                 "/needs/requirements/999/edit", "/needs/requirements/999/remove",
                                 "/needs/reviews/999", "/needs/tna/agencies/999/groups/999"])
def test_missing_objects_are_not_found(coordinator, url):
    assert coordinator.get(url).status_code == 404
    assert coordinator.post(url).status_code in (404, 405)


# ---------------------------------------------------------------------------
# Groups and requirements
# ---------------------------------------------------------------------------

def test_a_coordinator_adds_a_group_and_a_requirement(coordinator):
    course = CourseFactory(title="Advanced child protection", level=Level.LEVEL_3)
    response = coordinator.post("/needs/groups/new", data={"name": "Police officers", "description": "Warranted",
                                                           "sectors": ["police", "probation-justice"]})
    group = db.session.scalar(select(WorkforceGroup))
    assert response.status_code == 302 and response.headers["Location"] == f"/needs/groups/{group.id}"
    assert group.sectors == [Sector.POLICE, Sector.PROBATION_JUSTICE]
    form = coordinator.get(f"/needs/groups/{group.id}/requirements/new")
    assert 'value="level:level-1"' in form.get_data(as_text=True) and f'value="course:{course.id}"' in form.get_data(
        as_text=True)
    response = coordinator.post(f"/needs/groups/{group.id}/requirements/new", data={
        "target": f"course:{course.id}", "deadline_months": "12", "refresher_months": "24"})
    assert response.status_code == 302
    page = _text(coordinator.get(f"/needs/groups/{group.id}"))
    assert "Advanced child protection" in page and "Within 1 year of starting" in page and "Every 2 years" in page
    listing = _text(coordinator.get("/needs/groups"))
    assert "Police officers" in listing and "Police, Probation and justice" in listing


@pytest.mark.parametrize(("data", "message"), [
    ({"name": "", "sectors": "health"}, "Enter a name for the workforce group"),
    ({"name": "   ", "sectors": "health"}, "Enter a name for the workforce group"),
    ({"name": "GPs"}, "Select the sectors this group works in"),
    ({"name": "GPs", "sectors": "not-a-sector"}, "Select sectors from the list"),
    ({"name": "existing", "sectors": "health"}, "There is already a workforce group with this name"),
])
def test_group_form_errors_change_nothing(coordinator, data, message):
    WorkforceGroupFactory(name="Existing")
    response = coordinator.post("/needs/groups/new", data=data)
    assert response.status_code == 400
    page = _text(response)
    assert message in page and "govuk-error-summary" in page and "<title>Error:" in page
    assert _count(WorkforceGroup) == 1


def test_a_group_is_changed_and_stops_being_offered(coordinator):
    group = WorkforceGroupFactory(name="GPs", sectors=[Sector.HEALTH])
    form = coordinator.get(f"/needs/groups/{group.id}/edit").get_data(as_text=True)
    assert 'value="GPs"' in form
    assert coordinator.post(f"/needs/groups/{group.id}/edit", data={
        "name": "GPs", "sectors": "health"}).status_code == 400  # active not answered
    response = coordinator.post(f"/needs/groups/{group.id}/edit", data={
        "name": "GPs and practice staff", "sectors": ["health"], "active": "no"})
    assert response.status_code == 302
    db.session.expire_all()
    changed = db.session.get(WorkforceGroup, group.id)
    assert (changed.name, changed.active) == ("GPs and practice staff", False)


@pytest.mark.parametrize(("data", "message"), [
    ({"target": "", "deadline_months": "3"}, "Select a course or a level"),
    ({"target": "course:999999", "deadline_months": "3"}, "Select a course or a level"),
    ({"target": "level:level-9", "deadline_months": "3"}, "Select a course or a level"),
    ({"target": "level:level-1", "deadline_months": ""}, "Enter the deadline in months, as a whole number"),
    ({"target": "level:level-1", "deadline_months": "three"}, "Enter the deadline in months, as a whole number"),
    ({"target": "level:level-1", "deadline_months": "2.5"}, "Enter the deadline in months, as a whole number"),
    ({"target": "level:level-1", "deadline_months": "121"}, "Deadline must be between 0 and 120 months"),
    ({"target": "level:level-1", "deadline_months": "3", "refresher_months": "0"},
     "Refresher interval must be between 1 and 120 months"),
    ({"target": "level:level-1", "deadline_months": "3", "refresher_months": "often"},
     "Refresher interval must be a whole number of months, like 36"),
    ({"target": "level:level-2", "deadline_months": "3"}, "This group already has a requirement for this level"),
])
def test_requirement_form_errors_change_nothing(coordinator, data, message):
    RequirementFactory(level=Level.LEVEL_2, deadline_months=6)
    other = RequirementFactory(level=Level.LEVEL_3, deadline_months=6)
    other.group_id = db.session.scalar(select(Requirement.group_id).limit(1))
    db.session.commit()
    response = coordinator.post(f"/needs/groups/{other.group_id}/requirements/new", data=data)
    assert response.status_code == 400
    assert message in _text(response)
    edit = coordinator.post(f"/needs/requirements/{other.id}/edit", data=data)
    assert edit.status_code == 400
    assert message in _text(edit)
    db.session.expire_all()
    assert _count(Requirement) == 2
    assert (db.session.get(Requirement, other.id).deadline_months,
            db.session.get(Requirement, other.id).level) == (6, Level.LEVEL_3)


def test_a_requirement_is_changed_then_removed(coordinator):
    requirement = RequirementFactory(level=Level.LEVEL_1, deadline_months=3, refresher_months=36)
    form = coordinator.get(f"/needs/requirements/{requirement.id}/edit").get_data(as_text=True)
    assert re.search(r'value="level:level-1"\s+selected', form) and 'value="36"' in form
    assert coordinator.post(f"/needs/requirements/{requirement.id}/edit", data={
        "target": "level:level-1", "deadline_months": "1", "refresher_months": ""}).status_code == 302
    db.session.expire_all()
    assert (db.session.get(Requirement, requirement.id).deadline_months,
            db.session.get(Requirement, requirement.id).refresher_months) == (1, None)
    confirm = _text(coordinator.get(f"/needs/requirements/{requirement.id}/remove"))
    assert "Any Level 1 course" in confirm and "once only" in confirm
    group_id = requirement.group_id
    response = coordinator.post(f"/needs/requirements/{requirement.id}/remove")
    assert response.headers["Location"] == f"/needs/groups/{group_id}"
    assert _count(Requirement) == 0


# ---------------------------------------------------------------------------
# The TNA, the drill-down and demand signals
# ---------------------------------------------------------------------------

def _cell(page: str, agency_id: int, group_id: int, name: str) -> int:
    row = re.search(rf'data-agency="{agency_id}" data-group="{group_id}">(.*?)</tr>', page, re.S).group(1)
    return int(re.search(rf'data-count="{name}">\s*(\d+)', row).group(1))


def test_the_tna_page_counts_filters_and_drills_down(coordinator):
    today = london_today(utcnow())
    alpha, beta = AgencyFactory(name="Alpha"), AgencyFactory(name="Beta")
    group = WorkforceGroupFactory(name="Practitioners")
    RequirementFactory(group=group, level=Level.LEVEL_1, refresher_months=36)
    course = CourseFactory(level=Level.LEVEL_1)
    trained = UserFactory(agency=alpha, name="Tess Trained")
    MembershipFactory(user=trained, group=group)
    completed(trained, course, today - timedelta(days=30))
    lapsed = UserFactory(agency=alpha, name="Larry Lapsed")
    MembershipFactory(user=lapsed, group=group)
    completed(lapsed, course, add_months(today, -37))
    MembershipFactory(user=UserFactory(agency=beta, name="Nina Never"), group=group)
    BookingFactory(session=SessionFactory(course=course), status=BookingStatus.WAITLISTED, confirmed_at=None)

    page = coordinator.get("/needs/tna").get_data(as_text=True)
    assert _cell(page, alpha.id, group.id, "people") == 2
    assert _cell(page, alpha.id, group.id, "in_date") == 1
    assert _cell(page, alpha.id, group.id, "overdue") == 1
    assert _cell(page, beta.id, group.id, "never_trained") == 1
    assert "Tess Trained" not in page  # names only on the drill-down
    assert course.title in _text(coordinator.get("/needs/tna"))  # its waiting list

    only_beta = coordinator.get(f"/needs/tna?agency={beta.id}").get_data(as_text=True)
    assert f'data-agency="{alpha.id}"' not in only_beta and f'data-agency="{beta.id}"' in only_beta
    for junk in ("999999", "abc", "-1", ""):
        assert f'data-agency="{alpha.id}"' in coordinator.get(f"/needs/tna?agency={junk}").get_data(as_text=True)

    people = _text(coordinator.get(f"/needs/tna/agencies/{alpha.id}/groups/{group.id}"))
    assert "Tess Trained" in people and "Larry Lapsed" in people and "Nina Never" not in people
    assert "In date" in people and "Overdue" in people


# ---------------------------------------------------------------------------
# Reviews
# ---------------------------------------------------------------------------

def _date_parts(day: date) -> list[str]:
    return [str(day.day), str(day.month), str(day.year)]


@pytest.mark.parametrize(("data", "message"), [
    ({"attendees": "Chair", "decisions": "More Level 3"}, "Enter the date of the review"),
    ({"reviewed_on": ["31", "2", "2026"], "attendees": "Chair", "decisions": "D"},
     "Date of the review must be a real date"),
    ({"reviewed_on": ["1", "", "2026"], "attendees": "Chair", "decisions": "D"},
     "Date of the review must include a month"),
    ({"reviewed_on": "future", "attendees": "Chair", "decisions": "D"},
     "The date of the review must be today or in the past"),
    ({"reviewed_on": "today", "decisions": "D"}, "Enter who attended the review"),
    ({"reviewed_on": "today", "attendees": "Chair", "decisions": "   "}, "Enter the decisions made"),
])
def test_review_form_errors_change_nothing(coordinator, data, message):
    today = london_today(utcnow())
    special = {"today": _date_parts(today), "future": _date_parts(today + timedelta(days=1))}
    data = {k: special.get(v, v) if isinstance(v, str) else v for k, v in data.items()}
    response = coordinator.post("/needs/reviews/new", data=data)
    assert response.status_code == 400
    assert message in _text(response)
    assert _count(TnaReview) == 0


def test_recording_reviews_shows_the_change_since_the_last(login_as):
    person = CoordinatorFactory()
    client = login_as(person)
    today = london_today(utcnow())
    group = WorkforceGroupFactory(name="Practitioners")
    RequirementFactory(group=group)
    MembershipFactory(user=UserFactory(), group=group)
    services.record_review(person, ReviewDetails(today - timedelta(days=60), "Chair", "Start"), 3,
                           now=utcnow() - timedelta(days=60))
    MembershipFactory(user=UserFactory(), group=group)
    response = client.post("/needs/reviews/new", data={
        "reviewed_on": _date_parts(today), "attendees": "Chair\nMASH lead", "decisions": "Run Level 1 monthly",
        "emerging_issues": "Online harms"})
    review = db.session.scalar(select(TnaReview).order_by(TnaReview.id.desc()))
    assert response.headers["Location"] == f"/needs/reviews/{review.id}"
    page = _text(client.get(f"/needs/reviews/{review.id}"))
    assert "<p class=\"govuk-body\">Chair</p><p class=\"govuk-body\">MASH lead</p>" in page and "Online harms" in page
    assert "Change since the last review: </span>+1" in page  # people in the group: 1, then 2
    listing = _text(client.get("/needs/reviews"))
    assert listing.index("Run Level 1 monthly") < listing.index("Start")
    # The TNA page compares today's figures with the latest review.
    assert "Change since the last review: </span>no change" in _text(client.get("/needs/tna"))


# ---------------------------------------------------------------------------
# A person's own pages
# ---------------------------------------------------------------------------

def test_a_person_records_their_group_and_sees_their_requirements(login_as):
    agency = AgencyFactory(sector=Sector.EDUCATION)
    person = UserFactory(agency=agency)
    client = login_as(person)
    group = WorkforceGroupFactory(name="School staff", sectors=[Sector.EDUCATION])
    WorkforceGroupFactory(name="Hidden", active=False)
    RequirementFactory(group=group, level=Level.LEVEL_1, deadline_months=3, refresher_months=36)
    first = _text(client.get("/needs/my-requirements"))
    assert "Choose your workforce group" in first
    form = _text(client.get("/needs/my-group"))
    assert "School staff" in form and "Hidden" not in form and "Sectors: Education" in form

    today = london_today(utcnow())
    started = today - timedelta(days=10)
    response = client.post("/needs/my-group", data={"group": str(group.id), "started_on": _date_parts(started)})
    assert response.headers["Location"] == "/needs/my-requirements"
    page = _text(client.get("/needs/my-requirements"))
    assert "Any Level 1 course" in page and "Never trained" in page
    from training.timeutil import format_date
    assert format_date(add_months(started, 3)) in page

    completed(person, CourseFactory(level=Level.LEVEL_1, title="Intro to safeguarding"), today - timedelta(days=1))
    page = _text(client.get("/needs/my-requirements"))
    assert "In date" in page and "Intro to safeguarding" in page
    assert format_date(add_months(today - timedelta(days=1), 36)) in page

    other = WorkforceGroupFactory(name="Volunteers", sectors=[Sector.VOLUNTARY_COMMUNITY])
    client.post("/needs/my-group", data={"group": str(other.id), "started_on": _date_parts(today)})
    history = _text(client.get("/needs/my-group"))
    assert "Your groups before" in history and "School staff, from" in history
    assert _count(WorkforceMembership) == 2


@pytest.mark.parametrize(("data", "message"), [
    ({"started_on": ["1", "1", "2024"]}, "Select your workforce group"),
    ({"group": "999999", "started_on": ["1", "1", "2024"]}, "Select your workforce group"),
    ({"group": "hidden", "started_on": ["1", "1", "2024"]}, "Select your workforce group"),
    ({"group": "ok"}, "Enter the date you started in this role"),
    ({"group": "ok", "started_on": ["1", "13", "2024"]}, "The date you started must be a real date"),
    ({"group": "ok", "started_on": ["1", "1", "24"]}, "Year must include 4 numbers"),
    ({"group": "ok", "started_on": ["1", "1", "3000"]}, "The date you started must be today or in the past"),
])
def test_my_group_errors_change_nothing(login_as, data, message):
    person = UserFactory()
    ok, hidden = WorkforceGroupFactory(), WorkforceGroupFactory(active=False)
    data = {k: {"ok": str(ok.id), "hidden": str(hidden.id)}.get(v, v) if isinstance(v, str) else v
            for k, v in data.items()}
    response = login_as(person).post("/needs/my-group", data=data)
    assert response.status_code == 400
    assert message in _text(response)
    assert _count(WorkforceMembership) == 0


def _page_queries(client, url: str) -> int:
    db.session.commit()
    with recorded_statements() as statements:
        assert client.get(url).status_code == 200
    return len(statements.queries)


def _more_of_everything(course, group, coordinator) -> None:
    from training.suggestions.models import CourseSuggestion, SuggestionStatus

    agency = AgencyFactory()
    for _ in range(3):
        person = UserFactory(agency=agency)
        MembershipFactory(user=person, group=group)
        completed(person, course, london_today(utcnow()) - timedelta(days=100))
        BookingFactory(session=SessionFactory(course=CourseFactory()), status=BookingStatus.WAITLISTED,
                       confirmed_at=None)
        db.session.add(CourseSuggestion(title="More", need="N", evidence="E", audience="A", people_benefiting=5,
                                        agency_id=agency.id, suggested_by_id=person.id,
                                        status=SuggestionStatus.SUBMITTED))
        extra = WorkforceGroupFactory()
        RequirementFactory(group=extra, course=CourseFactory(), level=None)
    db.session.commit()
    services.record_review(coordinator, ReviewDetails(london_today(utcnow()), "A", "B", "Issues"), 3)


def test_the_pages_make_the_same_number_of_queries_whatever_the_data(login_as):
    coordinator = CoordinatorFactory()
    client = login_as(coordinator)
    group = WorkforceGroupFactory()
    RequirementFactory(group=group, level=Level.LEVEL_1)
    course = CourseFactory(level=Level.LEVEL_1)
    _more_of_everything(course, group, coordinator)
    urls = ["/needs/tna", "/needs/groups", f"/needs/groups/{group.id}", "/needs/reviews"]
    small = [_page_queries(client, url) for url in urls]
    for _ in range(3):
        _more_of_everything(course, group, coordinator)
    large = [_page_queries(client, url) for url in urls]
    assert small == large
    assert "Issues" in _text(client.get("/needs/tna"))  # the latest review's emerging issues
