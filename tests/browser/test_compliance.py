"""Compliance returns in Chromium: a lead completes and submits a return, the Independent
Scrutineer challenges it, the lead responds and the scrutineer accepts; a coordinator opens a
round and reads the overview. axe-core checks every page visited."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.compliance.helpers import coordinator, lead_of, lines, open_round, return_for, scrutineer, submitted
from tests.factories import AgencyFactory
from training.catalogue.models import Level
from training.compliance.models import AgencyReturn, ReturnStatus
from training.db import utcnow
from training.extensions import db
from training.timeutil import to_london


def _status(return_id: int) -> ReturnStatus:
    db.session.rollback()  # end the test's read snapshot to see what the server wrote
    return db.session.get(AgencyReturn, return_id).status


def _sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: "/returns" not in url)


def _fill_level(page: Page, level: Level, in_scope: str, trained: str, courses: str) -> None:
    page.get_by_label(f"{level.label}: staff in scope", exact=True).fill(in_scope)
    page.get_by_label(f"{level.label}: trained and in date", exact=True).fill(trained)
    page.get_by_label(f"{level.label}: courses delivered in the year", exact=True).fill(courses)


def test_lead_submits_scrutineer_challenges_lead_responds(page):
    agency = AgencyFactory(name="Thameside Primary School")
    lead = lead_of(agency, name="Lena Lead")
    the_scrutineer = scrutineer(name="Iris Scrutineer")
    round_ = open_round(2025, [agency, AgencyFactory(name="Thameside Health Visiting")])
    return_id = return_for(round_, agency).id

    # The lead completes and submits the return.
    sign_in(page, lead.email)
    page.goto("/returns/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance returns")
    expect(page.locator("main")).not_to_contain_text("Thameside Health Visiting")
    assert_accessible(page)
    page.get_by_role("link", name="Complete the return for 2025 to 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compliance return for 2025 to 2026")
    assert_accessible(page)

    _fill_level(page, Level.LEVEL_1, "120", "130", "6")  # more trained than in scope
    _fill_level(page, Level.LEVEL_2, "forty", "", "")
    page.get_by_role("button", name="Save draft").click()
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Trained and in date for Level 1 cannot be more than staff in scope")
    expect(summary).to_contain_text("Enter the number of staff in scope for Level 2, as a whole number")
    assert_accessible(page)

    _fill_level(page, Level.LEVEL_1, "120", "111", "6")
    _fill_level(page, Level.LEVEL_2, "40", "30", "2")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Draft saved")
    expect(page.locator('[data-compliance="level-1"]')).to_have_text("92.5%")
    expect(page.locator('[data-compliance="level-2"]')).to_have_text("75%")
    expect(page.locator("[data-history]")).to_contain_text("Level 1, staff in scope: blank to 120")
    assert_accessible(page)

    for level in (Level.LEVEL_3, Level.DSL, Level.SPECIALIST):
        _fill_level(page, level, "10", "9", "1")
    page.get_by_label("How do you evaluate the quality and impact").fill("Evaluation forms and audits")
    page.get_by_label("What gaps in training have you found").fill("Level 2 for new starters")
    page.get_by_role("button", name="Submit return").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your return before you submit it")
    expect(page.locator('[data-compliance="all"]')).to_have_text("88.4%")  # 168 of 190, rounded down
    assert_accessible(page)
    page.get_by_role("button", name="Submit return").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Return submitted")
    expect(page.get_by_label("Level 1: staff in scope")).to_have_count(0)
    assert_accessible(page)
    assert _status(return_id) == ReturnStatus.SUBMITTED
    _sign_out(page)

    # The Independent Scrutineer reads the round and challenges the return.
    sign_in(page, the_scrutineer.email)
    page.goto("/returns/")
    assert_accessible(page)
    page.get_by_role("link", name="Returns for 2025 to 2026").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Returns for 2025 to 2026")
    expect(page.locator('[data-agency="Thameside Primary School"]')).to_contain_text("Amber")
    assert_accessible(page)
    page.get_by_role("link", name="Thameside Primary School").click()
    expect(page.locator("[data-figures]")).to_contain_text("92.5%")
    assert_accessible(page)
    page.get_by_role("button", name="Send challenge").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your challenge")
    assert_accessible(page)
    due = to_london(utcnow()).date() + timedelta(days=21)
    page.get_by_label("Your challenge").fill("Level 2 is at 75%: what is your plan?")
    page.get_by_label("Day").fill(str(due.day))
    page.get_by_label("Month").fill(str(due.month))
    page.get_by_label("Year").fill(str(due.year))
    page.get_by_role("button", name="Send challenge").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Challenge sent")
    assert_accessible(page)
    assert _status(return_id) == ReturnStatus.CHALLENGED
    _sign_out(page)

    # The lead responds.
    sign_in(page, lead.email)
    page.goto(f"/returns/{return_id}")
    expect(page.locator('[data-exchange="challenged"]')).to_contain_text("Level 2 is at 75%: what is your plan?")
    assert_accessible(page)
    page.get_by_role("button", name="Send response").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your response to the challenge")
    assert_accessible(page)
    page.get_by_label("Your response to the challenge").fill("Two extra Level 2 sessions in September")
    page.get_by_role("button", name="Send response").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Response sent")
    expect(page.locator('[data-exchange="responded"]')).to_contain_text("Two extra Level 2 sessions")
    assert_accessible(page)
    assert _status(return_id) == ReturnStatus.RESPONDED
    _sign_out(page)

    # The scrutineer accepts.
    sign_in(page, the_scrutineer.email)
    page.goto(f"/returns/{return_id}")
    page.get_by_role("button", name="Accept return").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Return accepted")
    expect(page.locator("[data-status]")).to_have_text("Accepted")
    assert_accessible(page)
    assert _status(return_id) == ReturnStatus.ACCEPTED


def test_coordinator_opens_a_round_and_reads_the_overview(page):
    the_coordinator = coordinator()
    school = AgencyFactory(name="Thameside Primary School")
    AgencyFactory(name="Thameside Health Visiting")
    police = AgencyFactory(name="Thameside Police")
    last = open_round(2024, [school])
    submitted(return_for(last, school), lead_of(school), lines(in_scope=100, trained=70))

    sign_in(page, the_coordinator.email)
    page.goto("/returns/")
    assert_accessible(page)
    page.get_by_role("button", name="Open a return round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a return round")
    assert_accessible(page)
    page.get_by_role("button", name="Open round").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select at least one agency")
    assert_accessible(page)
    page.get_by_label("Financial year starting in April of").fill("2025")
    page.get_by_label("Day").fill("30")
    page.get_by_label("Month").fill("6")
    page.get_by_label("Year", exact=True).fill("2026")
    page.get_by_label("Thameside Primary School").check()
    page.get_by_label("Thameside Health Visiting").check()
    page.get_by_role("button", name="Open round").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Return round for 2025 to 2026 opened")
    expect(page.get_by_role("heading", level=1)).to_have_text("Returns for 2025 to 2026")
    expect(page.locator("[data-overview]")).to_contain_text("Thameside Health Visiting")
    assert_accessible(page)

    page.get_by_role("link", name="Add agencies to this round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add agencies")
    assert_accessible(page)
    page.get_by_label("Thameside Police").check()
    page.get_by_role("button", name="Add agencies").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("1 agency added")
    expect(page.locator('[data-agency="Thameside Police"]')).to_contain_text("Not started")
    assert_accessible(page)

    db.session.rollback()
    round_ = return_for(last, school).round  # noqa: F841  (last year's round is the comparison)
    this_year = db.session.scalar(db.select(AgencyReturn).where(AgencyReturn.agency_id == police.id)).round
    lead = lead_of(school)
    submitted(return_for(this_year, school), lead, lines(in_scope=100, trained=95))
    page.reload()
    row = page.locator('[data-agency="Thameside Primary School"]')
    expect(row).to_contain_text("95%")
    expect(row).to_contain_text("Green")
    expect(row).to_contain_text("+25 points")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the overview as CSV").click()
    assert download.value.suggested_filename == "compliance-returns-2025.csv"
