"""Single-agency training compliance returns, the Independent Scrutineer's challenges and the responses.

Who reaches what (the services check the same again):

* agency training leads: their own agency's returns (another agency's return is a 404, so ids
  cannot be probed); they fill in, submit and respond;
* the Independent Scrutineer: every round and return; challenges and accepts; never edits figures
  (a POST of figures is a 403);
* coordinators: open rounds, add agencies, see the overview and its exports, reopen returns;
* everyone else (professionals, trainers): 403.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..accounts.models import Role
from ..auth import coordinator_required, role_required
from ..catalogue.models import Level  # noqa: F401  (templates iterate the levels)
from ..db import utcnow
from ..timeutil import to_london
from . import exports, services
from . import models as models  # noqa: F401  (the tables must be known to db.create_all())
from .errors import (
    ComplianceError,
    InvalidFigures,
    InvalidTransition,
    NotAllowed,
    ReturnLocked,
    ReturnNotFound,
    RoundNotFound,
    StaleReturn,
)
from .forms import PART_LABELS, AddAgenciesForm, ChallengeForm, OpenRoundForm, ReopenForm, ResponseForm, ReturnForm
from .models import LEVELS, AgencyReturn, EventKind, ReturnStatus

bp = Blueprint("compliance", __name__, url_prefix="/returns")

returns_roles = role_required(Role.AGENCY_LEAD, Role.SCRUTINEER, Role.COORDINATOR)
scrutiny_roles = role_required(Role.SCRUTINEER, Role.COORDINATOR)
lead_required = role_required(Role.AGENCY_LEAD)
scrutineer_required = role_required(Role.SCRUTINEER)


def _return_or_404(return_id: int) -> AgencyReturn:
    try:
        return services.get_return(return_id, current_user)
    except ReturnNotFound:
        abort(404)


def _round_or_404(round_id: int):
    try:
        return services.get_round(round_id)
    except RoundNotFound:
        abort(404)


def _here(return_id: int) -> str:
    return url_for("compliance.return_page", return_id=return_id)


# ---------------------------------------------------------------------------
# Lists and rounds
# ---------------------------------------------------------------------------

@bp.get("/")
@returns_roles
def index() -> ResponseReturnValue:
    """A lead's own agency's returns; for the scrutineer and coordinators, every round."""
    sees_rounds = current_user.is_coordinator or current_user.has_role(Role.SCRUTINEER)
    return render_template(
        "compliance/index.html",
        my_returns=services.returns_for_lead(current_user),
        is_lead=current_user.has_role(Role.AGENCY_LEAD),
        rounds=services.rounds() if sees_rounds else [],
        sees_rounds=sees_rounds,
        is_coordinator=current_user.is_coordinator,
        awaiting=services.awaiting_scrutiny() if current_user.has_role(Role.SCRUTINEER) else [],
        is_scrutineer=current_user.has_role(Role.SCRUTINEER),
        today=to_london(utcnow()).date(),
    )


@bp.route("/rounds/new", methods=["GET", "POST"])
@coordinator_required
def open_round() -> ResponseReturnValue:
    """A coordinator opens a year's round and chooses the agencies."""
    form = OpenRoundForm()
    form.set_agencies(services.active_agencies())
    if form.validate_on_submit():
        try:
            round_ = services.open_round(int(form.year.data), form.due_on.data, form.agencies.ids, current_user)
        except ComplianceError as err:
            getattr(form, err.field or "year").errors.append(err.message)
        else:
            flash(f"Return round for {round_.label} opened", "success")
            return redirect(url_for("compliance.round_overview", round_id=round_.id))
    return render_template("compliance/open_round.html", form=form), 400 if form.errors else 200


@bp.get("/rounds/<int:round_id>")
@scrutiny_roles
def round_overview(round_id: int) -> ResponseReturnValue:
    """Every agency's status and compliance side by side, overdue lists and last year's figures."""
    _round_or_404(round_id)
    return render_template("compliance/overview.html", view=services.overview(round_id, utcnow()),
                           target_text=services.target_text(), is_coordinator=current_user.is_coordinator,
                           Status=ReturnStatus)


@bp.route("/rounds/<int:round_id>/agencies", methods=["GET", "POST"])
@coordinator_required
def add_agencies(round_id: int) -> ResponseReturnValue:
    """Add agencies to a round that is already open."""
    round_ = _round_or_404(round_id)
    form = AddAgenciesForm()
    form.set_agencies(services.agencies_not_in_round(round_id))
    if form.validate_on_submit():
        try:
            created = services.add_agencies(round_id, form.agencies.ids, current_user)
        except RoundNotFound:
            abort(404)
        except ComplianceError as err:
            form.agencies.errors.append(err.message)
        else:
            flash(f"{len(created)} {'agency' if len(created) == 1 else 'agencies'} added to the round", "success")
            return redirect(url_for("compliance.round_overview", round_id=round_id))
    return render_template("compliance/add_agencies.html", form=form, round=round_), 400 if form.errors else 200


def _download(content: bytes, mimetype: str, filename: str) -> Response:
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/rounds/<int:round_id>/overview.csv")
@scrutiny_roles
def export_csv(round_id: int) -> ResponseReturnValue:
    """The overview as CSV (UTF-8 with a byte order mark, so Excel reads the accents)."""
    round_ = _round_or_404(round_id)
    return _download(exports.overview_csv(services.overview(round_id, utcnow())), "text/csv; charset=utf-8",
                     f"compliance-returns-{round_.year}.csv")


@bp.get("/rounds/<int:round_id>/overview.xlsx")
@scrutiny_roles
def export_xlsx(round_id: int) -> ResponseReturnValue:
    """The overview as an Excel workbook."""
    round_ = _round_or_404(round_id)
    return _download(exports.overview_xlsx(services.overview(round_id, utcnow())), exports.XLSX_MIMETYPE,
                     f"compliance-returns-{round_.year}.xlsx")


# ---------------------------------------------------------------------------
# One return
# ---------------------------------------------------------------------------

def _render_return(agency_return: AgencyReturn, *, form: ReturnForm | None = None,
                   challenge_form: ChallengeForm | None = None, response_form: ResponseForm | None = None,
                   reopen_form: ReopenForm | None = None, status: int = 200) -> ResponseReturnValue:
    user = current_user
    is_lead = services.is_lead_of(user, agency_return)
    actions = services.actions_for(user, agency_return)
    editing = actions.edit
    if editing and form is None:
        form = ReturnForm(formdata=None)
        form.fill(agency_return)
    may_challenge = actions.challenge
    if may_challenge and challenge_form is None:
        challenge_form = ChallengeForm(formdata=None)
    may_respond = actions.respond
    if may_respond and response_form is None:
        response_form = ResponseForm(formdata=None)
    may_reopen = actions.reopen
    if may_reopen and reopen_form is None:
        reopen_form = ReopenForm(formdata=None)
    events = services.history(agency_return.id)
    with_errors = next((f for f in (form, challenge_form, response_form, reopen_form) if f is not None and f.errors),
                       None)
    return render_template(
        "compliance/return.html",
        r=agency_return,
        form=with_errors,
        return_form=form if editing else None,
        challenge_form=challenge_form if may_challenge else None,
        response_form=response_form if may_respond else None,
        reopen_form=reopen_form if may_reopen else None,
        may_accept=actions.accept,
        is_lead=is_lead,
        shows_figures=services.may_see_figures(user, agency_return),
        events=events,
        exchanges=[e for e in events if e.kind in (EventKind.CHALLENGED, EventKind.RESPONDED, EventKind.REOPENED)],
        describe=services.describe_changes,
        levels=LEVELS,
        part_labels=PART_LABELS,
        rag=services.rag,
        tenths=services.tenths,
        percent_label=services.percent_label,
        compliance_label=services.compliance_label,
        target_text=services.target_text(),
        Status=ReturnStatus,
        Kind=EventKind,
        back=url_for("compliance.round_overview", round_id=agency_return.round_id)
        if (user.is_coordinator or user.has_role(Role.SCRUTINEER)) else url_for("compliance.index"),
    ), status


@bp.route("/<int:return_id>", methods=["GET", "POST"])
@returns_roles
def return_page(return_id: int) -> ResponseReturnValue:
    """A return: the proforma for its lead while a draft; read-only figures, challenges and history."""
    agency_return = _return_or_404(return_id)
    if request.method == "GET":
        return _render_return(agency_return)
    if not services.is_lead_of(current_user, agency_return):
        abort(403)  # the scrutineer and coordinators read the figures; only the agency's lead changes them
    if not agency_return.status.is_editable:
        flash(ReturnLocked.message)
        return redirect(_here(return_id))
    form = ReturnForm()
    if not form.validate_on_submit():
        return _render_return(agency_return, form=form, status=400)
    try:
        services.save_draft(return_id, form.lines(), form.narrative(), current_user, utcnow(),
                            expected_version=form.expected_version)
    except ReturnNotFound:
        abort(404)
    except InvalidFigures as err:
        form.add_errors(err.errors)
        return _render_return(agency_return, form=form, status=400)
    except StaleReturn as err:
        flash(err.message)
        return redirect(_here(return_id))
    except ComplianceError as err:
        flash(err.message)
        return redirect(_here(return_id))
    if form.submitting:
        return redirect(url_for("compliance.confirm_submit", return_id=return_id))
    flash("Draft saved. You can come back and finish the return later", "success")
    return redirect(_here(return_id))


@bp.route("/<int:return_id>/submit", methods=["GET", "POST"])
@lead_required
def confirm_submit(return_id: int) -> ResponseReturnValue:
    """Check the return, then submit it: after this it is read-only to the agency."""
    agency_return = _return_or_404(return_id)
    if not services.is_lead_of(current_user, agency_return):
        abort(404)
    if request.method == "POST":
        raw = request.form.get("version", "")
        version = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else None
        try:
            services.submit(return_id, current_user, utcnow(), expected_version=version)
        except ReturnNotFound:
            abort(404)
        except InvalidFigures:
            flash("The return is not complete yet: answer every question before you submit it")
            return redirect(_here(return_id))
        except ComplianceError as err:
            flash(err.message)
            return redirect(_here(return_id))
        flash("Return submitted. The Independent Scrutineer will review it", "success")
        return redirect(_here(return_id))
    if not agency_return.status.is_editable:
        flash("This return has been submitted and can no longer be changed"
              if agency_return.status.is_submitted else "Save the figures before you submit the return")
        return redirect(_here(return_id))
    return render_template("compliance/confirm_submit.html", r=agency_return,
                           problems=services.submission_problems(agency_return), levels=LEVELS,
                           rag=services.rag, tenths=services.tenths, percent_label=services.percent_label,
                           compliance_label=services.compliance_label,
                           target_text=services.target_text())


@bp.post("/<int:return_id>/challenge")
@scrutineer_required
def challenge(return_id: int) -> ResponseReturnValue:
    """The Independent Scrutineer challenges the return and sets a date for the response."""
    agency_return = _return_or_404(return_id)
    if agency_return.status not in (ReturnStatus.SUBMITTED, ReturnStatus.RESPONDED):
        # The form is not on the page in this state, so say why rather than show its errors.
        flash(InvalidTransition(agency_return.status, ReturnStatus.CHALLENGED).message)
        return redirect(_here(return_id))
    form = ChallengeForm()
    if not form.validate_on_submit():
        return _render_return(agency_return, challenge_form=form, status=400)
    try:
        services.challenge(return_id, form.text.data, form.response_due_on.data, current_user, utcnow())
    except ReturnNotFound:
        abort(404)
    except ComplianceError as err:
        if err.field in ("text", "response_due_on"):
            form[err.field].errors = [*form[err.field].errors, err.message]
            return _render_return(agency_return, challenge_form=form, status=400)
        flash(err.message)
        return redirect(_here(return_id))
    flash("Challenge sent to the agency", "success")
    return redirect(_here(return_id))


@bp.post("/<int:return_id>/response")
@lead_required
def respond(return_id: int) -> ResponseReturnValue:
    """The agency's lead responds to the challenge."""
    agency_return = _return_or_404(return_id)
    if not services.is_lead_of(current_user, agency_return):
        abort(404)
    form = ResponseForm()
    if not form.validate_on_submit():
        if agency_return.status != ReturnStatus.CHALLENGED:
            flash("You can only respond once the Independent Scrutineer has challenged the return")
            return redirect(_here(return_id))
        return _render_return(agency_return, response_form=form, status=400)
    try:
        services.respond(return_id, form.text.data, current_user, utcnow())
    except ReturnNotFound:
        abort(404)
    except ComplianceError as err:
        flash(err.message)
        return redirect(_here(return_id))
    flash("Response sent to the Independent Scrutineer", "success")
    return redirect(_here(return_id))


@bp.post("/<int:return_id>/accept")
@scrutineer_required
def accept(return_id: int) -> ResponseReturnValue:
    """The Independent Scrutineer accepts the return."""
    _return_or_404(return_id)
    try:
        services.accept(return_id, current_user, utcnow())
    except ReturnNotFound:
        abort(404)
    except ComplianceError as err:
        flash(err.message)
    else:
        flash("Return accepted", "success")
    return redirect(_here(return_id))


@bp.post("/<int:return_id>/reopen")
@coordinator_required
def reopen(return_id: int) -> ResponseReturnValue:
    """A coordinator reopens a submitted return so its lead can correct it."""
    agency_return = _return_or_404(return_id)
    form = ReopenForm()
    if not form.validate_on_submit():
        if agency_return.status not in (ReturnStatus.SUBMITTED, ReturnStatus.CHALLENGED, ReturnStatus.RESPONDED):
            flash("Only a submitted return that has not been accepted can be reopened")
            return redirect(_here(return_id))
        return _render_return(agency_return, reopen_form=form, status=400)
    try:
        services.reopen(return_id, form.reason.data, current_user, utcnow())
    except ReturnNotFound:
        abort(404)
    except (NotAllowed, ComplianceError) as err:
        flash(err.message)
        return redirect(_here(return_id))
    flash("Return reopened. The agency's lead can now change it and submit it again", "success")
    return redirect(_here(return_id))
