"""The calendar feed settings in Chromium, with axe-core on every page: turn the feed on, see
its address, fetch and parse the feed, get a new address, and turn it off."""
from __future__ import annotations

import icalendar
from playwright.sync_api import expect

from tests.browser.conftest import assert_accessible, sign_in
from tests.factories import SessionFactory, UserFactory
from training.booking import services as booking


def _feed_address(page) -> str:
    return page.locator("#feed-url").inner_text().strip()


def _fetch(client, address: str):
    path = address.replace("http://127.0.0.1:5000", "")
    return client.get(path)


def test_turn_on_reset_and_turn_off_the_calendar_feed(page, client):
    person = UserFactory(name="Kit Morgan")
    booking.book_place(SessionFactory(course__title="Domestic abuse awareness").id, person)
    sign_in(page, person.email)

    page.goto("/my-training/calendar")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your calendar feed")
    expect(page.locator("main")).to_contain_text("Your calendar feed is off")
    assert_accessible(page)

    page.get_by_role("button", name="Turn on calendar feed").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your calendar feed is on")
    first = _feed_address(page)
    assert first.startswith("http://127.0.0.1:5000/calendar/") and first.endswith(".ics")
    assert_accessible(page)

    response = _fetch(client, first)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    [event] = icalendar.Calendar.from_ical(response.get_data()).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Domestic abuse awareness"

    page.get_by_role("button", name="Get a new address").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("The old address no longer works")
    second = _feed_address(page)
    assert second != first
    assert_accessible(page)
    assert _fetch(client, first).status_code == 404
    assert _fetch(client, second).status_code == 200

    page.get_by_role("button", name="Turn off calendar feed").click()
    expect(page.locator(".govuk-notification-banner--success")).to_contain_text("Your calendar feed is off")
    expect(page.locator("#feed-url")).to_have_count(0)
    assert_accessible(page)
    assert _fetch(client, second).status_code == 404

    page.get_by_role("link", name="Back to My training").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My training")
