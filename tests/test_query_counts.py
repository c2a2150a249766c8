"""No page makes a query per row: every GET page's SQL statement count is the same in a small
world and in one with several times the data (no N+1).

Every GET route in the app's url_map is visited (static files excepted, see EXCLUDED), by every
role the access matrix (training/access.py) serves it to (pages served to everyone: by
EVERYONE_PAGES_ROLES), in the access matrix's own world (so the URLs' ids name objects that
exist: the owner's booking, the trainer's register, the lead's return) and each page must answer
as the matrix says. Then the data
grows: more sessions, bookings for the same person and for the session being viewed,
attendances, walk-ins, evaluations with comments, certificates, agencies, people, workforce
groups, outbox rows, audit events, suggestions, bulletins, quality reviews, compliance returns
and history imports; and every page is counted again. The per-page counts must be equal, and
every page must answer as the matrix says in both rounds (a 404 would count few queries and
pass vacuously).
"""
from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from flask import url_for
from sqlalchemy import select

from tests.evaluation.conftest import past_session
from tests.evaluation.results_data import evaluation
from tests.factories import (
    AgencyFactory,
    AttendanceFactory,
    BookingFactory,
    CourseFactory,
    SessionFactory,
    TrainerFactory,
    UserFactory,
)
from tests.needs.helpers import MembershipFactory, RequirementFactory, WorkforceGroupFactory
from tests.sql import recorded_statements
from tests.suggestions.factories import SuggestionFactory
from tests.test_access_matrix import HISTORY_CSV, OVERRIDES, World
from tests.test_access_matrix import world as matrix_world  # noqa: F401  (the fixture)
from training.access import ACCESS_MATRIX
from training.accounts.models import Role, User
from training.audit import services as audit
from training.booking.models import BookingStatus
from training.catalogue.models import CourseSession, Level
from training.certificates.services import issue_for_booking
from training.compliance import services as compliance
from training.db import utcnow, write_transaction
from training.evaluation import reviews
from training.evaluation.models import QuestionSet, Stage
from training.extensions import db
from training.history.models import HistoryImport
from training.needs import services as needs_services
from training.needs.tna import london_today
from training.notifications import bulletins as bulletin_services
from training.notifications.models import MessageKind, MessageStatus, Outbox

#: Endpoints not counted, with why. Files and feeds (PDF, CSV, Excel, iCalendar, JSON) ARE
#: counted: a per-row query in an export is as costly as in a page.
EXCLUDED: dict[str, str] = {
    "static": "files from disk, served by Flask itself: no SQL",
}

#: Endpoints whose count grows with the data for a known reason still to be decided on, with
#: the reason; kept out of the equality below (they are still visited and must still answer).
KNOWN_N_PLUS_ONE: dict[str, str] = {}

#: How many of each thing the growth adds (the small world has about one of each).
GROWTH = 4

#: Pages served to every role (or every signed-in role) differ between roles only in their
#: navigation, so they are counted for these roles alone, which keeps the test quick.
EVERYONE_PAGES_ROLES = ("anonymous", "professional", "coordinator")

#: Text that only the growth adds, on pages that list it: the second round did see more data.
GROWN_TEXT = {
    ("attendance.register", "trainer"): f"Walk In {GROWTH - 1}",
    ("evaluation_results.session_results", "trainer"): f"Growth comment {GROWTH - 1}",
    ("notifications.index", "coordinator"): f"Growth {GROWTH - 1}",
    ("bulletins.index", "coordinator"): f"Growth bulletin {GROWTH - 1}",
    ("audit.index", "coordinator"): f"Growth event {GROWTH - 1}",
    ("suggestions.index", "professional"): f"Growth suggestion {GROWTH - 1}",
    ("compliance.round_overview", "scrutineer"): f"Growth agency {GROWTH - 1}",
    ("accounts.manage_agencies", "coordinator"): f"Growth agency {GROWTH - 1}",
    ("compliance.return_page", "agency_lead"): f"Growth response {GROWTH - 1}",
    ("history.preview", "coordinator"): f"Growth history course {GROWTH}",
}


def _get_rules(app) -> list:
    return sorted((rule for rule in app.url_map.iter_rules()
                   if "GET" in rule.methods and rule.endpoint not in EXCLUDED),
                  key=lambda rule: rule.rule)


def _viewers(endpoint: str) -> dict[str, int]:
    """The roles the matrix serves the page to (see EVERYONE_PAGES_ROLES), with the status it answers."""
    served = {role: int(outcome.removeprefix("allowed "))
              for role, outcome in ACCESS_MATRIX[endpoint].items() if outcome.startswith("allowed ")}
    if len(served) >= 5:
        return {role: status for role, status in served.items() if role in EVERYONE_PAGES_ROLES}
    return served


def _url(app, rule, params: dict) -> str:
    values = {name: value for name, value in params.items() if name in rule.arguments}
    for name, value in OVERRIDES.get(rule.endpoint, {}).items():
        values[name] = value(params) if callable(value) else value
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _count_every_page(app, login_as, world: World) -> tuple[dict, dict, dict, dict]:
    """(page -> statements, page -> status, page -> the statements' text, GROWN_TEXT key -> body) for one round."""
    clients = {role: (app.test_client() if user is None else login_as(user)) for role, user in world.users.items()}
    counts, statuses, texts, bodies = {}, {}, {}, {}
    for rule in _get_rules(app):
        url = _url(app, rule, world.params)
        for role in _viewers(rule.endpoint):
            page = f"{rule.endpoint} {rule.rule} as {role}"
            db.session.commit()
            db.session.expire_all()
            with recorded_statements() as statements:
                try:
                    response = clients[role].get(url)
                    status: int | str = response.status_code
                    if (rule.endpoint, role) in GROWN_TEXT:
                        bodies[rule.endpoint, role] = response.get_data(as_text=True)
                except Exception as error:  # noqa: BLE001  (shown with every other page's status)
                    status = f"{type(error).__name__}: {error}"
                    db.session.rollback()
            counts[page] = len(statements)
            statuses[page] = status
            texts[page] = statements
    return counts, statuses, texts, bodies


def _complete(world: World) -> None:
    """What the matrix world has none of, so that a page's queries for it run in both rounds."""
    # The round overview compares with last year's round when there is one.
    agency_id = world.params["agency_id"]
    world.params["previous_round_id"] = compliance.open_round(
        2024, date(2025, 6, 30), [agency_id], world.users["coordinator"]).id
    db.session.commit()


def _grow(world: World) -> None:
    """Several times the data that the pages list, around the objects the URLs name."""
    now = utcnow()
    users, params = world.users, world.params
    professional, trainer = users["professional"], users["trainer"]
    coordinator, lead = users["coordinator"], users["agency_lead"]
    agency = professional.agency
    after = db.session.scalar(select(QuestionSet).where(QuestionSet.stage == Stage.AFTER))
    session = db.session.get(CourseSession, params["session_id"])
    course = session.course
    group_id = params["group_id"]
    new_agencies = []
    for i in range(GROWTH):
        # People, in the professional's agency (and its workforce group) and in new agencies.
        colleague = UserFactory(agency=agency)
        MembershipFactory(user=colleague, group_id=group_id)
        new_agencies.append(AgencyFactory(name=f"Growth agency {i}"))
        UserFactory(agency=new_agencies[-1], roles=[Role.PROFESSIONAL, Role.AGENCY_LEAD])
        TrainerFactory()
        # More on the session being viewed: bookings, attendances, evaluations with comments,
        # certificates, walk-ins, a cancellation and a waiting list.
        booking = BookingFactory(session=session, user=colleague)
        AttendanceFactory(booking=booking)
        evaluation(booking, Stage.AFTER, after, overall="excellent", comments=f"Growth comment {i}",
                   do_differently=f"Growth idea {i}")
        issue_for_booking(booking, coordinator)
        AttendanceFactory(booking=None, session=session, user=None, attendee_name=f"Walk In {i}",
                          attendee_email=None, agency=agency, walk_in=True)
        BookingFactory(session=session, status=BookingStatus.CANCELLED)
        AttendanceFactory(booking=BookingFactory(session=session))  # attended, no evaluation yet
        BookingFactory(session=session, status=BookingStatus.WAITLISTED, confirmed_at=None)
        # More sessions of the course, past (trained, with the professional attended and
        # evaluated, a certificate) and upcoming (booked by the professional).
        past = past_session(ended_days_ago=2 + i, course=course, trainers=[trainer])
        own = BookingFactory(session=past, user=professional)
        AttendanceFactory(booking=own)
        evaluation(own, Stage.AFTER, after, overall="good", comments=f"Own comment {i}")
        issue_for_booking(own, professional)
        BookingFactory(session=SessionFactory(course=course, trainers=[trainer],
                                              starts_at=(now + timedelta(days=20 + i)).replace(microsecond=0)),
                       user=professional)
        reviews.raise_review(course.id, past.id, f"Growth review {i}", coordinator)
        # Other courses with sessions, and suggestions, bulletins, workforce groups.
        other = SessionFactory(course=CourseFactory(level=Level.LEVEL_1), trainers=[trainer])
        BookingFactory(session=other, user=professional)
        SuggestionFactory(suggested_by=professional, title=f"Growth suggestion {i}")
        SuggestionFactory()
        bulletin_services.create_draft(bulletin_services.BulletinDetails(f"Growth bulletin {i}", "Text"), coordinator)
        RequirementFactory(group_id=group_id, level=Level.LEVEL_2)
        RequirementFactory(group=WorkforceGroupFactory())
        # The outbox and the audit log.
        db.session.add(Outbox(kind=MessageKind.BOOKING_CONFIRMED, recipient=professional.email,
                              user_id=professional.id, subject=f"Growth {i}", text_body="Hello",
                              html_body="<p>Hello</p>", status=MessageStatus.FAILED, attempts=10,
                              last_error="Refused", next_attempt_at=now, created_at=now))
        db.session.add(HistoryImport(filename=f"growth{i}.csv", sha256=f"{i:064d}", row_count=1,
                                     content="x", uploaded_by_id=coordinator.id))
        db.session.commit()
        needs_services.record_review(coordinator, needs_services.ReviewDetails(
            london_today(now), f"Chair {i}", f"Decided {i}"), 3)
        with write_transaction():
            audit.record(coordinator, "growth.event", "person", professional.id, f"Growth event {i}")
    # Compliance: this year's and last year's rounds get the new agencies.
    new_ids = [a.id for a in new_agencies]
    compliance.add_agencies(params["round_id"], new_ids, coordinator)
    compliance.add_agencies(params["previous_round_id"], new_ids, coordinator)
    db.session.commit()
    # The new agencies' leads submit their returns; the viewed return is challenged and
    # responded to, so its history grows.
    for new_lead in db.session.scalars(select(User).where(User.agency_id.in_(new_ids))):
        if new_lead.has_role(Role.AGENCY_LEAD):
            for agency_return in compliance.returns_for_lead(new_lead):
                compliance.save_draft(agency_return.id, {lv: compliance.LineFigures(50, 40, 2) for lv in Level},
                                      compliance.Narrative("Growth", "Plan"), new_lead)
                compliance.submit(agency_return.id, new_lead)
    scrutineer = users["scrutineer"]
    for i in range(GROWTH):
        compliance.challenge(params["return_id"], f"Growth challenge {i}", london_today(now) + timedelta(days=9),
                             scrutineer)
        compliance.respond(params["return_id"], f"Growth response {i}", lead)
    # The viewed history import: a file of several rows (new people, agencies and courses).
    history_import = db.session.get(HistoryImport, params["import_id"])
    lines = HISTORY_CSV.splitlines()
    history_import.content = "\r\n".join(
        [lines[0]] + [f"2024-03-{10 + i},Growth history course {i},training,face-to-face,Hana History{i},"
                      f"hana.history{i}@example.org,Growth history agency {i},health,attended"
                      for i in range(GROWTH + 1)]) + "\r\n"
    history_import.row_count = GROWTH + 1
    db.session.commit()


def test_no_page_makes_more_queries_when_there_is_more_data(app, login_as, matrix_world):  # noqa: F811
    world = matrix_world
    _complete(world)
    first, first_status, first_sql, first_bodies = _count_every_page(app, login_as, world)
    _grow(world)
    second, second_status, second_sql, second_bodies = _count_every_page(app, login_as, world)

    expected = {page: _viewers(page.split(" ")[0])[page.rsplit(" ", 1)[1]] for page in first}
    assert first_status == expected
    assert second_status == expected
    every_get_page = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert {page.split(" ")[0] for page in first} == every_get_page - EXCLUDED.keys()
    for (endpoint, role), text in GROWN_TEXT.items():
        assert text not in first_bodies[endpoint, role] and text in second_bodies[endpoint, role], (endpoint, text)

    def compared(counts: dict) -> dict:
        return {page: n for page, n in counts.items() if page.split(" ")[0] not in KNOWN_N_PLUS_ONE}

    # On failure, the statements each page sent more often the second time: the N+1.
    extra = {page: _more_often(first_sql[page], second_sql[page]) for page in first if first[page] != second[page]}
    assert compared(second) == compared(first), "\n".join(f"{page}: {extra[page]}" for page in extra)


def _more_often(before: list[str], after: list[str]) -> list[str]:
    """The statements sent more often in `after` than in `before`, shortened."""
    grown = Counter(after)
    grown.subtract(Counter(before))
    return [f"{n:+d} x {' '.join(statement.split())[:300]}" for statement, n in grown.items() if n]
