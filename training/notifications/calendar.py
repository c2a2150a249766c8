"""iCalendar invitations for bookings, and the personal calendar feed.

Each booking's entry has a stable UID (a moved booking keeps the UID of the one it replaced,
so the entry moves rather than a second one appearing) and a SEQUENCE that the caller raises
whenever a changed or cancelled invitation is sent, so calendars replace the older copy.
Times are written in Europe/London with a VTIMEZONE, so Outlook shows the right hour on both
sides of the clocks changing.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from functools import cache
from urllib.parse import urlsplit

from flask import current_app
from icalendar import Timezone, TimezoneDaylight, TimezoneStandard, vRecur

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


def _escaped(text: str) -> str:
    """A TEXT value as RFC 5545 writes it (3.3.11): a line break becomes \\n, so a value can
    never start a line of its own (a component, say)."""
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")  # a tab is allowed
_QUOTE_CN = re.compile("[,;:\u2019' ]")


def _address(value: str) -> str:
    """A URI or mailto: value, which has no escapes: control characters are left out, so it
    cannot break the line (links and addresses are checked on the way in; this is a backstop)."""
    return _CONTROL.sub("", value)


def _common_name(name: str) -> str:
    """A CN parameter with RFC 6868's escapes, quoted when it has a space or punctuation."""
    value = (name.replace("^", "^^").replace("\r\n", "^n").replace("\n", "^n").replace("\r", "^n")
             .replace('"', "^'"))
    value = _CONTROL.sub("", value)
    return f'"{value}"' if _QUOTE_CN.search(value) else value


_LINE_OCTETS = 74  # and the line break, or a folded line's leading space, makes 75 (RFC 5545 3.1)


def _folded(line: str) -> str:
    """A content line folded into lines of at most 75 octets.

    A fold never splits a character, and never falls just after a backslash or caret, which
    some clients would then not read as the escape it begins (icalendar folds the same way).
    """
    if line.isascii():
        if len(line) <= _LINE_OCTETS:
            return line
        parts, start = [], 0
        while len(line) - start > _LINE_OCTETS:
            end = start + _LINE_OCTETS
            if line[end - 1] in "\\^":
                end -= 1
            parts.append(line[start:end])
            start = end
        parts.append(line[start:])
        return "\r\n ".join(parts)
    parts, current, size = [], [], 0
    for char in line:
        width = len(char.encode("utf-8"))
        if current and size + width > _LINE_OCTETS:
            carried = current.pop() if len(current) > 1 and current[-1] in "\\^" else None
            parts.append("".join(current))
            current = [carried] if carried else []
            size = len(carried.encode("utf-8")) if carried else 0
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts)


def _local(moment: datetime) -> str:
    return f"{to_london(moment):%Y%m%dT%H%M%S}"


def _event_lines(booking: Booking, now: datetime, *, cancelled: bool = False, invitation: bool = True) -> list[str]:
    """The VEVENT for a booking, as content lines. The joining link goes in only for a
    confirmed place.

    An invitation names the organiser (the training team) and the delegate as attendee:
    Outlook needs both to accept a REQUEST. Feed entries leave them out, so no client offers
    to reply to them. Written by hand rather than through icalendar, which took over 6% of a
    booking's time: tests check the text is the same as icalendar's.
    """
    session = booking.session
    with_link = not cancelled and booking.status == BookingStatus.CONFIRMED
    lines = [
        "BEGIN:VEVENT",
        f"SUMMARY:{_escaped(session.course.title)}",
        f"DTSTART;TZID=Europe/London:{_local(session.starts_at)}",
        f"DTEND;TZID=Europe/London:{_local(session.ends_at)}",
        f"DTSTAMP:{now.astimezone(UTC):%Y%m%dT%H%M%SZ}",
        f"UID:{_escaped(booking_uid(booking))}",
        f"SEQUENCE:{booking.calendar_sequence}",
    ]
    if invitation:
        lines.append(f"ATTENDEE;CN={_common_name(booking.user.name)};"
                     f"PARTSTAT={'DECLINED' if cancelled else 'ACCEPTED'};ROLE=REQ-PARTICIPANT;RSVP=FALSE:"
                     f"{_address('mailto:' + booking.user.email)}")
    lines.append(f"DESCRIPTION:{_escaped(_description(booking, cancelled=cancelled, with_link=with_link))}")
    lines.append(f"LOCATION:{_escaped(_location(booking))}")
    if invitation:
        config = current_app.config
        lines.append(f"ORGANIZER;CN={_common_name(config['SERVICE_NAME'])}:"
                     f"{_address('mailto:' + config['TRAINING_TEAM_EMAIL'])}")
    lines.append("STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED")
    lines.append("TRANSP:TRANSPARENT" if cancelled else "TRANSP:OPAQUE")
    if with_link and session.online_link:
        lines.append(f"URL:{_address(session.online_link)}")
    lines.append("END:VEVENT")
    return lines


def _calendar_lines(method: str | None, name: str | None = None) -> list[str]:
    """The calendar's own properties; `_text` puts Europe/London's VTIMEZONE after them."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{_PRODID}", "CALSCALE:GREGORIAN"]
    if method:
        lines.append(f"METHOD:{method}")
    if name:
        lines += [f"X-WR-CALNAME:{_escaped(name)}", "REFRESH-INTERVAL;VALUE=DURATION:PT6H",
                  "X-PUBLISHED-TTL:PT6H", "X-WR-TIMEZONE:Europe/London"]
    return lines


@cache
def _london_timezone_text() -> str:
    """Europe/London's VTIMEZONE, written once: it is the same in every calendar."""
    return london_timezone().to_ical().decode("utf-8")


def _text(head: list[str], events: Iterable[list[str]]) -> str:
    """The whole calendar: each line folded and ended with CRLF."""
    lines = [*head, *(line for event in events for line in event), "END:VCALENDAR"]
    head_text = "".join(_folded(line) + "\r\n" for line in head)
    body_text = "".join(_folded(line) + "\r\n" for line in lines[len(head):])
    return head_text + _london_timezone_text() + body_text


def invitation(booking: Booking, now: datetime) -> Calendar:
    """A METHOD:REQUEST invitation with the booking's current UID and SEQUENCE."""
    return Calendar(_text(_calendar_lines(REQUEST), [_event_lines(booking, now)]), REQUEST)


def cancellation(booking: Booking, now: datetime) -> Calendar:
    """A METHOD:CANCEL for the booking's entry (the caller has raised its SEQUENCE)."""
    return Calendar(_text(_calendar_lines(CANCEL), [_event_lines(booking, now, cancelled=True)]), CANCEL)


def feed(bookings: Iterable[Booking], now: datetime, name: str) -> str:
    """A subscribable calendar of confirmed bookings, with the same UIDs and SEQUENCEs as the
    invitations, so an entry already added from an email is recognised rather than repeated."""
    events = [_event_lines(booking, now, invitation=False)
              for booking in bookings if booking.status == BookingStatus.CONFIRMED]
    return _text(_calendar_lines(None, name), events)

