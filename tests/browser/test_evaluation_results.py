"""Evaluation results and quality reviews in Chromium, with axe-core checking every page."""
from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.evaluation.results_data import build_known_session, past_session, question_sets
from tests.factories import CoordinatorFactory, TrainerFactory
from training.evaluation import reviews
from training.evaluation.models import QualityReview, ReviewStatus
from training.extensions import db


def test_coordinator_views_results_queue_and_review(page):
    coordinator = CoordinatorFactory()
    session = past_session(trainers=[TrainerFactory()])
    build_known_session(question_sets(), session)
    review = reviews.raise_review(session.course_id, session.id, "Two complaints about pace", coordinator)
    course_id, review_id, title = session.course_id, review.id, session.course.title

    sign_in(page, coordinator.email)
    page.goto("/results")
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation results")
    assert_accessible(page)

    page.get_by_role("link", name=re.compile(rf"^Session results for {re.escape(title)}")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Session results")
    expect(page.locator('[data-figure="response-rate"]')).to_contain_text("8 of 10 (80%)")
    assert_accessible(page)
    page.get_by_role("button", name="Mark as suitable for quoting comment 1 under Comments").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Comment marked as suitable for quoting")
    assert_accessible(page)

    page.goto(f"/results/courses/{course_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Course results")
    assert_accessible(page)
    page.get_by_label("From").fill("2026-02-30")
    page.get_by_role("button", name="Show results").click()
    expect(page).to_have_title(re.compile(r"^Error: Results"))
    assert_accessible(page)

    page.goto("/manage/reviews")
    expect(page.get_by_role("heading", level=1)).to_have_text("Quality reviews")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^View review")).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quality review")
    assert_accessible(page)
    page.get_by_label("Findings", exact=True).fill("Pace was too fast for level 2")
    page.get_by_label("Improvements suggested to the trainer").fill("Fewer slides, more case study time")
    page.get_by_role("button", name="Save findings and improvements").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Findings and improvements saved")
    page.get_by_role("button", name="Agree actions").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Actions agreed")
    assert_accessible(page)

    page.goto("/manage/reviews/new")
    expect(page.get_by_role("heading", level=1)).to_have_text("Raise a quality review")
    page.get_by_role("button", name="Raise review").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Select a course")
    assert_accessible(page)

    db.session.rollback()  # end the test's read snapshot to see what the server wrote
    assert db.session.get(QualityReview, review_id).status == ReviewStatus.ACTIONS_AGREED


def test_trainer_views_their_results_and_responds_to_a_review(page):
    trainer = TrainerFactory(name="Tara Trainer")
    coordinator = CoordinatorFactory()
    session = past_session(trainers=[trainer])
    people = build_known_session(question_sets(), session)
    names = [b.user.name for b in people]
    review = reviews.raise_review(session.course_id, session.id, "Low ratings", coordinator)
    reviews.record_findings(review.id, "Too much lecture", "Add group exercises", coordinator)
    review_id = review.id

    sign_in(page, trainer.email)
    page.goto("/results")
    expect(page.get_by_role("heading", level=1)).to_have_text("Evaluation results")
    assert_accessible(page)
    page.get_by_role("link", name=re.compile(r"^Session results for")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Session results")
    main = page.locator("main")
    expect(main).to_contain_text("brilliant trainer")
    for name in names:
        expect(main).not_to_contain_text(name)
    assert_accessible(page)

    page.goto("/results")
    page.get_by_role("link", name=re.compile(r"^View review")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quality review")
    expect(main).to_contain_text("Add group exercises")
    assert_accessible(page)
    page.get_by_role("button", name="Save your response").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter your response to the review")
    assert_accessible(page)
    page.get_by_label("Your response").fill("I will add two group exercises")
    page.get_by_role("button", name="Save your response").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Response saved")
    assert_accessible(page)

    db.session.rollback()  # end the test's read snapshot to see what the server wrote
    assert db.session.get(QualityReview, review_id).trainer_response == "I will add two group exercises"
