"""No stored value ever renders unescaped.

Markup is stored in every free-text field a person can reach, through the real forms, then
every page that shows those fields is fetched: the raw markup never appears, only its escaped
form (which must appear, so the test cannot pass because nothing was stored).
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

import pytest
from markupsafe import escape
from sqlalchemy import select

from tests.factories import TEST_PASSWORD
from tests.security_fuzz.world import World, build_world
from training.certificates.models import Certificate
from training.extensions import db

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
RAW = (SCRIPT, IMG, "<img src=x", "<script>alert")


def payload(tag: str) -> str:
    """A value that both breaks out of an attribute and opens a script, tagged by field."""
    return f"{tag} {SCRIPT} {IMG}"


def _save(client, url: str, data: dict) -> None:
    """Post through the real form: saved (one redirect), and the page after it, with its flash
    message naming what was saved, shows no raw markup."""
    response = client.post(url, data=data, follow_redirects=True)
    body = response.get_data(as_text=True)
    assert len(response.history) == 1 and response.history[0].status_code == 302, body[:2000]
    assert response.status_code == 200
    for raw in RAW:
        assert raw not in body


def _future_parts(days: int) -> list[str]:
    day = date.today() + timedelta(days=days)
    return [str(day.day), str(day.month), str(day.year)]


def store_payloads(app, login_as, world: World) -> None:
    """Store a payload in each free-text field, each through its real form."""
    coordinator, professional = login_as(world.coordinator), login_as(world.professional)
    _save(coordinator, "/manage/agencies/new", {"name": payload("agency-name"), "sector": "health"})
    _save(professional, "/account/edit", {
        "name": payload("person-name"), "agency": str(world.agency_id), "job_title": payload("job-title"),
        "manager_name": payload("manager-name"), "manager_email": "manager@example.org"})
    _save(app.test_client(), "/register", {
        "name": payload("registrant-name"), "email": f"{uuid.uuid4().hex}@example.org",
        "agency": str(world.agency_id), "job_title": payload("registrant-job"), "manager_name": "Pat Jones",
        "manager_email": "pat@example.org", "password": TEST_PASSWORD, "confirm_password": TEST_PASSWORD})
    _save(coordinator, f"/manage/courses/{world.course_id}/edit", {
        "title": payload("course-title"), "summary": payload("course-summary"),
        "learning_outcomes": payload("outcome-one") + "\n" + payload("outcome-two"), "level": "level-2",
        "format": "face-to-face", "duration_hours": "3", "themes": "child-protection"})
    _save(coordinator, f"/manage/sessions/{world.upcoming_id}/edit", {
        "kind": "training", "date": _future_parts(30), "start_time": "09:30", "end_time": "12:30", "venue": payload("venue"),
        "capacity": "20", "trainers": str(world.coordinator.id)})
    _save(coordinator, f"/manage/sessions/{world.other_upcoming_id}/cancel", {"reason": payload("cancel-reason")})
    _save(coordinator, f"/sessions/{world.past_id}/register/walk-in", {
        "name": payload("walk-in-name"), "agency": str(world.agency_id), "outcome": "attended"})
    _save(professional, f"/bookings/{world.past_booking_id}/evaluation/after", {
        "knowledge": "4", "confidence": "4", "outcome_1": "met", "outcome_2": "met", "trainer": "2",
        "materials": "2", "venue": "2", "overall": "poor", "do_differently": payload("do-differently"),
        "comments": payload("comment"), "action": "submit"})
    _save(professional, f"/bookings/{world.upcoming_booking_id}/evaluation/before", {
        "knowledge": "2", "confidence": "2", "learning_needs": payload("learning-needs"), "action": "submit"})
    _save(coordinator, f"/reviews/{world.review_id}/findings", {
        "findings": payload("findings"), "improvements": payload("improvements")})
    _save(coordinator, f"/reviews/{world.review_id}/response", {"response": payload("response")})
    _save(coordinator, "/manage/reviews/new", {"course": str(world.course_id), "reason": payload("review-reason")})
    # The certificate (and the code the public verify page checks) is issued when first opened.
    assert professional.get(f"/bookings/{world.past_booking_id}/certificate").status_code == 200


#: Each page: who looks at it, and the tags of the payloads it must show (escaped).
PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("/", "anonymous", ("course-title",)),
    ("/courses/{course_id}", "anonymous", ("course-title", "course-summary", "outcome-one", "outcome-two")),
    ("/sessions/{upcoming_id}", "anonymous", ("course-title", "venue")),
    ("/register", "anonymous", ("agency-name",)),
    ("/manage/courses", "coordinator", ("course-title",)),
    ("/manage/courses/{course_id}", "coordinator", ("course-title",)),
    ("/manage/sessions/{upcoming_id}/bookings", "coordinator", ("course-title", "person-name")),
    ("/manage/sessions/{upcoming_id}/edit", "coordinator", ("venue",)),
    ("/sessions/{past_id}/register", "coordinator", ("course-title", "person-name", "walk-in-name")),
    ("/sessions/{past_id}/register/walk-in", "coordinator", ("agency-name",)),
    ("/sessions/{past_id}/sign-in-sheet", "coordinator", ("person-name",)),
    ("/manage/sessions/{past_id}/evaluations", "coordinator", ("course-title",)),
    ("/manage/people", "coordinator", ("person-name", "registrant-name")),
    ("/manage/people/{professional.id}", "coordinator", ("person-name", "job-title", "manager-name")),
    ("/manage/agencies", "coordinator", ("agency-name",)),
    ("/manage/agencies/new", "coordinator", ()),
    ("/results", "coordinator", ("course-title",)),
    ("/results/sessions/{past_id}", "coordinator", ("course-title", "do-differently", "comment")),
    ("/results/courses/{course_id}", "coordinator", ("course-title", "comment")),
    ("/manage/reviews", "coordinator", ("course-title",)),
    ("/reviews/{review_id}", "coordinator", ("course-title", "findings", "improvements", "response")),
    ("/my-sessions", "coordinator", ("course-title",)),
    ("/account", "professional", ("person-name", "job-title", "manager-name")),
    ("/account/edit", "professional", ("person-name", "job-title", "manager-name", "agency-name")),
    ("/my-training", "professional", ("course-title",)),
    # The cancellation reason is stored but no page shows it yet (see the report).
    ("/bookings/{offered_booking_id}", "professional", ("course-title",)),
    ("/bookings/{upcoming_booking_id}", "professional", ("course-title", "venue")),
    ("/bookings/{past_booking_id}/evaluation/after", "professional", ("do-differently", "comment")),
    # The certificate names the attendee as the register recorded them, before the rename.
    ("/bookings/{past_booking_id}/certificate", "professional", ("course-title",)),
    ("/bookings/{upcoming_booking_id}/evaluation/before", "professional", ("learning-needs",)),
    ("/bookings/{upcoming_booking_id}/cancel", "professional", ("course-title",)),
    ("/bookings/{upcoming_booking_id}/transfer", "professional", ("course-title",)),
    ("/manage/bookings/{upcoming_booking_id}/move", "coordinator", ("course-title",)),
    ("/manage/courses/{course_id}/sessions/new?copy={upcoming_id}", "coordinator", ("course-title", "venue")),
    ("/manage/reviews/new?session_id={past_id}", "coordinator", ("course-title",)),
    ("/verify/{code}", "anonymous", ("course-title",)),
    ("/account/my-data", "professional", ("person-name", "job-title", "manager-name")),
    ("/manage/people/{professional.id}/delete", "coordinator", ("person-name",)),
    ("/manage/audit", "coordinator", ()),
]


@pytest.fixture
def stored(app, login_as) -> World:
    world = build_world()
    store_payloads(app, login_as, world)
    return world


@pytest.mark.parametrize(("path", "actor", "tags"), PAGES, ids=[p for p, _a, _t in PAGES])
def test_stored_markup_is_escaped(app, login_as, stored: World, path: str, actor: str,
                                  tags: tuple[str, ...]) -> None:
    """The page shows each stored payload escaped, and never the raw markup."""
    code = db.session.scalar(select(Certificate.code).limit(1))
    url = path.format(**{name: getattr(stored, name) for name in vars(stored) if name.endswith("_id")},
                      professional=stored.professional, code=code)
    client = app.test_client() if actor == "anonymous" else login_as(getattr(stored, actor))
    response = client.get(url)
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for raw in RAW:
        assert raw not in body
    for tag in tags:
        assert str(escape(payload(tag))) in body, f"{tag} is not shown escaped on {url}"
