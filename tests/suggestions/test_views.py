"""Course suggestion pages over HTTP: suggesting, following, reviewing and deciding; form errors
that change nothing; who may reach what."""
from __future__ import annotations

import re

import pytest
from markupsafe import escape
from sqlalchemy import func, select

from tests.factories import AgencyFactory, CoordinatorFactory, CourseFactory, TrainerFactory, UserFactory
from tests.suggestions.conftest import reload
from tests.suggestions.factories import SuggestionFactory
from training.accounts.models import Role
from training.catalogue.models import Course
from training.extensions import db
from training.suggestions import services
from training.suggestions.models import CourseSuggestion, SuggestionEvent, SuggestionStatus

FORM = {"title": "Safeguarding children with SEND", "need": "Staff miss signs of abuse in disabled children",
        "evidence": "Thematic review, spring 2026", "audience": "Teachers and health visitors",
        "people_benefiting": "250"}


def rows() -> tuple[int, int, int]:
    db.session.expire_all()
    return (db.session.scalar(select(func.count(CourseSuggestion.id))),
            db.session.scalar(select(func.count(SuggestionEvent.id))),
            db.session.scalar(select(func.count(Course.id))))


def text(response) -> str:
    return response.get_data(as_text=True)


def error_summary(response) -> list[str]:
    body = text(response)
    summary = body[body.index("govuk-error-summary"):body.index("</ul>", body.index("govuk-error-summary"))]
    return re.findall(r'<a href="#[^"]*">([^<]*)</a>', summary)


# ---------------------------------------------------------------------------
# Suggesting a course
# ---------------------------------------------------------------------------

def test_the_form_defaults_to_your_agency_and_offers_only_active_agencies(login_as, professional):
    AgencyFactory(name="Thameside Youth Service")
    AgencyFactory(name="Closed Agency", active=False)
    body = text(login_as(professional).get("/suggestions/new"))
    assert f'<option selected value="{professional.agency_id}">' in body \
        or f'<option value="{professional.agency_id}" selected>' in body
    assert "Thameside Youth Service" in body and "Closed Agency" not in body


@pytest.mark.parametrize("make", [UserFactory, TrainerFactory, CoordinatorFactory,
                                  lambda: UserFactory(roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD]),
                                  lambda: UserFactory(roles=[Role.SCRUTINEER])])
def test_anyone_signed_in_can_suggest_a_course_and_see_it(login_as, make):
    person = make()
    client = login_as(person)
    response = client.post("/suggestions/new", data={**FORM, "agency": str(person.agency_id)})
    suggestion = db.session.scalar(select(CourseSuggestion))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/suggestions/{suggestion.id}")
    assert (suggestion.suggested_by_id, suggestion.people_benefiting, suggestion.status) == (
        person.id, 250, SuggestionStatus.SUBMITTED)
    page = text(client.get(response.headers["Location"]))
    assert "Suggestion sent" in page and "Safeguarding children with SEND" in page and "Submitted" in page


def test_a_number_with_a_thousands_comma_is_read(login_as, professional):
    login_as(professional).post("/suggestions/new", data={**FORM, "people_benefiting": " 1,200 ",
                                                          "agency": str(professional.agency_id)})
    assert db.session.scalar(select(CourseSuggestion.people_benefiting)) == 1200


@pytest.mark.parametrize(("changes", "messages"), [
    ({"title": ""}, ["Enter a title for the course"]),
    ({"title": "   "}, ["Enter a title for the course"]),
    ({"need": ""}, ["Enter the need the course would meet"]),
    ({"evidence": ""}, ["Enter the evidence for the need"]),
    ({"audience": ""}, ["Enter who the course is for"]),
    ({"people_benefiting": ""}, ["Enter how many people would benefit"]),
    ({"people_benefiting": "lots"}, ["Enter how many people would benefit, as a whole number"]),
    ({"people_benefiting": "12.5"}, ["Enter how many people would benefit, as a whole number"]),
    ({"people_benefiting": "9" * 40}, ["Enter how many people would benefit, as a whole number"]),
    ({"people_benefiting": "0"}, ["The number of people who would benefit must be 1 or more"]),
    ({"people_benefiting": "-4"}, ["The number of people who would benefit must be 1 or more"]),
    ({"people_benefiting": "100001"}, ["The number of people who would benefit must be 100,000 or fewer"]),
    ({"agency": ""}, ["Select your agency"]),
    ({"agency": "999999"}, ["Select your agency"]),
    ({"agency": "<script>"}, ["Select your agency"]),
    ({"title": "x" * 201}, ["Course title must be 200 characters or fewer"]),
    ({"need": "x" * 2001}, ["The need must be 2,000 characters or fewer"]),
    ({"title": "", "need": "", "evidence": "", "audience": "", "people_benefiting": ""},
     ["Enter a title for the course", "Enter the need the course would meet", "Enter the evidence for the need",
      "Enter who the course is for", "Enter how many people would benefit"]),
])
def test_bad_input_is_shown_with_govuk_errors_and_changes_nothing(login_as, professional, changes, messages):
    before = rows()
    data = {**FORM, "agency": str(professional.agency_id), **changes}
    response = login_as(professional).post("/suggestions/new", data=data)
    assert response.status_code == 400
    assert error_summary(response) == messages
    assert "<title>Error: Suggest a course" in text(response)
    assert rows() == before


def test_what_was_typed_is_kept_when_the_form_is_shown_again(login_as, professional):
    response = login_as(professional).post("/suggestions/new", data={**FORM, "people_benefiting": "many",
                                                                     "agency": str(professional.agency_id)})
    body = text(response)
    assert 'value="Safeguarding children with SEND"' in body and 'value="many"' in body
    assert "Thematic review, spring 2026" in body


def test_your_suggestions_lists_only_yours_with_status_and_reason(login_as, professional, coordinator):
    mine = SuggestionFactory(suggested_by=professional, title="Mine: harmful sexual behaviour")
    decided = SuggestionFactory(suggested_by=professional, title="Mine: exploitation")
    services.start_review(decided.id, coordinator)
    services.decline(decided.id, coordinator, "Covered by the exploitation course")
    SuggestionFactory(title="Someone else's idea")
    body = text(login_as(professional).get("/suggestions/"))
    assert "Mine: harmful sexual behaviour" in body and "Mine: exploitation" in body
    assert "Someone else&#39;s idea" not in body and "Someone else's idea" not in body
    assert "Covered by the exploitation course" in body and "Declined" in body and "Submitted" in body
    assert f"/suggestions/{mine.id}" in body


def test_the_suggester_sees_the_decision_and_reason(login_as, professional, agreed):
    body = text(login_as(professional).get(f"/suggestions/{agreed.id}"))
    assert "Agreed" in body and "A gap in the programme" in body
    assert "Cora Coordinator" not in body  # who decided is for coordinators' pages


def test_someone_else_gets_404_for_your_suggestion(login_as, submitted):
    for other in (UserFactory(agency=submitted.agency), TrainerFactory(), CoordinatorFactory()):
        response = login_as(other).get(f"/suggestions/{submitted.id}")
        assert response.status_code == 404
        assert "Safeguarding disabled children" not in text(response)
    assert login_as(UserFactory()).get("/suggestions/99999999999").status_code == 404


def test_anonymous_people_are_sent_to_sign_in(client, submitted):
    for url in ("/suggestions/", "/suggestions/new", f"/suggestions/{submitted.id}", "/suggestions/manage",
                f"/suggestions/manage/{submitted.id}"):
        assert "/sign-in" in client.get(url).headers["Location"], url
    before = rows()
    for url in ("/suggestions/new", f"/suggestions/manage/{submitted.id}/review",
                f"/suggestions/manage/{submitted.id}/decision", f"/suggestions/manage/{submitted.id}/course"):
        assert "/sign-in" in client.post(url, data={**FORM, "decision": "agree"}).headers["Location"], url
    assert rows() == before


@pytest.mark.parametrize("make", [UserFactory, TrainerFactory,
                                  lambda: UserFactory(roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD]),
                                  lambda: UserFactory(roles=[Role.PROFESSIONAL, Role.SCRUTINEER])])
def test_only_coordinators_reach_the_manage_pages(login_as, submitted, make):
    client = login_as(make())
    for url in ("/suggestions/manage", f"/suggestions/manage/{submitted.id}"):
        assert client.get(url).status_code == 403, url
    before = rows()
    for url, data in ((f"/suggestions/manage/{submitted.id}/review", {}),
                      (f"/suggestions/manage/{submitted.id}/decision", {"decision": "decline", "reason": "x"}),
                      (f"/suggestions/manage/{submitted.id}/course", {})):
        assert client.post(url, data=data).status_code == 403, url
    assert rows() == before and reload(submitted.id).status == SuggestionStatus.SUBMITTED


def test_the_suggester_cannot_review_their_own_suggestion(login_as, professional, submitted):
    response = login_as(professional).post(f"/suggestions/manage/{submitted.id}/review")
    assert response.status_code == 403
    assert reload(submitted.id).status == SuggestionStatus.SUBMITTED


# ---------------------------------------------------------------------------
# Coordinators: the list, one suggestion, and the workflow
# ---------------------------------------------------------------------------

def test_the_list_shows_counts_and_filters_by_status(login_as, coordinator, submitted, professional):
    other = SuggestionFactory(suggested_by=professional, title="Neglect toolkit training")
    services.start_review(other.id, coordinator)
    client = login_as(coordinator)
    body = text(client.get("/suggestions/manage"))
    assert "Safeguarding disabled children" in body and "Neglect toolkit training" in body
    assert '<td class="govuk-table__cell govuk-table__cell--numeric" data-status="submitted">1</td>' in body
    assert '<td class="govuk-table__cell govuk-table__cell--numeric" data-status="under-review">1</td>' in body
    filtered = text(client.get("/suggestions/manage?status=under-review"))
    assert "Neglect toolkit training" in filtered and "Safeguarding disabled children" not in filtered
    empty = text(client.get("/suggestions/manage?status=agreed"))
    assert "There are no agreed suggestions." in empty


def test_an_unknown_status_filter_is_an_error_not_a_crash(login_as, coordinator, submitted):
    response = login_as(coordinator).get("/suggestions/manage?status=%3Cscript%3E")
    assert response.status_code == 400
    assert error_summary(response) == ["Select a status from the list"]
    assert "Safeguarding disabled children" in text(response)


def test_the_full_workflow_through_the_pages(login_as, coordinator, professional, submitted):
    client = login_as(coordinator)
    page = text(client.get(f"/suggestions/manage/{submitted.id}"))
    assert "Priya Professional" in page and "Start review" in page and "Save decision" not in page

    response = client.post(f"/suggestions/manage/{submitted.id}/review")
    assert response.headers["Location"].endswith(f"/suggestions/manage/{submitted.id}")
    page = text(client.get(response.headers["Location"]))
    assert "Review started" in page and "Save decision" in page and "Start review" not in page

    response = client.post(f"/suggestions/manage/{submitted.id}/decision",
                           data={"decision": "agree", "reason": "Agreed at the June meeting"})
    assert response.status_code == 302
    page = text(client.get(response.headers["Location"]))
    assert "Suggestion agreed" in page and "Create draft course" in page
    assert "Agreed at the June meeting" in page and "Cora Coordinator" in page

    response = client.post(f"/suggestions/manage/{submitted.id}/course")
    course = db.session.scalar(select(Course).where(Course.title == "Safeguarding disabled children"))
    assert response.headers["Location"].endswith(f"/manage/courses/{course.id}/edit")
    assert course.active is False and reload(submitted.id).course_id == course.id
    edit = text(client.get(response.headers["Location"]))
    assert "Draft course created from the suggestion" in edit
    assert 'value="Safeguarding disabled children"' in edit

    page = text(client.get(f"/suggestions/manage/{submitted.id}"))
    assert "Create draft course" not in page and f"/manage/courses/{course.id}" in page and "(draft)" in page
    assert "Draft course created: Safeguarding disabled children" in page

    mine = text(login_as(professional).get(f"/suggestions/{submitted.id}"))
    assert "Agreed at the June meeting" in mine and "The training team is preparing the course." in mine


def test_declining_with_a_reason(login_as, coordinator, professional, under_review):
    client = login_as(coordinator)
    response = client.post(f"/suggestions/manage/{under_review.id}/decision",
                           data={"decision": "decline", "reason": "The Level 3 course covers this"})
    assert response.status_code == 302
    found = reload(under_review.id)
    assert found.status == SuggestionStatus.DECLINED and found.decision_reason == "The Level 3 course covers this"
    assert "The Level 3 course covers this" in text(login_as(professional).get("/suggestions/"))


@pytest.mark.parametrize(("data", "messages"), [
    ({}, ["Select whether the subgroup agrees or declines the suggestion"]),
    ({"decision": "maybe"}, ["Select whether the subgroup agrees or declines the suggestion"]),
    ({"decision": "decline"}, ["Enter why the subgroup declined the suggestion"]),
    ({"decision": "decline", "reason": "   "}, ["Enter why the subgroup declined the suggestion"]),
    ({"decision": "agree", "reason": "x" * 5001}, ["Reason must be 5,000 characters or fewer"]),
])
def test_a_bad_decision_is_shown_with_errors_and_changes_nothing(login_as, coordinator, under_review, data,
                                                                  messages):
    before = rows()
    response = login_as(coordinator).post(f"/suggestions/manage/{under_review.id}/decision", data=data)
    assert response.status_code == 400
    assert error_summary(response) == messages
    assert rows() == before and reload(under_review.id).status == SuggestionStatus.UNDER_REVIEW


@pytest.mark.parametrize(("state", "url", "data", "message"), [
    ("submitted", "decision", {"decision": "agree"}, "Start the review before you agree or decline the suggestion"),
    ("agreed", "decision", {"decision": "decline", "reason": "Changed our minds"},
     "This suggestion has already been agreed"),
    ("under_review", "review", {}, "This suggestion is already under review"),
    ("declined", "course", {}, "Only an agreed suggestion can be turned into a draft course"),
    ("submitted", "course", {}, "Only an agreed suggestion can be turned into a draft course"),
])
def test_refused_steps_flash_the_reason_and_change_nothing(request, login_as, coordinator, state, url, data,
                                                           message):
    suggestion = request.getfixturevalue(state)
    status = suggestion.status
    before = rows()
    client = login_as(coordinator)
    response = client.post(f"/suggestions/manage/{suggestion.id}/{url}", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/suggestions/manage/{suggestion.id}")
    assert str(escape(message)) in text(client.get(response.headers["Location"]))
    assert rows() == before and reload(suggestion.id).status == status


def test_a_second_draft_course_is_refused_through_the_page(login_as, coordinator, agreed):
    client = login_as(coordinator)
    client.post(f"/suggestions/manage/{agreed.id}/course")
    before = rows()
    response = client.post(f"/suggestions/manage/{agreed.id}/course")
    assert response.headers["Location"].endswith(f"/suggestions/manage/{agreed.id}")
    assert "A draft course has already been created from this suggestion" in text(
        client.get(response.headers["Location"]))
    assert rows() == before


def test_a_taken_title_is_explained_after_creating_the_draft(login_as, coordinator, agreed):
    CourseFactory(title="Safeguarding disabled children")
    client = login_as(coordinator)
    response = client.post(f"/suggestions/manage/{agreed.id}/course")
    body = text(client.get(response.headers["Location"]))
    assert "so the draft is called \u201cSafeguarding disabled children (2)\u201d" in body


@pytest.mark.parametrize("suffix", ["", "/review", "/decision", "/course"])
def test_unknown_suggestions_are_404_for_coordinators(login_as, coordinator, suffix):
    client = login_as(coordinator)
    for bad in ("999999", "99999999999"):
        url = f"/suggestions/manage/{bad}{suffix}"
        response = client.get(url) if not suffix else client.post(url, data={"decision": "agree"})
        assert response.status_code == 404, url


def test_stored_text_is_escaped_on_every_page(login_as, coordinator, professional):
    payload = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
    client = login_as(professional)
    client.post("/suggestions/new", data={"title": f"T {payload}", "need": f"N {payload}",
                                          "evidence": f"E {payload}", "audience": f"A {payload}",
                                          "people_benefiting": "3", "agency": str(professional.agency_id)})
    suggestion = db.session.scalar(select(CourseSuggestion))
    services.start_review(suggestion.id, coordinator)
    services.decline(suggestion.id, coordinator, f"R {payload}")
    pages = [(client, "/suggestions/"), (client, f"/suggestions/{suggestion.id}"),
             (login_as(coordinator), "/suggestions/manage"),
             (login_as(coordinator), f"/suggestions/manage/{suggestion.id}")]
    for who, url in pages:
        body = text(who.get(url))
        assert "<script>alert(1)" not in body and "<img src=x" not in body, url
        assert str(escape(payload)) in body, url
