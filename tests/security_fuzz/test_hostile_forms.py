"""Hostile input to every POST form: whatever is posted, the answer is never a server error.

Each POST route is listed in `FORMS` with the fields its form reads (from each area's
forms.py and views.py). A route missing from the table fails `test_every_post_route_is_fuzzed`,
so a new form cannot be forgotten.

The database is not emptied between Hypothesis examples within one test, so examples see
what earlier ones wrote (a cancelled session, a transferred place, a new account): the
property holds whatever state the world has reached.
"""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from flask import url_for
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from tests.factories import TEST_PASSWORD
from tests.security_fuzz.world import World, build_world
from training.catalogue.models import Level

MAX_ID = 2**31 - 1

#: Strings that have broken web forms before: markup, SQL, control characters,
#: bidi overrides, numbers that overflow, non-ASCII digits that pass str.isdigit(), paths.
HOSTILE = [
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "' OR '1'='1", "'; DROP TABLE users; --",
    "\x00", "a\x00b",
    "\r\n\t\x0b\x0c\x1b\x7f", "\u202e\u200b\ufeff", "\U0001f600" * 40, "A" * 10_000,
    "é" * 6_000, "-1", "0", "-2147483649", "2147483648", "9" * 40, "1e309", "NaN", "Infinity", "٣", "²", "１２",
    "0x1F", " ", "", "null", "[]", "{}", "../../etc/passwd", "%00", "{{7*7}}", "${7*7}", "00:00", "24:00",
    "23:60", "9.30", "31", "32", "13", "0000", "99999", "https://evil.example/", "javascript:alert(1)",
    "//evil.example", "/\\evil.example", "true", "false", "yes", "y", "submit", "save",
]

#: Every code point except lone surrogates (which no browser can send as UTF-8), NUL included:
#: the app refuses NUL before it reaches the database (PostgreSQL text cannot hold it).
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
_HOSTILE_ONE = st.one_of(st.sampled_from(HOSTILE), _TEXT, st.integers(-(2**70), 2**70).map(str))
#: A field's hostile value: one string, or several under the same name (a scalar sent as a list).
_HOSTILE = st.one_of(_HOSTILE_ONE, st.lists(_HOSTILE_ONE, min_size=0, max_size=4))


def _future_date_parts(days: int = 60) -> list[str]:
    day = date.today() + timedelta(days=days)
    return [str(day.day), str(day.month), str(day.year)]


@dataclass(frozen=True)
class Route:
    """Who posts to a route, how its URL is filled in, and its fields with plausible values."""

    actor: str  # "anonymous", or a World attribute naming the person who posts
    # URL parameter -> World attribute, or a tuple of the literal values an any(...) converter takes
    url_args: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    fields: dict[str, object] = field(default_factory=dict)  # name -> valid value (callable: from the world)
    query: dict[str, object] = field(default_factory=dict)  # query-string arguments the view reads


def _valid_email(_w: World) -> str:
    return f"{uuid.uuid4().hex}@example.org"


_PERSON = {
    "name": "Sam O'Brien", "agency": lambda w: str(w.agency_id), "job_title": "Teacher",
    "manager_name": "Pat Jones", "manager_email": _valid_email, "consent_updates": "y",
}
_COURSE = {
    "title": "Hostile input course", "summary": "Summary", "learning_outcomes": "One\nTwo", "level": "level-2",
    "format": "face-to-face", "duration_hours": "3", "duration_minutes": "30", "themes": "child-protection",
    "refresher_months": "36", "requires_approval": "y",
}
_SESSION = {
    "kind": "training",
    "date": lambda _w: _future_date_parts(), "start_time": "09:30", "end_time": "12:30",
    "venue": "Civic Centre", "online_link": "https://meet.example/abc", "capacity": "20",
    "trainers": lambda w: str(w.coordinator.id), "closes_date": lambda _w: _future_date_parts(59),
    "closes_time": "17:00",
}
_EVALUATION = {
    "knowledge": "4", "confidence": "3", "learning_needs": "Referrals", "outcome_1": "met", "outcome_2": "partly",
    "trainer": "5", "materials": "4", "venue": "3", "overall": "good", "do_differently": "Refer sooner",
    "comments": "Good", "impact": "4", "impact_example": "Referred earlier", "shared_with_team": "yes",
    "manager_agrees": "no", "manager_name": "Pat Jones", "action": "submit",
}
_SUGGESTION = {"title": "Online harms", "need": "Staff are unsure about online harms", "evidence": "A case review",
               "audience": "Teachers", "people_benefiting": "120", "agency": lambda w: str(w.agency_id)}
_RETURN = {f"{lv.name.lower()}_{part}": value for lv in Level for part, value in
           (("staff_in_scope", "10"), ("trained_in_date", "9"), ("courses_delivered", "1"), ("notes", "On track"))}
_RETURN |= {"quality_and_impact": "Evaluation forms", "gaps_and_plans": "None", "action": "save", "version": "1"}
_BULLETIN = {"subject": "Safeguarding update: June", "body": "First paragraph.\n\nSecond paragraph.",
             "sector": "health", "agency": lambda w: str(w.agency_id)}
_PERIOD_EXPORT = {"date_from": lambda _w: ["1", "4", "2026"], "date_to": lambda _w: ["31", "3", "2027"],
                  "agency": lambda w: str(w.agency_id)}
_MARKS = {"booking-{past_booking_id}": "attended", "booking-999999999999": "attended", "booking-x": "attended"}

FORMS: dict[str, Route] = {
    "accounts.sign_in": Route("anonymous", fields={"email": lambda w: w.professional.email,
                                                   "password": TEST_PASSWORD}, query={"next": "/my-training"}),
    "accounts.register": Route("anonymous", fields={**_PERSON, "email": _valid_email, "password": TEST_PASSWORD,
                                                    "confirm_password": TEST_PASSWORD},
                               query={"next": "/my-training"}),
    "accounts.sign_out": Route("professional"),
    "accounts.account_edit": Route("professional", fields=_PERSON),
    "accounts.change_password": Route("professional", fields={
        "current_password": TEST_PASSWORD, "new_password": TEST_PASSWORD, "confirm_password": TEST_PASSWORD}),
    "accounts.person_roles": Route("coordinator", {"person_id": "other_person.id"},
                                   {"roles": ["professional", "trainer"]}),
    "accounts.person_status": Route("coordinator", {"person_id": "other_person.id"}, {"active": "false"}),
    "accounts.agency_new": Route("coordinator", fields={"name": "New agency", "sector": "health"}),
    "accounts.agency_edit": Route("coordinator", {"agency_id": "other_agency_id"},
                                  {"name": "Renamed agency", "sector": "police"}),
    "accounts.agency_status": Route("coordinator", {"agency_id": "other_agency_id"}, {"active": "true"}),
    "attendance.register": Route("coordinator", {"session_id": "past_id"}, _MARKS),
    "attendance.complete_register": Route("coordinator", {"session_id": "past_id"}, _MARKS),
    "attendance.add_walk_in": Route("coordinator", {"session_id": "past_id"}, {
        "name": "Walk-in person", "email": _valid_email, "agency": lambda w: str(w.agency_id),
        "outcome": "attended"}),
    "attendance.remove_walk_in": Route("coordinator", {"session_id": "past_id", "attendance_id": "walk_in_id"}),
    "booking.book": Route("coordinator", {"session_id": "upcoming_id"}),
    "booking.cancel": Route("professional", {"booking_id": "upcoming_booking_id"}),
    "booking.accept_offer": Route("professional", {"booking_id": "offered_booking_id"}),
    "booking.decline_offer": Route("professional", {"booking_id": "offered_booking_id"}),
    "booking.transfer": Route("professional", {"booking_id": "upcoming_booking_id"},
                              {"colleague_email": lambda w: w.colleague.email}),
    "booking.book_on_behalf": Route("coordinator", {"session_id": "upcoming_id"},
                                    {"email": lambda w: w.other_person.email, "overbook": "y"}),
    "booking.move": Route("coordinator", {"booking_id": "upcoming_booking_id"},
                          {"session_id": lambda w: str(w.other_upcoming_id), "overbook": "y"}),
    "catalogue.course_new": Route("coordinator", fields=_COURSE),
    "catalogue.course_edit": Route("coordinator", {"course_id": "course_id"}, _COURSE),
    "catalogue.course_duplicate": Route("coordinator", {"course_id": "course_id"}),
    "catalogue.session_new": Route("coordinator", {"course_id": "course_id"}, _SESSION),
    "catalogue.session_edit": Route("coordinator", {"session_id": "upcoming_id"}, _SESSION),
    "catalogue.session_duplicate": Route("coordinator", {"session_id": "upcoming_id"}),
    "catalogue.session_cancel": Route("coordinator", {"session_id": "other_upcoming_id"},
                                      {"reason": "Trainer unwell"}),
    "suggestions.new": Route("professional", fields=_SUGGESTION),
    "needs.group_new": Route("coordinator", fields={"name": "Hostile group", "description": "Who is in it",
                                                    "sectors": ["health", "police"]}),
    "needs.group_edit": Route("coordinator", {"group_id": "needs_group_id"}, {
        "name": "Renamed group", "description": "Who is in it", "sectors": "education", "active": "yes"}),
    "needs.requirement_new": Route("coordinator", {"group_id": "needs_group_id"}, {
        "target": "level:level-2", "deadline_months": "3", "refresher_months": "36"}),
    "needs.requirement_edit": Route("coordinator", {"requirement_id": "needs_requirement_id"}, {
        "target": lambda w: f"course:{w.course_id}", "deadline_months": "12", "refresher_months": "24"}),
    "needs.requirement_remove": Route("coordinator", {"requirement_id": "needs_requirement_id"}),
    "needs.review_new": Route("coordinator", fields={
        "reviewed_on": lambda _w: ["1", "9", "2025"], "attendees": "Chair", "decisions": "More Level 3",
        "emerging_issues": "Online harms"}),
    "needs.my_group": Route("professional", fields={"group": lambda w: str(w.needs_group_id),
                                                    "started_on": lambda _w: ["1", "9", "2024"]}),
    "history.upload": Route("coordinator", fields={"file": "history.csv", "submit": "Upload and check the file"}),
    "history.confirm": Route("coordinator", {"import_id": "history_import_id"}),
    "history.discard": Route("coordinator", {"import_id": "history_import_id"}),
    "compliance.open_round": Route("coordinator", fields={"year": "2031", "due_on": lambda _w: _future_date_parts(),
                                   "agencies": lambda w: [str(w.agency_id), str(w.other_agency_id)]}),
    "compliance.add_agencies": Route("coordinator", {"round_id": "round_id"},
                                     {"agencies": lambda w: str(w.other_agency_id)}),
    "compliance.return_page": Route("agency_lead", {"return_id": "return_id"}, _RETURN),
    "compliance.confirm_submit": Route("agency_lead", {"return_id": "return_id"}, {"version": "1"}),
    "compliance.challenge": Route("scrutineer", {"return_id": "submitted_return_id"},
                                  {"text": "Explain Level 3", "response_due_on": lambda _w: _future_date_parts(14)}),
    "compliance.respond": Route("agency_lead", {"return_id": "challenged_return_id"}, {"text": "Our plan"}),
    "compliance.accept": Route("scrutineer", {"return_id": "submitted_return_id"}),
    "compliance.reopen": Route("coordinator", {"return_id": "submitted_return_id"}, {"reason": "Typo in Level 2"}),
    "suggestions.start_review": Route("coordinator", {"suggestion_id": "suggestion_id"}),
    "suggestions.decide": Route("coordinator", {"suggestion_id": "reviewed_suggestion_id"},
                                {"decision": "decline", "reason": "Covered by the Level 3 course"}),
    "suggestions.create_course": Route("coordinator", {"suggestion_id": "agreed_suggestion_id"}),
    "evaluation.form": Route("professional", {"booking_id": "past_booking_id", "stage": "stage"}, _EVALUATION),
    # A coordinator may issue it before the evaluation, so the issuing path itself is reached.
    "certificates.issue": Route("coordinator", {"booking_id": "past_booking_id"}),
    "certificates.session_bulk": Route("coordinator", {"session_id": "past_id"}),
    "certificates.sign_in_sheet_pdf": Route("coordinator", {"session_id": "past_id"}),
    "evaluation_results.quotable": Route("coordinator", {"answer_id": "answer_id"},
                                         {"quotable": "yes", "back": "/results"}),
    "evaluation_results.raise_review": Route("coordinator", fields={
        "course": lambda w: str(w.course_id), "reason": "Low ratings", "session_id": lambda w: str(w.past_id),
        "course_id": lambda w: str(w.course_id)}, query={"session_id": lambda w: str(w.past_id)}),
    "evaluation_results.review_findings": Route("coordinator", {"review_id": "review_id"},
                                                {"findings": "Found", "improvements": "Improve"}),
    "evaluation_results.review_status": Route("coordinator", {"review_id": "review_id"},
                                              {"status": "actions-agreed"}),
    "evaluation_results.review_response": Route("coordinator", {"review_id": "review_id"},
                                                {"response": "We will change it"}),
    "privacy.delete_person": Route("coordinator", {"person_id": "other_person.id"},
                                   {"submit": "Delete personal data"}),
    "bulletins.new": Route("coordinator", fields=_BULLETIN),
    "bulletins.edit": Route("coordinator", {"bulletin_id": "bulletin_id"}, _BULLETIN),
    "bulletins.send": Route("coordinator", {"bulletin_id": "bulletin_id"}),
    "bulletins.unsubscribe": Route("anonymous", {"token": "unsubscribe_token"}, {"List-Unsubscribe": "One-Click"}),
    "calendar.turn_on": Route("professional"),
    "calendar.reset": Route("professional"),
    "calendar.turn_off": Route("professional"),
    "notifications.retry": Route("coordinator", {"message_id": "outbox_message_id"}),
    "accounts.forgotten_password": Route("anonymous", fields={"email": lambda w: w.professional.email}),
    "accounts.reset_password": Route("anonymous", {"token": "reset_token"},
                                     {"new_password": TEST_PASSWORD, "confirm_password": TEST_PASSWORD}),
    "accounts.change_email": Route("professional", fields={"new_email": _valid_email, "password": TEST_PASSWORD}),
    "accounts.confirm_email_change": Route("anonymous", {"token": "email_change_token"}),
    "approvals.approve": Route("anonymous", {"token": "approval_token"}),
    "approvals.decline": Route("anonymous", {"token": "approval_token"},
                               {"reason": "Not this quarter: we are short-staffed"}),
    # A download (audited, so a POST) reads the period and agency from the query string, not the form.
    "report_exports.download": Route("coordinator", {"kind": ("bookings", "attendance"), "fmt": ("csv", "xlsx")},
                                     query=_PERIOD_EXPORT),
}

#: Runs are derandomised, so a run on either database is repeatable and the suite cannot go
#: red at random. Set FUZZ_EXPLORE=1 to draw fresh random examples (and more of them) to hunt
#: for new failures.
EXPLORE = bool(os.environ.get("FUZZ_EXPLORE"))
N_EXAMPLES = 200 if EXPLORE else 30
FUZZ_SETTINGS = settings(max_examples=N_EXAMPLES, deadline=None, derandomize=not EXPLORE, database=None,
                         suppress_health_check=[HealthCheck.function_scoped_fixture])


KNOWN_FINDINGS: dict = {}  # every finding so far is fixed; add one here only with its bug report


def _attr(world: World, path: str):
    value = world
    for part in path.split("."):
        value = getattr(value, part)
    return value


def _url_value(world: World, name: str, path: str | tuple[str, ...], data) -> object:
    """The world's object for a URL parameter, now and then an id that does not exist."""
    if isinstance(path, tuple):  # the values an any(...) converter takes: anything else is a 404
        return data.draw(st.sampled_from(path), label=name)
    if path == "stage":
        return data.draw(st.sampled_from(["before", "after", "follow-up", "<script>", "\x00"]), label=name)
    return data.draw(st.sampled_from([_attr(world, path)] * 4 + [MAX_ID, 1]), label=name)


def _valid(world: World, value: object) -> object:
    return value(world) if callable(value) else value


def _query(world: World, route: Route, data) -> MultiDict:
    """The query-string arguments: each left out, plausible or hostile."""
    args = MultiDict()
    for name, valid in route.query.items():
        choice = data.draw(st.sampled_from(["missing", "valid", "hostile"]), label=f"?{name} kind")
        if choice == "missing":
            continue
        value = _valid(world, valid) if choice == "valid" else data.draw(_HOSTILE, label=f"?{name}")
        for item in value if isinstance(value, list) else [value]:
            args.add(name, item)
    return args


def _form(world: World, route: Route, data) -> MultiDict:
    """Each field: left out, a plausible value, or a hostile one; plus stray fields now and then.

    Half the time only one field is hostile and the rest are plausible, so the hostile value
    gets past the other fields' validation into the services and the database.
    """
    form = MultiDict()
    names = list(route.fields)
    target = data.draw(st.sampled_from(names), label="the hostile field") if names else None
    one_hostile = data.draw(st.booleans(), label="one hostile field")
    for name, valid in route.fields.items():
        if one_hostile:
            choice = "hostile" if name == target else "valid"
        else:
            choice = data.draw(st.sampled_from(["missing", "valid", "hostile", "hostile"]), label=f"{name} kind")
        name = name.format(past_booking_id=world.past_booking_id)
        if choice == "missing":
            continue
        value = _valid(world, valid) if choice == "valid" else data.draw(_HOSTILE, label=name)
        for item in value if isinstance(value, list) else [value]:
            form.add(name, item)
    for name, value in data.draw(st.lists(st.tuples(_HOSTILE_ONE, _HOSTILE_ONE), max_size=2), label="stray"):
        form.add(name, value)
    return form


@pytest.fixture
def world() -> World:
    return build_world()


def _client(app, login_as, world: World, actor: str):
    if actor == "anonymous":
        return app.test_client()
    return login_as(getattr(world, actor))


def test_every_post_route_is_fuzzed(app) -> None:
    """Every route that takes a POST has an entry in FORMS, and FORMS names no stale route."""
    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in (rule.methods or set())}
    assert sorted(posted - FORMS.keys()) == [], "add these POST routes to FORMS in this module"
    assert sorted(FORMS.keys() - posted) == [], "these routes in FORMS no longer take a POST"


@pytest.mark.parametrize("endpoint", sorted(FORMS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_hostile_post_is_never_a_server_error(app, login_as, world: World, endpoint: str, data) -> None:
    """Random and hostile form data gets a page, an error message or a redirect; never a 500."""
    route = FORMS[endpoint]
    with app.test_request_context():
        url = url_for(endpoint, **{name: _url_value(world, name, path, data)
                                   for name, path in route.url_args.items()})
    form, query = _form(world, route, data), _query(world, route, data)
    assume(not KNOWN_FINDINGS.get(endpoint, lambda *_: False)(form, query))
    response = _client(app, login_as, world, route.actor).post(url, data=form, query_string=query)
    assert response.status_code < 500, f"{endpoint} answered {response.status_code}"
    if 300 <= response.status_code < 400:
        # A hostile `next` or `back` must never send the person to another site.
        location = urlsplit(response.headers["Location"])
        assert location.netloc in ("", "localhost"), response.headers["Location"]


#: The GET forms (filters, and ids read from the query string): they change nothing, so they
#: cannot be found from the URL map; each is listed by hand with the arguments its view reads.
QUERY_FORMS: dict[str, Route] = {
    "notifications.index": Route("coordinator", query={"status": "failed", "page": "2"}),
    "catalogue.index": Route("anonymous", query={
        "theme": ["child-protection", "neglect"], "format": "virtual", "month": "2030-01", "available": "y",
        "page": "2"}),
    "accounts.manage_people": Route("coordinator", query={
        "q": "Person", "agency": lambda w: str(w.agency_id), "role": "trainer", "page": "2"}),
    "evaluation_results.course_results": Route("coordinator", {"course_id": "course_id"},
                                               query={"from": "2026-04-01", "to": "2027-03-31"}),
    "catalogue.session_new": Route("coordinator", {"course_id": "course_id"},
                                   query={"copy": lambda w: str(w.upcoming_id)}),
    "evaluation_results.raise_review": Route("coordinator", query={
        "session_id": lambda w: str(w.past_id), "course_id": lambda w: str(w.course_id)}),
    "certificates.verify": Route("anonymous", query={"code": "ABCD-EFGH"}),
    "suggestions.manage": Route("coordinator", query={"status": "under-review"}),
    "report_exports.index": Route("coordinator", query=_PERIOD_EXPORT),
    "needs.analysis": Route("coordinator", query={"agency": lambda w: str(w.agency_id)}),
    "accounts.sign_in": Route("anonymous", query={"next": "/my-training"}),
    "audit.index": Route("coordinator", query={
        "action": "booking", "actor_email": lambda w: w.coordinator.email, "object_type": "booking",
        "object_id": "1", "date_from": lambda _w: ["1", "1", "2026"], "date_to": lambda _w: ["31", "12", "2030"],
        "page": "2"}),
}


@pytest.mark.parametrize("endpoint", sorted(QUERY_FORMS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_hostile_query_string_is_never_a_server_error(app, login_as, world: World, endpoint: str, data) -> None:
    """Random and hostile filters and query-string ids get a page or a 4xx; never a 500."""
    route = QUERY_FORMS[endpoint]
    with app.test_request_context():
        url = url_for(endpoint, **{name: _url_value(world, name, path, data)
                                   for name, path in route.url_args.items()})
    query = _query(world, route, data)
    assume(not KNOWN_FINDINGS.get(endpoint, lambda *_: False)(MultiDict(), query))
    response = _client(app, login_as, world, route.actor).get(url, query_string=query)
    assert response.status_code < 500, f"{endpoint} answered {response.status_code}"
