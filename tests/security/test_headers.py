"""Security headers on every kind of response."""
from __future__ import annotations

import re

import pytest

from tests.conftest import login
from tests.factories import CoordinatorFactory, UserFactory

PAGES = {
    "public page": ("anonymous", "/"),
    "sign-in page": ("anonymous", "/sign-in"),
    "signed-in page": ("professional", "/account"),
    "coordinator page": ("coordinator", "/manage/people"),
    "redirect to sign in": ("anonymous", "/account"),
    "not found": ("anonymous", "/no-such-page"),
    "forbidden": ("professional", "/manage/people"),
    "health check (JSON)": ("anonymous", "/healthz"),
    "static file": ("anonymous", "/static/favicon.svg"),
}


def _client(app, who: str, base_url: str | None = None):
    client = app.test_client()
    if who == "professional":
        login(client, UserFactory())
    elif who == "coordinator":
        login(client, CoordinatorFactory())
    return client


def _assert_headers(response, *, https: bool) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "object-src 'none'" in csp
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{16,}'", csp)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    if https:
        assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    else:
        assert "Strict-Transport-Security" not in response.headers


@pytest.mark.parametrize("kind", PAGES)
@pytest.mark.parametrize("https", [False, True], ids=["http", "https"])
def test_security_headers(app, kind, https):
    who, path = PAGES[kind]
    client = _client(app, who)
    response = client.get(path, base_url="https://localhost" if https else "http://localhost")
    assert response.status_code in {200, 302, 403, 404}
    _assert_headers(response, https=https)


def test_the_nonce_in_the_page_is_the_one_in_the_policy_and_changes_each_time(client):
    nonces = []
    for _ in range(2):
        response = client.get("/")
        policy_nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        page_nonces = set(re.findall(r'nonce="([^"]+)"', response.get_data(as_text=True)))
        assert page_nonces == {policy_nonce}
        nonces.append(policy_nonce)
    assert nonces[0] != nonces[1]


def test_no_inline_script_runs_without_the_nonce(client):
    html = client.get("/sign-in").get_data(as_text=True)
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or "nonce=" in tag


def test_headers_on_the_csrf_error_page(make_app):
    response = make_app(WTF_CSRF_ENABLED=True).test_client().post("/sign-in", data={})
    assert response.status_code == 400
    _assert_headers(response, https=False)
    # The page's GOV.UK script carries the policy's nonce, so it still runs.
    policy_nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
    assert set(re.findall(r'nonce="([^"]+)"', response.get_data(as_text=True))) == {policy_nonce}


def test_headers_on_the_429_page(make_app):
    client = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="1 per minute").test_client()
    client.post("/sign-in", data={}, base_url="https://localhost")
    response = client.post("/sign-in", data={}, base_url="https://localhost")
    assert response.status_code == 429
    _assert_headers(response, https=True)


def test_signed_in_pages_are_not_cached(login_as):
    response = login_as(UserFactory()).get("/account")
    assert response.headers["Cache-Control"] == "no-store"
