"""Compliance return pages over HTTP: the proforma and its errors, the workflow, exports and who gets what."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from tests.compliance.helpers import (
    NARRATIVE,
    coordinator,
    form_data,
    lead_of,
    lines,
    open_round,
    reload,
    return_for,
    scrutineer,
    submitted,
)
from tests.factories import AgencyFactory, TrainerFactory, UserFactory
from training.compliance import services
from training.compliance.models import AgencyReturn, EventKind, ReturnEvent, ReturnRound, ReturnStatus
from training.compliance.services import LineFigures
from training.db import utcnow
from training.extensions import db
from training.timeutil import to_london


@pytest.fixture
def agency():
    return AgencyFactory(name="Thameside Primary School")


@pytest.fixture
def other_agency():
    return AgencyFactory(name="Thameside Health Visiting")


@pytest.fixture
def lead(agency):
    return lead_of(agency, name="Lena Lead")


@pytest.fixture
def other_lead(other_agency):
    return lead_of(other_agency)


@pytest.fixture
def the_scrutineer():
    return scrutineer(name="Iris Scrutineer")


@pytest.fixture
def round_(agency, other_agency):
    return open_round(2025, [agency, other_agency])


@pytest.fixture
def ret(round_, agency) -> AgencyReturn:
    return return_for(round_, agency)


@pytest.fixture
def other_ret(round_, other_agency) -> AgencyReturn:
    return return_for(round_, other_agency)


def body(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def today():
    return to_london(utcnow()).date()


# ---------------------------------------------------------------------------
# Who reaches the pages
# ---------------------------------------------------------------------------

def test_professionals_and_trainers_get_403_everywhere(client, login_as, round_, ret):
    gets = ["/returns/", "/returns/rounds/new", f"/returns/rounds/{round_.id}", f"/returns/rounds/{round_.id}/agencies",
            f"/returns/rounds/{round_.id}/overview.csv", f"/returns/rounds/{round_.id}/overview.xlsx",
            f"/returns/{ret.id}", f"/returns/{ret.id}/submit"]
    posts = [f"/returns/{ret.id}", f"/returns/{ret.id}/submit", f"/returns/{ret.id}/challenge",
             f"/returns/{ret.id}/response", f"/returns/{ret.id}/accept", f"/returns/{ret.id}/reopen",
             "/returns/rounds/new", f"/returns/rounds/{round_.id}/agencies"]
    for url in gets:
        assert "/sign-in" in client.get(url).headers["Location"], url
    for who in (UserFactory(agency=ret.agency), TrainerFactory()):
        c = login_as(who)
        for url in gets:
            assert c.get(url).status_code == 403, url
        for url in posts:
            assert c.post(url, data=form_data()).status_code == 403, url
    assert reload(ret.id).status == ReturnStatus.NOT_STARTED


def test_a_lead_sees_only_their_own_agencys_returns(login_as, lead, ret, other_ret):
    c = login_as(lead)
    page = body(c.get("/returns/"))
    assert f"/returns/{ret.id}" in page and f"/returns/{other_ret.id}" not in page
    assert "Thameside Health Visiting" not in page
    assert c.get(f"/returns/{other_ret.id}").status_code == 404
    assert c.get(f"/returns/{other_ret.id}/submit").status_code == 404
    # Leads do not get the round pages.
    assert c.get(f"/returns/rounds/{ret.round_id}").status_code == 403


def test_another_agencys_lead_cannot_change_the_return_by_url_or_tampered_form(login_as, lead, other_lead, ret,
                                                                             other_ret, the_scrutineer):
    services.save_draft(other_ret.id, lines(), NARRATIVE, other_lead)
    before = reload(other_ret.id).version
    c = login_as(lead)
    assert c.post(f"/returns/{other_ret.id}", data=form_data(lines(in_scope=1, trained=1))).status_code == 404
    assert c.post(f"/returns/{other_ret.id}/submit", data={"version": str(before)}).status_code == 404
    submitted(other_ret, other_lead)
    services.challenge(other_ret.id, "Explain", today() + timedelta(days=7), the_scrutineer)
    assert c.post(f"/returns/{other_ret.id}/response", data={"text": "Not mine"}).status_code == 404
    r = reload(other_ret.id)
    assert r.status == ReturnStatus.CHALLENGED and {line.staff_in_scope for line in r.lines} == {100}
    assert EventKind.RESPONDED not in {e.kind for e in db.session.scalars(
        select(ReturnEvent).where(ReturnEvent.return_id == other_ret.id))}
    # Posting their own return's page with another return's fields changes only their own.
    c.post(f"/returns/{ret.id}", data={**form_data(lines(in_scope=7, trained=7)), "return_id": str(other_ret.id)})
    assert {line.staff_in_scope for line in reload(ret.id).lines} == {7}
    assert {line.staff_in_scope for line in reload(other_ret.id).lines} == {100}


def test_the_scrutineer_cannot_edit_the_figures(login_as, lead, ret, the_scrutineer):
    submitted(ret, lead)
    before = count(ReturnEvent)
    c = login_as(the_scrutineer)
    assert c.post(f"/returns/{ret.id}", data=form_data(lines(in_scope=1, trained=1))).status_code == 403
    assert c.post(f"/returns/{ret.id}/submit", data={}).status_code == 403
    assert c.post(f"/returns/{ret.id}/response", data={"text": "x"}).status_code == 403
    page = body(c.get(f"/returns/{ret.id}"))
    assert 'name="level_1_staff_in_scope"' not in page
    assert {line.staff_in_scope for line in reload(ret.id).lines} == {100}
    assert count(ReturnEvent) == before


def test_coordinators_read_but_do_not_fill_in_or_challenge(login_as, lead, ret):
    submitted(ret, lead)
    c = login_as(coordinator())
    assert c.get(f"/returns/{ret.id}").status_code == 200
    assert c.post(f"/returns/{ret.id}", data=form_data()).status_code == 403
    assert c.post(f"/returns/{ret.id}/challenge", data={"text": "x"}).status_code == 403
    assert c.post(f"/returns/{ret.id}/accept").status_code == 403
    assert reload(ret.id).status == ReturnStatus.SUBMITTED


def test_unknown_and_huge_ids_are_404(login_as, the_scrutineer, round_):
    c = login_as(the_scrutineer)
    for url in ("/returns/999999", f"/returns/{2**31 - 1}", "/returns/rounds/999999",
                "/returns/rounds/999999/overview.csv"):
        assert c.get(url).status_code == 404, url
    assert c.get(f"/returns/{2**40}").status_code == 404


# ---------------------------------------------------------------------------
# The proforma
# ---------------------------------------------------------------------------

def test_the_lead_saves_a_draft_and_sees_compliance_computed(login_as, lead, ret):
    c = login_as(lead)
    page = body(c.get(f"/returns/{ret.id}"))
    assert 'name="level_1_staff_in_scope"' in page and "Save draft" in page and "Submit return" in page
    response = c.post(f"/returns/{ret.id}", data=form_data(lines(level_1=LineFigures(3, 2, 1, "Mostly new starters"))))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/returns/{ret.id}")
    page = body(c.get(f"/returns/{ret.id}"))
    assert "Draft saved" in page
    assert 'data-compliance="level-1">66.6%' in page
    assert 'data-compliance="level-2">90%' in page
    assert "Mostly new starters" in page
    assert "Lena Lead" in page  # the history says who saved
    assert "Level 1, staff in scope: blank to 3" in page
    assert reload(ret.id).status == ReturnStatus.DRAFT


@pytest.mark.parametrize(("field", "value", "message"), [
    ("level_1_staff_in_scope", "ten", "Enter the number of staff in scope for Level 1, as a whole number"),
    ("level_1_staff_in_scope", "-4", "Enter the number of staff in scope for Level 1, as a whole number"),
    ("level_2_staff_in_scope", "2.5", "Enter the number of staff in scope for Level 2, as a whole number"),
    ("level_3_trained_in_date", "101", "Trained and in date for Level 3 cannot be more than staff in scope"),
    ("dsl_courses_delivered", "٣", "Enter the number of courses delivered for Designated safeguarding lead (DSL), as a whole number"),
    ("specialist_staff_in_scope", "9999999", "The number of staff in scope for Specialist must be 1,000,000 or fewer"),
])
def test_bad_figures_get_a_clear_message_and_change_nothing(login_as, lead, ret, field, value, message):
    c = login_as(lead)
    data = form_data()
    data[field] = value
    response = c.post(f"/returns/{ret.id}", data=data)
    assert response.status_code == 400
    page = body(response)
    assert "govuk-error-summary" in page and message in page
    assert f'href="#{field}"' in page
    assert reload(ret.id).status == ReturnStatus.NOT_STARTED
    assert count(ReturnEvent) == 2  # the two returns' "opened" events only


def test_submitting_checks_then_confirms(login_as, lead, ret):
    c = login_as(lead)
    incomplete = lines(level_2=LineFigures(None, None, None))
    response = c.post(f"/returns/{ret.id}", data=form_data(incomplete, action="submit"))
    assert response.status_code == 400
    assert "Enter the number of staff in scope for Level 2" in body(response)
    assert reload(ret.id).status == ReturnStatus.NOT_STARTED

    response = c.post(f"/returns/{ret.id}", data=form_data(action="submit"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/returns/{ret.id}/submit")
    assert reload(ret.id).status == ReturnStatus.DRAFT
    page = body(c.get(f"/returns/{ret.id}/submit"))
    assert "Check your return before you submit it" in page and "Once you submit the return you cannot change it" in page
    response = c.post(f"/returns/{ret.id}/submit", data={"version": str(reload(ret.id).version)})
    assert response.status_code == 302
    assert reload(ret.id).status == ReturnStatus.SUBMITTED
    page = body(c.get(f"/returns/{ret.id}"))
    assert "Return submitted" in page and 'name="level_1_staff_in_scope"' not in page
    assert 'data-compliance="all">90%' in page


def test_the_check_page_lists_what_is_missing(login_as, lead, ret):
    services.save_draft(ret.id, lines(level_2=LineFigures(None, None, None)), NARRATIVE, lead)
    c = login_as(lead)
    page = body(c.get(f"/returns/{ret.id}/submit"))
    assert "The return is not complete yet" in page and "Enter the number of staff in scope for Level 2" in page
    assert 'name="version"' not in page
    c.post(f"/returns/{ret.id}/submit", data={})
    assert reload(ret.id).status == ReturnStatus.DRAFT


def test_editing_after_submission_is_refused_with_a_message(login_as, lead, ret):
    submitted(ret, lead)
    c = login_as(lead)
    response = c.post(f"/returns/{ret.id}", data=form_data(lines(in_scope=5, trained=5)))
    assert response.status_code == 302
    assert "This return has been submitted and can no longer be changed" in body(c.get(f"/returns/{ret.id}"))
    assert {line.staff_in_scope for line in reload(ret.id).lines} == {100}


def test_a_save_from_a_stale_page_is_refused(login_as, lead, ret):
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    stale = reload(ret.id).version
    services.save_draft(ret.id, lines(in_scope=50, trained=50), NARRATIVE, lead_of(ret.agency))
    c = login_as(lead)
    c.post(f"/returns/{ret.id}", data=form_data(lines(in_scope=60, trained=1), version=stale))
    assert "Someone else changed this return" in body(c.get(f"/returns/{ret.id}"))
    assert {line.staff_in_scope for line in reload(ret.id).lines} == {50}


# ---------------------------------------------------------------------------
# Challenge, response, accept, reopen
# ---------------------------------------------------------------------------

def test_challenge_and_response_through_the_pages(login_as, lead, ret, the_scrutineer):
    submitted(ret, lead)
    s = login_as(the_scrutineer)
    page = body(s.get(f"/returns/{ret.id}"))
    assert "Send challenge" in page and "Accept return" in page
    response = s.post(f"/returns/{ret.id}/challenge", data={"text": "", "response_due_on": ["", "", ""]})
    assert response.status_code == 400
    assert "Enter your challenge" in body(response) and "Enter the date the response is due" in body(response)
    yesterday = today() - timedelta(days=1)
    response = s.post(f"/returns/{ret.id}/challenge", data={
        "text": "Level 3 is below target", "response_due_on": [str(yesterday.day), str(yesterday.month), str(yesterday.year)]})
    assert response.status_code == 400
    assert "The date the response is due must be today or in the future" in body(response)
    response = s.post(f"/returns/{ret.id}/challenge", data={"text": "Level 3 is below target",
                                                             "response_due_on": ["31", "2", "2030"]})
    assert response.status_code == 400 and "The date the response is due must be a real date" in body(response)
    assert reload(ret.id).status == ReturnStatus.SUBMITTED

    due = today() + timedelta(days=14)
    s.post(f"/returns/{ret.id}/challenge", data={"text": "Level 3 is below target",
                                                  "response_due_on": [str(due.day), str(due.month), str(due.year)]})
    assert reload(ret.id).status == ReturnStatus.CHALLENGED and reload(ret.id).response_due_on == due

    c = login_as(lead)
    page = body(c.get(f"/returns/{ret.id}"))
    assert "Level 3 is below target" in page and "Iris Scrutineer" in page and "Send response" in page
    response = c.post(f"/returns/{ret.id}/response", data={"text": "  "})
    assert response.status_code == 400 and "Enter your response to the challenge" in body(response)
    c.post(f"/returns/{ret.id}/response", data={"text": "Two more sessions in September"})
    assert reload(ret.id).status == ReturnStatus.RESPONDED

    page = body(s.get(f"/returns/{ret.id}"))
    assert "Two more sessions in September" in page and "Lena Lead" in page
    s.post(f"/returns/{ret.id}/accept")
    assert reload(ret.id).status == ReturnStatus.ACCEPTED
    page = body(s.get(f"/returns/{ret.id}"))
    assert "Send challenge" not in page and "Return accepted" in page


def test_responding_before_a_challenge_is_refused_through_the_page(login_as, lead, ret):
    submitted(ret, lead)
    c = login_as(lead)
    response = c.post(f"/returns/{ret.id}/response", data={"text": "Pre-emptive"})
    assert response.status_code == 302
    assert "You can only respond once the Independent Scrutineer has challenged the return" in body(
        c.get(f"/returns/{ret.id}"))
    assert reload(ret.id).status == ReturnStatus.SUBMITTED


def test_challenging_or_accepting_a_draft_is_refused_through_the_page(login_as, lead, ret, the_scrutineer):
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    s = login_as(the_scrutineer)
    page = body(s.get(f"/returns/{ret.id}"))
    assert "has not submitted this return yet" in page and "90%" not in page  # drafts stay private
    due = today() + timedelta(days=7)
    s.post(f"/returns/{ret.id}/challenge", data={"text": "Early", "response_due_on": [str(due.day), str(due.month),
                                                                                       str(due.year)]})
    s.post(f"/returns/{ret.id}/accept")
    assert reload(ret.id).status == ReturnStatus.DRAFT
    assert "A return can only be accepted once the agency has submitted it" in body(s.get(f"/returns/{ret.id}"))


def test_a_coordinator_reopens_a_submitted_return(login_as, lead, ret):
    submitted(ret, lead)
    c = login_as(coordinator())
    response = c.post(f"/returns/{ret.id}/reopen", data={"reason": ""})
    assert response.status_code == 400 and "Enter why the return is being reopened" in body(response)
    c.post(f"/returns/{ret.id}/reopen", data={"reason": "Level 2 in the wrong row"})
    assert reload(ret.id).status == ReturnStatus.DRAFT
    assert 'name="level_1_staff_in_scope"' in body(login_as(lead).get(f"/returns/{ret.id}"))
    assert "Level 2 in the wrong row" in body(login_as(lead).get(f"/returns/{ret.id}"))


# ---------------------------------------------------------------------------
# Rounds, the overview and exports
# ---------------------------------------------------------------------------

def test_a_coordinator_opens_a_round(login_as, agency, other_agency):
    c = login_as(coordinator())
    response = c.post("/returns/rounds/new", data={"year": "", "due_on": ["", "", ""]})
    page = body(response)
    assert response.status_code == 400
    for message in ("Enter the year the financial year starts, like 2025", "Enter the date returns are due",
                    "Select at least one agency"):
        assert message in page
    response = c.post("/returns/rounds/new", data={"year": "2025", "due_on": ["30", "6", "2026"],
                                                   "agencies": ["999999"]})
    assert response.status_code == 400 and "Select agencies from the list" in body(response)
    response = c.post("/returns/rounds/new", data={"year": "2025", "due_on": ["30", "6", "2026"],
                                                   "agencies": [str(agency.id), str(other_agency.id)]})
    assert response.status_code == 302
    round_ = db.session.scalar(select(ReturnRound))
    assert (round_.year, round_.due_on) == (2025, date(2026, 6, 30))
    assert count(AgencyReturn) == 2
    response = c.post("/returns/rounds/new", data={"year": "2025", "due_on": ["30", "6", "2026"],
                                                   "agencies": [str(agency.id)]})
    assert response.status_code == 400 and "A return round for 2025 to 2026 already exists" in body(response)
    assert count(ReturnRound) == 1


def test_agencies_are_added_to_an_open_round(login_as, round_):
    late = AgencyFactory(name="Late Nursery")
    c = login_as(coordinator())
    page = body(c.get(f"/returns/rounds/{round_.id}/agencies"))
    assert "Late Nursery" in page and "Thameside Primary School" not in page
    c.post(f"/returns/rounds/{round_.id}/agencies", data={"agencies": [str(late.id)]})
    assert return_for(round_, late) is not None
    assert "Late Nursery" in body(c.get(f"/returns/rounds/{round_.id}"))


def test_the_overview_and_its_exports(login_as, lead, ret, round_, the_scrutineer):
    submitted(ret, lead, lines(in_scope=10, trained=8))
    for who in (coordinator(), the_scrutineer):
        c = login_as(who)
        page = body(c.get(f"/returns/rounds/{round_.id}"))
        assert "Thameside Primary School" in page and "80%" in page and "Amber" in page
        assert "Thameside Health Visiting" in page and "Not started" in page
        response = c.get(f"/returns/rounds/{round_.id}/overview.csv")
        assert response.status_code == 200 and response.mimetype == "text/csv"
        assert 'filename="compliance-returns-2025.csv"' in response.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
        assert rows[0][0] == "Agency" and ["Thameside Health Visiting", "Not started"] == rows[1][:2]
        response = c.get(f"/returns/rounds/{round_.id}/overview.xlsx")
        assert response.status_code == 200 and response.get_data()[:2] == b"PK"


def test_posting_forms_that_are_not_on_the_page_explains_why(login_as, lead, ret, the_scrutineer):
    """A stale tab or a tampered form: a message and a redirect, never errors for fields that are not shown."""
    submitted(ret, lead)
    c = login_as(lead)
    response = c.post(f"/returns/{ret.id}", data={"level_1_staff_in_scope": "lots"})
    assert response.status_code == 302
    assert "This return has been submitted and can no longer be changed" in body(c.get(f"/returns/{ret.id}"))
    services.challenge(ret.id, "Explain", today() + timedelta(days=7), the_scrutineer)
    s = login_as(the_scrutineer)
    response = s.post(f"/returns/{ret.id}/challenge", data={"text": ""})
    assert response.status_code == 302
    assert "already been challenged" in body(s.get(f"/returns/{ret.id}"))
    assert reload(ret.id).status == ReturnStatus.CHALLENGED


def test_the_scrutineers_list_shows_returns_waiting_for_review(login_as, lead, other_lead, ret, other_ret,
                                                               the_scrutineer):
    submitted(ret, lead)
    services.save_draft(other_ret.id, lines(), NARRATIVE, other_lead)
    page = body(login_as(the_scrutineer).get("/returns/"))
    assert "Waiting for your review" in page
    assert f"/returns/{ret.id}" in page and f"/returns/{other_ret.id}" not in page  # a draft is not ready
    services.accept(ret.id, the_scrutineer)
    assert "No returns are waiting for your review" in body(login_as(the_scrutineer).get("/returns/"))


def test_a_lead_sees_when_their_return_is_overdue(login_as, agency):
    round_ = open_round(2024, [agency], due_on=today() - timedelta(days=1))
    lead = lead_of(agency)
    assert "Overdue" in body(login_as(lead).get("/returns/"))
    submitted(return_for(round_, agency), lead)
    assert "Overdue" not in body(login_as(lead).get("/returns/"))
