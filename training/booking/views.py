"""Booking (placeholder: the full views are being written)."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from ..catalogue.models import CourseSession
from ..errors import DomainError
from ..extensions import db
from . import services

bp = Blueprint("booking", __name__)


@bp.get("/my-training")
@login_required
def my_training():
    return render_template("catalogue/index.html")


@bp.post("/sessions/<int:session_id>/book")
@login_required
def book(session_id: int):
    """Book the signed-in person on a session, or join its waiting list."""
    if db.session.get(CourseSession, session_id) is None:
        abort(404)
    try:
        booking = services.book_place(session_id, current_user)
    except DomainError as err:
        flash(err.message, "error")
    else:
        flash(f"Status: {booking.status.label}", "success")
    return redirect(url_for("booking.my_training"))
