"""iCalendar invitations for bookings, and the personal calendar feed.

Each booking's entry has a stable UID (a moved booking keeps the UID of the one it replaced,
so the entry moves rather than a second one appearing) and a SEQUENCE that the caller raises
whenever a changed or cancelled invitation is sent, so calendars replace the older copy.
Times are written in Europe/London with a VTIMEZONE, so Outlook shows the right hour on both
sides of the clocks changing.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Calendar as ICalendar
from icalendar import Event, Timezone, TimezoneDaylight, TimezoneStandard, vCalAddress, vRecur, vText

from ..booking.models import Booking, BookingStatus
from ..timeutil import to_london
from .outbox import Calendar, external_url

REQUEST = "REQUEST"
CANCEL = "CANCEL"
_PRODID = "-//Safeguarding training//Bookings//EN"


def booking_uid(booking: Booking) -> str:
    """The UID of the booking's calendar entry: its own, or the one it took over in a move."""
    if booking.calendar_uid:
        return booking.calendar_uid
    host = urlsplit(current_app.config["BASE_URL"]).hostname or "localhost"
    return f"booking-{booking.id}@{host}"


def london_timezone() -> Timezone:
    """Europe/London as a VTIMEZONE with yearly rules (BST from the last Sunday of March, GMT
    from the last Sunday of October), valid for every year rather than a window of dates."""
    tz = Timezone()
    tz.add("tzid", "Europe/London")
    bst = TimezoneDaylight()
    bst.add("tzname", "BST")
    bst.add("dtstart", datetime(1970, 3, 29, 1, 0))  # 1am GMT, the local time of the onset
    bst.add("tzoffsetfrom", timedelta(0))
    bst.add("tzoffsetto", timedelta(hours=1))
    bst.add("rrule", vRecur(freq="YEARLY", bymonth=3, byday="-1SU"))
    gmt = TimezoneStandard()
    gmt.add("tzname", "GMT")
    gmt.add("dtstart", datetime(1970, 10, 25, 2, 0))  # 2am BST
    gmt.add("tzoffsetfrom", timedelta(hours=1))
    gmt.add("tzoffsetto", timedelta(0))
    gmt.add("rrule", vRecur(freq="YEARLY", bymonth=10, byday="-1SU"))
    tz.add_component(bst)
    tz.add_component(gmt)
    return tz


def _location(booking: Booking) -> str:
    session = booking.session
    if session.venue_lines:
        return ", ".join(session.venue_lines)
    return "Online" if session.online_link else "To be confirmed"


def _description(booking: Booking, *, cancelled: bool, with_link: bool) -> str:
    session = booking.session
    lines = [session.course.title]
    if cancelled:
        lines.append("This booking has been cancelled.")
    else:
        if session.venue_lines:
            lines.append("Venue: " + ", ".join(session.venue_lines))
        if with_link and session.online_link:
            lines.append(f"Joining link: {session.online_link}")
        lines.append(f"Your booking: {external_url('booking.booking_detail', booking_id=booking.id)}")
    lines.append(f"Questions: {current_app.config['TRAINING_TEAM_EMAIL']}")
    return "\n".join(lines)


def vevent(booking: Booking, now: datetime, *, cancelled: bool = False, invitation: bool = True) -> Event:
    """The VEVENT for a booking. The joining link goes in only for a confirmed place.

    An invitation names the organiser (the training team) and the delegate as attendee:
    Outlook needs both to accept a REQUEST. Feed entries leave them out, so no client offers
    to reply to them.
    """
    session = booking.session
    with_link = not cancelled and booking.status == BookingStatus.CONFIRMED
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("sequence", booking.calendar_sequence)
    event.add("dtstamp", now)
    event.add("dtstart", to_london(session.starts_at))
    event.add("dtend", to_london(session.ends_at))
    event.add("summary", session.course.title)
    event.add("location", _location(booking))
    event.add("description", _description(booking, cancelled=cancelled, with_link=with_link))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "TRANSPARENT" if cancelled else "OPAQUE")
    if with_link and session.online_link:
        event.add("url", session.online_link)
    if invitation:
        organizer = vCalAddress(f"mailto:{current_app.config['TRAINING_TEAM_EMAIL']}")
        organizer.params["cn"] = vText(current_app.config["SERVICE_NAME"])
        event.add("organizer", organizer)
        attendee = vCalAddress(f"mailto:{booking.user.email}")
        attendee.params["cn"] = vText(booking.user.name)
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("DECLINED" if cancelled else "ACCEPTED")
        attendee.params["rsvp"] = vText("FALSE")
        event.add("attendee", attendee)
    return event


def _calendar(method: str | None, name: str | None = None) -> ICalendar:
    """The calendar's own properties; `_text` adds the time zone when it writes it out."""
    cal = ICalendar()
    cal.add("prodid", _PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
        cal.add("x-wr-timezone", "Europe/London")
    return cal


@cache
def _london_timezone_text() -> str:
    return london_timezone().to_ical().decode("utf-8")


def _text(cal: ICalendar) -> str:
    """The calendar written out with Europe/London's VTIMEZONE as its first component.

    The time zone is the same in every calendar, and writing it out was over a third of the
    cost of each booking's invitation, so it is written once and put in place here. Escaping
    turns any line break in a value into \\n, so a component can only begin at a real line.
    """
    text = cal.to_ical().decode("utf-8")
    first = text.find("\r\nBEGIN:VEVENT\r\n")
    at = (first if first >= 0 else text.rindex("\r\nEND:VCALENDAR")) + 2
    return text[:at] + _london_timezone_text() + text[at:]


def invitation(booking: Booking, now: datetime) -> Calendar:
    """A METHOD:REQUEST invitation with the booking's current UID and SEQUENCE."""
    cal = _calendar(REQUEST)
    cal.add_component(vevent(booking, now))
    return Calendar(_text(cal), REQUEST)


def cancellation(booking: Booking, now: datetime) -> Calendar:
    """A METHOD:CANCEL for the booking's entry (the caller has raised its SEQUENCE)."""
    cal = _calendar(CANCEL)
    cal.add_component(vevent(booking, now, cancelled=True))
    return Calendar(_text(cal), CANCEL)


def feed(bookings: Iterable[Booking], now: datetime, name: str) -> str:
    """A subscribable calendar of confirmed bookings, with the same UIDs and SEQUENCEs as the
    invitations, so an entry already added from an email is recognised rather than repeated."""
    cal = _calendar(None, name)
    cal.add("refresh-interval", timedelta(hours=6), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT6H")
    for booking in bookings:
        if booking.status == BookingStatus.CONFIRMED:
            cal.add_component(vevent(booking, now, invitation=False))
    return _text(cal)

