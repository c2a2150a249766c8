"""The 429 page in a real browser: accessible, and reached by signing in too often."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from tests.browser.conftest import assert_accessible

pytestmark = pytest.mark.browser


@pytest.fixture
def limited_server(make_app):  # noqa: F811  (the fixture imported above)
    app = make_app(RATELIMIT_ENABLED=True, SIGN_IN_RATE_LIMIT="2 per minute")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_too_many_sign_in_attempts_page(browser, limited_server):
    context = browser.new_context(base_url=limited_server)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        for _ in range(3):
            page.goto("/sign-in")
            page.get_by_label("Email address").fill("someone@example.org")
            page.get_by_label("Password", exact=True).fill("not the password")
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_load_state("load")
        heading = page.locator("main h1")
        assert heading.inner_text() == "Too many attempts"
        assert "Wait a few minutes and try again" in page.locator("main").inner_text()
        assert page.title().startswith("Too many attempts – ")
        assert_accessible(page)
    finally:
        context.close()
