"""Registers: trainers' and coordinators' sessions, taking attendance, walk-ins, sign-in sheets.

A trainer who is not on a session gets 403 for its register rather than 404: sessions are
public in the catalogue, so hiding that one exists protects nothing, and 403 says plainly
why the register cannot be opened.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defaultload

from ..accounts.models import Agency, Role, User
from ..auth import role_required
from ..catalogue.models import Course, CourseSession
from ..db import utcnow
from ..extensions import db
from . import services
from .errors import AttendanceError, NotSessionTrainer, WalkInNotFound
from .forms import RegisterForm, WalkInForm
from .models import AttendanceOutcome, Register

bp = Blueprint("attendance", __name__)

staff_required = role_required(Role.TRAINER, Role.COORDINATOR)

#: Blank rows on the printed sign-in sheet for people who come without booking.
SIGN_IN_SHEET_BLANK_ROWS = 6


def _session_or_404(session_id: int) -> CourseSession:
    """The session, if it exists and the signed-in person may take its register."""
    if session_id > services.MAX_ID:
        abort(404)
    # These pages show neither the course's themes nor the trainers' roles.
    session = db.session.get(CourseSession, session_id, options=[
        defaultload(CourseSession.course).lazyload(Course.theme_rows),
        defaultload(CourseSession.trainers).lazyload(User.grants),
    ])
    if session is None:
        abort(404)
    if not services.may_take_register(session, current_user):
        abort(403)
    return session


def _render_register(session: CourseSession, form: RegisterForm, status: int = 200) -> ResponseReturnValue:
    # Holding `session` keeps it in the identity map (a weak one), so it is not loaded twice.
    sheet = services.register_for(session.id)
    refusal = services.edit_refusal(sheet.session, sheet.register, current_user, utcnow())
    # After a refused save the person's choices are shown again, so nothing is lost.
    chosen = {row.booking.id: row.outcome for row in sheet.rows}
    if form.is_submitted():
        chosen.update(form.marks.data)
    return render_template(
        "attendance/register.html",
        sheet=sheet,
        form=form,
        refusal=refusal,
        chosen=chosen,
        outcomes=list(AttendanceOutcome),
        is_trainer=not current_user.is_coordinator,
    ), status


def _marks_or_error(form: RegisterForm) -> dict[int, AttendanceOutcome] | None:
    return form.marks.data if form.validate_on_submit() else None


@bp.get("/my-sessions")
@staff_required
def my_sessions() -> ResponseReturnValue:
    """A trainer's sessions (a coordinator's: all of them), upcoming and recent, with register status."""
    return render_template(
        "attendance/my_sessions.html",
        sessions=services.sessions_for(current_user, utcnow()),
        recent_days=services.RECENT_DAYS,
        is_coordinator=current_user.is_coordinator,
    )


@bp.route("/sessions/<int:session_id>/register", methods=["GET", "POST"])
@staff_required
def register(session_id: int) -> ResponseReturnValue:
    """Show the register; on POST, save the outcomes marked."""
    session = _session_or_404(session_id)
    form = RegisterForm()
    if not form.is_submitted():
        return _render_register(session, form)
    marks = _marks_or_error(form)
    if marks is None:
        return _render_register(session, form, 400)
    try:
        changed = services.record_attendance(session_id, marks, current_user, utcnow())
    except NotSessionTrainer:
        abort(403)
    except AttendanceError as err:
        form.marks.errors.append(err.message)
        return _render_register(session, form, 400)
    if changed:
        flash("Attendance saved", "success")
    else:
        flash("No changes to save")
    return redirect(url_for("attendance.register", session_id=session_id))


@bp.post("/sessions/<int:session_id>/register/complete")
@staff_required
def complete_register(session_id: int) -> ResponseReturnValue:
    """Save any outcomes posted with it, then complete the register."""
    session = _session_or_404(session_id)
    form = RegisterForm()
    marks = _marks_or_error(form)
    if marks is None:
        return _render_register(session, form, 400)
    try:
        services.complete_register(session_id, current_user, utcnow(), marks=marks)
    except NotSessionTrainer:
        abort(403)
    except AttendanceError as err:
        form.marks.errors.append(err.message)
        return _render_register(session, form, 400)
    flash("Register completed", "success")
    return redirect(url_for("attendance.register", session_id=session_id))


@bp.route("/sessions/<int:session_id>/register/walk-in", methods=["GET", "POST"])
@staff_required
def add_walk_in(session_id: int) -> ResponseReturnValue:
    """Add someone who came without booking."""
    session = _session_or_404(session_id)
    refusal = services.edit_refusal(session, db.session.get(Register, session_id), current_user, utcnow())
    if refusal is not None:
        flash(refusal.message)
        return redirect(url_for("attendance.register", session_id=session_id))
    form = WalkInForm()
    form.set_agencies(db.session.scalars(select(Agency).where(Agency.active).order_by(Agency.name)))
    if form.validate_on_submit():
        try:
            attendance = services.add_walk_in(
                session_id, name=form.name.data, email=form.email.data, agency_id=form.agency_id,
                outcome=form.outcome.data, actor=current_user, now=utcnow(),
            )
        except NotSessionTrainer:
            abort(403)
        except AttendanceError as err:
            if err.field is None:
                flash(err.message)
                return redirect(url_for("attendance.register", session_id=session_id))
            getattr(form, err.field).errors.append(err.message)
        else:
            flash(f"{attendance.attendee_name} added to the register", "success")
            return redirect(url_for("attendance.register", session_id=session_id))
    status = 400 if form.errors else 200
    return render_template("attendance/walk_in.html", session=session, form=form), status


@bp.post("/sessions/<int:session_id>/register/walk-ins/<int:attendance_id>/remove")
@staff_required
def remove_walk_in(session_id: int, attendance_id: int) -> ResponseReturnValue:
    """Take a walk-in added by mistake off the register."""
    _session_or_404(session_id)
    if attendance_id > services.MAX_ID:
        abort(404)
    try:
        name = services.remove_walk_in(session_id, attendance_id, current_user, utcnow())
    except NotSessionTrainer:
        abort(403)
    except WalkInNotFound:
        abort(404)
    except AttendanceError as err:
        flash(err.message)
    else:
        flash(f"{name} removed from the register", "success")
    return redirect(url_for("attendance.register", session_id=session_id))


@bp.get("/sessions/<int:session_id>/sign-in-sheet")
@staff_required
def sign_in_sheet(session_id: int) -> ResponseReturnValue:
    """The register as a printable sheet with a signature column and blank rows for walk-ins."""
    session = _session_or_404(session_id)
    return render_template(
        "attendance/sign_in_sheet.html",
        sheet=services.register_for(session.id),
        blank_rows=SIGN_IN_SHEET_BLANK_ROWS,
    )
