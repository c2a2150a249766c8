"""The public catalogue and course pages: what is listed, filters, pages, and what is never shown."""
from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest
from werkzeug.datastructures import MultiDict

from tests.factories import BookingFactory, CourseFactory, SessionFactory, UserFactory
from tests.sql import recorded_statements
from training.catalogue.forms import CatalogueFilterForm
from training.catalogue.models import CourseFormat, SessionStatus, Theme
from training.catalogue.services import CatalogueFilters, month_starts
from training.db import utcnow
from training.timeutil import london_to_utc, to_london

SECRET_LINK = "https://meet.example.org/secret-joining-link-123"


def text_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def titles(response) -> list[str]:
    """Course titles of the listed sessions, in page order."""
    return re.findall(r'<h3 class="govuk-heading-s[^"]*">\s*<a [^>]*>([^<]+)<span', text_of(response))


def in_days(n: float):
    return (utcnow() + timedelta(days=n)).replace(microsecond=0)


@pytest.fixture
def page_size(app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOGUE_PAGE_SIZE", 3)
    return 3


def test_lists_upcoming_scheduled_sessions_soonest_first(client):
    later = SessionFactory(course=CourseFactory(title="Later"), starts_at=in_days(20))
    sooner = SessionFactory(course=CourseFactory(title="Sooner"), starts_at=in_days(2))
    SessionFactory(course=CourseFactory(title="Past"), starts_at=in_days(-2))
    SessionFactory(course=CourseFactory(title="Cancelled"), starts_at=in_days(5), status=SessionStatus.CANCELLED)
    response = client.get("/")
    assert titles(response) == ["Sooner", "Later"]
    html = text_of(response)
    assert f'href="/sessions/{sooner.id}"' in html and f'href="/sessions/{later.id}"' in html
    assert "2 sessions" in html


def test_shows_date_format_venue_and_places(client):
    start = london_to_utc((utcnow() + timedelta(days=40)).date(), time(9, 30))
    SessionFactory(course=CourseFactory(title="Neglect", format=CourseFormat.WORKSHOP), starts_at=start,
                   ends_at=start + timedelta(hours=3), venue="Civic Centre\nCommittee Room 2", capacity=12)
    html = text_of(client.get("/"))
    local = to_london(start)
    assert f"{local:%A} {local.day} {local:%B %Y}, 9:30am to 12:30pm" in html
    assert "Workshop" in html
    assert "Civic Centre, Committee Room 2" in html
    assert "12 places left" in html


def test_places_left_waiting_list_and_booking_closed(client):
    one_left = SessionFactory(course=CourseFactory(title="One left"), capacity=2, starts_at=in_days(3))
    BookingFactory(session=one_left)
    full = SessionFactory(course=CourseFactory(title="Full"), capacity=1, starts_at=in_days(4))
    BookingFactory(session=full)
    SessionFactory(course=CourseFactory(title="Closed"), starts_at=in_days(5), booking_closes_at=in_days(-1))
    html = text_of(client.get("/"))
    rows = html.split('<h3 class="govuk-heading-s')[1:]
    assert "1 place left" in rows[0] and "One left" in rows[0]
    assert "Waiting list" in rows[1] and "Full" in rows[1] and "places left" not in rows[1]
    assert "Booking closed" in rows[2] and "Closed" in rows[2] and "places left" not in rows[2]


def test_virtual_sessions_say_online_and_never_show_the_joining_link(client):
    course = CourseFactory(title="Online safety", format=CourseFormat.VIRTUAL)
    SessionFactory(course=course, venue=None, online_link=SECRET_LINK)
    catalogue = text_of(client.get("/"))
    assert "Online" in catalogue
    assert "secret-joining-link" not in catalogue
    course_page = text_of(client.get(f"/courses/{course.id}"))
    assert "Online" in course_page
    assert "secret-joining-link" not in course_page


def test_the_joining_link_is_not_shown_to_signed_in_people_either(login_as):
    course = CourseFactory(format=CourseFormat.VIRTUAL)
    session = SessionFactory(course=course, venue=None, online_link=SECRET_LINK)
    booked = BookingFactory(session=session).user
    client = login_as(booked)
    assert "secret-joining-link" not in text_of(client.get("/"))
    assert "secret-joining-link" not in text_of(client.get(f"/courses/{course.id}"))


def test_filter_by_theme(client):
    SessionFactory(course=CourseFactory(title="Neglect course", themes=[Theme.NEGLECT]), starts_at=in_days(1))
    SessionFactory(course=CourseFactory(title="FGM course", themes=[Theme.FGM]), starts_at=in_days(2))
    SessionFactory(course=CourseFactory(title="Both", themes=[Theme.FGM, Theme.NEGLECT]), starts_at=in_days(3))
    assert titles(client.get("/?theme=neglect")) == ["Neglect course", "Both"]
    # Any of the chosen themes matches.
    assert titles(client.get("/?theme=neglect&theme=fgm")) == ["Neglect course", "FGM course", "Both"]
    html = text_of(client.get("/?theme=fgm"))
    assert re.search(r'value="fgm" checked', html)


def test_filter_by_format(client):
    SessionFactory(course=CourseFactory(title="Room", format=CourseFormat.FACE_TO_FACE), starts_at=in_days(1))
    SessionFactory(course=CourseFactory(title="Screen", format=CourseFormat.VIRTUAL), starts_at=in_days(2),
                   venue=None, online_link=SECRET_LINK)
    SessionFactory(course=CourseFactory(title="Talk", format=CourseFormat.WORKSHOP), starts_at=in_days(3))
    assert titles(client.get("/?format=virtual")) == ["Screen"]
    assert titles(client.get("/?format=virtual&format=workshop")) == ["Screen", "Talk"]


def _bst_month_start() -> date:
    """The first day of a summer-time month that is in the next 12 months and not this month."""
    today = to_london(utcnow()).date()
    month = today.replace(day=1)
    while True:
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        if 4 <= month.month <= 9:
            return month


def test_filter_by_london_month_including_its_first_and_last_minutes(client):
    first = _bst_month_start()
    next_month = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    # 00:30 on the 1st in London is 23:30 UTC the day before: it belongs to the London month.
    opening = SessionFactory(course=CourseFactory(title="First minutes"),
                             starts_at=london_to_utc(first, time(0, 30)))
    SessionFactory(course=CourseFactory(title="Last minutes"),
                   starts_at=london_to_utc(next_month - timedelta(days=1), time(23, 0)))
    SessionFactory(course=CourseFactory(title="Next month"), starts_at=london_to_utc(next_month, time(0, 30)))
    SessionFactory(course=CourseFactory(title="Soon"), starts_at=in_days(1))
    assert opening.starts_at.day != first.day  # it is the previous day in UTC
    assert titles(client.get(f"/?month={first:%Y-%m}")) == ["First minutes", "Last minutes"]
    html = text_of(client.get(f"/?month={first:%Y-%m}"))
    assert f'<option value="{first:%Y-%m}" selected>{first:%B %Y}</option>' in html


def test_filter_only_sessions_with_places_available(client):
    full = SessionFactory(course=CourseFactory(title="Full"), capacity=1, starts_at=in_days(1))
    BookingFactory(session=full)
    SessionFactory(course=CourseFactory(title="Open"), starts_at=in_days(2))
    SessionFactory(course=CourseFactory(title="Closed"), starts_at=in_days(3), booking_closes_at=in_days(-1))
    assert titles(client.get("/?available=y")) == ["Open"]
    assert titles(client.get("/")) == ["Full", "Open", "Closed"]


def test_filters_combine(client):
    first = _bst_month_start()
    in_month = london_to_utc(first + timedelta(days=9), time(10, 0))
    match = CourseFactory(title="Match", themes=[Theme.EXPLOITATION], format=CourseFormat.VIRTUAL)
    SessionFactory(course=match, starts_at=in_month, venue=None, online_link=SECRET_LINK)
    full = SessionFactory(course=match, starts_at=in_month + timedelta(days=1), capacity=1, venue=None,
                          online_link=SECRET_LINK)
    BookingFactory(session=full)
    SessionFactory(course=match, starts_at=in_days(1), venue=None, online_link=SECRET_LINK)  # wrong month
    SessionFactory(course=CourseFactory(title="Wrong format", themes=[Theme.EXPLOITATION]), starts_at=in_month)
    SessionFactory(course=CourseFactory(title="Wrong theme", format=CourseFormat.VIRTUAL,
                                        themes=[Theme.PREVENT]), starts_at=in_month, online_link=SECRET_LINK)
    response = client.get(f"/?theme=exploitation&format=virtual&month={first:%Y-%m}&available=y")
    assert titles(response) == ["Match"]
    assert "1 session" in text_of(response)


@pytest.mark.parametrize(
    "query",
    ["?month=banana", "?month=1999-01", "?month=2026-13", "?page=-1", "?page=0", "?page=abc",
     "?page=99999999999999999999", "?theme=nonsense", "?available=maybe&theme=",
     "?theme=neglect&theme=neglect", "?month=&page="],
)
def test_invalid_filter_values_are_ignored(client, query):
    SessionFactory(course=CourseFactory(title="Still listed", themes=[Theme.NEGLECT]))
    response = client.get("/" + query)
    assert titles(response) == ["Still listed"]


def test_pagination_keeps_filters_in_page_links(client, page_size):
    course = CourseFactory(title="Paged", themes=[Theme.NEGLECT])
    for n in range(7):
        SessionFactory(course=course, starts_at=in_days(n + 1))
    SessionFactory(course=CourseFactory(title="Other", themes=[Theme.FGM]), starts_at=in_days(1))

    first = text_of(client.get("/?theme=neglect&theme=bogus"))
    assert "7 sessions" in first and "Showing 1 to 3 of 7 sessions" in first
    assert 'href="/?theme=neglect&amp;page=2"' in first  # junk filter values are dropped from links
    assert 'rel="prev"' not in first

    third = client.get("/?theme=neglect&page=3")
    assert titles(third) == ["Paged"]
    html = text_of(third)
    assert "Showing 7 to 7 of 7 sessions" in html
    assert 'href="/?theme=neglect&amp;page=2" rel="prev"' in html
    assert 'rel="next"' not in html
    assert 'aria-current="page"' in html

    beyond = text_of(client.get("/?theme=neglect&page=50"))
    assert "Showing 7 to 7 of 7 sessions" in beyond


def test_no_sessions_messages(client):
    assert "There are no upcoming sessions at the moment" in text_of(client.get("/"))
    assert "No upcoming sessions match your filters" in text_of(client.get("/?theme=fgm"))


def _count_catalogue_queries(client) -> int:
    with recorded_statements() as queries:
        assert client.get("/?theme=neglect&theme=fgm&available=y").status_code == 200
    return len(queries)


def test_catalogue_queries_do_not_grow_with_the_number_of_sessions(client, page_size):
    def add(n):
        for i in range(n):
            course = CourseFactory(themes=[Theme.NEGLECT, Theme.FGM])
            SessionFactory(course=course, starts_at=in_days(i + 3), trainers=[UserFactory()])

    add(1)
    small = _count_catalogue_queries(client)
    assert "1 session" in text_of(client.get("/?theme=neglect&theme=fgm&available=y"))
    add(12)  # several pages' worth, each row with its own course and trainer
    large = _count_catalogue_queries(client)
    assert small == large
    assert large <= 4  # begin, count, one page of sessions with their courses (and a spare)


def test_course_page_shows_details_outcomes_and_upcoming_sessions(client):
    course = CourseFactory(title="Exploitation", summary="Criminal and sexual exploitation.",
                           learning_outcomes="Spot the signs\nKnow the referral route",
                           themes=[Theme.EXPLOITATION, Theme.YOUTH_VIOLENCE], refresher_months=24,
                           duration_minutes=150)
    upcoming = SessionFactory(course=course, starts_at=in_days(10), capacity=5)
    BookingFactory(session=upcoming)
    SessionFactory(course=course, starts_at=in_days(-10))
    cancelled = SessionFactory(course=course, starts_at=in_days(12), status=SessionStatus.CANCELLED)
    html = text_of(client.get(f"/courses/{course.id}"))
    assert "<h1 class=\"govuk-heading-xl\">Exploitation</h1>" in html
    assert "Criminal and sexual exploitation." in html
    assert "<li>Spot the signs</li>" in html and "<li>Know the referral route</li>" in html
    assert "Exploitation (CCE and CSE)" in html and "Youth violence" in html
    assert "2 hours 30 minutes" in html and "Repeat every 24 months" in html
    assert f'href="/sessions/{upcoming.id}"' in html and "4 places left" in html
    assert f'href="/sessions/{cancelled.id}"' not in html
    assert html.count('href="/sessions/') == 1


def test_course_page_without_sessions_and_unknown_course(client):
    course = CourseFactory()
    assert "There are no upcoming sessions of this course" in text_of(client.get(f"/courses/{course.id}"))
    assert client.get("/courses/999999").status_code == 404


def test_long_pagination_shows_neighbours_and_ellipses(client, app, monkeypatch):
    monkeypatch.setitem(app.config, "CATALOGUE_PAGE_SIZE", 1)
    for n in range(10):
        SessionFactory(starts_at=in_days(n + 3))
    html = text_of(client.get("/?page=5"))
    pages = re.findall(r'aria-label="Page (\d+)"', html)
    assert pages == ["1", "4", "5", "6", "10"]
    assert html.count("govuk-pagination__item--ellipsis") == 2
    assert "<title>Find a course (page 5 of 10)" in html


def test_an_address_with_no_filters_reads_as_an_empty_form_would():
    # The catalogue skips reading the form when the address has no arguments.
    months = month_starts(utcnow())
    assert CatalogueFilterForm(MultiDict(), months).filters() == CatalogueFilters()
    assert CatalogueFilterForm(MultiDict({"month": "", "theme": ""}), months).filters() == CatalogueFilters()
