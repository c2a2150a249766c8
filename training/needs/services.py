"""Training needs analysis operations: workforce groups and their requirements, people's
groups, TNA reviews, and the demand signals shown beside the TNA.

Each writing function is one action in one write transaction. The caller passes the acting
person and `now`; nothing here looks at the request. Rules live here: a form checks that what
was typed can be read, these functions decide whether it is allowed and report every problem
at once (InvalidDetails), so a form can show them all.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..accounts.models import Agency, Sector, User
from ..audit import services as audit
from ..booking.models import Booking, BookingStatus
from ..catalogue.models import Course, CourseSession, CourseTheme, Level, SessionStatus, Theme
from ..db import utcnow, write_transaction
from ..evaluation.models import Answer, Evaluation, EvaluationStatus, Question, Stage
from ..evaluation.results import LOW_RATINGS, OVERALL_KEY, Share
from ..extensions import db
from ..suggestions.models import CourseSuggestion, SuggestionStatus
from ..timeutil import london_to_utc
from . import tna
from .dates import add_months
from .errors import InvalidDetails, NotAllowed, NotCoordinator
from .models import Requirement, TnaReview, WorkforceGroup, WorkforceMembership

NAME_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 5000
# Sanity limits, as for a course's refresher interval: 10 years is a plan, 100 is a typo.
MAX_MONTHS = 120
EARLIEST_START = date(1950, 1, 1)
EARLIEST_REVIEW = date(2000, 1, 1)


# ---------------------------------------------------------------------------
# Values passed in by callers
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class GroupDetails:
    name: str
    description: str
    sectors: tuple[Sector, ...]
    active: bool = True


@dataclass(frozen=True)
class RequirementDetails:
    """Exactly one of `course_id` and `level` is set."""

    course_id: int | None
    level: Level | None
    deadline_months: int
    refresher_months: int | None


@dataclass(frozen=True)
class ReviewDetails:
    reviewed_on: date | None
    attendees: str
    decisions: str
    emerging_issues: str = ""


def _clean(value: str | None) -> str:
    return (value or "").strip()


def _require_coordinator(actor: User) -> None:
    if not actor.is_coordinator:
        raise NotCoordinator()


def _today(now: datetime) -> date:
    return tna.london_today(now)


# ---------------------------------------------------------------------------
# Workforce groups
# ---------------------------------------------------------------------------

def _group_problems(details: GroupDetails, group_id: int | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    name = _clean(details.name)
    if not name:
        problems["name"] = "Enter a name for the workforce group"
    elif len(name) > NAME_MAX_LENGTH:
        problems["name"] = f"Name must be {NAME_MAX_LENGTH} characters or fewer"
    elif _name_taken(name, group_id):
        problems["name"] = "There is already a workforce group with this name. Enter a different name"
    if len(_clean(details.description)) > TEXT_MAX_LENGTH:
        problems["description"] = f"Description must be {TEXT_MAX_LENGTH:,} characters or fewer"
    if not details.sectors:
        problems["sectors"] = "Select the sectors this group works in"
    return problems


def _name_taken(name: str, group_id: int | None) -> bool:
    # Case-insensitive, so "Police officers" and "police officers" cannot both exist.
    stmt = select(WorkforceGroup.id).where(func.lower(WorkforceGroup.name) == name.lower())
    if group_id is not None:
        stmt = stmt.where(WorkforceGroup.id != group_id)
    return db.session.scalar(stmt.limit(1)) is not None


def _flush_group() -> None:
    """Flush, turning a lost race for the unique name into the same message as the check."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise InvalidDetails(
            {"name": "There is already a workforce group with this name. Enter a different name"}) from exc


def create_group(actor: User, details: GroupDetails, *, now: datetime | None = None) -> WorkforceGroup:
    """Add a workforce group."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        problems = _group_problems(details, None)
        if problems:
            raise InvalidDetails(problems)
        group = WorkforceGroup(name=_clean(details.name), description=_clean(details.description),
                               active=True, created_at=now, updated_at=now)
        group.sectors = details.sectors
        db.session.add(group)
        _flush_group()
        audit.record(actor, "needs.group.added", "workforce_group", group.id, f"Added workforce group {group.id}",
                     now)
    return group


def update_group(group_id: int, actor: User, details: GroupDetails, *, now: datetime | None = None) -> WorkforceGroup:
    """Change a workforce group's name, description, sectors, or whether it is offered."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        group = db.session.get(WorkforceGroup, group_id)
        if group is None:
            raise LookupError(group_id)
        problems = _group_problems(details, group_id)
        if problems:
            raise InvalidDetails(problems)
        group.name = _clean(details.name)
        group.description = _clean(details.description)
        group.sectors = details.sectors
        group.active = details.active
        group.updated_at = now
        _flush_group()
        audit.record(actor, "needs.group.changed", "workforce_group", group.id,
                     f"Changed workforce group {group.id}", now)
    return group


def get_group(group_id: int) -> WorkforceGroup | None:
    """The group, or None."""
    return db.session.get(WorkforceGroup, group_id)


@dataclass(frozen=True)
class GroupListing:
    group: WorkforceGroup
    members: int


def groups_with_members() -> list[GroupListing]:
    """Every group by name, with how many people are in it now (2 queries)."""
    members = (
        select(WorkforceMembership.group_id, func.count().label("n"))
        .join(User, User.id == WorkforceMembership.user_id)
        .where(WorkforceMembership.ended_on.is_(None), User.active.is_(True))
        .group_by(WorkforceMembership.group_id).subquery()
    )
    stmt = (select(WorkforceGroup, func.coalesce(members.c.n, 0))
            .outerjoin(members, members.c.group_id == WorkforceGroup.id)
            .order_by(func.lower(WorkforceGroup.name), WorkforceGroup.id))
    return [GroupListing(group, n) for group, n in db.session.execute(stmt)]


def groups_for_choosing(sector: Sector | None, current_group_id: int | None = None) -> list[WorkforceGroup]:
    """Active groups (and the person's current one), those covering `sector` first, then by name."""
    stmt = select(WorkforceGroup).where(WorkforceGroup.active.is_(True))
    if current_group_id is not None:
        stmt = select(WorkforceGroup).where(
            (WorkforceGroup.active.is_(True)) | (WorkforceGroup.id == current_group_id))
    groups = list(db.session.scalars(stmt.order_by(func.lower(WorkforceGroup.name), WorkforceGroup.id)))
    return sorted(groups, key=lambda g: sector not in g.sectors)


# ---------------------------------------------------------------------------
# Requirements
# ---------------------------------------------------------------------------

def _requirement_problems(group_id: int, details: RequirementDetails, requirement_id: int | None,
                          current_course_id: int | None) -> dict[str, str]:
    problems: dict[str, str] = {}
    if (details.course_id is None) == (details.level is None):
        problems["target"] = "Select a course or a level"
    elif details.course_id is not None:
        course = db.session.get(Course, details.course_id)
        # An inactive course may stay on a requirement that already names it, but not be newly chosen.
        if course is None or (not course.active and details.course_id != current_course_id):
            problems["target"] = "Select a course from the list"
    if not 0 <= details.deadline_months <= MAX_MONTHS:
        problems["deadline_months"] = f"Deadline must be between 0 and {MAX_MONTHS} months"
    if details.refresher_months is not None and not 1 <= details.refresher_months <= MAX_MONTHS:
        problems["refresher_months"] = f"Refresher interval must be between 1 and {MAX_MONTHS} months"
    if "target" not in problems:
        clash = select(Requirement.id).where(Requirement.group_id == group_id)
        if details.course_id is not None:
            clash = clash.where(Requirement.course_id == details.course_id)
        else:
            clash = clash.where(Requirement.level == details.level)
        if requirement_id is not None:
            clash = clash.where(Requirement.id != requirement_id)
        if db.session.scalar(clash.limit(1)) is not None:
            problems["target"] = ("This group already has a requirement for this course"
                                  if details.course_id is not None
                                  else "This group already has a requirement for this level")
    return problems


def _flush_requirement(details: RequirementDetails) -> None:
    try:
        db.session.flush()
    except IntegrityError as exc:
        raise InvalidDetails({"target": "This group already has a requirement for this course"
                              if details.course_id is not None
                              else "This group already has a requirement for this level"}) from exc


def _apply_requirement(requirement: Requirement, details: RequirementDetails) -> None:
    requirement.course_id = details.course_id
    requirement.level = details.level
    requirement.deadline_months = details.deadline_months
    requirement.refresher_months = details.refresher_months


def add_requirement(group_id: int, actor: User, details: RequirementDetails, *,
                    now: datetime | None = None) -> Requirement:
    """Say that a group must complete a course, or any course at a level."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        group = db.session.get(WorkforceGroup, group_id)
        if group is None:
            raise LookupError(group_id)
        problems = _requirement_problems(group_id, details, None, None)
        if problems:
            raise InvalidDetails(problems)
        requirement = Requirement(group_id=group_id, created_at=now, updated_at=now, created_by_id=actor.id,
                                  updated_by_id=actor.id)
        _apply_requirement(requirement, details)
        db.session.add(requirement)
        _flush_requirement(details)
        audit.record(actor, "needs.requirement.added", "training_requirement", requirement.id,
                     f"Added requirement {requirement.id} to workforce group {group_id}", now)
    return requirement


def update_requirement(requirement_id: int, actor: User, details: RequirementDetails, *,
                       now: datetime | None = None) -> Requirement:
    """Change what a requirement asks for, its deadline or its refresher interval."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        requirement = db.session.get(Requirement, requirement_id)
        if requirement is None:
            raise LookupError(requirement_id)
        problems = _requirement_problems(requirement.group_id, details, requirement.id, requirement.course_id)
        if problems:
            raise InvalidDetails(problems)
        _apply_requirement(requirement, details)
        requirement.updated_at = now
        requirement.updated_by_id = actor.id
        _flush_requirement(details)
        audit.record(actor, "needs.requirement.changed", "training_requirement", requirement.id,
                     f"Changed requirement {requirement.id} of workforce group {requirement.group_id}", now)
    return requirement


def remove_requirement(requirement_id: int, actor: User, *, now: datetime | None = None) -> int:
    """Remove a requirement; returns its group's id. Past reviews keep the figures they had."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        requirement = db.session.get(Requirement, requirement_id)
        if requirement is None:
            raise LookupError(requirement_id)
        group_id = requirement.group_id
        db.session.delete(requirement)
        audit.record(actor, "needs.requirement.removed", "training_requirement", requirement_id,
                     f"Removed requirement {requirement_id} from workforce group {group_id}", now)
    return group_id


def get_requirement(requirement_id: int) -> Requirement | None:
    """The requirement, or None."""
    return db.session.get(Requirement, requirement_id)


def course_choices(include: int | None = None) -> list[Course]:
    """Active courses by title, plus `include` (a requirement's course that has since been retired)."""
    stmt = select(Course).where(Course.active.is_(True))
    if include is not None:
        stmt = select(Course).where(Course.active.is_(True) | (Course.id == include))
    return list(db.session.scalars(stmt.order_by(func.lower(Course.title), Course.id)))


# ---------------------------------------------------------------------------
# A person's workforce group
# ---------------------------------------------------------------------------

def current_membership(user_id: int) -> WorkforceMembership | None:
    """The person's current workforce group, or None."""
    return db.session.scalar(select(WorkforceMembership).where(
        WorkforceMembership.user_id == user_id, WorkforceMembership.ended_on.is_(None)))


def membership_history(user_id: int) -> list[WorkforceMembership]:
    """Every group the person has recorded, latest first."""
    return list(db.session.scalars(
        select(WorkforceMembership).where(WorkforceMembership.user_id == user_id)
        .order_by(WorkforceMembership.recorded_at.desc(), WorkforceMembership.id.desc())))


def record_membership(person_id: int, actor: User, group_id: int | None, started_on: date | None, *,
                      now: datetime | None = None) -> WorkforceMembership:
    """Record the person's workforce group and the date they started in it.

    A change closes the current record and opens a new one, so the history is kept. Saving
    the same group and date again changes nothing.
    """
    if actor.id != person_id and not actor.is_coordinator:
        raise NotAllowed("You can only record your own workforce group")
    now = now or utcnow()
    today = _today(now)
    with write_transaction():
        # Lock the person's row so two saves at once cannot both open a current record.
        person = db.session.scalar(select(User).where(User.id == person_id).with_for_update(of=User))
        if person is None:
            raise LookupError(person_id)
        current = current_membership(person_id)
        problems: dict[str, str] = {}
        group = db.session.get(WorkforceGroup, group_id) if group_id is not None else None
        if group is None or (not group.active and (current is None or current.group_id != group.id)):
            problems["group"] = "Select your workforce group"
        if started_on is None:
            problems["started_on"] = "Enter the date you started in this role"
        elif started_on > today:
            problems["started_on"] = "The date you started must be today or in the past"
        elif started_on < EARLIEST_START:
            problems["started_on"] = "The date you started must be a real date, after 1950"
        if problems:
            raise InvalidDetails(problems)
        if current is not None and current.group_id == group.id and current.started_on == started_on:
            return current
        if current is not None:
            # The old role ended when the new one began (or on its own start, for a correction).
            current.ended_on = max(current.started_on, min(started_on, today))
            current.ended_at = now
            db.session.flush()  # the partial unique index allows one current record at a time
        membership = WorkforceMembership(user_id=person_id, group_id=group.id, started_on=started_on,
                                         recorded_at=now, recorded_by_id=actor.id)
        db.session.add(membership)
        db.session.flush()
    return membership


# ---------------------------------------------------------------------------
# TNA reviews
# ---------------------------------------------------------------------------

def _review_problems(details: ReviewDetails, today: date) -> dict[str, str]:
    problems: dict[str, str] = {}
    if details.reviewed_on is None:
        problems["reviewed_on"] = "Enter the date of the review"
    elif details.reviewed_on > today:
        problems["reviewed_on"] = "The date of the review must be today or in the past"
    elif details.reviewed_on < EARLIEST_REVIEW:
        problems["reviewed_on"] = "The date of the review must be a real date, after 2000"
    for key, message, required in (("attendees", "Enter who attended the review", True),
                                   ("decisions", "Enter the decisions made", True),
                                   ("emerging_issues", None, False)):
        text = _clean(getattr(details, key))
        if required and not text:
            problems[key] = message
        elif len(text) > TEXT_MAX_LENGTH:
            problems[key] = f"This must be {TEXT_MAX_LENGTH:,} characters or fewer"
    return problems


def record_review(actor: User, details: ReviewDetails, due_soon_months: int, *,
                  now: datetime | None = None) -> TnaReview:
    """Record a TNA review with a snapshot of the figures as they stand now."""
    _require_coordinator(actor)
    now = now or utcnow()
    today = _today(now)
    problems = _review_problems(details, today)
    if problems:
        raise InvalidDetails(problems)
    with write_transaction():
        figures = tna.compute(now, due_soon_months)
        review = TnaReview(
            reviewed_on=details.reviewed_on, attendees=_clean(details.attendees), decisions=_clean(details.decisions),
            emerging_issues=_clean(details.emerging_issues), recorded_by_id=actor.id, created_at=now,
            figures_on=figures.figures_on, snapshot=tna.snapshot_json(figures),
        )
        db.session.add(review)
        db.session.flush()
        audit.record(actor, "needs.review.recorded", "tna_review", review.id, f"Recorded TNA review {review.id}", now)
    return review


def reviews() -> list[TnaReview]:
    """Every review, the latest meeting first."""
    return list(db.session.scalars(select(TnaReview).order_by(
        TnaReview.reviewed_on.desc(), TnaReview.created_at.desc(), TnaReview.id.desc())))


def get_review(review_id: int) -> TnaReview | None:
    """The review, or None."""
    return db.session.get(TnaReview, review_id)


def previous_review(review: TnaReview) -> TnaReview | None:
    """The review recorded just before this one: its snapshot is the one to compare with."""
    return db.session.scalar(
        select(TnaReview).where(
            (TnaReview.created_at < review.created_at)
            | ((TnaReview.created_at == review.created_at) & (TnaReview.id < review.id)))
        .order_by(TnaReview.created_at.desc(), TnaReview.id.desc()).limit(1))


def latest_review() -> TnaReview | None:
    """The most recently recorded review."""
    return db.session.scalar(select(TnaReview).order_by(TnaReview.created_at.desc(), TnaReview.id.desc()).limit(1))


# ---------------------------------------------------------------------------
# Demand signals
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class WaitingList:
    course_id: int
    title: str
    waiting: int
    sessions: int  # upcoming sessions with someone waiting


def waiting_lists(now: datetime) -> list[WaitingList]:
    """Per course, people on the waiting lists of its upcoming sessions, longest first (1 query)."""
    stmt = (
        select(Course.id, Course.title, func.count(Booking.id), func.count(func.distinct(CourseSession.id)))
        .select_from(Booking)
        .join(CourseSession, CourseSession.id == Booking.session_id)
        .join(Course, Course.id == CourseSession.course_id)
        .where(Booking.status == BookingStatus.WAITLISTED, CourseSession.status == SessionStatus.SCHEDULED,
               CourseSession.starts_at > now)
        .group_by(Course.id, Course.title)
        .order_by(func.count(Booking.id).desc(), func.lower(Course.title))
    )
    return [WaitingList(*row) for row in db.session.execute(stmt)]


@dataclass(frozen=True)
class Suggestions:
    """Course suggestions from partners: how many at each status, and the open ones."""

    by_status: dict[SuggestionStatus, int]
    open: list[CourseSuggestion]

    @property
    def open_count(self) -> int:
        return sum(self.by_status.get(s, 0) for s in (SuggestionStatus.SUBMITTED, SuggestionStatus.UNDER_REVIEW))


OPEN_SUGGESTIONS_SHOWN = 10


def suggestions() -> Suggestions:
    """Counts by status, and the open suggestions that would help the most people (2 queries)."""
    counts = {SuggestionStatus(s): n for s, n in db.session.execute(
        select(CourseSuggestion.status, func.count()).group_by(CourseSuggestion.status))}
    open_ones = list(db.session.scalars(
        select(CourseSuggestion)
        .options(joinedload(CourseSuggestion.agency))
        .where(CourseSuggestion.status.in_((SuggestionStatus.SUBMITTED, SuggestionStatus.UNDER_REVIEW)))
        .order_by(CourseSuggestion.people_benefiting.desc(), CourseSuggestion.created_at, CourseSuggestion.id)
        .limit(OPEN_SUGGESTIONS_SHOWN)))
    return Suggestions(counts, open_ones)


@dataclass(frozen=True)
class ThemeRating:
    theme: Theme
    low: Share  # Satisfactory or Poor, of all overall ratings
    flagged: bool  # over the review threshold, with enough ratings


def theme_ratings(now: datetime, threshold_percent: float, min_responses: int) -> list[ThemeRating]:
    """Overall after-course ratings per course theme over the last 12 months, lowest rated first (1 query).

    A course with several themes counts towards each. As for quality reviews, a theme is
    flagged when more than `threshold_percent` of at least `min_responses` ratings are
    Satisfactory or Poor.
    """
    since = london_to_utc(add_months(_today(now), -12), time(0, 0))
    low = func.sum(case((Answer.choice.in_([r.value for r in LOW_RATINGS]), 1), else_=0))
    stmt = (
        select(CourseTheme.theme, func.count(Answer.id), low)
        .select_from(Answer)
        .join(Evaluation, Evaluation.id == Answer.evaluation_id)
        .join(Question, Question.id == Answer.question_id)
        .join(CourseSession, CourseSession.id == Evaluation.session_id)
        .join(CourseTheme, CourseTheme.course_id == CourseSession.course_id)
        .where(Evaluation.status == EvaluationStatus.SUBMITTED, Evaluation.stage == Stage.AFTER,
               Question.key == OVERALL_KEY, Answer.choice.is_not(None),
               CourseSession.starts_at >= since, CourseSession.starts_at <= now)
        .group_by(CourseTheme.theme)
    )
    found = []
    for theme, total, low_count in db.session.execute(stmt):
        share = Share(int(low_count or 0), int(total))
        flagged = share.total >= min_responses and (share.percent or 0) > threshold_percent
        found.append(ThemeRating(Theme(theme), share, flagged))
    return sorted(found, key=lambda t: (-(t.low.percent or 0), t.theme.label))


def agencies() -> list[Agency]:
    """Every agency by name, for the TNA's filter."""
    return list(db.session.scalars(select(Agency).order_by(func.lower(Agency.name), Agency.id)))
