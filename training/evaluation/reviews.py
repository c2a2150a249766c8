"""The quality review loop: poorly rated sessions and courses are flagged for the subgroup,
who record findings and improvements; the trainer responds; the review is then closed.

Decisions where the issue was silent:

* A session is flagged on its own after-course overall ratings. A course is flagged on the
  ratings of its sessions that start in the same financial year (1 April to 31 March) as
  the session just evaluated, so an old poor year does not keep re-flagging a course that
  has since improved.
* "Above the threshold" is strict: with a 25% threshold, exactly 25% is not flagged.
* An automatic review is not raised while the same session (or, for a course review, the
  course as a whole) already has a review that is open or has actions agreed.
* Actions can only be agreed once the improvements suggested to the trainer are recorded,
  and a closed review cannot be edited or responded to.
"""
from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy import case, or_, select
from sqlalchemy.orm import defaultload, joinedload

from ..accounts.models import User
from ..catalogue.models import Course, CourseSession
from ..db import MAX_ID, utcnow, write_transaction
from ..errors import DomainError
from ..extensions import db
from ..timeutil import to_london
from .models import Evaluation, QualityReview, ReviewStatus, Stage
from .results import Share, course_scope, financial_year, low_rating_share, session_scope, trained_by
from .signals import evaluation_submitted

#: Statuses in which a review is still being worked on.
LIVE_STATUSES = (ReviewStatus.OPEN, ReviewStatus.ACTIONS_AGREED)
TEXT_MAX = 5000


class ReviewError(DomainError):
    """A review action was refused; `field` names the form field the message belongs to."""

    message = "The review could not be changed"
    field: str | None = None


class ReviewNotAllowed(ReviewError):
    message = "You cannot change this review"


class ReviewNotFound(ReviewError):
    message = "That review does not exist"


class ReviewClosed(ReviewError):
    message = "This review is closed, so it cannot be changed"


class ReasonMissing(ReviewError):
    message = "Enter why this course or session needs a review"
    field = "reason"


class ImprovementsMissing(ReviewError):
    message = "Record the improvements suggested to the trainer before you agree actions"
    field = "improvements"


class ResponseMissing(ReviewError):
    message = "Enter your response to the review"
    field = "response"


class TextTooLong(ReviewError):
    message = f"Text must be {TEXT_MAX} characters or fewer"


class SessionNotOnCourse(ReviewError):
    message = "That session is not a session of this course"
    field = "session"


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _clean(text: str | None, field_name: str) -> str:
    text = (text or "").strip()
    if len(text) > TEXT_MAX:
        err = TextTooLong()
        err.field = field_name
        raise err
    return text


# ---------------------------------------------------------------------------
# The threshold
# ---------------------------------------------------------------------------

def breaches_threshold(share: Share) -> bool:
    """More than REVIEW_THRESHOLD_PERCENT Satisfactory or Poor, with enough ratings to judge."""
    cfg = current_app.config
    if share.total < cfg["REVIEW_MIN_RESPONSES"]:
        return False
    # Integer arithmetic, so exactly at the threshold is never flagged by rounding.
    return share.count * 100 > cfg["REVIEW_THRESHOLD_PERCENT"] * share.total


def _reason(share: Share, what: str) -> str:
    threshold = current_app.config["REVIEW_THRESHOLD_PERCENT"]
    return (f"Flagged automatically: {share.label} overall ratings for {what} were Satisfactory or Poor, "
            f"above the {threshold}% threshold")


def _has_live_review(course_id: int, session_id: int | None) -> bool:
    stmt = select(QualityReview.id).where(QualityReview.course_id == course_id,
                                          QualityReview.status.in_(LIVE_STATUSES))
    stmt = stmt.where(QualityReview.session_id.is_(None) if session_id is None
                      else QualityReview.session_id == session_id)
    return db.session.scalar(stmt.limit(1)) is not None


def _lock_course(course_id: int) -> None:
    # Two forms submitted at once for the same course take turns here, so neither can miss
    # the other's review and raise a duplicate (BEGIN IMMEDIATE already does this on SQLite).
    db.session.execute(select(Course.id).where(Course.id == course_id).with_for_update())


def check_for_review(session: CourseSession, now: datetime) -> list[QualityReview]:
    """Raise automatic reviews for the session and its course if their ratings call for one.

    Runs inside the caller's write transaction; returns the reviews raised.
    """
    _lock_course(session.course_id)
    raised = []
    share = low_rating_share(session_scope(session.id))
    if breaches_threshold(share) and not _has_live_review(session.course_id, session.id):
        raised.append(QualityReview(
            course_id=session.course_id, session_id=session.id, automatic=True, created_at=now,
            reason=_reason(share, "this session"),
        ))
    year = financial_year(to_london(session.starts_at).date())
    share = low_rating_share(course_scope(session.course_id, year))
    if breaches_threshold(share) and not _has_live_review(session.course_id, None):
        raised.append(QualityReview(
            course_id=session.course_id, session_id=None, automatic=True, created_at=now,
            reason=_reason(share, f"this course's sessions from {year.first.year} to {year.last.year}"),
        ))
    db.session.add_all(raised)
    db.session.flush()
    return raised


@evaluation_submitted.connect
def _on_evaluation_submitted(evaluation: Evaluation, now: datetime | None = None, **_kwargs) -> None:
    """After-course forms carry the overall rating, so only they can change a flag."""
    if evaluation.stage != Stage.AFTER:
        return
    session = db.session.get(CourseSession, evaluation.session_id)
    if session is not None:
        check_for_review(session, now or utcnow())


# ---------------------------------------------------------------------------
# Who may see and change a review
# ---------------------------------------------------------------------------

def is_review_trainer(review: QualityReview, user: User) -> bool:
    """The trainer of the reviewed session, or of any session of the reviewed course."""
    if review.session_id is not None:
        return review.session is not None and review.session.is_trainer(user)
    return db.session.scalar(
        select(CourseSession.id).where(CourseSession.course_id == review.course_id,
                                       CourseSession.id.in_(trained_by(user.id))).limit(1)
    ) is not None


def may_see_review(review: QualityReview, user: User) -> bool:
    """Coordinators see every review; trainers the reviews of their own sessions and courses."""
    return user.is_coordinator or is_review_trainer(review, user)


def _review_for_update(review_id: int) -> QualityReview:
    if not _is_id(review_id):
        raise ReviewNotFound()
    review = db.session.execute(
        select(QualityReview).where(QualityReview.id == review_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if review is None:
        raise ReviewNotFound()
    return review


def _require_coordinator(actor: User) -> None:
    if not actor.is_coordinator:
        raise ReviewNotAllowed()


def _require_live(review: QualityReview) -> None:
    if review.status == ReviewStatus.CLOSED:
        raise ReviewClosed()


# ---------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------

def raise_review(course_id: int, session_id: int | None, reason: str, actor: User,
                 now: datetime | None = None) -> QualityReview:
    """A coordinator raises a review of a course, or of one of its sessions, by hand."""
    now = now or utcnow()
    _require_coordinator(actor)
    reason = _clean(reason, "reason")
    if not reason:
        raise ReasonMissing()
    with write_transaction():
        course = db.session.get(Course, course_id) if _is_id(course_id) else None
        if course is None:
            raise LookupError(course_id)
        if session_id is not None:
            session = db.session.get(CourseSession, session_id) if _is_id(session_id) else None
            if session is None or session.course_id != course_id:
                raise SessionNotOnCourse()
        review = QualityReview(course_id=course_id, session_id=session_id, automatic=False,
                               reason=reason, raised_by_id=actor.id, created_at=now)
        db.session.add(review)
        db.session.flush()
    return review


def record_findings(review_id: int, findings: str, improvements: str, actor: User,
                    now: datetime | None = None) -> QualityReview:
    """The subgroup's findings and the improvements suggested to the trainer."""
    _require_coordinator(actor)
    findings = _clean(findings, "findings")
    improvements = _clean(improvements, "improvements")
    with write_transaction():
        review = _review_for_update(review_id)
        _require_live(review)
        review.findings = findings or None
        review.improvements = improvements or None
    return review


def move_review(review_id: int, status: ReviewStatus | str, actor: User,
                now: datetime | None = None) -> QualityReview:
    """Agree actions or close the review; QualityReview.move_to refuses anything else."""
    now = now or utcnow()
    _require_coordinator(actor)
    try:
        status = ReviewStatus(status)
    except ValueError:
        from .errors import InvalidReviewTransition

        raise InvalidReviewTransition() from None
    with write_transaction():
        review = _review_for_update(review_id)
        if status == ReviewStatus.ACTIONS_AGREED and review.status == ReviewStatus.OPEN and not review.improvements:
            raise ImprovementsMissing()
        review.move_to(status, now)
    return review


def respond(review_id: int, response: str, actor: User, now: datetime | None = None) -> QualityReview:
    """The trainer's response to the findings and improvements."""
    now = now or utcnow()
    response = _clean(response, "response")
    if not response:
        raise ResponseMissing()
    with write_transaction():
        review = _review_for_update(review_id)
        if not is_review_trainer(review, actor):
            raise ReviewNotAllowed("Only the trainer whose training was reviewed can respond")
        _require_live(review)
        review.trainer_response = response
        review.trainer_responded_at = now
        review.trainer_responded_by_id = actor.id
    return review


# ---------------------------------------------------------------------------
# Lists
# ---------------------------------------------------------------------------

def _with_course_and_session(stmt):
    return stmt.options(
        joinedload(QualityReview.course).lazyload(Course.theme_rows),
        joinedload(QualityReview.session).lazyload(CourseSession.trainers),
        defaultload(QualityReview.session).defaultload(CourseSession.course).lazyload(Course.theme_rows),
    )


_CLOSED_LAST = case((QualityReview.status == ReviewStatus.CLOSED, 1), else_=0)


def review_queue() -> list[QualityReview]:
    """Every review: open and actions agreed first (newest first), then closed ones."""
    stmt = select(QualityReview).order_by(_CLOSED_LAST, QualityReview.created_at.desc(), QualityReview.id.desc())
    return list(db.session.scalars(_with_course_and_session(stmt)).unique())


def reviews_for_trainer(user: User) -> list[QualityReview]:
    """Reviews of the sessions `user` trains, and of courses they train any session of."""
    mine = trained_by(user.id)
    courses = select(CourseSession.course_id).where(CourseSession.id.in_(mine))
    stmt = select(QualityReview).where(or_(
        QualityReview.session_id.in_(mine),
        (QualityReview.session_id.is_(None)) & QualityReview.course_id.in_(courses),
    )).order_by(_CLOSED_LAST, QualityReview.created_at.desc(), QualityReview.id.desc())
    return list(db.session.scalars(_with_course_and_session(stmt)).unique())


def course_reviews(course_id: int) -> list[QualityReview]:
    """A course's review history, newest first, including reviews of its sessions."""
    stmt = select(QualityReview).where(QualityReview.course_id == course_id).order_by(
        QualityReview.created_at.desc(), QualityReview.id.desc())
    return list(db.session.scalars(_with_course_and_session(stmt)).unique())


def live_review_exists(course_id: int, session_id: int | None) -> bool:
    """Whether a review of exactly this course (session_id None) or session is being worked on."""
    return _has_live_review(course_id, session_id)

