"""Booking pages: a session's page, booking and cancelling, offers, transfers, My training,
and the coordinators' bookings page (book on behalf, overbook, move, cancel)."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from .. import cache
from ..accounts.models import User
from ..auth import coordinator_required
from ..db import kept_after_commit, utcnow
from ..errors import DomainError
from ..pagination import govuk_pagination
from ..timeutil import format_date, format_datetime, format_time, to_london
from . import services
from .errors import AlreadyBooked, PersonNotFound
from .forms import BookOnBehalfForm, MoveForm, TransferForm
from .models import ACTIVE_STATUSES, Booking, BookingStatus

bp = Blueprint("booking", __name__)


@bp.app_template_filter("london_deadline")
def london_deadline(value: datetime) -> str:
    """A deadline as people read it: midnight is '11:59pm on' the day before, not '12:00am'."""
    local = to_london(value)
    if local.time() == time(0, 0):
        return f"11:59pm on {(local - timedelta(days=1)):%A} {format_date(local.date() - timedelta(days=1))}"
    return f"{format_time(value)} on {local:%A} {format_date(value)}"


def _me() -> User:
    return current_user._get_current_object()


def _visible_booking(booking_id: int) -> Booking:
    """The signed-in person's own booking (any, for a coordinator); 404 otherwise so ids cannot be probed."""
    booking = services.booking_for(_me(), booking_id)
    if booking is None:
        abort(404)
    return booking


def _acting_for_someone_else(booking: Booking) -> bool:
    return booking.user_id != current_user.id


def _after_change(booking: Booking) -> Response:
    """Coordinators acting for someone go back to the session's bookings; people to My training."""
    if _acting_for_someone_else(booking):
        return redirect(url_for("booking.manage_session_bookings", session_id=booking.session_id))
    return redirect(url_for("booking.my_training"))


def _session_name(booking: Booking) -> str:
    return f"{booking.session.course.title} on {format_datetime(booking.session.starts_at)}"


# ---------------------------------------------------------------------------
# Public session page and booking
# ---------------------------------------------------------------------------

@bp.get("/sessions/<int:session_id>")
def session_detail(session_id: int) -> str:
    """A session's details, places, and the viewer's booking or a way to book."""
    viewer = _me() if current_user.is_authenticated else None
    page = services.session_page(session_id, viewer)
    if page is None:
        abort(404)
    return render_template(
        "booking/session.html",
        page=page,
        deadline=services.cancellation_deadline(page.session),
        sign_in_url=url_for("accounts.sign_in", next=request.path),
    )


@bp.post("/sessions/<int:session_id>/book")
@login_required
def book(session_id: int) -> Response:
    """Book the signed-in person on a session, or join its waiting list."""
    try:
        with kept_after_commit():
            booking = services.book_place(session_id, _me())
    except LookupError:
        abort(404)
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("booking.session_detail", session_id=session_id))
    if booking.status == BookingStatus.CONFIRMED:
        flash(f"You have booked a place on {_session_name(booking)}", "success")
    elif booking.status == BookingStatus.AWAITING_APPROVAL:
        flash(f"We have asked {booking.user.manager_name} to approve your booking on {_session_name(booking)}. "
              "We will email you when they answer", "success")
    else:
        position = services.waiting_list_position(booking)
        flash(f"The session is full. You are number {position} on the waiting list", "success")
    return redirect(url_for("booking.booking_detail", booking_id=booking.id))


# ---------------------------------------------------------------------------
# A person's own training and bookings
# ---------------------------------------------------------------------------

@bp.get("/my-training")
@login_required
def my_training() -> str:
    """Upcoming bookings, offers to answer, waiting-list places and past courses."""
    me = _me()
    return cache.page(cache.MY_TRAINING, ("my-training", me.id),
                      lambda: render_template("booking/my_training.html", training=services.my_training(me)))


@bp.get("/my-training/past")
@login_required
def past_courses() -> str:
    """All of the signed-in person's past courses, latest first, a page at a time."""
    page = services.past_courses(_me(), page=request.args.get("page", default=1, type=int),
                                 per_page=current_app.config["PAST_COURSES_PAGE_SIZE"])
    return render_template("booking/past_courses.html", page=page,
                           pagination=govuk_pagination("booking.past_courses", page.number, page.pages))


@bp.get("/bookings/<int:booking_id>")
@login_required
def booking_detail(booking_id: int) -> str:
    """One booking: its status, cancellation deadline and what can be done with it."""
    booking = _visible_booking(booking_id)
    now = utcnow()
    deadline = services.cancellation_deadline(booking.session)
    return render_template(
        "booking/booking_detail.html",
        booking=booking,
        now=now,
        deadline=deadline,
        late=now >= deadline,
        position=services.waiting_list_position(booking),
        show_joining_link=bool(booking.session.online_link)
        and services.can_see_joining_link(booking.session, _me()),
        for_someone_else=_acting_for_someone_else(booking),
    )


@bp.route("/bookings/<int:booking_id>/cancel", methods=["GET", "POST"])
@login_required
def cancel(booking_id: int) -> str | Response:
    """Confirm, then cancel a place, leave a waiting list or decline an offer."""
    booking = _visible_booking(booking_id)
    if booking.status not in ACTIVE_STATUSES:
        flash("This booking is no longer active", "info")
        return redirect(url_for("booking.booking_detail", booking_id=booking.id))
    if request.method == "POST":
        was_request = booking.status == BookingStatus.AWAITING_APPROVAL
        try:
            booking = services.cancel_booking(booking.id, _me())
        except DomainError as err:
            flash(err.message, "error")
            return redirect(url_for("booking.booking_detail", booking_id=booking_id))
        flash(_cancelled_message(booking, was_request=was_request), "success")
        return _after_change(booking)
    now = utcnow()
    deadline = services.cancellation_deadline(booking.session)
    return render_template(
        "booking/cancel.html",
        booking=booking,
        deadline=deadline,
        late=now >= deadline,
        started=booking.session.has_started(now),
        for_someone_else=_acting_for_someone_else(booking),
    )


def _cancelled_message(booking: Booking, *, was_request: bool = False) -> str:
    name = _session_name(booking)
    who = f"{booking.user.name}'s" if _acting_for_someone_else(booking) else "Your"
    if was_request:
        return f"{who} request for a place on {name} has been withdrawn"
    return {
        BookingStatus.CANCELLED: f"{who} place on {name} has been cancelled",
        BookingStatus.LATE_CANCELLED: (
            f"{who} place on {name} has been cancelled. This has been recorded as a late cancellation"
        ),
        BookingStatus.WITHDRAWN: f"{who} waiting list place on {name} has been given up",
        BookingStatus.DECLINED: f"{who} offered place on {name} has been declined",
    }[booking.status]


@bp.post("/bookings/<int:booking_id>/accept")
@login_required
def accept_offer(booking_id: int) -> Response:
    """Accept an offered place."""
    booking = _visible_booking(booking_id)
    try:
        booking = services.accept_offer(booking.id, _me())
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(f"You have accepted the place on {_session_name(booking)}", "success")
    return redirect(url_for("booking.booking_detail", booking_id=booking_id))


@bp.post("/bookings/<int:booking_id>/decline")
@login_required
def decline_offer(booking_id: int) -> Response:
    """Decline an offered place; it goes to the next person waiting."""
    booking = _visible_booking(booking_id)
    try:
        booking = services.decline_offer(booking.id, _me())
    except DomainError as err:
        flash(err.message, "error")
        return redirect(url_for("booking.booking_detail", booking_id=booking_id))
    flash(_cancelled_message(booking), "success")
    return _after_change(booking)


@bp.route("/bookings/<int:booking_id>/transfer", methods=["GET", "POST"])
@login_required
def transfer(booking_id: int) -> str | Response:
    """Give a confirmed place to a colleague from the same agency."""
    booking = _visible_booking(booking_id)
    if booking.status != BookingStatus.CONFIRMED:
        flash("Only a confirmed place can be transferred", "info")
        return redirect(url_for("booking.booking_detail", booking_id=booking.id))
    form = TransferForm()
    if form.validate_on_submit():
        try:
            new = services.transfer_booking(booking.id, _me(), form.colleague_email.data)
        except DomainError as err:
            form.colleague_email.errors.append(err.message)
        else:
            flash(f"The place on {_session_name(new)} has been transferred to {new.user.name}", "success")
            return _after_change(booking)
    return render_template(
        "booking/transfer.html", booking=booking, form=form,
        for_someone_else=_acting_for_someone_else(booking),
    )


# ---------------------------------------------------------------------------
# Coordinators
# ---------------------------------------------------------------------------

def _manage_page(session_id: int, form: BookOnBehalfForm) -> str:
    lists = services.session_booking_lists(session_id)
    if lists is None:
        abort(404)
    now = utcnow()
    return render_template(
        "booking/manage_session.html", lists=lists, form=form,
        refusal=services.booking_refusal(lists.session, now, staff=True),
        closed_to_professionals=services.booking_refusal(lists.session, now) is not None,
        needs_approval=services.approval_required(lists.session),
    )


@bp.get("/manage/sessions/<int:session_id>/bookings")
@coordinator_required
def manage_session_bookings(session_id: int) -> str:
    """A session's bookings, offers, waiting list and history, with the coordinator's actions."""
    return _manage_page(session_id, BookOnBehalfForm())


@bp.post("/manage/sessions/<int:session_id>/bookings")
@coordinator_required
def book_on_behalf(session_id: int) -> str | Response:
    """Book someone on the session by their email, overbooking if asked."""
    form = BookOnBehalfForm()
    if form.validate_on_submit():
        try:
            booking = services.book_on_behalf(
                session_id, form.email.data, _me(), overbook=form.overbook.data
            )
        except LookupError:
            abort(404)
        except (PersonNotFound, AlreadyBooked) as err:
            form.email.errors.append(err.message)
        except DomainError as err:
            flash(err.message, "error")
            return redirect(url_for("booking.manage_session_bookings", session_id=session_id))
        else:
            flash(_booked_on_behalf_message(booking), "success")
            return redirect(url_for("booking.manage_session_bookings", session_id=session_id))
    return _manage_page(session_id, form)


def _booked_on_behalf_message(booking: Booking) -> str:
    name = booking.user.name
    if booking.status == BookingStatus.WAITLISTED:
        position = services.waiting_list_position(booking)
        return f"The session is full. {name} is number {position} on the waiting list"
    if booking.overbooked:
        return f"{name} has been booked on the session as an overbooking"
    return f"{name} has been booked on the session"


@bp.route("/manage/bookings/<int:booking_id>/move", methods=["GET", "POST"])
@coordinator_required
def move(booking_id: int) -> str | Response:
    """Move a booking or waiting-list place to another upcoming session."""
    booking = _visible_booking(booking_id)
    back = url_for("booking.manage_session_bookings", session_id=booking.session_id)
    if booking.status not in ACTIVE_STATUSES:
        flash("This booking is no longer active", "info")
        return redirect(back)
    form = MoveForm(sessions=services.move_targets(booking))
    if form.validate_on_submit():
        try:
            new = services.move_booking(booking.id, form.session_id.data, _me(), overbook=form.overbook.data)
        except LookupError:
            form.session_id.errors.append(MoveForm._CHOOSE)
        except DomainError as err:
            form.session_id.errors.append(err.message)
        else:
            flash(_moved_message(new), "success")
            return redirect(back)
    return render_template("booking/move.html", booking=booking, form=form, back=back)


def _moved_message(new: Booking) -> str:
    where = _session_name(new)
    name = new.user.name
    if new.status == BookingStatus.WAITLISTED:
        position = services.waiting_list_position(new)
        return f"{name} has been moved to the waiting list for {where}, at number {position}"
    if new.overbooked:
        return f"{name} has been moved to {where} as an overbooking"
    return f"{name} has been moved to {where}"
