"""CSRF on every state-changing request, and no state change over GET."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from werkzeug.exceptions import HTTPException

from tests.conftest import login
from tests.factories import AttendanceFactory, BookingFactory, CoordinatorFactory, SessionFactory
from tests.security.conftest import fill_url, row_counts
from training.db import utcnow

# RFC 8058 one-click unsubscribe: mail providers POST to the link with no cookie and no token,
# so this route is exempt from CSRF; its signed token is the authority. A bad token is a 404.
CSRF_EXEMPT = {"bulletins.unsubscribe"}


def _world():
    """A coordinator who trains a past session and holds a booking on it, so ids 1 exist."""
    coordinator = CoordinatorFactory()
    starts = (utcnow() - timedelta(days=2)).replace(microsecond=0)
    session = SessionFactory(starts_at=starts, trainers=[coordinator])
    AttendanceFactory(booking=BookingFactory(session=session, user=coordinator))
    return coordinator


def _rules(app, method: str) -> list:
    return sorted((r for r in app.url_map.iter_rules() if method in r.methods and r.endpoint != "static"),
                  key=lambda r: r.rule)


def test_every_post_without_a_token_is_refused_and_changes_nothing(make_app):
    guarded = make_app(WTF_CSRF_ENABLED=True)
    rules = _rules(guarded, "POST")
    assert len(rules) > 20  # the whole app, not a handful
    client = login(guarded.test_client(), _world())
    before = row_counts()
    refused = {}
    for rule in rules:
        response = client.post(fill_url(rule), data={"active": "false", "confirm": "yes"})
        refused[rule.endpoint] = (response.status_code, "Your form has expired" in response.get_data(as_text=True))
    assert {endpoint: result for endpoint, result in refused.items()
            if result != (400, True) and endpoint not in CSRF_EXEMPT} == {}
    assert {endpoint: refused[endpoint][0] for endpoint in CSRF_EXEMPT} == {e: 404 for e in CSRF_EXEMPT}
    assert row_counts() == before


def test_sign_in_and_register_need_a_token_too(make_app):
    guarded = make_app(WTF_CSRF_ENABLED=True)
    client = guarded.test_client()
    before = row_counts()
    for path in ("/sign-in", "/register"):
        response = client.post(path, data={"email": "someone@example.org", "password": "anything at all"})
        assert response.status_code == 400
        assert "Your form has expired" in response.get_data(as_text=True)
    assert row_counts() == before


def test_a_post_with_the_token_gets_through(make_app):
    guarded = make_app(WTF_CSRF_ENABLED=True)
    client = login(guarded.test_client(), _world())
    page = client.get("/account").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/account").status_code == 302  # signed out: the POST took effect


def test_every_filled_url_reaches_its_own_route(app):
    """The URLs the tests below request match their rules (a made-up `any(...)` value would be a 404)."""
    adapter = app.url_map.bind("localhost")
    missed = {}
    for method in ("GET", "POST"):
        for rule in _rules(app, method):
            try:
                endpoint, _values = adapter.match(fill_url(rule), method=method)
            except HTTPException as error:
                endpoint = error.code
            if endpoint != rule.endpoint:
                missed[(method, rule.rule)] = endpoint
    assert missed == {}


@pytest.fixture
def coordinator_client(app):
    return login(app.test_client(), _world())


def test_no_get_changes_anything(app, coordinator_client):
    rules = _rules(app, "GET")
    assert len(rules) > 20
    changed, errors = {}, {}
    for rule in rules:
        before = row_counts()
        response = coordinator_client.get(fill_url(rule))
        if response.status_code >= 500:
            errors[rule.endpoint] = response.status_code
        after = row_counts()
        # No exceptions: certificates are issued, and staff PDFs and period exports audited, only by a POST.
        diff = {name for name in before if before[name] != after[name]}
        if diff:
            changed[rule.endpoint] = sorted(diff)
    assert changed == {}
    assert errors == {}
