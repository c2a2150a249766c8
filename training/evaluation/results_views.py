"""Evaluation results per session and course, quotable comments, and the quality review loop.

Who sees what: coordinators see every result and review. Trainers see results for the
sessions they train; a course's results page shows a trainer the figures for their own
sessions of that course only (never other trainers'). A trainer asking for another
trainer's session results gets 403, as on the register: sessions are public, so hiding
that one exists protects nothing. Reviews are not public, so a review a trainer may not see
is a 404. Everyone else gets 403.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import defaultload

from ..accounts.models import Role, User
from ..auth import coordinator_required, role_required, safe_next
from ..catalogue.models import Course, CourseSession
from ..db import MAX_ID, utcnow
from ..extensions import db
from ..timeutil import to_london
from . import results, reviews
from .errors import InvalidReviewTransition
from .models import QualityReview, ReviewStatus, Stage
from .results_forms import FindingsForm, PeriodForm, RaiseReviewForm, ResponseForm

bp = Blueprint("evaluation_results", __name__)

staff_required = role_required(Role.TRAINER, Role.COORDINATOR)


def _session_or_404(session_id: int) -> CourseSession:
    session = db.session.get(CourseSession, session_id, options=[
        defaultload(CourseSession.course).lazyload(Course.theme_rows),
        defaultload(CourseSession.trainers).lazyload(User.grants),
    ])
    if session is None:
        abort(404)
    return session


def _course_or_404(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    return course


def _review_or_404(review_id: int) -> QualityReview:
    review = db.session.get(QualityReview, review_id)
    if review is None or not reviews.may_see_review(review, current_user):
        abort(404)
    return review


@bp.app_template_global()
def review_history(course_id: int) -> list[QualityReview]:
    """A course's quality reviews, newest first, for the coordinator's course page."""
    return reviews.course_reviews(course_id)


# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

@bp.get("/results")
@staff_required
def index() -> ResponseReturnValue:
    """Sessions with responses the signed-in person may see, and (trainers) reviews of their training."""
    return render_template(
        "evaluation/results_index.html",
        sessions=results.sessions_with_responses(current_user),
        limit=results.INDEX_LIMIT,
        is_coordinator=current_user.is_coordinator,
        my_reviews=[] if current_user.is_coordinator else reviews.reviews_for_trainer(current_user),
    )


@bp.get("/results/sessions/<int:session_id>")
@staff_required
def session_results(session_id: int) -> ResponseReturnValue:
    """One session's evaluation results, without names."""
    session = _session_or_404(session_id)
    if not results.may_see_session(session, current_user):
        abort(403)
    return render_template(
        "evaluation/results_session.html",
        session=session,
        results=results.results_for(results.session_scope(session.id)),
        period=results.financial_year(to_london(session.starts_at).date()),
        is_coordinator=current_user.is_coordinator,
        Stage=Stage,
        headings=results.COMMENT_HEADINGS,
    )


@bp.get("/results/courses/<int:course_id>")
@staff_required
def course_results(course_id: int) -> ResponseReturnValue:
    """A course's results for a period (default: this financial year); trainers see only their sessions."""
    course = _course_or_404(course_id)
    trainer_id = None
    if not current_user.is_coordinator:
        if not results.trains_on_course(course.id, current_user):
            abort(403)
        trainer_id = current_user.id
    form = PeriodForm(request.args)
    default = results.current_financial_year(utcnow())
    if request.args and not form.validate():
        return render_template("evaluation/results_course.html", course=course, form=form, results=None,
                               period=None, own_sessions_only=trainer_id is not None,
                               is_coordinator=current_user.is_coordinator), 400
    first, last = form.start_date, form.end_date
    if first is None and last is None:
        first, last = default.first, default.last
    elif first is None:
        first = results.financial_year(last).first
    elif last is None:
        last = results.financial_year(first).last
    period = results.Period(first, last)
    if not form.start.data:
        form.start.data = first.isoformat()
    if not form.end.data:
        form.end.data = last.isoformat()
    return render_template(
        "evaluation/results_course.html",
        course=course,
        form=form,
        period=period,
        results=results.results_for(results.course_scope(course.id, period, trainer_id)),
        own_sessions_only=trainer_id is not None,
        is_coordinator=current_user.is_coordinator,
        Stage=Stage,
        headings=results.COMMENT_HEADINGS,
    )


@bp.post("/results/comments/<int:answer_id>/quotable")
@coordinator_required
def quotable(answer_id: int) -> ResponseReturnValue:
    """Mark a comment as suitable, or not, for quoting in reports."""
    wanted = request.form.get("quotable") == "yes"
    back = safe_next(request.form.get("back"), url_for("evaluation_results.index"))
    try:
        results.set_quotable(answer_id, wanted, current_user)
    except results.CommentNotFound:
        abort(404)
    flash("Comment marked as suitable for quoting" if wanted else "Comment no longer marked for quoting", "success")
    return redirect(back)


# ---------------------------------------------------------------------------
# Quality reviews
# ---------------------------------------------------------------------------

@bp.get("/manage/reviews")
@coordinator_required
def review_queue() -> ResponseReturnValue:
    """Every review: open and actions agreed first, then closed ones."""
    return render_template("evaluation/review_queue.html", reviews=reviews.review_queue())


def _optional_id(name: str) -> int | None:
    raw = request.values.get(name, "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()) or int(raw) > MAX_ID:
        abort(404)
    return int(raw)


@bp.route("/manage/reviews/new", methods=["GET", "POST"])
@coordinator_required
def raise_review() -> ResponseReturnValue:
    """Raise a review of a course, or of one session (`?session_id=`), by hand."""
    session_id = _optional_id("session_id")
    session = _session_or_404(session_id) if session_id is not None else None
    form = RaiseReviewForm()
    form.set_courses(db.session.scalars(select(Course).order_by(Course.title)))
    if session is not None:
        form.course.choices = [(str(session.course_id), session.course.title)]
        form.course.data = str(session.course_id)
    elif not form.is_submitted() and (course_id := _optional_id("course_id")) is not None:
        form.course.data = str(course_id)
    if form.validate_on_submit():
        try:
            review = reviews.raise_review(form.course_id, session_id, form.reason.data, current_user, utcnow())
        except LookupError:
            abort(404)
        except reviews.ReviewError as err:
            getattr(form, err.field or "reason").errors.append(err.message)
        else:
            flash("Review raised", "success")
            return redirect(url_for("evaluation_results.review", review_id=review.id))
    status = 400 if form.errors else 200
    return render_template("evaluation/review_new.html", form=form, session=session), status


def _render_review(review: QualityReview, findings_form: FindingsForm | None = None,
                   response_form: ResponseForm | None = None, status: int = 200) -> ResponseReturnValue:
    is_coordinator = current_user.is_coordinator
    if findings_form is None and is_coordinator:
        findings_form = FindingsForm(formdata=None, obj=review)
    is_trainer = reviews.is_review_trainer(review, current_user)
    if response_form is None and is_trainer:
        response_form = ResponseForm(formdata=None, response=review.trainer_response)
    form = findings_form if findings_form is not None and findings_form.errors else response_form
    return render_template(
        "evaluation/review.html",
        review=review,
        findings_form=findings_form,
        response_form=response_form,
        form=form,
        is_coordinator=is_coordinator,
        is_trainer=is_trainer,
        Status=ReviewStatus,
        responded_by=db.session.get(User, review.trainer_responded_by_id) if review.trainer_responded_by_id else None,
    ), status


@bp.get("/reviews/<int:review_id>")
@staff_required
def review(review_id: int) -> ResponseReturnValue:
    """A review: findings, improvements, the trainer's response and its status."""
    return _render_review(_review_or_404(review_id))


@bp.post("/reviews/<int:review_id>/findings")
@coordinator_required
def review_findings(review_id: int) -> ResponseReturnValue:
    """Save the subgroup's findings and the improvements suggested to the trainer."""
    review_obj = _review_or_404(review_id)
    form = FindingsForm()
    if form.validate_on_submit():
        try:
            reviews.record_findings(review_id, form.findings.data, form.improvements.data, current_user, utcnow())
        except reviews.ReviewError as err:
            flash(err.message)
        else:
            flash("Findings and improvements saved", "success")
        return redirect(url_for("evaluation_results.review", review_id=review_id))
    return _render_review(review_obj, findings_form=form, status=400)


@bp.post("/reviews/<int:review_id>/status")
@coordinator_required
def review_status(review_id: int) -> ResponseReturnValue:
    """Agree actions, or close the review."""
    _review_or_404(review_id)
    try:
        moved = reviews.move_review(review_id, request.form.get("status", ""), current_user, utcnow())
    except (reviews.ReviewError, InvalidReviewTransition) as err:
        flash(err.message)
    else:
        flash("Actions agreed" if moved.status == ReviewStatus.ACTIONS_AGREED else "Review closed", "success")
    return redirect(url_for("evaluation_results.review", review_id=review_id))


@bp.post("/reviews/<int:review_id>/response")
@staff_required
def review_response(review_id: int) -> ResponseReturnValue:
    """The trainer records their response."""
    review_obj = _review_or_404(review_id)
    if not reviews.is_review_trainer(review_obj, current_user):
        abort(403)
    form = ResponseForm()
    if form.validate_on_submit():
        try:
            reviews.respond(review_id, form.response.data, current_user, utcnow())
        except reviews.ReviewError as err:
            flash(err.message)
        else:
            flash("Response saved", "success")
        return redirect(url_for("evaluation_results.review", review_id=review_id))
    return _render_review(review_obj, response_form=form, status=400)
