"""The return workflow in the services: every step, every illegal step, permissions and history."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from tests.compliance.helpers import (
    NARRATIVE,
    coordinator,
    lead_of,
    lines,
    open_round,
    reload,
    return_for,
    scrutineer,
    submitted,
)
from tests.factories import AgencyFactory, TrainerFactory, UserFactory
from training.catalogue.models import Level
from training.compliance import services
from training.compliance.errors import (
    BadDate,
    InvalidFigures,
    InvalidTransition,
    NoAgencies,
    NotAllowed,
    ReturnLocked,
    ReturnNotFound,
    RoundExists,
    StaleReturn,
    TextMissing,
    UnknownAgency,
)
from training.compliance.models import AgencyReturn, EventKind, ReturnEvent, ReturnLine, ReturnStatus
from training.compliance.services import LineFigures, Narrative, ReturnActions, actions_for
from training.extensions import db

NOW = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def agency():
    return AgencyFactory(name="Thameside Primary School")


@pytest.fixture
def other_agency():
    return AgencyFactory(name="Thameside Health Visiting")


@pytest.fixture
def lead(agency):
    return lead_of(agency)


@pytest.fixture
def other_lead(other_agency):
    return lead_of(other_agency)


@pytest.fixture
def the_scrutineer():
    return scrutineer()


@pytest.fixture
def round_(agency, other_agency):
    return open_round(2025, [agency, other_agency])


@pytest.fixture
def ret(round_, agency) -> AgencyReturn:
    return return_for(round_, agency)


def events(return_id) -> list[ReturnEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(ReturnEvent).where(ReturnEvent.return_id == return_id)
                                   .order_by(ReturnEvent.id)))


# ---------------------------------------------------------------------------
# Opening a round
# ---------------------------------------------------------------------------

def test_opening_a_round_creates_a_return_per_agency_with_a_line_per_level(round_, agency, other_agency):
    assert round_.label == "2025 to 2026"
    returns = db.session.scalars(select(AgencyReturn).where(AgencyReturn.round_id == round_.id)).all()
    assert sorted(r.agency_id for r in returns) == sorted([agency.id, other_agency.id])
    for r in returns:
        assert r.status == ReturnStatus.NOT_STARTED
        assert [line.level for line in r.lines] == list(Level)
        assert [e.kind for e in events(r.id)] == [EventKind.OPENED]


def test_only_a_coordinator_opens_a_round(agency):
    for actor in (UserFactory(), TrainerFactory(), lead_of(agency), scrutineer()):
        with pytest.raises(NotAllowed):
            services.open_round(2025, date(2026, 6, 30), [agency.id], actor)
    assert db.session.scalar(select(func.count()).select_from(AgencyReturn)) == 0


def test_a_year_has_one_round(round_, agency):
    with pytest.raises(RoundExists) as err:
        services.open_round(2025, date(2026, 7, 1), [agency.id], coordinator())
    assert err.value.message == "A return round for 2025 to 2026 already exists"


def test_a_round_needs_known_agencies(agency):
    with pytest.raises(NoAgencies):
        services.open_round(2025, date(2026, 6, 30), [], coordinator())
    with pytest.raises(UnknownAgency):
        services.open_round(2025, date(2026, 6, 30), [agency.id, 999_999], coordinator())
    assert db.session.scalar(select(func.count()).select_from(AgencyReturn)) == 0


def test_agencies_can_be_added_later_but_not_twice(round_, agency):
    late = AgencyFactory(name="Late agency")
    created = services.add_agencies(round_.id, [late.id], coordinator())
    assert return_for(round_, late).id == created[0]
    with pytest.raises(UnknownAgency):
        services.add_agencies(round_.id, [agency.id], coordinator())
    with pytest.raises(NotAllowed):
        services.add_agencies(round_.id, [AgencyFactory().id], scrutineer())


def test_the_database_refuses_a_second_return_for_an_agency_in_a_round(round_, agency):
    db.session.add(AgencyReturn(round_id=round_.id, agency_id=agency.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# ---------------------------------------------------------------------------
# The whole workflow
# ---------------------------------------------------------------------------

def test_the_workflow_from_draft_to_accepted_with_two_challenges(ret, lead, the_scrutineer):
    services.save_draft(ret.id, lines(in_scope=None, trained=None, courses=None), Narrative("Forms", None), lead, NOW)
    assert reload(ret.id).status == ReturnStatus.DRAFT
    services.save_draft(ret.id, lines(), NARRATIVE, lead, NOW)
    services.submit(ret.id, lead, NOW)
    r = reload(ret.id)
    assert r.status == ReturnStatus.SUBMITTED and r.submitted_by_id == lead.id and r.submitted_at == NOW

    services.challenge(ret.id, "Why is Level 3 at 90%?", date(2026, 6, 1), the_scrutineer, NOW)
    assert reload(ret.id).status == ReturnStatus.CHALLENGED
    assert reload(ret.id).response_due_on == date(2026, 6, 1)
    services.respond(ret.id, "Two sessions are booked", lead, NOW)
    assert reload(ret.id).status == ReturnStatus.RESPONDED
    services.challenge(ret.id, "When exactly?", date(2026, 6, 15), the_scrutineer, NOW)
    services.respond(ret.id, "September and October", lead, NOW)
    services.accept(ret.id, the_scrutineer, NOW)
    r = reload(ret.id)
    assert r.status == ReturnStatus.ACCEPTED and r.accepted_by_id == the_scrutineer.id

    history = events(ret.id)
    assert [e.kind for e in history] == [
        EventKind.OPENED, EventKind.SAVED, EventKind.SAVED, EventKind.SUBMITTED, EventKind.CHALLENGED,
        EventKind.RESPONDED, EventKind.CHALLENGED, EventKind.RESPONDED, EventKind.ACCEPTED]
    # Challenges and responses are kept, each with who wrote it and the date set.
    texts = [(e.kind, e.text, e.actor_id, e.response_due_on) for e in history if e.text]
    assert texts == [
        (EventKind.CHALLENGED, "Why is Level 3 at 90%?", the_scrutineer.id, date(2026, 6, 1)),
        (EventKind.RESPONDED, "Two sessions are booked", lead.id, None),
        (EventKind.CHALLENGED, "When exactly?", the_scrutineer.id, date(2026, 6, 15)),
        (EventKind.RESPONDED, "September and October", lead.id, None),
    ]


def test_the_scrutineer_can_accept_without_a_challenge(ret, lead, the_scrutineer):
    submitted(ret, lead)
    services.accept(ret.id, the_scrutineer)
    assert reload(ret.id).status == ReturnStatus.ACCEPTED


# ---------------------------------------------------------------------------
# Illegal steps
# ---------------------------------------------------------------------------

def test_responding_before_a_challenge_is_refused(ret, lead):
    with pytest.raises(InvalidTransition) as err:
        services.respond(ret.id, "Pre-emptive answer", lead)
    assert "once the Independent Scrutineer has challenged" in err.value.message
    submitted(ret, lead)
    with pytest.raises(InvalidTransition):
        services.respond(ret.id, "Pre-emptive answer", lead)
    assert reload(ret.id).status == ReturnStatus.SUBMITTED
    assert EventKind.RESPONDED not in [e.kind for e in events(ret.id)]


def test_editing_after_submission_is_refused_and_changes_nothing(ret, lead, the_scrutineer):
    submitted(ret, lead)
    # Refused when submitted, and still refused once challenged (a response is text, not figures).
    for step in (None, lambda: services.challenge(ret.id, "Explain", date(2030, 1, 1), the_scrutineer)):
        if step:
            step()
        with pytest.raises(ReturnLocked) as err:
            services.save_draft(ret.id, lines(in_scope=5, trained=5), NARRATIVE, lead)
        assert err.value.message == "This return has been submitted and can no longer be changed"
    assert {line.staff_in_scope for line in reload(ret.id).lines} == {100}
    assert [e.kind for e in events(ret.id)].count(EventKind.SAVED) == 1


def test_challenging_or_accepting_a_draft_is_refused(ret, lead, the_scrutineer):
    with pytest.raises(InvalidTransition) as err:
        services.challenge(ret.id, "Too early", date(2030, 1, 1), the_scrutineer)
    assert err.value.message == "A return can only be challenged once the agency has submitted it"
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    with pytest.raises(InvalidTransition):
        services.challenge(ret.id, "Too early", date(2030, 1, 1), the_scrutineer)
    with pytest.raises(InvalidTransition) as err:
        services.accept(ret.id, the_scrutineer)
    assert err.value.message == "A return can only be accepted once the agency has submitted it"
    assert reload(ret.id).status == ReturnStatus.DRAFT


def test_a_challenged_return_waits_for_the_response(ret, lead, the_scrutineer):
    submitted(ret, lead)
    services.challenge(ret.id, "Explain", date(2030, 1, 1), the_scrutineer)
    with pytest.raises(InvalidTransition):
        services.accept(ret.id, the_scrutineer)
    with pytest.raises(InvalidTransition):
        services.challenge(ret.id, "And another thing", date(2030, 1, 1), the_scrutineer)
    assert reload(ret.id).status == ReturnStatus.CHALLENGED


def test_an_accepted_return_is_final(ret, lead, the_scrutineer):
    submitted(ret, lead)
    services.accept(ret.id, the_scrutineer)
    for action in (lambda: services.challenge(ret.id, "Late", date(2030, 1, 1), the_scrutineer),
                   lambda: services.respond(ret.id, "Late", lead),
                   lambda: services.accept(ret.id, the_scrutineer),
                   lambda: services.reopen(ret.id, "Typo", coordinator()),
                   lambda: services.submit(ret.id, lead)):
        with pytest.raises(InvalidTransition) as err:
            action()
        assert err.value.message == "This return has been accepted and can no longer be changed"
    with pytest.raises(ReturnLocked):
        services.save_draft(ret.id, lines(), NARRATIVE, lead)


def test_submitting_needs_a_complete_draft(ret, lead):
    with pytest.raises(InvalidTransition) as err:
        services.submit(ret.id, lead)
    assert err.value.message == "Save the figures as a draft before you submit the return"
    services.save_draft(ret.id, lines(dsl=LineFigures(10, None, 1)), Narrative("Forms", ""), lead)
    with pytest.raises(InvalidFigures) as err:
        services.submit(ret.id, lead)
    assert err.value.errors == {
        "dsl_trained_in_date": "Enter the number of staff trained and in date for Designated safeguarding lead (DSL)",
        "gaps_and_plans": "Enter the gaps in training and your plans to close them",
    }
    assert reload(ret.id).status == ReturnStatus.DRAFT
    submitted(ret, lead)
    with pytest.raises(InvalidTransition) as err:
        services.submit(ret.id, lead)
    assert err.value.message == "This return has already been submitted"


def test_a_challenge_needs_text_and_a_date_not_in_the_past(ret, lead, the_scrutineer):
    submitted(ret, lead)
    with pytest.raises(TextMissing):
        services.challenge(ret.id, "   ", date(2030, 1, 1), the_scrutineer, NOW)
    with pytest.raises(BadDate):
        services.challenge(ret.id, "Explain", None, the_scrutineer, NOW)
    with pytest.raises(BadDate) as err:
        services.challenge(ret.id, "Explain", date(2026, 4, 30), the_scrutineer, NOW)
    assert err.value.message == "The date the response is due must be today or in the future"
    services.challenge(ret.id, "Explain", date(2026, 5, 1), the_scrutineer, NOW)  # today is fine
    with pytest.raises(TextMissing):
        services.respond(ret.id, "", lead)


def test_reopening_sends_a_submitted_return_back_to_its_lead(ret, lead, the_scrutineer):
    submitted(ret, lead)
    services.challenge(ret.id, "Level 2 looks wrong", date(2030, 1, 1), the_scrutineer)
    with pytest.raises(NotAllowed):
        services.reopen(ret.id, "Typo", lead)
    with pytest.raises(TextMissing):
        services.reopen(ret.id, "", coordinator())
    services.reopen(ret.id, "Level 2 was typed in the wrong row", coordinator())
    r = reload(ret.id)
    assert r.status == ReturnStatus.DRAFT and r.submitted_at is None and r.response_due_on is None
    services.save_draft(ret.id, lines(in_scope=120, trained=110), NARRATIVE, lead)
    services.submit(ret.id, lead)
    kinds = [e.kind for e in events(ret.id)]
    assert kinds[-4:] == [EventKind.CHALLENGED, EventKind.REOPENED, EventKind.SAVED, EventKind.SUBMITTED]
    reopened = [e for e in events(ret.id) if e.kind == EventKind.REOPENED]
    assert reopened[0].text == "Level 2 was typed in the wrong row"
    # A draft cannot be reopened.
    services.reopen(ret.id, "Again", coordinator())
    with pytest.raises(InvalidTransition):
        services.reopen(ret.id, "Again", coordinator())


# ---------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------

def test_a_lead_of_another_agency_can_neither_see_nor_change_the_return(ret, lead, other_lead, the_scrutineer):
    with pytest.raises(ReturnNotFound):
        services.get_return(ret.id, other_lead)
    with pytest.raises(ReturnNotFound):
        services.save_draft(ret.id, lines(), NARRATIVE, other_lead)
    submitted(ret, lead)
    with pytest.raises(ReturnNotFound):
        services.submit(ret.id, other_lead)
    services.challenge(ret.id, "Explain", date(2030, 1, 1), the_scrutineer)
    with pytest.raises(ReturnNotFound):
        services.respond(ret.id, "Not mine", other_lead)
    assert reload(ret.id).status == ReturnStatus.CHALLENGED


def test_the_scrutineer_and_coordinators_cannot_edit_the_figures(ret, lead, the_scrutineer):
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    for actor in (the_scrutineer, coordinator()):
        with pytest.raises(NotAllowed) as err:
            services.save_draft(ret.id, lines(in_scope=1, trained=1), NARRATIVE, actor)
        assert err.value.message == "Only the agency's training lead can change the return's figures"
        with pytest.raises(NotAllowed):
            services.submit(ret.id, actor)
    assert {line.staff_in_scope for line in reload(ret.id).lines} == {100}
    assert reload(ret.id).status == ReturnStatus.DRAFT


def test_only_the_scrutineer_challenges_and_accepts(ret, lead):
    submitted(ret, lead)
    for actor in (lead, coordinator(), UserFactory()):
        with pytest.raises(NotAllowed):
            services.challenge(ret.id, "Explain", date(2030, 1, 1), actor)
        with pytest.raises(NotAllowed):
            services.accept(ret.id, actor)
    assert reload(ret.id).status == ReturnStatus.SUBMITTED


def test_professionals_and_trainers_never_find_a_return(ret):
    for actor in (UserFactory(agency=ret.agency), TrainerFactory()):
        with pytest.raises(ReturnNotFound):
            services.get_return(ret.id, actor)
        with pytest.raises(ReturnNotFound):
            services.save_draft(ret.id, lines(), NARRATIVE, actor)


def test_drafts_are_private_to_the_agency_until_submitted(ret, lead, the_scrutineer):
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    r = reload(ret.id)
    assert services.may_see_figures(lead, r)
    assert not services.may_see_figures(the_scrutineer, r)
    assert not services.may_see_figures(coordinator(), r)
    services.submit(ret.id, lead)
    assert services.may_see_figures(the_scrutineer, reload(ret.id))


# ---------------------------------------------------------------------------
# Figures and history
# ---------------------------------------------------------------------------

def test_trained_cannot_be_more_than_in_scope(ret, lead):
    with pytest.raises(InvalidFigures) as err:
        services.save_draft(ret.id, lines(level_2=LineFigures(10, 11, 0)), NARRATIVE, lead)
    assert err.value.errors == {"level_2_trained_in_date": "Trained and in date for Level 2 cannot be more than staff in scope"}
    with pytest.raises(InvalidFigures) as err:
        services.save_draft(ret.id, lines(level_1=LineFigures(None, 3, None)), NARRATIVE, lead)
    assert err.value.errors == {"level_1_staff_in_scope": "Enter the number of staff in scope for Level 1"}
    with pytest.raises(InvalidFigures):
        services.save_draft(ret.id, lines(level_1=LineFigures(-1, None, None)), NARRATIVE, lead)
    assert reload(ret.id).status == ReturnStatus.NOT_STARTED


def test_the_database_refuses_trained_above_in_scope(ret):
    line = db.session.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id)).first()
    line.staff_in_scope, line.trained_in_date = 5, 6
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    line = db.session.scalars(select(ReturnLine).where(ReturnLine.return_id == ret.id)).first()
    line.staff_in_scope, line.trained_in_date = -1, None
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_a_draft_save_records_each_figure_before_and_after(ret, lead):
    other_lead_same_agency = lead_of(ret.agency)
    services.save_draft(ret.id, lines(), NARRATIVE, lead, NOW)
    services.save_draft(ret.id, lines(level_3=LineFigures(100, 75, 4, "Backlog after restructure")),
                        Narrative(NARRATIVE.quality_and_impact, "New plan"), other_lead_same_agency, NOW)
    saves = [e for e in events(ret.id) if e.kind == EventKind.SAVED]
    assert len(saves) == 2
    assert saves[0].actor_id == lead.id
    assert saves[0].changes["lines"]["level-1"] == {
        "staff_in_scope": [None, 100], "trained_in_date": [None, 90], "courses_delivered": [None, 4]}
    assert saves[1].actor_id == other_lead_same_agency.id
    assert saves[1].changes == {
        "lines": {"level-3": {"trained_in_date": [90, 75], "notes": [None, "Backlog after restructure"]}},
        "gaps_and_plans": [NARRATIVE.gaps_and_plans, "New plan"],
    }
    words = [(c.what, c.before, c.after) for c in services.describe_changes(saves[1].changes)]
    assert words == [("Level 3, trained and in date", "90", "75"),
                     ("Level 3, notes", "blank", "Backlog after restructure"),
                     ("Gaps and plans", NARRATIVE.gaps_and_plans, "New plan")]


def test_a_save_that_changes_nothing_writes_nothing(ret, lead):
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    version = reload(ret.id).version
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    assert reload(ret.id).version == version
    assert len([e for e in events(ret.id) if e.kind == EventKind.SAVED]) == 1


def test_a_save_from_a_stale_page_is_refused_not_overwriting(ret, lead):
    colleague = lead_of(ret.agency)
    services.save_draft(ret.id, lines(), NARRATIVE, lead)
    seen = reload(ret.id).version
    services.save_draft(ret.id, lines(in_scope=50, trained=40), NARRATIVE, colleague, expected_version=seen)
    with pytest.raises(StaleReturn):
        services.save_draft(ret.id, lines(in_scope=60, trained=1), NARRATIVE, lead, expected_version=seen)
    assert {line.staff_in_scope for line in reload(ret.id).lines} == {50}


def test_the_actions_offered_follow_the_status_and_the_role():
    agency = AgencyFactory()
    round_ = open_round(2025, [agency])
    lead, the_scrutineer, the_coordinator = lead_of(agency), scrutineer(), coordinator()
    not_started = return_for(round_, agency)
    nothing = ReturnActions(edit=False, challenge=False, respond=False, accept=False, reopen=False)
    assert actions_for(lead, not_started) == ReturnActions(True, False, False, False, False)
    assert actions_for(the_coordinator, not_started) == nothing  # nothing submitted to reopen
    sent = submitted(not_started, lead)
    assert actions_for(lead, sent) == nothing
    assert actions_for(the_scrutineer, sent) == ReturnActions(False, True, False, True, False)
    assert actions_for(the_coordinator, sent) == ReturnActions(False, False, False, False, True)
    challenged = services.challenge(sent.id, "Explain Level 3", date(2030, 1, 1), the_scrutineer)
    assert actions_for(lead, challenged) == ReturnActions(False, False, True, False, False)
    assert actions_for(the_scrutineer, challenged) == nothing  # waits for the response
    assert actions_for(lead_of(AgencyFactory()), challenged) == nothing  # another agency's lead
