"""Compliance returns: every action (one write transaction each), who may do what, and the
coordinator's overview.

Decisions where the issue was silent:

* Who does what. Coordinators open rounds, add agencies and reopen returns. An agency training
  lead (the role, on an account of that agency) saves, submits and responds to challenges on
  their own agency's returns only; a lead of another agency gets "not found". The Independent
  Scrutineer challenges and accepts. Nobody else reaches the returns.
* Drafts are the agency's own work in progress: until a return is submitted, only its
  agency's leads see its figures. The scrutineer and coordinators see its status.
* A draft may have blank figures; submitting needs every level's staff in scope, trained and
  in date and courses delivered (0 is an answer), and both narratives. A level with nobody in
  scope has no compliance % ("not applicable").
* Compliance % is trained and in date / staff in scope, worked out by the app. It is shown to
  one decimal place, rounded DOWN, so a figure shown never overstates compliance. The
  red/amber/green rating uses the exact fraction, in whole-number arithmetic:
  green at or above COMPLIANCE_TARGET_PERCENT; amber from the target less
  COMPLIANCE_AMBER_MARGIN up to the target (so exactly 80% with the defaults is amber);
  red below that. An agency's overall figure adds up its levels' figures.
* After a challenge and a response the scrutineer may challenge again (responded ->
  challenged), as often as needed, or accept. A challenged return cannot be accepted until
  the agency has responded. A coordinator may reopen a submitted, challenged or responded
  return (with a reason) so its lead can correct the figures; it must then be submitted again.
  An accepted return is final.
* A return is overdue when it is not submitted after its round's due date; a response is
  overdue when a challenged return has no response after the date the challenge set. Both
  use the London date.
* Every change writes a ReturnEvent: who, when, and (for a draft save) each figure before and
  after. Challenges and responses are events, never edited. A save made from a page that
  someone else has changed since is refused rather than overwriting their work.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from flask import current_app
from sqlalchemy import and_, case, func, select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Agency, Role, User
from ..catalogue.models import Level
from ..db import MAX_ID, utcnow, write_transaction
from ..extensions import db
from ..timeutil import to_london
from .errors import (
    BadDate,
    ComplianceError,
    InvalidFigures,
    NoAgencies,
    NotAllowed,
    ReturnLocked,
    ReturnNotFound,
    RoundExists,
    RoundNotFound,
    StaleReturn,
    TextMissing,
    UnknownAgency,
)
from .models import (
    FIGURE_MAX,
    LEVELS,
    NOTES_MAX,
    SUBMITTED_STATUSES,
    TEXT_MAX,
    AgencyReturn,
    EventKind,
    ReturnEvent,
    ReturnLine,
    ReturnRound,
    ReturnStatus,
    year_label,
)

FIRST_YEAR, LAST_YEAR = 2000, 2999
FIGURES = ("staff_in_scope", "trained_in_date", "courses_delivered")


# ---------------------------------------------------------------------------
# Figures, as the forms and the services share them
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class LineFigures:
    """One level's figures as typed; None is a blank."""

    staff_in_scope: int | None = None
    trained_in_date: int | None = None
    courses_delivered: int | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Narrative:
    quality_and_impact: str | None = None
    gaps_and_plans: str | None = None


def field_name(level: Level, part: str) -> str:
    """The form field for one level's figure, e.g. 'level_1_staff_in_scope'."""
    return f"{level.name.lower()}_{part}"


def figure_errors(lines: Mapping[Level, LineFigures], narrative: Narrative, *, complete: bool) -> dict[str, str]:
    """The rules on a return's figures, as {field name: message}; `complete` for submitting."""
    errors: dict[str, str] = {}
    for level in LEVELS:
        line = lines.get(level, LineFigures())
        name = level.label
        for part, what in (("staff_in_scope", "staff in scope"), ("trained_in_date", "staff trained and in date"),
                           ("courses_delivered", "courses delivered")):
            value = getattr(line, part)
            key = field_name(level, part)
            if value is None:
                if complete:
                    errors[key] = f"Enter the number of {what} for {name}"
            elif not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors[key] = f"Enter the number of {what} for {name}, as a whole number"
            elif value > FIGURE_MAX:
                errors[key] = f"The number of {what} for {name} must be {FIGURE_MAX:,} or fewer"
        key = field_name(level, "trained_in_date")
        if key not in errors and line.trained_in_date is not None:
            if line.staff_in_scope is None:
                errors.setdefault(field_name(level, "staff_in_scope"),
                                  f"Enter the number of staff in scope for {name}")
            elif field_name(level, "staff_in_scope") not in errors and line.trained_in_date > line.staff_in_scope:
                errors[key] = f"Trained and in date for {name} cannot be more than staff in scope"
        if line.notes is not None and len(line.notes) > NOTES_MAX:
            errors[field_name(level, "notes")] = f"Notes for {name} must be {NOTES_MAX} characters or fewer"
    for part, missing in (("quality_and_impact", "Enter how you evaluate the quality and impact of training"),
                          ("gaps_and_plans", "Enter the gaps in training and your plans to close them")):
        text = getattr(narrative, part)
        if text and len(text) > TEXT_MAX:
            errors[part] = f"This must be {TEXT_MAX:,} characters or fewer"
        elif complete and not (text or "").strip():
            errors[part] = missing
    return errors


def lines_of(agency_return: AgencyReturn) -> dict[Level, LineFigures]:
    """A return's saved figures in the shape the forms and services use."""
    return {line.level: LineFigures(line.staff_in_scope, line.trained_in_date, line.courses_delivered, line.notes)
            for line in agency_return.lines}


def narrative_of(agency_return: AgencyReturn) -> Narrative:
    return Narrative(agency_return.quality_and_impact, agency_return.gaps_and_plans)


def submission_problems(agency_return: AgencyReturn) -> list[str]:
    """What stops the return being submitted, in the order of the page; empty when it can be."""
    return list(figure_errors(lines_of(agency_return), narrative_of(agency_return), complete=True).values())


# ---------------------------------------------------------------------------
# Red, amber, green and percentages
# ---------------------------------------------------------------------------

class Rag(StrEnum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"
    NONE = "none"

    @property
    def label(self) -> str:
        return {"green": "Green", "amber": "Amber", "red": "Red", "none": "No figures"}[self.value]

    @property
    def tag_class(self) -> str:
        return {"green": "govuk-tag--green", "amber": "govuk-tag--yellow", "red": "govuk-tag--red",
                "none": "govuk-tag--grey"}[self.value]


def rag(trained: int | None, in_scope: int | None, target: int | None = None, margin: int | None = None) -> Rag:
    """Green at or above the target; amber from target - margin up to it; red below."""
    if trained is None or not in_scope:
        return Rag.NONE
    if target is None:
        target = current_app.config["COMPLIANCE_TARGET_PERCENT"]
    if margin is None:
        margin = current_app.config["COMPLIANCE_AMBER_MARGIN"]
    if 100 * trained >= target * in_scope:
        return Rag.GREEN
    if 100 * trained >= (target - margin) * in_scope:
        return Rag.AMBER
    return Rag.RED


def tenths(trained: int | None, in_scope: int | None) -> int | None:
    """The compliance % in tenths of a point, rounded down; None with nobody in scope."""
    if trained is None or not in_scope:
        return None
    return (1000 * trained) // in_scope


def percent_label(value_tenths: int | None) -> str:
    """'87.5%', '90%'; 'Not applicable' when nobody is in scope."""
    if value_tenths is None:
        return "Not applicable"
    whole, tenth = divmod(value_tenths, 10)
    return f"{whole}%" if tenth == 0 else f"{whole}.{tenth}%"


def compliance_label(trained: int | None, in_scope: int | None) -> str:
    """A level's compliance as shown: 'Not given' until both figures are in; 'Not applicable' with nobody in scope."""
    if trained is None or in_scope is None:
        return "Not given"
    return percent_label(tenths(trained, in_scope))


def points_label(change_tenths: int | None) -> str:
    """A change in compliance, in percentage points: '+2.5 points', '−1 point', 'No change'."""
    if change_tenths is None:
        return "No comparison"
    if change_tenths == 0:
        return "No change"
    sign = "+" if change_tenths > 0 else "−"
    whole, tenth = divmod(abs(change_tenths), 10)
    number = f"{whole}" if tenth == 0 else f"{whole}.{tenth}"
    return f"{sign}{number} {'point' if abs(change_tenths) == 10 else 'points'}"


def target_text() -> str:
    """The thresholds in words, shown beside every red/amber/green rating."""
    target = current_app.config["COMPLIANCE_TARGET_PERCENT"]
    floor = target - current_app.config["COMPLIANCE_AMBER_MARGIN"]
    return (f"Green: {target}% or more of staff in scope trained and in date. "
            f"Amber: {floor}% or more, but below {target}%. Red: below {floor}%.")


# ---------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------

def is_lead_of(user: User, agency_return: AgencyReturn) -> bool:
    """An agency training lead whose account is at the return's agency."""
    return user.has_role(Role.AGENCY_LEAD) and user.agency_id == agency_return.agency_id


@dataclass(frozen=True)
class ReturnActions:
    """What `user` may do to a return now: the page offers exactly these forms."""

    edit: bool
    challenge: bool
    respond: bool
    accept: bool
    reopen: bool


def actions_for(user: User, agency_return: AgencyReturn) -> ReturnActions:
    """The actions the services would allow `user` on the return in its current status."""
    lead = is_lead_of(user, agency_return)
    scrutineer = user.has_role(Role.SCRUTINEER)
    return ReturnActions(
        edit=lead and agency_return.status.is_editable,
        challenge=scrutineer and agency_return.can_become(ReturnStatus.CHALLENGED),
        respond=lead and agency_return.can_become(ReturnStatus.RESPONDED),
        accept=scrutineer and agency_return.can_become(ReturnStatus.ACCEPTED),
        # Reopening sends a submitted return back to draft (a return not started is simply edited).
        reopen=user.is_coordinator and agency_return.status in SUBMITTED_STATUSES
        and agency_return.can_become(ReturnStatus.DRAFT),
    )


def may_see(user: User, agency_return: AgencyReturn) -> bool:
    """Coordinators and the scrutineer see every return; a lead sees their own agency's."""
    return user.is_coordinator or user.has_role(Role.SCRUTINEER) or is_lead_of(user, agency_return)


def may_see_figures(user: User, agency_return: AgencyReturn) -> bool:
    """Drafts are the agency's own: others see the figures once the return is submitted."""
    return is_lead_of(user, agency_return) or (may_see(user, agency_return) and agency_return.status.is_submitted)


def may_use_returns(user: User) -> bool:
    return any(user.has_role(r) for r in (Role.AGENCY_LEAD, Role.SCRUTINEER, Role.COORDINATOR))


def _is_id(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def get_return(return_id: int, user: User) -> AgencyReturn:
    """A return the person may see; ReturnNotFound otherwise (so ids cannot be probed)."""
    agency_return = db.session.get(AgencyReturn, return_id) if _is_id(return_id) else None
    if agency_return is None or not may_see(user, agency_return):
        raise ReturnNotFound()
    return agency_return


def get_round(round_id: int) -> ReturnRound:
    found = db.session.get(ReturnRound, round_id) if _is_id(round_id) else None
    if found is None:
        raise RoundNotFound()
    return found


def _return_for_update(return_id: int, actor: User) -> AgencyReturn:
    if not _is_id(return_id):
        raise ReturnNotFound()
    agency_return = db.session.execute(
        select(AgencyReturn).where(AgencyReturn.id == return_id).with_for_update(of=AgencyReturn)
        .execution_options(populate_existing=True)
    ).unique().scalar_one_or_none()
    if agency_return is None or not may_see(actor, agency_return):
        raise ReturnNotFound()
    return agency_return


def _require_lead(actor: User, agency_return: AgencyReturn, what: str) -> None:
    if not is_lead_of(actor, agency_return):
        raise NotAllowed(f"Only the agency's training lead can {what}")


def _require_scrutineer(actor: User, what: str) -> None:
    if not actor.has_role(Role.SCRUTINEER):
        raise NotAllowed(f"Only the Independent Scrutineer can {what}")


def _require_coordinator(actor: User, what: str) -> None:
    if not actor.is_coordinator:
        raise NotAllowed(f"Only a coordinator can {what}")


def _text(value: str | None, missing: str, field_name_: str) -> str:
    text = (value or "").strip()
    if not text:
        raise TextMissing(missing, field=field_name_)
    if len(text) > TEXT_MAX:
        raise TextMissing(f"This must be {TEXT_MAX:,} characters or fewer", field=field_name_)
    return text


def _event(agency_return: AgencyReturn, kind: EventKind, actor: User | None, now: datetime, **values) -> ReturnEvent:
    event = ReturnEvent(return_id=agency_return.id, kind=kind, actor_id=actor.id if actor else None,
                        occurred_at=now, **values)
    db.session.add(event)
    return event


def _new_return(round_: ReturnRound, agency_id: int, actor: User, now: datetime) -> AgencyReturn:
    agency_return = AgencyReturn(round=round_, agency_id=agency_id, created_at=now, updated_at=now,
                                 lines=[ReturnLine(level=level, position=i) for i, level in enumerate(LEVELS)])
    db.session.add(agency_return)
    db.session.flush()
    _event(agency_return, EventKind.OPENED, actor, now)
    return agency_return


def _agencies(agency_ids: Sequence[int]) -> list[int]:
    ids = sorted(set(agency_ids))
    if not ids:
        raise NoAgencies()
    if not all(_is_id(i) for i in ids):
        raise UnknownAgency()
    found = set(db.session.scalars(select(Agency.id).where(Agency.id.in_(ids))))
    if found != set(ids):
        raise UnknownAgency()
    return ids


# ---------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------

def open_round(year: int, due_on: date, agency_ids: Sequence[int], actor: User,
               now: datetime | None = None) -> ReturnRound:
    """A coordinator opens the round for a financial year, with one return for each agency chosen."""
    now = now or utcnow()
    _require_coordinator(actor, "open a return round")
    if not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ComplianceError("Enter the year the financial year starts, like 2025", field="year")
    if not isinstance(due_on, date):
        raise BadDate("Enter the date the returns are due", field="due_on")
    try:
        with write_transaction():
            if db.session.scalar(select(ReturnRound.id).where(ReturnRound.year == year)) is not None:
                raise RoundExists(year_label(year))
            ids = _agencies(agency_ids)
            round_ = ReturnRound(year=year, due_on=due_on, opened_by_id=actor.id, opened_at=now)
            db.session.add(round_)
            db.session.flush()
            for agency_id in ids:
                _new_return(round_, agency_id, actor, now)
    except IntegrityError:
        # Two coordinators opened the same year at once: the unique index kept one.
        raise RoundExists(year_label(year)) from None
    return round_


def add_agencies(round_id: int, agency_ids: Sequence[int], actor: User, now: datetime | None = None) -> list[int]:
    """Add agencies to a round that is already open; each gets its own return."""
    now = now or utcnow()
    _require_coordinator(actor, "add agencies to a return round")
    try:
        with write_transaction():
            if not _is_id(round_id):
                raise RoundNotFound()
            round_ = db.session.execute(
                select(ReturnRound).where(ReturnRound.id == round_id).with_for_update()
            ).scalar_one_or_none()
            if round_ is None:
                raise RoundNotFound()
            ids = _agencies(agency_ids)
            present = set(db.session.scalars(select(AgencyReturn.agency_id).where(AgencyReturn.round_id == round_id)))
            if present & set(ids):
                raise UnknownAgency("An agency you selected already has a return in this round")
            created = [_new_return(round_, agency_id, actor, now).id for agency_id in ids]
    except IntegrityError:
        raise UnknownAgency("An agency you selected already has a return in this round") from None
    return created


def _changes(agency_return: AgencyReturn, lines: Mapping[Level, LineFigures], narrative: Narrative) -> dict:
    changes: dict = {}
    line_changes: dict = {}
    for line in agency_return.lines:
        wanted = lines.get(line.level, LineFigures())
        diff = {}
        for part in (*FIGURES, "notes"):
            before, after = getattr(line, part), getattr(wanted, part)
            if part == "notes":
                after = (after or "").strip() or None
            if before != after:
                diff[part] = [before, after]
        if diff:
            line_changes[line.level.value] = diff
    if line_changes:
        changes["lines"] = line_changes
    for part in ("quality_and_impact", "gaps_and_plans"):
        before = getattr(agency_return, part)
        after = (getattr(narrative, part) or "").strip() or None
        if before != after:
            changes[part] = [before, after]
    return changes


def save_draft(return_id: int, lines: Mapping[Level, LineFigures], narrative: Narrative, actor: User,
               now: datetime | None = None, expected_version: int | None = None) -> AgencyReturn:
    """The agency's lead saves the figures and narrative; blanks are allowed until submission.

    Records what changed (before and after) in the history; a save that changes nothing
    writes nothing.
    """
    now = now or utcnow()
    with write_transaction():
        agency_return = _return_for_update(return_id, actor)
        _require_lead(actor, agency_return, "change the return's figures")
        if not agency_return.status.is_editable:
            raise ReturnLocked()
        if expected_version is not None and expected_version != agency_return.version:
            raise StaleReturn()
        errors = figure_errors(lines, narrative, complete=False)
        if errors:
            raise InvalidFigures(errors)
        changes = _changes(agency_return, lines, narrative)
        if not changes:
            return agency_return
        for line in agency_return.lines:
            wanted = lines.get(line.level, LineFigures())
            for part in FIGURES:
                setattr(line, part, getattr(wanted, part))
            line.notes = (wanted.notes or "").strip() or None
        agency_return.quality_and_impact = (narrative.quality_and_impact or "").strip() or None
        agency_return.gaps_and_plans = (narrative.gaps_and_plans or "").strip() or None
        if agency_return.status == ReturnStatus.NOT_STARTED:
            agency_return.move_to(ReturnStatus.DRAFT, now)
        else:
            agency_return.version += 1
            agency_return.updated_at = now
        _event(agency_return, EventKind.SAVED, actor, now, changes=changes)
    return agency_return


def submit(return_id: int, actor: User, now: datetime | None = None,
           expected_version: int | None = None) -> AgencyReturn:
    """The lead submits a complete draft; from then on it is read-only to them."""
    now = now or utcnow()
    with write_transaction():
        agency_return = _return_for_update(return_id, actor)
        _require_lead(actor, agency_return, "submit the return")
        if expected_version is not None and expected_version != agency_return.version:
            raise StaleReturn("The return changed after you checked it. Check the figures again before you submit")
        if agency_return.status == ReturnStatus.DRAFT:
            problems = figure_errors(lines_of(agency_return), narrative_of(agency_return), complete=True)
            if problems:
                raise InvalidFigures(problems)
        agency_return.move_to(ReturnStatus.SUBMITTED, now)
        agency_return.submitted_at = now
        agency_return.submitted_by_id = actor.id
        _event(agency_return, EventKind.SUBMITTED, actor, now)
    return agency_return


def challenge(return_id: int, text: str, response_due_on: date | None, actor: User,
              now: datetime | None = None) -> AgencyReturn:
    """The Independent Scrutineer challenges a submitted (or responded) return and sets a response date."""
    now = now or utcnow()
    _require_scrutineer(actor, "challenge a return")
    text = _text(text, "Enter your challenge", "text")
    if not isinstance(response_due_on, date):
        raise BadDate("Enter the date the response is due", field="response_due_on")
    if response_due_on < to_london(now).date():
        raise BadDate("The date the response is due must be today or in the future", field="response_due_on")
    with write_transaction():
        agency_return = _return_for_update(return_id, actor)
        agency_return.move_to(ReturnStatus.CHALLENGED, now)
        agency_return.response_due_on = response_due_on
        _event(agency_return, EventKind.CHALLENGED, actor, now, text=text, response_due_on=response_due_on)
    return agency_return


def respond(return_id: int, text: str, actor: User, now: datetime | None = None) -> AgencyReturn:
    """The agency's lead responds to the latest challenge."""
    now = now or utcnow()
    with write_transaction():
        agency_return = _return_for_update(return_id, actor)
        _require_lead(actor, agency_return, "respond to a challenge")
        text = _text(text, "Enter your response to the challenge", "text")
        agency_return.move_to(ReturnStatus.RESPONDED, now)
        _event(agency_return, EventKind.RESPONDED, actor, now, text=text)
    return agency_return


def accept(return_id: int, actor: User, now: datetime | None = None) -> AgencyReturn:
    """The Independent Scrutineer accepts a submitted or responded return: it is then final."""
    now = now or utcnow()
    _require_scrutineer(actor, "accept a return")
    with write_transaction():
        agency_return = _return_for_update(return_id, actor)
        agency_return.move_to(ReturnStatus.ACCEPTED, now)
        agency_return.accepted_at = now
        agency_return.accepted_by_id = actor.id
        _event(agency_return, EventKind.ACCEPTED, actor, now)
    return agency_return


def reopen(return_id: int, reason: str, actor: User, now: datetime | None = None) -> AgencyReturn:
    """A coordinator sends a submitted return back to draft so its lead can correct it."""
    now = now or utcnow()
    _require_coordinator(actor, "reopen a return")
    reason = _text(reason, "Enter why the return is being reopened", "reason")
    with write_transaction():
        agency_return = _return_for_update(return_id, actor)
        agency_return.move_to(ReturnStatus.DRAFT, now)
        agency_return.submitted_at = None
        agency_return.submitted_by_id = None
        agency_return.response_due_on = None
        _event(agency_return, EventKind.REOPENED, actor, now, text=reason)
    return agency_return


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------

def history(return_id: int) -> list[ReturnEvent]:
    """A return's history, oldest first, with who did each thing."""
    from sqlalchemy.orm import joinedload

    return list(db.session.scalars(
        select(ReturnEvent).where(ReturnEvent.return_id == return_id)
        .options(joinedload(ReturnEvent.actor)).order_by(ReturnEvent.occurred_at, ReturnEvent.id)
    ))


@dataclass(frozen=True)
class Change:
    """One figure or text changed by a draft save, for the history."""

    what: str
    before: str
    after: str


_PART_WORDS = {"staff_in_scope": "staff in scope", "trained_in_date": "trained and in date",
               "courses_delivered": "courses delivered", "notes": "notes"}
_NARRATIVE_WORDS = {"quality_and_impact": "How training quality and impact are evaluated",
                    "gaps_and_plans": "Gaps and plans"}


def _shown(value) -> str:
    return "blank" if value is None or value == "" else str(value)


def describe_changes(changes: dict | None) -> list[Change]:
    """A draft save's recorded changes in words, in the order of the proforma."""
    if not changes:
        return []
    out = []
    lines = changes.get("lines") or {}
    for level in LEVELS:
        for part in (*FIGURES, "notes"):
            pair = (lines.get(level.value) or {}).get(part)
            if pair:
                out.append(Change(f"{level.label}, {_PART_WORDS[part]}", _shown(pair[0]), _shown(pair[1])))
    for part, words in _NARRATIVE_WORDS.items():
        pair = changes.get(part)
        if pair:
            out.append(Change(words, _shown(pair[0]), _shown(pair[1])))
    return out


def latest_challenge(events: Sequence[ReturnEvent]) -> ReturnEvent | None:
    return next((e for e in reversed(events) if e.kind == EventKind.CHALLENGED), None)


def rounds() -> list[ReturnRound]:
    """Every round, newest first."""
    return list(db.session.scalars(select(ReturnRound).order_by(ReturnRound.year.desc())))


def returns_for_lead(user: User) -> list[AgencyReturn]:
    """The returns of the lead's own agency, newest round first."""
    if not user.has_role(Role.AGENCY_LEAD):
        return []
    return list(db.session.scalars(
        select(AgencyReturn).join(ReturnRound).where(AgencyReturn.agency_id == user.agency_id)
        .order_by(ReturnRound.year.desc())
    ).unique())


def awaiting_scrutiny() -> list[AgencyReturn]:
    """Returns waiting for the Independent Scrutineer: submitted, or answered after a challenge."""
    return list(db.session.scalars(
        select(AgencyReturn).join(ReturnRound).join(Agency, Agency.id == AgencyReturn.agency_id)
        .where(AgencyReturn.status.in_([ReturnStatus.SUBMITTED, ReturnStatus.RESPONDED]))
        .order_by(ReturnRound.year.desc(), Agency.name)
    ).unique())


def agencies_not_in_round(round_id: int) -> list[Agency]:
    present = select(AgencyReturn.agency_id).where(AgencyReturn.round_id == round_id)
    return list(db.session.scalars(
        select(Agency).where(Agency.active.is_(True), Agency.id.not_in(present)).order_by(Agency.name)))


def active_agencies() -> list[Agency]:
    return list(db.session.scalars(select(Agency).where(Agency.active.is_(True)).order_by(Agency.name)))


@dataclass(frozen=True)
class OverviewRow:
    """One agency's return in a round, with its figures if submitted and last year's."""

    return_id: int
    agency_id: int
    agency: str
    status: ReturnStatus
    trained: int | None  # None until the return is submitted
    in_scope: int | None
    rag: Rag
    response_due_on: date | None
    previous_tenths: int | None = None  # last year's compliance, if that return was submitted

    @property
    def percent_tenths(self) -> int | None:
        return tenths(self.trained, self.in_scope)

    @property
    def percent_label(self) -> str:
        if self.trained is None:
            return "Not submitted"
        return percent_label(self.percent_tenths)

    @property
    def previous_label(self) -> str:
        return "No figures" if self.previous_tenths is None else percent_label(self.previous_tenths)

    @property
    def change_tenths(self) -> int | None:
        if self.percent_tenths is None or self.previous_tenths is None:
            return None
        return self.percent_tenths - self.previous_tenths

    @property
    def change_label(self) -> str:
        return points_label(self.change_tenths)


@dataclass(frozen=True)
class Overdue:
    row: OverviewRow
    due_on: date
    days: int


@dataclass
class ComplianceOverview:
    """Everything the overview page, its exports and the summary PDF section show."""

    round: ReturnRound
    today: date
    rows: list[OverviewRow]
    overdue_returns: list[Overdue]
    overdue_responses: list[Overdue]
    previous_round: ReturnRound | None
    target: int
    margin: int
    chart: object | None = None  # a training.reports.charts.Chart, for the PDF section
    counts: dict[ReturnStatus, int] = field(default_factory=dict)

    @property
    def submitted_rows(self) -> list[OverviewRow]:
        return [r for r in self.rows if r.trained is not None]

    @property
    def total_trained(self) -> int:
        return sum(r.trained for r in self.submitted_rows)

    @property
    def total_in_scope(self) -> int:
        return sum(r.in_scope for r in self.submitted_rows)

    @property
    def total_label(self) -> str:
        return percent_label(tenths(self.total_trained, self.total_in_scope)) if self.submitted_rows else "No figures"

    @property
    def total_rag(self) -> Rag:
        return rag(self.total_trained, self.total_in_scope, self.target, self.margin)

    @property
    def floor(self) -> int:
        return self.target - self.margin


def _figures_by_return(round_id: int) -> list:
    """Each return of a round with its totals, in one GROUP BY query."""
    counted = and_(ReturnLine.staff_in_scope.is_not(None), ReturnLine.trained_in_date.is_not(None))
    trained = func.coalesce(func.sum(case((counted, ReturnLine.trained_in_date), else_=0)), 0)
    in_scope = func.coalesce(func.sum(case((counted, ReturnLine.staff_in_scope), else_=0)), 0)
    stmt = (
        select(AgencyReturn.id, AgencyReturn.agency_id, Agency.name, AgencyReturn.status,
               AgencyReturn.response_due_on, trained.label("trained"), in_scope.label("in_scope"))
        .join(Agency, Agency.id == AgencyReturn.agency_id)
        .outerjoin(ReturnLine, ReturnLine.return_id == AgencyReturn.id)
        .where(AgencyReturn.round_id == round_id)
        .group_by(AgencyReturn.id, AgencyReturn.agency_id, Agency.name, AgencyReturn.status,
                  AgencyReturn.response_due_on)
        .order_by(Agency.name, AgencyReturn.id)
    )
    return list(db.session.execute(stmt))


def overview(round_id: int, now: datetime | None = None) -> ComplianceOverview:
    """Every agency's status and compliance in a round, the overdue lists and last year's figures."""
    round_ = get_round(round_id)
    today = to_london(now or utcnow()).date()
    cfg = current_app.config
    target, margin = cfg["COMPLIANCE_TARGET_PERCENT"], cfg["COMPLIANCE_AMBER_MARGIN"]
    previous_round = db.session.scalar(select(ReturnRound).where(ReturnRound.year == round_.year - 1))
    previous: dict[int, int | None] = {}
    if previous_round is not None:
        for row in _figures_by_return(previous_round.id):
            if ReturnStatus(row.status) in SUBMITTED_STATUSES:
                previous[row.agency_id] = tenths(row.trained, row.in_scope)
    rows = []
    for row in _figures_by_return(round_.id):
        status = ReturnStatus(row.status)
        submitted = status in SUBMITTED_STATUSES
        trained = int(row.trained) if submitted else None
        in_scope = int(row.in_scope) if submitted else None
        rows.append(OverviewRow(
            return_id=row.id, agency_id=row.agency_id, agency=row.name, status=status, trained=trained,
            in_scope=in_scope, rag=rag(trained, in_scope, target, margin), response_due_on=row.response_due_on,
            previous_tenths=previous.get(row.agency_id),
        ))
    overdue_returns = [Overdue(r, round_.due_on, (today - round_.due_on).days)
                       for r in rows if not r.status.is_submitted and today > round_.due_on]
    overdue_responses = [Overdue(r, r.response_due_on, (today - r.response_due_on).days)
                         for r in rows if r.status == ReturnStatus.CHALLENGED and r.response_due_on is not None
                         and today > r.response_due_on]
    counts = {status: sum(1 for r in rows if r.status == status) for status in ReturnStatus}
    return ComplianceOverview(round=round_, today=today, rows=rows, overdue_returns=overdue_returns,
                              overdue_responses=overdue_responses, previous_round=previous_round,
                              target=target, margin=margin, counts=counts)


def compliance_chart(view: ComplianceOverview):
    """A horizontal bar chart of each submitted agency's compliance %, drawn as the reports are."""
    from ..reports.charts import bar_chart

    rows = [(r.agency, r.percent_tenths // 10, r.percent_label) for r in view.submitted_rows
            if r.percent_tenths is not None]
    return bar_chart(rows, subject=f"compliance by agency, {view.round.label}", axis_title="Compliance (%)")


def summary_section(period_or_year, now: datetime | None = None) -> ComplianceOverview | None:
    """The overview for the subgroup summary PDF: the round of the financial year the period
    starts in (a year, or anything with a `first` date); None when there is no such round."""
    if isinstance(period_or_year, int) and not isinstance(period_or_year, bool):
        year = period_or_year
    else:
        first = getattr(period_or_year, "first", period_or_year)
        if not isinstance(first, date):
            raise TypeError("summary_section takes a year or a period with a `first` date")
        year = first.year if first.month >= 4 else first.year - 1
    round_id = db.session.scalar(select(ReturnRound.id).where(ReturnRound.year == year))
    if round_id is None:
        return None
    view = overview(round_id, now)
    view.chart = compliance_chart(view)
    return view
