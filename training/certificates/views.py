"""Certificate pages: a person's certificate, PDFs for staff, and the public verify page.

No GET changes anything: the certificate page and its PDF only read. A certificate that is due
but not issued yet is issued by the page's button (a POST), and the staff PDFs, which issue
certificates and are recorded in the audit log, are downloaded by a POST too.

A trainer who is not on a session gets 403 for its bulk certificates and sign-in sheet, as
for its register (sessions are public, so hiding that one exists protects nothing). A
booking that is not yours is a 404, so booking ids cannot be probed.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from ..accounts.models import Role, User
from ..attendance.views import SIGN_IN_SHEET_BLANK_ROWS
from ..auth import role_required
from ..booking.models import Booking
from ..booking.services import booking_for
from ..db import utcnow
from . import services
from .errors import CertificateError, NotIssued, NotSessionStaff
from .services import CertificateState, PdfFile

bp = Blueprint("certificates", __name__)

staff_required = role_required(Role.TRAINER, Role.COORDINATOR)


def _me() -> User:
    return current_user._get_current_object()


def _pdf(file: PdfFile) -> Response:
    response = Response(file.content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    # Certificates carry personal data: no shared or browser cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


def _verify_url() -> str:
    return url_for("certificates.verify", _external=True)


def _evaluation_url(booking_id: int) -> str:
    """The after-course evaluation form (the evaluation area owns the endpoint)."""
    return url_for("evaluation.form", booking_id=booking_id, stage="after")


def _own_booking(booking_id: int) -> Booking:
    booking = booking_for(_me(), booking_id)
    if booking is None:
        abort(404)
    return booking


# ---------------------------------------------------------------------------
# A link for My training
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CertificateLink:
    url: str
    label: str
    available: bool


@bp.app_template_global()
def certificate_status(booking: Booking) -> CertificateLink | None:
    """A link to the booking's certificate page, or None when it has no certificate.

    The first call on a page loads the states of all that person's bookings at once, so
    a list of past courses costs the same few queries however long it is.
    """
    cache = g.setdefault("_certificate_states", {})
    if booking.user_id not in cache:
        cache[booking.user_id] = services.states_for_person(booking.user_id)
    state = cache[booking.user_id].get(booking.id)
    if state is None:
        return None
    url = url_for("certificates.download", booking_id=booking.id)
    if state is CertificateState.AVAILABLE:
        return CertificateLink(url, "Download certificate", True)
    return CertificateLink(url, "Complete the evaluation to get your certificate", False)


# ---------------------------------------------------------------------------
# A person's certificate
# ---------------------------------------------------------------------------

@bp.get("/bookings/<int:booking_id>/certificate")
@login_required
def download(booking_id: int) -> ResponseReturnValue:
    """The certificate's status for a booking: a button to get it once it is due, then a download."""
    booking = _own_booking(booking_id)
    page = services.certificate_page(booking, _me())
    return render_template(
        "certificates/download.html",
        page=page,
        for_someone_else=booking.user_id != current_user.id,
        requires_evaluation=services.requires_evaluation(),
        evaluation_url=_evaluation_url(booking.id),
    )


@bp.post("/bookings/<int:booking_id>/certificate")
@login_required
def issue(booking_id: int) -> ResponseReturnValue:
    """Issue the booking's certificate (a repeat issues nothing new), then back to its page."""
    booking = _own_booking(booking_id)
    try:
        services.issue_for_booking(booking, _me(), utcnow())
    except CertificateError as err:
        flash(err.message)
    else:
        flash("Your certificate is ready to download" if booking.user_id == current_user.id
              else "The certificate is ready to download", "success")
    return redirect(url_for("certificates.download", booking_id=booking_id))


@bp.get("/bookings/<int:booking_id>/certificate.pdf")
@login_required
def download_pdf(booking_id: int) -> ResponseReturnValue:
    """The certificate as a PDF; if it is not issued or not due, back to the page that says why."""
    booking = _own_booking(booking_id)
    try:
        file = services.certificate_pdf(booking, _me(), _verify_url())
    except NotIssued:
        # The page offers the button that issues it; nothing to explain.
        return redirect(url_for("certificates.download", booking_id=booking_id))
    except CertificateError as err:
        flash(err.message)
        return redirect(url_for("certificates.download", booking_id=booking_id))
    return _pdf(file)


# ---------------------------------------------------------------------------
# Staff PDFs for a session: POSTs, as each issues certificates or is audited
# ---------------------------------------------------------------------------

@bp.post("/sessions/<int:session_id>/certificates.pdf")
@staff_required
def session_bulk(session_id: int) -> ResponseReturnValue:
    """Every certificate for a session in one PDF, for its trainers and coordinators."""
    try:
        file = services.session_certificates_pdf(session_id, _me(), _verify_url(), utcnow())
    except LookupError:
        abort(404)
    except NotSessionStaff:
        abort(403)
    except CertificateError as err:
        flash(err.message)
        return redirect(url_for("attendance.register", session_id=session_id))
    return _pdf(file)


@bp.post("/sessions/<int:session_id>/sign-in-sheet.pdf")
@staff_required
def sign_in_sheet_pdf(session_id: int) -> ResponseReturnValue:
    """The session's sign-in sheet as a PDF to print."""
    try:
        file = services.sign_in_sheet_pdf(session_id, _me(), SIGN_IN_SHEET_BLANK_ROWS)
    except LookupError:
        abort(404)
    except NotSessionStaff:
        abort(403)
    return _pdf(file)


# ---------------------------------------------------------------------------
# Public verification
# ---------------------------------------------------------------------------

@bp.get("/verify", defaults={"code": None})
@bp.get("/verify/<code>")
def verify(code: str | None) -> ResponseReturnValue:
    """Anyone can check a certificate's code: it confirms the name, course and date only."""
    raw = code if code is not None else request.args.get("code")
    entered = (raw or "").strip()[:100]
    result = services.verify(entered) if entered else None
    return render_template(
        "certificates/verify.html",
        entered=entered,
        result=result,
        not_found=bool(entered) and result is None,
    )
