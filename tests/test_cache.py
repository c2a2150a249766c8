"""The shared fragment cache: pages served from Redis, moved on by every committed write to
what they show, the same for every worker, and pages still served when Redis fails."""
from __future__ import annotations

import json
import logging
import os
import re
from datetime import UTC, datetime

import pytest
import redis
from flask import template_rendered
from sqlalchemy import select, update

from tests.factories import TEST_PASSWORD, BookingFactory, CoordinatorFactory, CourseFactory, SessionFactory, UserFactory
from tests.reports.summary_helpers import page_tables
from tests.security.conftest import without_nonces
from tests.sql import recorded_statements
from training import assets
from training.accounts.models import Role, User
from training.accounts.services import change_password, set_active, set_roles
from training.accounts.tokens import password_fingerprint
from training.booking.models import Booking, BookingStatus
from training.booking.services import book_place, cancel_booking
from training.cache import AREAS, CATALOGUE, CSRF_FIELD, MY_TRAINING, PEOPLE, REPORTS, FragmentCache, areas_touched
from training.catalogue.models import Course, CourseFormat, CourseSession
from training.db import column_values
from training.extensions import db
from training.security import _person_record

REDIS_URL = "redis://127.0.0.1:6379/14"
# Our own keys: the suite may run on SQLite and PostgreSQL at once against one Redis.
PREFIX = f"test-cache-{os.getpid()}"
YEAR = "from=2019-04-01&to=2020-03-31"


@pytest.fixture
def redis_db():
    connection = redis.Redis.from_url(REDIS_URL)

    def forget() -> None:
        for key in connection.scan_iter(f"{PREFIX}:*"):
            connection.delete(key)

    forget()
    yield connection
    forget()
    connection.close()


@pytest.fixture
def worker(make_app, redis_db):
    """worker(**settings) -> another worker of the app; all of them share one fragment cache."""
    return lambda **settings: make_app(CACHE_REDIS_URL=REDIS_URL, CACHE_KEY_PREFIX=PREFIX, **settings)


def _text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return response.get_data(as_text=True)


def _text_and_statements(app, client, path: str) -> tuple[str, list[str]]:
    """The page, and the SQL statements serving it ran."""
    with app.app_context(), recorded_statements() as statements:
        return _text(client, path), statements


def _generations(redis_db) -> dict[str, int]:
    return {area.name: int(redis_db.get(f"{PREFIX}:generation:{area.name}") or 0) for area in AREAS}


def test_the_catalogue_is_served_again_without_reading_the_database(worker):
    SessionFactory(course__title="Neglect: recognising it early")
    app = worker()
    client = app.test_client()
    first = _text(client, "/")
    assert "Neglect: recognising it early" in first
    second, statements = _text_and_statements(app, client, "/")
    assert without_nonces(second) == without_nonces(first)
    assert not [s for s in statements if "course_sessions" in s], statements


def test_a_booking_shows_at_once_on_the_catalogue_and_the_course_page(worker):
    session = SessionFactory(capacity=5)
    person_id = UserFactory().id
    app = worker()
    client = app.test_client()
    course_page = f"/courses/{session.course_id}"
    assert "5 places left" in _text(client, "/")
    assert "5 places left" in _text(client, course_page)
    with app.app_context():
        book_place(session.id, db.session.get(User, person_id))
    assert "4 places left" in _text(client, "/")
    assert "4 places left" in _text(client, course_page)


def test_a_change_made_by_one_worker_is_seen_by_every_other(worker):
    session = SessionFactory(course__title="Old title")
    # Both start before anything is cached: a worker starting moves every area on.
    reader, writer = worker(), worker()
    assert "Old title" in _text(reader.test_client(), "/")
    with writer.app_context():
        db.session.execute(update(Course).where(Course.id == session.course_id).values(title="New title"))
        db.session.commit()
    page = _text(reader.test_client(), "/")
    assert "New title" in page and "Old title" not in page


def test_the_summary_is_cached_until_a_change_to_its_figures(worker):
    session = SessionFactory(starts_at=datetime(2019, 6, 3, 9, tzinfo=UTC), ends_at=datetime(2019, 6, 3, 12, tzinfo=UTC),
                             booking_closes_at=datetime(2019, 6, 2, 9, tzinfo=UTC))
    coordinator_id = CoordinatorFactory().id
    app = worker()
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(coordinator_id)

    def cancelled() -> str:
        rows = {row[0]: row[1:] for row in page_tables(_text(client, f"/reports/summary?{YEAR}"))["headline"][1:]}
        return rows["Sessions cancelled"][0]

    assert cancelled() == "0"
    with app.app_context():
        found = db.session.get(CourseSession, session.id)
        found.cancel(datetime(2019, 6, 1, tzinfo=UTC), "Trainer ill")
        db.session.commit()
    assert cancelled() == "1"


def test_only_committed_writes_move_areas_on_core_statements_included(worker, redis_db):
    course_id = CourseFactory().id
    app = worker()
    start = _generations(redis_db)
    with app.app_context():
        db.session.execute(update(Course).where(Course.id == course_id).values(title="Never saved"))
        db.session.rollback()
        assert _generations(redis_db) == start
        # A Core statement on the session's connection, as the history import writes.
        db.session.connection().execute(update(Course.__table__).where(Course.__table__.c.id == course_id)
                                        .values(title="Saved"))
        db.session.commit()
    assert _generations(redis_db) == {name: n + (name != PEOPLE.name) for name, n in start.items()}


def test_which_writes_make_which_areas_stale():
    assert areas_touched({"bookings"}) == [CATALOGUE, REPORTS, MY_TRAINING]
    assert areas_touched({"evaluations", "answers"}) == [REPORTS, MY_TRAINING]
    assert areas_touched({"users"}) == [REPORTS, MY_TRAINING, PEOPLE]
    assert areas_touched({"role_grants", "audit_events"}) == [REPORTS, MY_TRAINING, PEOPLE]
    # A sign-out changes who is signed in, and nothing any page shows.
    assert areas_touched({"signed_out_sessions"}) == [PEOPLE]
    assert areas_touched({"audit_events", "outbox_messages"}) == []
    assert areas_touched(set()) == []


def test_fragments_expire_for_what_time_alone_changes(worker, redis_db):
    SessionFactory()
    _text(worker().test_client(), "/")
    keys = redis_db.keys(f"{PREFIX}:fragment:catalogue:*")
    assert keys
    assert all(0 < redis_db.ttl(key) <= CATALOGUE.seconds for key in keys)


def test_without_redis_pages_are_still_served_and_the_outage_logged_once(make_app, caplog):
    SessionFactory(course__title="Still listed")
    with caplog.at_level(logging.WARNING, logger="training.cache"):
        # Nothing listens on port 1: every Redis call fails at once.
        app = make_app(CACHE_REDIS_URL="redis://127.0.0.1:1/0", CACHE_KEY_PREFIX="down")
        client = app.test_client()
        pages = [_text(client, "/") for _ in range(3)]
    assert all("Still listed" in page for page in pages)
    logged = [record.getMessage() for record in caplog.records if record.name == "training.cache"]
    assert len(logged) == 1 and logged[0].startswith("fragment cache unavailable (ConnectionError)"), logged


class FlakyRedis:
    """Stands in for Redis: a dict, or a failure on every call while `down`."""

    def __init__(self) -> None:
        self.data: dict[str, object] = {}
        self.down = False
        self.calls = 0

    def _call(self) -> None:
        self.calls += 1
        if self.down:
            raise redis.ConnectionError("down")

    def mget(self, *keys):
        self._call()
        return [self.data.get(key) for key in keys]

    def set(self, key, value, ex=None):
        self._call()
        self.data[key] = value

    def pipeline(self, transaction=False):
        return FlakyPipeline(self)


class FlakyPipeline:
    def __init__(self, server: FlakyRedis) -> None:
        self.server, self.keys = server, []

    def incr(self, key) -> None:
        self.keys.append(key)

    def execute(self) -> None:
        self.server._call()
        for key in self.keys:
            self.server.data[key] = int(self.server.data.get(key) or 0) + 1


def _flaky_cache() -> tuple[FragmentCache, FlakyRedis, list[float]]:
    server, clock = FlakyRedis(), [0.0]
    return FragmentCache(server, "flaky", clock=lambda: clock[0]), server, clock


def test_a_redis_that_fails_is_left_alone_for_a_while_then_tried_again():
    cache, server, clock = _flaky_cache()
    server.down = True
    assert cache.fetch(CATALOGUE, ("page",), lambda: {"html": "built"}) == {"html": "built"}
    assert server.calls == 1
    clock[0] += FragmentCache.RETRY_SECONDS - 1
    assert cache.fetch(CATALOGUE, ("page",), lambda: {"html": "built again"}) == {"html": "built again"}
    assert server.calls == 1  # not tried: a Redis that hangs would slow every page
    server.down = False
    clock[0] += 1
    cache.fetch(CATALOGUE, ("page",), lambda: {"html": "stored"})
    assert cache.fetch(CATALOGUE, ("page",), lambda: {"html": "not built"}) == {"html": "stored"}


def test_changes_made_while_redis_was_down_are_not_hidden_by_older_fragments():
    cache, server, clock = _flaky_cache()
    cache.fetch(CATALOGUE, ("page",), lambda: {"html": "before the change"})
    cache.fetch(REPORTS, ("summary",), lambda: {"html": "summary before"})
    server.down = True
    cache.move_on([CATALOGUE])  # a booking committed while Redis could not be told
    server.down = False
    clock[0] += FragmentCache.RETRY_SECONDS
    assert cache.fetch(CATALOGUE, ("page",), lambda: {"html": "after the change"}) == {"html": "after the change"}
    # Which areas the missed writes touched is not known any more: every area moved on.
    assert cache.fetch(REPORTS, ("summary",), lambda: {"html": "summary rebuilt"}) == {"html": "summary rebuilt"}


def test_a_draft_course_cached_for_a_coordinator_stays_hidden_from_everyone_else(worker):
    draft = CourseFactory(title="Draft: not yet published", active=False)
    coordinator_id = CoordinatorFactory().id
    app = worker()
    coordinator = app.test_client()
    with coordinator.session_transaction() as sess:
        sess["_user_id"] = str(coordinator_id)
    assert "Draft: not yet published" in _text(coordinator, f"/courses/{draft.id}")
    assert app.test_client().get(f"/courses/{draft.id}").status_code == 404
    assert "Draft: not yet published" in _text(coordinator, f"/courses/{draft.id}")


def test_nothing_is_stored_for_a_course_that_does_not_exist(worker, redis_db):
    assert worker().test_client().get("/courses/999999").status_code == 404
    assert redis_db.keys(f"{PREFIX}:fragment:*") == []


# ---------------------------------------------------------------------------
# Whole pages: layout and all, with this request's own nonce and CSRF fields
# ---------------------------------------------------------------------------

def _templates_rendered(app, client, path: str) -> tuple[object, list[str]]:
    names: list[str] = []

    def note(_sender, template, **_extra) -> None:
        names.append(template.name)

    template_rendered.connect(note, app)
    try:
        return client.get(path), names
    finally:
        template_rendered.disconnect(note, app)


def test_a_shared_page_is_served_without_rendering_and_with_this_requests_nonce(worker, redis_db):
    SessionFactory(course__title="Harmful sexual behaviour")
    app = worker()
    client = app.test_client()
    first, built_with = _templates_rendered(app, client, "/")
    second, served_with = _templates_rendered(app, client, "/")
    assert "catalogue/index.html" in built_with and served_with == []
    nonces = []
    for response in (first, second):
        in_page = set(re.findall(r'nonce="([^"]+)"', response.get_data(as_text=True)))
        assert len(in_page) == 1, in_page  # every script on the page carries the same nonce
        nonce = in_page.pop()
        assert f"'nonce-{nonce}'" in response.headers["Content-Security-Policy"]
        nonces.append(nonce)
    assert nonces[0] != nonces[1]
    stored = [redis_db.get(key).decode() for key in redis_db.keys(f"{PREFIX}:fragment:catalogue:*")]
    assert len(stored) == 1 and all(nonce not in stored[0] for nonce in nonces)


def test_a_page_with_a_message_for_this_request_is_neither_stored_nor_served_from_the_store(worker, redis_db):
    SessionFactory(course__title="Online safety")
    app = worker()
    client = app.test_client()
    assert "Online safety" in _text(client, "/")  # stored
    with client.session_transaction() as sess:
        sess["_flashes"] = [("success", "You have booked a place on Online safety")]
    assert "You have booked a place on Online safety" in _text(client, "/")
    assert "You have booked a place" not in _text(client, "/")  # shown once, as ever
    stored = [redis_db.get(key).decode() for key in redis_db.keys(f"{PREFIX}:fragment:catalogue:*")]
    assert len(stored) == 1 and "You have booked a place" not in stored[0]


def test_each_visitor_gets_the_layout_for_who_they_are_with_their_own_sign_out_token(worker, redis_db):
    SessionFactory(course__title="Parental mental health")
    person_id, coordinator_id = UserFactory().id, CoordinatorFactory().id
    app = worker(WTF_CSRF_ENABLED=True)
    visitor, person, coordinator = app.test_client(), _signed_in(app, person_id), _signed_in(app, coordinator_id)
    tokens = {}
    for _ in range(2):  # the second round comes from the store
        pages = {client: _text(client, "/") for client in (visitor, person, coordinator)}
        assert "Sign in" in pages[visitor] and "Sign out" not in pages[visitor]
        assert "My training" in pages[person] and "Manage" not in pages[person]
        assert "Manage" in pages[coordinator]
        for client in (person, coordinator):
            found = re.findall(r'<input type="hidden" name="csrf_token" value="([^"]+)">', pages[client])
            assert len(found) == 1 and str(CSRF_FIELD) not in pages[client]
            tokens[client] = found[0]
    stored = [redis_db.get(key).decode() for key in redis_db.keys(f"{PREFIX}:fragment:catalogue:*")]
    assert len(stored) == 3 and all('name=\\"csrf_token\\"' not in page for page in stored)
    # The token in the stored page is the browser's own: signing out with it works.
    for client in (person, coordinator):
        assert client.post("/sign-out", data={"csrf_token": tokens[client]}).status_code == 302
        assert client.get("/my-training").status_code == 302  # to sign in


def test_addresses_asking_for_the_same_filters_share_one_page(worker, redis_db):
    SessionFactory(course__title="Virtual course", course__format=CourseFormat.VIRTUAL)
    app = worker()
    client = app.test_client()
    plain = _text(client, "/?format=virtual")
    odd = _text(client, "/?format=virtual&format=carrier-pigeon&month=1999-01")
    assert without_nonces(odd) == without_nonces(plain)
    assert re.search(r'value="virtual"\s+checked', plain)
    assert len(redis_db.keys(f"{PREFIX}:fragment:catalogue:*")) == 1


def test_a_shared_page_links_to_the_assets_of_the_release_serving_it(worker, tmp_path):
    SessionFactory()
    for name in assets.FINGERPRINTED:  # the new release's files: different content, other names
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"/* new release: {name} */\n")
    manifest = assets.build(tmp_path)
    last_release, new_release = worker(), worker()
    new_release.static_folder = str(tmp_path)
    last_page = _text(last_release.test_client(), "/")  # stored first, by the last release
    new_page = _text(new_release.test_client(), "/")
    for logical in ("css/app.css", "js/app.js", "favicon.svg"):
        assert f'"/static/{manifest[logical]}"' in new_page
        assert manifest[logical] not in last_page


# ---------------------------------------------------------------------------
# My training: one person's page, cached for that person only
# ---------------------------------------------------------------------------

def _signed_in(app, user_id: int):
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user_id)
    return client


def test_my_training_is_served_again_without_reading_bookings(worker):
    person_id = BookingFactory(session__course__title="Child exploitation: county lines").user_id
    app = worker()
    client = _signed_in(app, person_id)
    first = _text(client, "/my-training")
    assert "Child exploitation: county lines" in first
    second, statements = _text_and_statements(app, client, "/my-training")
    assert without_nonces(second) == without_nonces(first)
    # The signed-in person comes from the cache too, so the page runs no SQL at all.
    assert statements == []


def test_my_training_is_each_persons_own(worker):
    first = BookingFactory(session__course__title="Only for Asha").user_id
    second = BookingFactory(session__course__title="Only for Ben").user_id
    app = worker()
    asha, ben = _signed_in(app, first), _signed_in(app, second)
    for _ in range(2):  # the second round is served from the cache
        asha_page, ben_page = _text(asha, "/my-training"), _text(ben, "/my-training")
        assert "Only for Asha" in asha_page and "Only for Ben" not in asha_page
        assert "Only for Ben" in ben_page and "Only for Asha" not in ben_page


def test_my_training_shows_at_once_what_someone_else_changed(worker):
    session = SessionFactory(capacity=1, course__title="Safer recruitment")
    holder, waiting = UserFactory(), UserFactory()
    holder_id, waiting_id = holder.id, waiting.id
    app = worker()
    with app.app_context():
        book_place(session.id, db.session.get(User, holder_id))
        book_place(session.id, db.session.get(User, waiting_id))
    client = _signed_in(app, waiting_id)
    assert "Waiting lists" in _text(client, "/my-training")
    assert "Waiting lists" in _text(client, "/my-training")
    with app.app_context():  # the place holder cancels: the next person is offered the place
        held = db.session.scalars(select(Booking).where(Booking.user_id == holder_id)).one()
        cancel_booking(held.id, db.session.get(User, holder_id))
    page = _text(client, "/my-training")
    assert "Places offered to you" in page and "Waiting lists" not in page


def test_my_training_forms_carry_this_requests_csrf_token_not_a_cached_one(worker, redis_db):
    session = SessionFactory(capacity=1, course__title="Domestic abuse and children")
    holder_id, offered_id = UserFactory().id, UserFactory().id
    app = worker(WTF_CSRF_ENABLED=True)
    with app.app_context():
        held = book_place(session.id, db.session.get(User, holder_id))
        offered = book_place(session.id, db.session.get(User, offered_id))
        cancel_booking(held.id, db.session.get(User, holder_id))
        assert db.session.get(Booking, offered.id).status == BookingStatus.OFFERED
    tokens = []
    for _ in range(2):  # a new browser session each time: the second page comes from the cache
        client = _signed_in(app, offered_id)
        page = _text(client, "/my-training")
        found = re.findall(r'action="/bookings/\d+/(?:accept|decline)"[^>]*>\s*'
                           r'<input type="hidden" name="csrf_token" value="([^"]+)">', page)
        assert len(found) == 2 and "<!--csrf-field-->" not in page
        tokens.append((client, found[0]))
    stored = [redis_db.get(key).decode() for key in redis_db.keys(f"{PREFIX}:fragment:my-training:*")]
    assert len(stored) == 1 and str(CSRF_FIELD) in stored[0] and 'name=\\"csrf_token\\"' not in stored[0]
    # The second browser's token is its own: accepting the place with it works.
    client, token = tokens[1]
    assert client.post(f"/bookings/{offered.id}/accept", data={"csrf_token": token}).status_code == 302
    with app.app_context():
        assert db.session.get(Booking, offered.id).status == BookingStatus.CONFIRMED
    assert "Places offered to you" not in _text(client, "/my-training")


def test_my_training_fragments_live_a_minute_at_most(worker, redis_db):
    person_id = BookingFactory().user_id
    _text(_signed_in(worker(), person_id), "/my-training")
    keys = redis_db.keys(f"{PREFIX}:fragment:my-training:*")
    assert len(keys) == 1 and 0 < redis_db.ttl(keys[0]) <= MY_TRAINING.seconds == 60


# ---------------------------------------------------------------------------
# Who is signed in: from the cache, and stale at once when anything about them changes
# ---------------------------------------------------------------------------

def _sign_in(client, user) -> None:
    response = client.post("/sign-in", data={"email": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 302


def _signed_in_at(client, path: str) -> bool:
    response = client.get(path)
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def _person_signed_in_and_a_coordinator(worker):
    """A worker, a client signed in there as a professional, their id and a coordinator's."""
    person, coordinator = UserFactory(), CoordinatorFactory()
    app = worker()
    client = app.test_client()
    _sign_in(client, person)
    return app, client, person.id, coordinator.id


def test_the_cached_record_of_who_is_signed_in_holds_no_password_hash(worker, redis_db):
    person = UserFactory(name="Priya Shah")
    app = worker()
    client = app.test_client()
    _sign_in(client, person)
    _, statements = _text_and_statements(app, client, "/account")
    assert any("FROM users" in statement for statement in statements)
    _, statements = _text_and_statements(app, client, "/account")
    assert not any("FROM users" in statement for statement in statements), statements
    stored = [redis_db.get(key).decode() for key in redis_db.keys(f"{PREFIX}:fragment:people:*")]
    assert len(stored) == 1 and "Priya Shah" in stored[0]
    assert "password_hash" not in stored[0] and person.password_hash not in stored[0]


def test_the_record_read_on_a_miss_is_the_person_as_the_orm_loads_them(app):
    """The cached record is read with plain columns (security._person_record): it must hold what
    the ORM would load, for a person with several roles and for one with none."""
    coordinator = CoordinatorFactory(name="Ada Coordinator", consent_updated_at=datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    plain = UserFactory(name="Ben Plain")
    plain.grants.clear()
    db.session.commit()
    with app.test_request_context():
        for person in (coordinator, plain):
            record = _person_record(person.id)
            assert record == json.loads(json.dumps({
                "user": column_values(person, leave_out=frozenset({"password_hash"})),
                "agency": column_values(person.agency),
                "grants": [column_values(grant) for grant in sorted(person.grants, key=lambda g: g.id)],
                "password_mark": password_fingerprint(person)}))
        assert len(_person_record(coordinator.id)["grants"]) == 2 and _person_record(plain.id)["grants"] == []
        assert _person_record(plain.id + 1000) is None
        plain.active = False
        db.session.commit()
        assert _person_record(plain.id) is None


def test_deactivating_an_account_signs_it_out_at_once_despite_the_cache(worker):
    app, client, person_id, coordinator_id = _person_signed_in_and_a_coordinator(worker)
    assert _signed_in_at(client, "/my-training") and _signed_in_at(client, "/my-training")
    with app.app_context():
        set_active(db.session.get(User, person_id), False, actor=db.session.get(User, coordinator_id))
    assert not _signed_in_at(client, "/my-training")


def test_a_copy_of_the_cookie_stops_working_after_sign_out_despite_the_cache(worker):
    app = worker()
    client = app.test_client()
    _sign_in(client, UserFactory())
    stolen = client.get_cookie("session").value
    copy = app.test_client()
    copy.set_cookie("session", stolen)
    assert _signed_in_at(copy, "/account") and _signed_in_at(copy, "/account")  # the second from the cache
    assert client.post("/sign-out").status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert not _signed_in_at(replay, "/account")


def test_a_password_changed_in_another_session_ends_this_one_despite_the_cache(worker):
    person = UserFactory()
    person_id = person.id
    app = worker()
    here, elsewhere = app.test_client(), app.test_client()
    _sign_in(here, person)
    _sign_in(elsewhere, person)
    assert _signed_in_at(here, "/account") and _signed_in_at(here, "/account")
    with app.app_context():
        change_password(db.session.get(User, person_id), current_password=TEST_PASSWORD,
                        new_password="a brand new passphrase 2026")
    assert not _signed_in_at(here, "/account")


def test_a_role_given_shows_at_once_despite_the_cache(worker):
    app, client, person_id, coordinator_id = _person_signed_in_and_a_coordinator(worker)
    for _ in range(2):
        assert ">Manage<" not in _text(client, "/account")
    with app.app_context():
        set_roles(db.session.get(User, person_id), {Role.COORDINATOR}, actor=db.session.get(User, coordinator_id))
    assert ">Manage<" in _text(client, "/account")
    assert client.get("/manage/people").status_code == 200


def test_the_person_from_the_cache_can_book_and_change_their_details(worker):
    session = SessionFactory(course__title="Contextual safeguarding")
    person = UserFactory(name="Sam Okafor", job_title="Youth worker")
    person_id, agency_id = person.id, person.agency_id
    app = worker()
    client = app.test_client()
    _sign_in(client, person)
    _text(client, "/my-training")
    _, statements = _text_and_statements(app, client, "/account")
    assert not any("FROM users" in statement for statement in statements)  # from the cache
    assert client.post(f"/sessions/{session.id}/book").status_code == 302
    response = client.post("/account/edit", data={
        "name": "Sam Okafor-Reid", "agency": str(agency_id), "job_title": "Senior youth worker",
        "manager_name": "Jo Manager", "manager_email": "jo.manager@example.org"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        saved = db.session.get(User, person_id)
        assert (saved.name, saved.job_title) == ("Sam Okafor-Reid", "Senior youth worker")
        assert saved.password_hash == person.password_hash  # never written from the record
        booking = db.session.scalars(select(Booking).where(Booking.user_id == person_id)).one()
        assert booking.status == BookingStatus.CONFIRMED
    assert "Contextual safeguarding" in _text(client, "/my-training")
    assert "Sam Okafor-Reid" in _text(client, "/account")
