"""Course suggestion pages: anyone signed in suggests a course and follows it; coordinators,
acting for the Learning and Development Subgroup, review and decide.

A person sees only their own suggestions: anyone else's id is a 404 (even for coordinators,
who use the manage pages instead), so ids cannot be probed. The manage pages are 403 for
everyone but coordinators.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..auth import coordinator_required
from ..db import utcnow
from . import services
from .errors import InvalidSuggestion, SuggestionError, SuggestionNotFound
from .forms import AGREE, DecisionForm, StatusFilterForm, SuggestionForm
from .models import CourseSuggestion, SuggestionStatus  # also registers the tables with the blueprint

bp = Blueprint("suggestions", __name__, url_prefix="/suggestions")


@bp.app_template_global()
def course_suggestion(course_id: int) -> CourseSuggestion | None:
    """The suggestion a course was drafted from, for the coordinators' course page.

    A template global, so the catalogue's templates can show the link without the catalogue
    importing this (higher) area.
    """
    return services.suggestion_for_course(course_id)


# ---------------------------------------------------------------------------
# Everyone signed in: suggest a course and follow it
# ---------------------------------------------------------------------------

@bp.get("/")
@login_required
def index() -> ResponseReturnValue:
    """Your suggestions, with their status and the subgroup's reason once decided."""
    return render_template("suggestions/index.html", suggestions=services.suggestions_by(current_user.id))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    """Suggest a course."""
    form = SuggestionForm()
    form.set_agencies(services.agency_choices(current_user))
    if not form.is_submitted():
        form.agency.data = str(current_user.agency_id)
    elif form.validate():
        try:
            suggestion = services.submit_suggestion(current_user, form.details(), now=utcnow())
        except InvalidSuggestion as err:
            form.add_errors(err.errors)
        else:
            flash("Suggestion sent. The Learning and Development Subgroup will look at it", "success")
            return redirect(url_for("suggestions.detail", suggestion_id=suggestion.id))
    status = 400 if form.errors else 200
    return render_template("suggestions/new.html", form=form), status


@bp.get("/<int:suggestion_id>")
@login_required
def detail(suggestion_id: int) -> ResponseReturnValue:
    """One of your suggestions: what you sent, where it has got to and the decision."""
    suggestion = services.own_suggestion(current_user.id, suggestion_id) or abort(404)
    return render_template("suggestions/detail.html", suggestion=suggestion, Status=SuggestionStatus)


# ---------------------------------------------------------------------------
# Coordinators: review and decide
# ---------------------------------------------------------------------------

@bp.get("/manage")
@coordinator_required
def manage() -> ResponseReturnValue:
    """Every suggestion, filtered by status: open ones first."""
    form = StatusFilterForm(request.args)
    valid = form.validate()
    return render_template(
        "suggestions/manage.html",
        form=form,
        suggestions=services.all_suggestions(form.selected if valid else None),
        counts=services.suggestion_counts_by_status(),
        selected=form.selected if valid else None,
    ), 200 if valid else 400


def _manage_page(suggestion: CourseSuggestion, decision_form: DecisionForm | None = None,
                 status: int = 200) -> ResponseReturnValue:
    if decision_form is None:
        decision_form = DecisionForm(formdata=None)
    return render_template(
        "suggestions/manage_suggestion.html",
        suggestion=suggestion,
        form=decision_form,
        Status=SuggestionStatus,
    ), status


def _suggestion_or_404(suggestion_id: int) -> CourseSuggestion:
    return services.get_suggestion(suggestion_id) or abort(404)


def _back(suggestion_id: int) -> ResponseReturnValue:
    return redirect(url_for("suggestions.manage_suggestion", suggestion_id=suggestion_id))


@bp.get("/manage/<int:suggestion_id>")
@coordinator_required
def manage_suggestion(suggestion_id: int) -> ResponseReturnValue:
    """A suggestion, its history and what can be done next."""
    return _manage_page(_suggestion_or_404(suggestion_id))


@bp.post("/manage/<int:suggestion_id>/review")
@coordinator_required
def start_review(suggestion_id: int) -> ResponseReturnValue:
    """Move a submitted suggestion to under review."""
    _suggestion_or_404(suggestion_id)
    try:
        services.start_review(suggestion_id, current_user, now=utcnow())
    except SuggestionNotFound:
        abort(404)
    except SuggestionError as err:
        flash(err.message)
    else:
        flash("Review started", "success")
    return _back(suggestion_id)


@bp.post("/manage/<int:suggestion_id>/decision")
@coordinator_required
def decide(suggestion_id: int) -> ResponseReturnValue:
    """Agree or decline a suggestion under review, with the reason the suggester sees."""
    suggestion = _suggestion_or_404(suggestion_id)
    form = DecisionForm()
    if not form.validate():
        return _manage_page(suggestion, form, 400)
    try:
        if form.decision.data == AGREE:
            services.agree(suggestion_id, current_user, form.reason.data, now=utcnow())
        else:
            services.decline(suggestion_id, current_user, form.reason.data, now=utcnow())
    except SuggestionNotFound:
        abort(404)
    except SuggestionError as err:
        if err.field:
            getattr(form, err.field).errors = [*getattr(form, err.field).errors, err.message]
            return _manage_page(suggestion, form, 400)
        flash(err.message)
    else:
        flash("Suggestion agreed" if form.decision.data == AGREE else "Suggestion declined", "success")
    return _back(suggestion_id)


@bp.post("/manage/<int:suggestion_id>/course")
@coordinator_required
def create_course(suggestion_id: int) -> ResponseReturnValue:
    """Turn an agreed suggestion into a draft course, then open the course to edit it."""
    _suggestion_or_404(suggestion_id)
    try:
        draft = services.create_draft_course(suggestion_id, current_user, now=utcnow())
    except SuggestionNotFound:
        abort(404)
    except SuggestionError as err:
        flash(err.message)
        return _back(suggestion_id)
    if draft.title_changed:
        flash(f"A course already has the suggested title, so the draft is called \u201c{draft.course.title}\u201d. "
              "Change the title, choose the themes and add the learning outcomes, then save", "success")
    else:
        flash("Draft course created from the suggestion. Choose the themes, add the learning outcomes and "
              "check the details, then save", "success")
    return redirect(url_for("catalogue.course_edit", course_id=draft.course.id))
