"""Course suggestions: partners suggest, the subgroup (through its coordinators) decides.

Each writing function is one action in one write transaction; the caller passes the acting
person and `now`, and nothing here reads the request. A status change locks the suggestion's
row first, so two coordinators acting at once take turns and the second sees the first's
decision (and is refused) instead of overwriting it.

Decisions where the issue was silent:

* Anyone signed in may suggest a course, whatever their roles, for their own agency or any
  active agency (their own even if it has since been deactivated).
* Only coordinators review: "the subgroup acts through coordinators".
* A draft course is INACTIVE, with level 3, half a day (3 hours), face to face, no themes and
  no learning outcomes: the coordinator is taken straight to the course's edit page, where the
  catalogue's own rules make them choose themes and write outcomes before it can be saved.
* When a course already has the suggestion's title, the draft is called "<title> (2)" (then
  (3)...) rather than refused, so the one step always works; the coordinator is told and
  renames it on the edit page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from ..accounts.models import Agency, User
from ..catalogue.models import Course, CourseFormat, Level
from ..catalogue.services import TITLE_MAX_LENGTH as COURSE_TITLE_MAX
from ..db import MAX_ID, utcnow, write_transaction
from ..extensions import db
from .errors import (
    CourseTitleRace,
    InvalidSuggestion,
    NotCoordinator,
    ReasonRequired,
    ReasonTooLong,
    SuggestionNotFound,
)
from .models import OPEN_STATUSES, CourseSuggestion, SuggestionEvent, SuggestionStatus

TITLE_MAX = 200
NEED_MAX = 2000
EVIDENCE_MAX = 5000
AUDIENCE_MAX = 1000
REASON_MAX = 5000
#: A suggestion for more people than this is a typing slip, not a plan.
MAX_PEOPLE = 100_000

# What a draft course starts with; the coordinator changes them on the course's edit page.
DRAFT_LEVEL = Level.LEVEL_3
DRAFT_DURATION_MINUTES = 180
DRAFT_FORMAT = CourseFormat.FACE_TO_FACE


@dataclass(frozen=True)
class SuggestionDetails:
    """What a person enters when they suggest a course."""

    title: str
    need: str
    evidence: str
    audience: str
    people_benefiting: int | None
    agency_id: int | None


@dataclass(frozen=True)
class DraftCourse:
    """The draft course made from a suggestion, and whether its title had to change."""

    course: Course
    title_changed: bool


# ---------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------

def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def agency_choices(user: User) -> list[Agency]:
    """Agencies a person may suggest for: every active agency, and their own."""
    agencies = list(db.session.scalars(
        select(Agency).where(Agency.active.is_(True)).order_by(func.lower(Agency.name), Agency.id)))
    if user.agency is not None and not user.agency.active:
        agencies.append(user.agency)
    return agencies


def _text_problem(value: str, missing: str, what: str, limit: int) -> str | None:
    if not value:
        return missing
    if len(value) > limit:
        return f"{what} must be {limit:,} characters or fewer"
    return None


def _problems(details: SuggestionDetails, actor: User) -> dict[str, str]:
    """Every rule the details break, by form field, in the order the form asks."""
    checks = [
        ("title", _text_problem(details.title.strip(), "Enter a title for the course", "Course title", TITLE_MAX)),
        ("need", _text_problem(details.need.strip(), "Enter the need the course would meet", "The need",
                               NEED_MAX)),
        ("evidence", _text_problem(details.evidence.strip(), "Enter the evidence for the need", "The evidence",
                                   EVIDENCE_MAX)),
        ("audience", _text_problem(details.audience.strip(), "Enter who the course is for", "Who the course is for",
                                   AUDIENCE_MAX)),
    ]
    problems = {name: message for name, message in checks if message}
    people = details.people_benefiting
    if people is None:
        problems["people_benefiting"] = "Enter how many people would benefit"
    elif people < 1:
        problems["people_benefiting"] = "The number of people who would benefit must be 1 or more"
    elif people > MAX_PEOPLE:
        problems["people_benefiting"] = f"The number of people who would benefit must be {MAX_PEOPLE:,} or fewer"
    if not _is_id(details.agency_id) or details.agency_id not in {a.id for a in agency_choices(actor)}:
        problems["agency"] = "Select your agency"
    return problems


def _require_coordinator(actor: User) -> None:
    if not actor.is_coordinator:
        raise NotCoordinator()


def _clean_reason(reason: str | None) -> str | None:
    reason = (reason or "").strip()
    if len(reason) > REASON_MAX:
        raise ReasonTooLong(REASON_MAX)
    return reason or None


def _lock(suggestion_id: int) -> CourseSuggestion:
    """The suggestion's row, locked for the rest of the write transaction.

    FOR UPDATE on PostgreSQL; on SQLite BEGIN IMMEDIATE already serialises writers.
    populate_existing reloads a copy the session already holds, so the rules see the status
    as the lock found it.
    """
    if not _is_id(suggestion_id):
        raise SuggestionNotFound()
    suggestion = db.session.execute(
        select(CourseSuggestion).where(CourseSuggestion.id == suggestion_id)
        .with_for_update(of=CourseSuggestion).execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if suggestion is None:
        raise SuggestionNotFound()
    return suggestion


# ---------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------

def submit_suggestion(actor: User, details: SuggestionDetails, *, now: datetime | None = None) -> CourseSuggestion:
    """A person suggests a new course; it starts as submitted."""
    now = now or utcnow()
    with write_transaction():
        problems = _problems(details, actor)
        if problems:
            raise InvalidSuggestion(problems)
        suggestion = CourseSuggestion(
            title=details.title.strip(), need=details.need.strip(), evidence=details.evidence.strip(),
            audience=details.audience.strip(), people_benefiting=details.people_benefiting,
            agency_id=details.agency_id, suggested_by_id=actor.id,
        )
        suggestion.record_submission(actor, now)
        db.session.add(suggestion)
        db.session.flush()
    return suggestion


def start_review(suggestion_id: int, actor: User, *, now: datetime | None = None) -> CourseSuggestion:
    """The subgroup starts exploring a submitted suggestion."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        suggestion = _lock(suggestion_id)
        suggestion.start_review(actor, now)
    return suggestion


def agree(suggestion_id: int, actor: User, reason: str | None = None, *,
          now: datetime | None = None) -> CourseSuggestion:
    """The subgroup agrees a suggestion under review; the reason, if given, is shown to the suggester."""
    _require_coordinator(actor)
    now = now or utcnow()
    reason = _clean_reason(reason)
    with write_transaction():
        suggestion = _lock(suggestion_id)
        suggestion.agree(actor, now, reason)
    return suggestion


def decline(suggestion_id: int, actor: User, reason: str | None, *,
            now: datetime | None = None) -> CourseSuggestion:
    """The subgroup declines a suggestion under review, saying why."""
    _require_coordinator(actor)
    now = now or utcnow()
    reason = _clean_reason(reason)
    if reason is None:
        raise ReasonRequired()
    with write_transaction():
        suggestion = _lock(suggestion_id)
        suggestion.decline(actor, now, reason)
    return suggestion


def _free_title(title: str) -> str:
    """`title`, or "title (2)", "title (3)"... when a course already has it (ignoring case)."""
    taken = {t.lower() for t in db.session.scalars(
        select(Course.title).where(func.lower(Course.title).startswith(
            title[:COURSE_TITLE_MAX - 6].lower(), autoescape=True)))}
    candidate = title[:COURSE_TITLE_MAX]
    number = 2
    while candidate.lower() in taken:
        suffix = f" ({number})"
        candidate = title[:COURSE_TITLE_MAX - len(suffix)] + suffix
        number += 1
    return candidate


def _draft_summary(suggestion: CourseSuggestion) -> str:
    return f"{suggestion.need}\n\nWho it is for: {suggestion.audience}"


def create_draft_course(suggestion_id: int, actor: User, *, now: datetime | None = None) -> DraftCourse:
    """Turn an agreed suggestion into an inactive draft course, once, keeping the link."""
    _require_coordinator(actor)
    now = now or utcnow()
    with write_transaction():
        suggestion = _lock(suggestion_id)
        # The course is written in this same transaction (not through catalogue.create_course,
        # which commits on its own), so the course and the link land together or not at all.
        title = _free_title(suggestion.title)
        course = Course(
            title=title, summary=_draft_summary(suggestion), learning_outcomes="", level=DRAFT_LEVEL,
            duration_minutes=DRAFT_DURATION_MINUTES, format=DRAFT_FORMAT, refresher_months=None, active=False,
            created_at=now,
        )
        suggestion.link_course(course, actor, now)  # refuses a suggestion not agreed, or drafted already
        db.session.add(course)
        try:
            db.session.flush()
        except IntegrityError as exc:  # another coordinator took the title between the check and here
            raise CourseTitleRace() from exc
    return DraftCourse(course=course, title_changed=title != suggestion.title)


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def suggestions_by(user_id: int) -> list[CourseSuggestion]:
    """A person's own suggestions, newest first."""
    stmt = (select(CourseSuggestion).where(CourseSuggestion.suggested_by_id == user_id)
            .order_by(CourseSuggestion.created_at.desc(), CourseSuggestion.id.desc()))
    return list(db.session.scalars(stmt))


def own_suggestion(user_id: int, suggestion_id: int) -> CourseSuggestion | None:
    """The suggestion if `user_id` made it; None for anyone else's, so ids cannot be probed."""
    if not _is_id(suggestion_id):
        return None
    return db.session.scalar(select(CourseSuggestion).where(
        CourseSuggestion.id == suggestion_id, CourseSuggestion.suggested_by_id == user_id)
        .options(selectinload(CourseSuggestion.events), joinedload(CourseSuggestion.course)))


def get_suggestion(suggestion_id: int) -> CourseSuggestion | None:
    """Any suggestion with its history, the people named in it and its draft course (coordinators)."""
    if not _is_id(suggestion_id):
        return None
    return db.session.scalar(select(CourseSuggestion).where(CourseSuggestion.id == suggestion_id).options(
        joinedload(CourseSuggestion.agency), joinedload(CourseSuggestion.suggested_by),
        joinedload(CourseSuggestion.course), selectinload(CourseSuggestion.events).joinedload(SuggestionEvent.actor),
    ))


def suggestion_for_course(course_id: int) -> CourseSuggestion | None:
    """The suggestion a course was drafted from, if any."""
    if not _is_id(course_id):
        return None
    return db.session.scalar(select(CourseSuggestion).where(CourseSuggestion.course_id == course_id))


def all_suggestions(status: SuggestionStatus | None = None) -> list[CourseSuggestion]:
    """Every suggestion (or those with `status`): open ones first, oldest first, so none waits unseen."""
    stmt = select(CourseSuggestion).options(joinedload(CourseSuggestion.agency))
    if status is not None:
        stmt = stmt.where(CourseSuggestion.status == status)
    open_first = CourseSuggestion.status.in_(OPEN_STATUSES).desc()
    return list(db.session.scalars(stmt.order_by(open_first, CourseSuggestion.created_at, CourseSuggestion.id)))


def suggestion_counts_by_status() -> dict[SuggestionStatus, int]:
    """How many suggestions are in each status, every status present (0 when none): one GROUP BY."""
    counts = dict.fromkeys(SuggestionStatus, 0)
    rows = db.session.execute(
        select(CourseSuggestion.status, func.count(CourseSuggestion.id)).group_by(CourseSuggestion.status))
    for status, count in rows:
        counts[SuggestionStatus(status)] = count
    return counts


def open_suggestions() -> list[CourseSuggestion]:
    """Suggestions still waiting for a decision (submitted or under review), as demand signals.

    Most people benefiting first, then oldest first; each with its agency loaded. Read only.
    """
    stmt = (select(CourseSuggestion).where(CourseSuggestion.status.in_(OPEN_STATUSES))
            .options(joinedload(CourseSuggestion.agency))
            .order_by(CourseSuggestion.people_benefiting.desc(), CourseSuggestion.created_at, CourseSuggestion.id))
    return list(db.session.scalars(stmt))
