"""Training needs analysis pages.

Who sees what: coordinators manage workforce groups and their requirements, see the TNA and
its drill-down (names: personal data) and record the subgroup's reviews; everyone else gets
403 there. Any signed-in person records their own workforce group and sees their own
requirements; no page shows another person's.
"""
from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from ..accounts.models import Agency
from ..auth import coordinator_required
from ..db import utcnow
from ..extensions import db
from ..suggestions.models import SuggestionStatus
from . import models, services, tna  # noqa: F401  (models: the tables exist for db.create_all())
from .errors import InvalidDetails
from .forms import AgencyFilterForm, GroupEditForm, GroupForm, MembershipForm, RequirementForm, ReviewForm

bp = Blueprint("needs", __name__, url_prefix="/needs")


def _due_soon_months() -> int:
    return current_app.config["TNA_DUE_SOON_MONTHS"]


def _group_or_404(group_id: int) -> models.WorkforceGroup:
    return services.get_group(group_id) or abort(404)


# ---------------------------------------------------------------------------
# Coordinators: workforce groups and requirements
# ---------------------------------------------------------------------------

@bp.get("/groups")
@coordinator_required
def groups() -> ResponseReturnValue:
    """Every workforce group, with its sectors, requirements and how many people are in it."""
    return render_template("needs/groups.html", groups=services.groups_with_members())


@bp.route("/groups/new", methods=["GET", "POST"])
@coordinator_required
def group_new() -> ResponseReturnValue:
    """Add a workforce group."""
    form = GroupForm()
    if form.validate_on_submit():
        try:
            group = services.create_group(current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash(f"Workforce group added: {group.name}. Now add what it must complete", "success")
            return redirect(url_for("needs.group", group_id=group.id))
    return render_template("needs/group_form.html", form=form, group=None), 400 if form.errors else 200


@bp.get("/groups/<int:group_id>")
@coordinator_required
def group(group_id: int) -> ResponseReturnValue:
    """A workforce group and its requirements."""
    return render_template("needs/group.html", group=_group_or_404(group_id))


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@coordinator_required
def group_edit(group_id: int) -> ResponseReturnValue:
    """Change a workforce group's details, or stop offering it."""
    found = _group_or_404(group_id)
    form = GroupEditForm()
    if request.method == "GET":
        form.fill_from(found)
    elif form.validate_on_submit():
        try:
            services.update_group(group_id, current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash("Workforce group saved", "success")
            return redirect(url_for("needs.group", group_id=group_id))
    return render_template("needs/group_form.html", form=form, group=found), 400 if form.errors else 200


@bp.route("/groups/<int:group_id>/requirements/new", methods=["GET", "POST"])
@coordinator_required
def requirement_new(group_id: int) -> ResponseReturnValue:
    """Add a requirement to a group."""
    found = _group_or_404(group_id)
    form = RequirementForm()
    form.set_choices(services.course_choices())
    if form.validate_on_submit():
        try:
            services.add_requirement(group_id, current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash("Requirement added", "success")
            return redirect(url_for("needs.group", group_id=group_id))
    return render_template("needs/requirement_form.html", form=form, group=found, requirement=None), \
        400 if form.errors else 200


@bp.route("/requirements/<int:requirement_id>/edit", methods=["GET", "POST"])
@coordinator_required
def requirement_edit(requirement_id: int) -> ResponseReturnValue:
    """Change a requirement."""
    found = services.get_requirement(requirement_id) or abort(404)
    form = RequirementForm()
    form.set_choices(services.course_choices(include=found.course_id))
    if request.method == "GET":
        form.fill_from(found)
    elif form.validate_on_submit():
        try:
            services.update_requirement(requirement_id, current_user, form.details(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash("Requirement saved", "success")
            return redirect(url_for("needs.group", group_id=found.group_id))
    return render_template("needs/requirement_form.html", form=form, group=found.group, requirement=found), \
        400 if form.errors else 200


@bp.route("/requirements/<int:requirement_id>/remove", methods=["GET", "POST"])
@coordinator_required
def requirement_remove(requirement_id: int) -> ResponseReturnValue:
    """Confirm, then remove a requirement."""
    found = services.get_requirement(requirement_id) or abort(404)
    if request.method == "POST":
        try:
            group_id = services.remove_requirement(requirement_id, current_user, now=utcnow())
        except LookupError:
            abort(404)
        flash("Requirement removed", "success")
        return redirect(url_for("needs.group", group_id=group_id))
    return render_template("needs/requirement_remove.html", requirement=found, group=found.group)


# ---------------------------------------------------------------------------
# Coordinators: the TNA and its demand signals
# ---------------------------------------------------------------------------

@bp.get("/tna")
@coordinator_required
def analysis() -> ResponseReturnValue:
    """The TNA: per agency and group, who is in date, due soon, overdue or never trained."""
    now = utcnow()
    filter_form = AgencyFilterForm(request.args, services.agencies())
    agency = filter_form.chosen
    figures = tna.compute(now, _due_soon_months(), agency.id if agency else None)
    latest = services.latest_review()
    previous = tna.from_snapshot(latest.snapshot) if latest else None
    if previous is not None and agency is not None:
        previous = tna.for_agency(previous, agency.id)
    config = current_app.config
    return render_template(
        "needs/analysis.html",
        filter_form=filter_form,
        agency=agency,
        figures=figures,
        by_group=tna.compare(figures.by_group(), previous.by_group() if previous else None),
        by_agency=tna.compare(figures.by_agency(), previous.by_agency() if previous else None),
        totals=tna.compare_totals(figures, previous),
        latest_review=latest,
        waiting_lists=services.waiting_lists(now),
        suggestions=services.suggestions(),
        themes=services.theme_ratings(now, config["REVIEW_THRESHOLD_PERCENT"], config["REVIEW_MIN_RESPONSES"]),
        threshold=config["REVIEW_THRESHOLD_PERCENT"],
        min_responses=config["REVIEW_MIN_RESPONSES"],
        SuggestionStatus=SuggestionStatus,
    )


@bp.get("/tna/agencies/<int:agency_id>/groups/<int:group_id>")
@coordinator_required
def people(agency_id: int, group_id: int) -> ResponseReturnValue:
    """The people in one agency and group, and where each stands against each requirement."""
    agency = db.session.get(Agency, agency_id) or abort(404)
    found = _group_or_404(group_id)
    return render_template(
        "needs/people.html",
        agency=agency,
        group=found,
        people=tna.people_in(agency_id, found, utcnow(), _due_soon_months()),
        due_soon_months=_due_soon_months(),
    )


# ---------------------------------------------------------------------------
# Coordinators: reviews
# ---------------------------------------------------------------------------

@bp.get("/reviews")
@coordinator_required
def reviews() -> ResponseReturnValue:
    """Every TNA review, the latest first."""
    return render_template("needs/reviews.html", reviews=services.reviews())


@bp.route("/reviews/new", methods=["GET", "POST"])
@coordinator_required
def review_new() -> ResponseReturnValue:
    """Record a TNA review; the figures as they stand are kept with it."""
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            review = services.record_review(current_user, form.details(), _due_soon_months(), now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash("Review recorded, with the figures as they stand today", "success")
            return redirect(url_for("needs.review", tna_review_id=review.id))
    return render_template("needs/review_new.html", form=form), 400 if form.errors else 200


@bp.get("/reviews/<int:tna_review_id>")
@coordinator_required
def review(tna_review_id: int) -> ResponseReturnValue:
    """One review: what was decided, its figures, and how they changed since the review before."""
    found = services.get_review(tna_review_id) or abort(404)
    before = services.previous_review(found)
    figures = tna.from_snapshot(found.snapshot)
    previous = tna.from_snapshot(before.snapshot) if before else None
    return render_template(
        "needs/review.html",
        review=found,
        previous_review=before,
        figures=figures,
        by_group=tna.compare(figures.by_group(), previous.by_group() if previous else None),
        by_agency=tna.compare(figures.by_agency(), previous.by_agency() if previous else None),
        totals=tna.compare_totals(figures, previous),
    )


# ---------------------------------------------------------------------------
# Everyone: their own group and requirements
# ---------------------------------------------------------------------------

@bp.route("/my-group", methods=["GET", "POST"])
@login_required
def my_group() -> ResponseReturnValue:
    """Record or change your workforce group and the date you started in the role."""
    current = services.current_membership(current_user.id)
    form = MembershipForm()
    choices = services.groups_for_choosing(current_user.agency.sector, current.group_id if current else None)
    form.set_choices(choices)
    if request.method == "GET" and current is not None:
        form.group.data = str(current.group_id)
        form.started_on.data = current.started_on
    if form.validate_on_submit():
        try:
            services.record_membership(current_user.id, current_user, form.group_id, form.started_on.data,
                                       now=utcnow())
        except InvalidDetails as err:
            form.add_errors(err.errors)
        else:
            flash("Your workforce group has been saved", "success")
            return redirect(url_for("needs.my_requirements"))
    return render_template("needs/my_group.html", form=form, groups=choices, current=current,
                           history=services.membership_history(current_user.id)), 400 if form.errors else 200


@bp.get("/my-requirements")
@login_required
def my_requirements() -> ResponseReturnValue:
    """Your training requirements: the last completion of each and when it is next due."""
    current = services.current_membership(current_user.id)
    return render_template(
        "needs/my_requirements.html",
        current=current,
        requirements=tna.my_requirements(current, utcnow(), _due_soon_months()) if current else [],
        due_soon_months=_due_soon_months(),
    )
