"""The personal calendar feed: a secret URL listing a person's confirmed bookings.

The token in the URL is the only credential (calendar apps cannot sign in), so it is long and
random, and the person can reset it (the old URL stops working) or turn the feed off.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select

from ..accounts.models import User
from ..booking.models import Booking, BookingStatus
from ..catalogue.models import CourseSession
from ..db import utcnow, write_transaction
from ..errors import DomainError
from ..extensions import db

#: How far back the feed goes: last year's courses stay in the calendar, older ones drop out.
FEED_HISTORY = timedelta(days=365)
#: What `secrets.token_urlsafe` produces; anything else cannot be a token, so is not looked up.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,64}")


class FeedIsOff(DomainError):
    message = "Your calendar feed is turned off. Turn it on to get a calendar address"


def _locked_user(user: User) -> User:
    return db.session.scalars(
        select(User).where(User.id == user.id).with_for_update(of=User).execution_options(populate_existing=True)
    ).one()


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def turn_on(user: User) -> str:
    """Give the person a feed address (keeping the one they have, if it is already on)."""
    with write_transaction():
        person = _locked_user(user)
        if person.calendar_token is None:
            person.calendar_token = _new_token()
        token = person.calendar_token
    return token


def reset(user: User) -> str:
    """Replace the feed address: the old one stops working at once."""
    with write_transaction():
        person = _locked_user(user)
        if person.calendar_token is None:
            raise FeedIsOff()
        person.calendar_token = _new_token()
        token = person.calendar_token
    return token


def turn_off(user: User) -> None:
    """Revoke the feed address; the calendar stops updating."""
    with write_transaction():
        person = _locked_user(user)
        person.calendar_token = None


def owner_of(token: str) -> User | None:
    """The active person whose feed this token opens, or None."""
    if not _TOKEN_SHAPE.fullmatch(token or ""):
        return None
    person = db.session.scalar(select(User).where(User.calendar_token == token))
    if person is None or not person.active:
        return None
    return person


def feed_bookings(user: User, now: datetime | None = None) -> list[Booking]:
    """The person's confirmed bookings from the last 12 months and to come, in date order."""
    now = now or utcnow()
    return list(db.session.scalars(
        select(Booking)
        .join(Booking.session)
        .where(Booking.user_id == user.id, Booking.status == BookingStatus.CONFIRMED,
               CourseSession.starts_at >= now - FEED_HISTORY)
        .order_by(CourseSession.starts_at, Booking.id)
    ))
