"""The personal calendar feed (a secret URL) and turning it on, resetting or revoking it."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..accounts.models import User
from ..db import utcnow
from ..errors import DomainError
from . import calendar, calendar_services
from .outbox import external_url

bp = Blueprint("calendar", __name__)


def _me() -> User:
    return current_user._get_current_object()


def _feed_url(token: str | None) -> str | None:
    return external_url("calendar.feed", token=token) if token else None


@bp.get("/my-training/calendar")
@login_required
def settings() -> ResponseReturnValue:
    """What the feed is, its address when it is on, and the buttons to turn it on, reset or off."""
    return render_template("notifications/calendar/settings.html", feed_url=_feed_url(_me().calendar_token))


@bp.post("/my-training/calendar/on")
@login_required
def turn_on() -> ResponseReturnValue:
    """Turn the feed on."""
    calendar_services.turn_on(_me())
    flash("Your calendar feed is on. Copy the address below into your calendar app", "success")
    return redirect(url_for("calendar.settings"))


@bp.post("/my-training/calendar/reset")
@login_required
def reset() -> ResponseReturnValue:
    """Give the feed a new address; the old one stops working."""
    try:
        calendar_services.reset(_me())
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash("Your calendar feed has a new address. The old address no longer works: "
              "add the new one to your calendar app", "success")
    return redirect(url_for("calendar.settings"))


@bp.post("/my-training/calendar/off")
@login_required
def turn_off() -> ResponseReturnValue:
    """Turn the feed off; its address stops working."""
    calendar_services.turn_off(_me())
    flash("Your calendar feed is off. Its address no longer works", "success")
    return redirect(url_for("calendar.settings"))


@bp.get("/calendar/<token>.ics")
def feed(token: str) -> ResponseReturnValue:
    """The feed itself, for calendar apps: no sign-in, the secret token is the credential."""
    person = calendar_services.owner_of(token)
    if person is None:
        abort(404)
    now = utcnow()
    text = calendar.feed(calendar_services.feed_bookings(person, now), now, name=current_app.config["SERVICE_NAME"])
    response = Response(text, mimetype="text/calendar")
    response.headers["Content-Type"] = "text/calendar; charset=utf-8"
    response.headers["Content-Disposition"] = 'inline; filename="training.ics"'
    # The URL is a credential and the body is personal: no shared or stored copies.
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
