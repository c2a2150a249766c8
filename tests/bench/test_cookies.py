"""The benchmark's signed-in requests carry a session as signing in makes it."""
from __future__ import annotations

from bench.__main__ import _cookies
from tests.factories import UserFactory


def test_the_benchmarks_cookie_signs_in_without_the_cookie_being_made_again(app):
    person_id = UserFactory(name="Bench Person").id
    cookie = _cookies(app, [person_id])[person_id]
    # As wrk sends it: from loopback, with no user agent.
    client = app.test_client()
    client.environ_base.pop("HTTP_USER_AGENT", None)
    client.set_cookie("session", cookie.removeprefix("session="))
    response = client.get("/account")
    assert response.status_code == 200
    assert "Bench Person" in response.get_data(as_text=True)
    # A cookie short of any mark would be topped up, signed again and sent back every time.
    assert "Set-Cookie" not in response.headers


def test_cookies_are_made_for_exactly_the_people_asked_for(app):
    people = [UserFactory().id for _ in range(3)]
    cookies = _cookies(app, people[:2])
    assert set(cookies) == set(people[:2])
    assert all(c.startswith("session=") for c in cookies.values())
