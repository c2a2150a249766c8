"""Calendar invitations: a stable UID per booking, a SEQUENCE that goes up on every change,
METHOD REQUEST or CANCEL, and London times with a VTIMEZONE that is right on both sides of
the clocks changing (the last Sundays of March and October)."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import icalendar
import pytest
from flask import current_app
from sqlalchemy import select

from tests.factories import CoordinatorFactory, SessionFactory, UserFactory
from tests.notifications.conftest import calendar_part
from training.booking import services as booking
from training.booking.models import BookingStatus
from training.catalogue import services as catalogue
from training.db import utcnow
from training.extensions import db
from training.notifications import calendar
from training.notifications.models import Outbox
from training.notifications.sender import deliver
from training.timeutil import LONDON, london_to_utc, to_london

SPRING_FORWARD = date(2027, 3, 28)  # last Sunday of March 2027: BST from 1am GMT
FALL_BACK = date(2027, 10, 31)  # last Sunday of October 2027: GMT from 2am BST


def _session_at(day: date, hour: int = 10, **kw):
    starts = london_to_utc(day, time(hour, 0))
    return SessionFactory(starts_at=starts, ends_at=starts + timedelta(hours=3),
                          booking_closes_at=starts - timedelta(days=1), **kw)


def _parse(ics: str | bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(ics)


def _event(cal: icalendar.Calendar):
    [event] = cal.walk("VEVENT")
    return event


def _invitations(person) -> list[Outbox]:
    db.session.commit()
    return list(db.session.scalars(
        select(Outbox).where(Outbox.recipient == person.email, Outbox.ics.is_not(None)).order_by(Outbox.id)
    ))


@pytest.mark.parametrize(("day", "utc_hour"), [(SPRING_FORWARD, 9), (FALL_BACK, 10)])
def test_a_session_on_a_clock_change_sunday_has_the_right_hour(app, smtp_server, day, utc_hour):
    session = _session_at(day)
    assert session.starts_at == datetime(day.year, day.month, day.day, utc_hour, 0, tzinfo=UTC)
    person = UserFactory()
    booking.book_place(session.id, person)
    deliver()
    [mail] = smtp_server.to(person.email)
    cal = _parse(calendar_part(mail))
    event = _event(cal)

    # Written as 10am London time, with the zone named...
    assert event["DTSTART"].params["TZID"] == "Europe/London"
    assert event["DTSTART"].to_ical() == f"{day:%Y%m%d}T100000".encode()
    assert event["DTEND"].to_ical() == f"{day:%Y%m%d}T130000".encode()
    assert event.decoded("DTSTART") == session.starts_at
    # ...and the calendar's own VTIMEZONE (what Outlook reads) puts it at the same UTC instant.
    [vtimezone] = cal.walk("VTIMEZONE")
    assert vtimezone["TZID"] == "Europe/London"
    local = datetime.combine(day, time(10, 0), tzinfo=vtimezone.to_tz())
    assert local.astimezone(UTC) == datetime(day.year, day.month, day.day, utc_hour, tzinfo=UTC)


def test_the_vtimezone_has_both_the_bst_and_the_gmt_rules(app):
    [vtimezone] = _parse(calendar.london_timezone().to_ical()).walk("VTIMEZONE")
    [bst] = vtimezone.walk("DAYLIGHT")
    [gmt] = vtimezone.walk("STANDARD")
    assert (str(bst["TZNAME"]), bst["TZOFFSETFROM"].td, bst["TZOFFSETTO"].td) == ("BST", timedelta(0),
                                                                                timedelta(hours=1))
    assert (str(gmt["TZNAME"]), gmt["TZOFFSETFROM"].td, gmt["TZOFFSETTO"].td) == ("GMT", timedelta(hours=1),
                                                                                timedelta(0))
    assert bst["RRULE"]["BYMONTH"] == [3] and bst["RRULE"]["BYDAY"] == ["-1SU"]
    assert gmt["RRULE"]["BYMONTH"] == [10] and gmt["RRULE"]["BYDAY"] == ["-1SU"]
    # The rules agree with the tz database hour by hour across 2026 to 2028, clock changes included.
    tz = vtimezone.to_tz()
    instant = datetime(2026, 1, 1, tzinfo=UTC)
    while instant < datetime(2029, 1, 1, tzinfo=UTC):
        assert instant.astimezone(tz).utcoffset() == instant.astimezone(LONDON).utcoffset(), instant
        instant += timedelta(minutes=30) if instant.month in (3, 10) and instant.day >= 24 else timedelta(hours=7)


def test_uid_stays_and_sequence_rises_from_confirmation_to_change_to_cancellation(app, smtp_server):
    session = _session_at(SPRING_FORWARD, venue="Civic Centre\nRoom 4", course__title="Neglect: early signs")
    person = UserFactory(name="Robin Shaw")
    made = booking.book_place(session.id, person)
    new_start = london_to_utc(FALL_BACK, time(14, 0))
    catalogue.update_session(session.id, CoordinatorFactory(), catalogue.SessionDetails(
        starts_at=new_start, ends_at=new_start + timedelta(hours=2), capacity=session.capacity, kind=session.kind,
        venue="Town Hall", booking_closes_at=new_start - timedelta(days=1)))
    booking.cancel_booking(made.id, person)

    confirmation, change, cancellation = [_parse(row.ics) for row in _invitations(person)]
    assert [c["METHOD"] for c in (confirmation, change, cancellation)] == ["REQUEST", "REQUEST", "CANCEL"]
    events = [_event(c) for c in (confirmation, change, cancellation)]
    assert {str(e["UID"]) for e in events} == {f"booking-{made.id}@127.0.0.1"}
    assert [e["SEQUENCE"] for e in events] == [0, 1, 2]
    assert [str(e["STATUS"]) for e in events] == ["CONFIRMED", "CONFIRMED", "CANCELLED"]
    assert events[0].decoded("DTSTART") == london_to_utc(SPRING_FORWARD, time(10, 0))
    assert events[1].decoded("DTSTART") == new_start
    assert events[1]["DTSTART"].to_ical() == b"20271031T140000"
    assert str(events[0]["LOCATION"]) == "Civic Centre, Room 4"
    assert str(events[1]["LOCATION"]) == "Town Hall"
    assert str(events[0]["SUMMARY"]) == "Neglect: early signs"
    db.session.refresh(made)
    assert made.calendar_sequence == 2


def test_an_invitation_names_the_organiser_and_the_delegate(app, smtp_server):
    session = SessionFactory(venue=None, online_link="https://meet.example.org/room-1",
                             course__title="Online safety")
    person = UserFactory(name="Robin Shaw", email="robin.shaw@example.org")
    made = booking.book_place(session.id, person)
    [row] = _invitations(person)
    assert row.ics_method == "REQUEST"
    cal = _parse(row.ics)
    assert str(cal["PRODID"]) and str(cal["VERSION"]) == "2.0"
    # The VTIMEZONE comes before the event that refers to it.
    assert [c.name for c in cal.subcomponents] == ["VTIMEZONE", "VEVENT"]
    event = _event(cal)
    assert str(event["ORGANIZER"]) == f"mailto:{app.config['TRAINING_TEAM_EMAIL']}"
    assert str(event["ATTENDEE"]) == "mailto:robin.shaw@example.org"
    assert event["ATTENDEE"].params["CN"] == "Robin Shaw"
    assert str(event["LOCATION"]) == "Online"
    assert "https://meet.example.org/room-1" in str(event["DESCRIPTION"])
    assert f"http://127.0.0.1:5000/bookings/{made.id}" in str(event["DESCRIPTION"])
    assert isinstance(event.decoded("DTSTAMP"), datetime)


def test_the_uid_uses_the_base_url_host_or_the_override(app):
    made = booking.book_place(SessionFactory().id, UserFactory())
    saved = app.config["BASE_URL"]
    app.config["BASE_URL"] = "https://training.example.gov.uk:8443/app"
    try:
        assert calendar.booking_uid(made) == f"booking-{made.id}@training.example.gov.uk"
        made.calendar_uid = "booking-1@elsewhere.example"
        assert calendar.booking_uid(made) == "booking-1@elsewhere.example"
    finally:
        app.config["BASE_URL"] = saved
        db.session.rollback()


def test_a_cancellation_carries_no_joining_link(app):
    session = SessionFactory(venue=None, online_link="https://meet.example.org/room-2")
    person = UserFactory()
    made = booking.book_place(session.id, person)
    booking.cancel_booking(made.id, person)
    rows = _invitations(person)
    assert [r.ics_method for r in rows] == ["REQUEST", "CANCEL"]
    assert "room-2" in rows[0].ics
    assert "room-2" not in rows[1].ics
    text = calendar.feed([made], utcnow(), "Training")
    assert "VEVENT" not in text  # a cancelled booking is not in the feed either


def _reference_event(made, now: datetime, *, cancelled: bool = False, invitation: bool = True) -> icalendar.Event:
    """The booking's VEVENT built with icalendar, property by property, as the service once did."""
    session = made.session
    with_link = not cancelled and made.status == BookingStatus.CONFIRMED
    event = icalendar.Event()
    event.add("uid", calendar.booking_uid(made))
    event.add("sequence", made.calendar_sequence)
    event.add("dtstamp", now)
    event.add("dtstart", to_london(session.starts_at))
    event.add("dtend", to_london(session.ends_at))
    event.add("summary", session.course.title)
    event.add("location", calendar._location(made))
    event.add("description", calendar._description(made, cancelled=cancelled, with_link=with_link))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    if with_link and session.online_link:
        event.add("url", session.online_link)
    if invitation:
        organizer = icalendar.vCalAddress(f"mailto:{current_app.config['TRAINING_TEAM_EMAIL']}")
        organizer.params["cn"] = icalendar.vText(current_app.config["SERVICE_NAME"])
        event.add("organizer", organizer)
        attendee = icalendar.vCalAddress(f"mailto:{made.user.email}")
        attendee.params["cn"] = icalendar.vText(made.user.name)
        attendee.params["role"] = icalendar.vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = icalendar.vText("DECLINED" if cancelled else "ACCEPTED")
        attendee.params["rsvp"] = icalendar.vText("FALSE")
        event.add("attendee", attendee)
    return event


def _reference(events: list[icalendar.Event], method: str | None = None, name: str | None = None) -> str:
    """The whole calendar as icalendar writes it, Europe/London's VTIMEZONE first."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Safeguarding training//Bookings//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", "Europe/London")
        cal.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", "PT6H")
    cal.add_component(calendar.london_timezone())
    for event in events:
        cal.add_component(event)
    return cal.to_ical().decode("utf-8")


AWKWARD = [
    # (course title, venue, online link, person's name)
    ("Neglect: early signs", "Civic Centre\nRoom 4", None, "Robin Shaw"),
    ("Online safety", None, "https://meet.example.org/abc?x=1,2;3", "Robin"),
    # Escapes, a line break that tries to start a component, and text long enough to fold.
    ("Working Together, part 2; \\ what changed", "Civic Centre, Room; 2\\ back\nBEGIN:VEVENT\nEND:VCALENDAR",
     "https://meet.example.org/" + "a" * 90, 'Zo\u00eb "Q" O\'Brien, Jr; x'),
    # Multi-byte characters across fold points, a caret and a colon in the name.
    ("\u00c9valuation des besoins \u2014 " * 4, "Salle \u00e9t\u00e9 \U0001f3eb, " * 6, None,
     "Ana^Maria: \u0141ucja \u2019Ng\u2019"),
    # A backslash and a caret just before the fold, where a fold would split an escape.
    ("x" * 64 + "\\" + "y" * 20, "v" * 62 + ";" + "w" * 20, None, "A" * 60 + "^" + "B" * 10),
    ("x" * 65 + "\\" + "y" * 20, "v" * 63 + "," + "w" * 20, None, "C" * 59 + "^" + "D"),
]


@pytest.mark.parametrize(("title", "venue", "link", "name"), AWKWARD)
def test_the_written_calendar_is_exactly_what_icalendar_writes(app, title, venue, link, name):
    """The invitation, cancellation and feed are written by hand for speed: the text must be
    byte for byte what icalendar writes for the same booking, awkward values included."""
    session = SessionFactory(course__title=title, venue=venue, online_link=link)
    person = UserFactory(name=name)
    made = booking.book_place(session.id, person)
    now = utcnow()
    cases = [
        (calendar.invitation(made, now).text, _reference([_reference_event(made, now)], "REQUEST")),
        (calendar.cancellation(made, now).text, _reference([_reference_event(made, now, cancelled=True)], "CANCEL")),
        (calendar.feed([made], now, "Sam's training"),
         _reference([_reference_event(made, now, invitation=False)], name="Sam's training")),
        (calendar.feed([], now, "Training"), _reference([], name="Training")),
    ]
    for written, expected in cases:
        assert written == expected
        assert all(len(line.encode("utf-8")) <= 75 for line in written.split("\r\n"))
        assert written.endswith("END:VCALENDAR\r\n") and "\n" not in written.replace("\r\n", "")
    parsed = _event(_parse(cases[0][0]))
    assert str(parsed["SUMMARY"]) == title
    assert str(parsed["LOCATION"]) == calendar._location(made)
    assert parsed["ATTENDEE"].params["CN"] == name


def test_values_read_back_as_typed_and_cannot_add_lines(app):
    """A line break cannot start a component and control characters cannot end a line; a
    literal backslash-N stays as typed (icalendar's writer would turn it into a line break)."""
    session = SessionFactory(venue="Room \\N 4\nBEGIN:VEVENT", course__title="Title\r\nEND:VEVENT")
    person = UserFactory(name="Sam\rBEGIN:VEVENT")
    made = booking.book_place(session.id, person)
    text = calendar.invitation(made, utcnow()).text
    parsed = _parse(text)
    assert [c.name for c in parsed.subcomponents] == ["VTIMEZONE", "VEVENT"]
    event = _event(parsed)
    assert str(event["LOCATION"]) == "Room \\N 4, BEGIN:VEVENT"
    assert str(event["SUMMARY"]) == "Title\nEND:VEVENT"
    assert event["ATTENDEE"].params["CN"] == "Sam\nBEGIN:VEVENT"
    assert text.count("\r\nBEGIN:VEVENT\r\n") == 1
    # The feed's name is TEXT too, escaped the same way (icalendar reads an X- property raw).
    feed = _parse(calendar.feed([], utcnow(), "Training, 2027; Sam\nBEGIN:VEVENT"))
    assert str(feed["X-WR-CALNAME"]) == "Training\\, 2027\\; Sam\\nBEGIN:VEVENT" and not feed.walk("VEVENT")
    assert calendar._address("https://meet.example.org/a\r\nBEGIN:VEVENT") == "https://meet.example.org/aBEGIN:VEVENT"


def test_the_time_zone_comes_once_and_first(app):
    made = booking.book_place(SessionFactory().id, UserFactory())
    now = utcnow()
    for text in (calendar.invitation(made, now).text, calendar.cancellation(made, now).text):
        assert text.count("BEGIN:VTIMEZONE") == 1
        assert [c.name for c in _parse(text).subcomponents] == ["VTIMEZONE", "VEVENT"]
    for bookings in ([made], []):
        text = calendar.feed(bookings, now, "Sam's training")
        assert [c.name for c in _parse(text).subcomponents] == ["VTIMEZONE"] + ["VEVENT"] * len(bookings)
        assert text.count("BEGIN:VTIMEZONE") == 1
