"""The training needs analysis in Chromium, with axe-core checking every page."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import AgencyFactory, CoordinatorFactory, CourseFactory, UserFactory
from tests.needs.helpers import MembershipFactory, RequirementFactory, WorkforceGroupFactory, completed
from training.accounts.models import Sector
from training.catalogue.models import Level
from training.db import utcnow
from training.extensions import db
from training.needs import services
from training.needs.models import Requirement, TnaReview, WorkforceGroup, WorkforceMembership
from training.needs.tna import london_today


def test_coordinator_manages_a_group_views_the_tna_and_records_a_review(page):
    coordinator = CoordinatorFactory()
    agency = AgencyFactory(name="Thameside Police")
    existing = WorkforceGroupFactory(name="Practitioners with children and families")
    RequirementFactory(group=existing, level=Level.LEVEL_3, deadline_months=12, refresher_months=36)
    course = CourseFactory(level=Level.LEVEL_3, title="Advanced child protection")
    trained = UserFactory(agency=agency, name="Tariq Trained")
    MembershipFactory(user=trained, group=existing)
    completed(trained, course, london_today(utcnow()) - timedelta(days=40))
    MembershipFactory(user=UserFactory(agency=agency, name="Nadia Never"), group=existing)

    sign_in(page, coordinator.email)
    page.goto("/needs/groups")
    expect(page.get_by_role("heading", level=1)).to_have_text("Workforce groups")
    assert_accessible(page)
    page.get_by_role("button", name="Add a workforce group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a workforce group")
    assert_accessible(page)
    page.get_by_role("button", name="Save workforce group").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a name for the workforce group")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select the sectors this group works in")
    assert_accessible(page)
    page.get_by_label("Name").fill("Police officers")
    page.get_by_label("Police", exact=True).check()
    page.get_by_role("button", name="Save workforce group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Police officers")
    assert_accessible(page)

    page.get_by_role("button", name="Add a requirement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a requirement")
    assert_accessible(page)
    page.get_by_role("button", name="Save requirement").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a course or a level")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the deadline in months, as a whole number")
    assert_accessible(page)
    page.get_by_label("Course or level").select_option(label="Any Level 1 course")
    page.get_by_label("Deadline, in months from starting in the group").fill("3")
    page.get_by_label("Refresher interval in months (optional)").fill("36")
    page.get_by_role("button", name="Save requirement").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Requirement added")
    expect(page.locator("main")).to_contain_text("Within 3 months of starting")
    page.get_by_role("link", name="Change Any Level 1 course").click()
    page.get_by_label("Refresher interval in months (optional)").fill("24")
    assert_accessible(page)
    page.get_by_role("button", name="Save requirement").click()
    expect(page.locator("main")).to_contain_text("Every 2 years")
    page.get_by_role("link", name="Remove Any Level 1 course").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Remove requirement")
    assert_accessible(page)
    page.get_by_role("link", name="Cancel").click()
    page.get_by_role("link", name="Change the group's details").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Change workforce group")
    assert_accessible(page)

    page.goto("/needs/tna")
    expect(page.get_by_role("heading", level=1)).to_have_text("Training needs analysis")
    table = page.locator('[data-table="tna"]')
    expect(table).to_contain_text("Thameside Police")
    assert_accessible(page)
    page.get_by_label("Agency").select_option(label="Thameside Police")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"agency="))
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Practitioners with children and families at Thameside Police")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Practitioners with children and families")
    expect(page.locator('[data-table="people"]')).to_contain_text("Tariq Trained")
    expect(page.locator('[data-table="people"]')).to_contain_text("Nadia Never")
    assert_accessible(page)

    page.goto("/needs/reviews")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reviews of the training needs analysis")
    assert_accessible(page)
    page.get_by_role("button", name="Record a review").click()
    page.get_by_role("button", name="Record review").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the date of the review")
    assert_accessible(page)
    today = london_today(utcnow())
    page.get_by_label("Day").fill(str(today.day))
    page.get_by_label("Month").fill(str(today.month))
    page.get_by_label("Year").fill(str(today.year))
    page.get_by_label("Who attended").fill("Chair of the subgroup\nPolice training lead")
    page.get_by_label("Decisions").fill("Run two more Level 3 sessions")
    page.get_by_label("Emerging issues added (optional)").fill("Online harms")
    page.get_by_role("button", name="Record review").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Review recorded")
    expect(page.locator("main")).to_contain_text("This is the first review")
    assert_accessible(page)

    db.session.rollback()  # end the test's read snapshot to see what the server wrote
    group = db.session.query(WorkforceGroup).filter_by(name="Police officers").one()
    assert group.sectors == [Sector.POLICE]
    assert db.session.query(Requirement).filter_by(group_id=group.id).one().refresher_months == 24
    assert db.session.query(TnaReview).one().decisions == "Run two more Level 3 sessions"


def test_a_professional_records_their_group_and_sees_their_requirements(page):
    person = UserFactory(agency=AgencyFactory(sector=Sector.EDUCATION))
    group = WorkforceGroupFactory(name="School staff", sectors=[Sector.EDUCATION])
    RequirementFactory(group=group, level=Level.LEVEL_1, deadline_months=3, refresher_months=36)
    WorkforceGroupFactory(name="GPs and practice staff", sectors=[Sector.HEALTH])

    sign_in(page, person.email)
    page.goto("/needs/my-requirements")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your training requirements")
    assert_accessible(page)
    page.get_by_role("button", name="Choose your workforce group").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your workforce group")
    assert_accessible(page)
    page.get_by_role("button", name="Save your workforce group").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select your workforce group")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter the date you started in this role")
    assert_accessible(page)
    page.get_by_label("School staff").check()
    page.get_by_label("Day").fill("1")
    page.get_by_label("Month").fill("9")
    page.get_by_label("Year").fill("2025")
    page.get_by_role("button", name="Save your workforce group").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your workforce group has been saved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your training requirements")
    requirements = page.locator('[data-table="requirements"]')
    expect(requirements).to_contain_text("Any Level 1 course")
    expect(requirements).to_contain_text("Never trained")
    expect(requirements).to_contain_text("1 December 2025")
    assert_accessible(page)

    db.session.rollback()
    assert services.current_membership(person.id).group_id == group.id
    assert db.session.query(WorkforceMembership).count() == 1
