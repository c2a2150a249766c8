"""Evaluation forms: a delegate's before, after and follow-up forms, and who has not responded.

Only the person booked can open their forms: anyone else (a coordinator too) gets 404 for
them, so booking ids cannot be probed and no one answers on another's behalf.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..auth import coordinator_required
from ..booking.services import ROWS_ON_MY_TRAINING
from ..catalogue.services import Page
from ..db import utcnow
from ..pagination import govuk_pagination
from . import services
from .errors import EvaluationLocked, EvaluationNotFound, EvaluationNotOpen, InvalidAnswers
from .forms import SUBMIT, evaluation_form
from .models import Stage

bp = Blueprint("evaluation", __name__)


def _stage_or_404(value: str) -> Stage:
    try:
        return Stage(value)
    except ValueError:
        abort(404)


def _page_or_404(booking_id: int, stage: Stage) -> services.FormPage:
    try:
        return services.form_page(booking_id, stage, current_user, utcnow())
    except EvaluationNotFound:
        abort(404)


def _render_form(page: services.FormPage, form, status: int = 200) -> ResponseReturnValue:
    return render_template("evaluation/form.html", page=page, form=form, session=page.booking.session,
                           stage=page.stage), status


@bp.route("/bookings/<int:booking_id>/evaluation/<stage>", methods=["GET", "POST"])
@login_required
def form(booking_id: int, stage: str) -> ResponseReturnValue:
    """The person's form for one stage: fill it in, save a draft, or submit; read-only once submitted."""
    page = _page_or_404(booking_id, _stage_or_404(stage))
    here = url_for("evaluation.form", booking_id=booking_id, stage=page.stage.value)
    if page.evaluation is not None and page.evaluation.is_locked:
        if request.method == "POST":
            flash(EvaluationLocked.message)
            return redirect(here)
        return render_template("evaluation/submitted.html", page=page, session=page.booking.session,
                               rows=services.answer_rows(page.evaluation))
    if not page.state.open:
        if request.method == "POST":
            flash(page.state.reason)
            return redirect(here)
        return render_template("evaluation/closed.html", page=page, session=page.booking.session)
    if request.method == "GET":
        return _render_form(page, evaluation_form(page.question_set, page.outcomes,
                                                  data=services.form_values(page, current_user)))
    form = evaluation_form(page.question_set, page.outcomes)
    if not form.validate_on_submit():
        return _render_form(page, form, 400)
    submit = request.form.get("action") == SUBMIT
    try:
        services.save(booking_id=booking_id, stage=page.stage, actor=current_user, answers=form.answers(),
                      now=utcnow(), submit=submit)
    except EvaluationNotFound:
        abort(404)
    except InvalidAnswers as err:
        form.add_errors(err.errors)
        return _render_form(page, form, 400)
    except (EvaluationLocked, EvaluationNotOpen) as err:
        flash(err.message)
        return redirect(here)
    if submit:
        flash("Thank you. Your form has been submitted", "success")
    else:
        flash("Your answers have been saved. You can come back and finish this form later", "success")
    return redirect(here)


@bp.get("/manage/sessions/<int:session_id>/evaluations")
@coordinator_required
def non_respondents(session_id: int) -> ResponseReturnValue:
    """For each stage, how many of a session's delegates have not returned their form, and who."""
    session = services.get_session(session_id)
    if session is None:
        abort(404)
    now = utcnow()
    return render_template(
        "evaluation/non_respondents.html",
        session=session,
        stages=[services.non_respondents(session_id, stage, now) for stage in Stage],
    )


@bp.get("/my-training/evaluations")
@login_required
def outstanding() -> str:
    """All the signed-in person's evaluation forms to fill in, a page at a time."""
    page = services.outstanding_for(current_user, utcnow(), page=request.args.get("page", default=1, type=int),
                                    per_page=current_app.config["EVALUATION_FORMS_PAGE_SIZE"])
    return render_template("evaluation/outstanding.html", page=page,
                           pagination=govuk_pagination("evaluation.outstanding", page.number, page.pages))


@bp.app_template_global()
def outstanding_evaluations(user) -> Page[services.OutstandingForm] | None:
    """The first of the signed-in person's forms to fill in now (for My training)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return services.outstanding_for(user, utcnow(), per_page=ROWS_ON_MY_TRAINING)
