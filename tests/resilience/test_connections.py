"""The app rides out database trouble: PostgreSQL connections killed under it, and on SQLite
another process holding the write lock, briefly (the booking waits) or too long (a clean error
page and nothing half-written)."""
from __future__ import annotations

import sqlite3
import threading
import time

from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool

from tests.conftest import login
from tests.factories import SessionFactory, UserFactory
from tests.resilience.helpers import booking_state, only_on
from tests.sql import recorded_statements
from training import create_app
from training.config import build_config
from training.db import connection_was_dropped
from training.extensions import db


def test_no_round_trip_is_spent_checking_a_connection_out(tmp_path):
    # pool_pre_ping would send an empty query on every checkout; the pool's own check replaces it.
    assert "pool_pre_ping" not in build_config(str(tmp_path))["SQLALCHEMY_ENGINE_OPTIONS"]


_OTHER_BACKENDS = ("FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                   " AND backend_type = 'client backend'")


def _terminate_app_connections(url) -> int:
    """Kill every other backend on the test database from a separate admin connection, and wait
    until they have gone: a server ends a connection a moment after it is asked to."""
    admin = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            killed = conn.execute(text(f"SELECT count(*) FROM (SELECT pg_terminate_backend(pid) {_OTHER_BACKENDS}) AS t")
                                  ).scalar_one()
            deadline = time.monotonic() + 10
            while conn.execute(text(f"SELECT count(*) {_OTHER_BACKENDS}")).scalar_one() and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        admin.dispose()
    return killed


def test_a_connection_the_server_ended_is_found_without_a_query(app):
    only_on("postgresql", "test_sqlite_booking_waits_for_a_brief_lock")
    with db.engine.connect() as conn:
        dbapi_connection = conn.connection.dbapi_connection
        conn.execute(text("SELECT 1"))
        conn.rollback()
        with recorded_statements() as sent:
            assert connection_was_dropped(dbapi_connection) is False  # idle and alive
        assert sent == []  # the check itself asked the server nothing
        assert _terminate_app_connections(db.engine.url) >= 1
        assert connection_was_dropped(dbapi_connection) is True
        conn.invalidate()
    closed = db.engine.raw_connection()
    try:
        closed.dbapi_connection.close()
        assert connection_was_dropped(closed.dbapi_connection) is True
    finally:
        closed.invalidate()


def test_postgresql_requests_succeed_after_connections_are_terminated(app, login_as):
    only_on("postgresql", "test_sqlite_booking_waits_for_a_brief_lock")
    person = UserFactory()
    session_id = SessionFactory().id
    client = login_as(person)
    assert client.get("/my-training").status_code == 200  # the pool now holds live connections
    assert client.get("/healthz").status_code == 200
    db.session.commit()  # the test's own session holds no transaction on a connection about to die

    assert _terminate_app_connections(db.engine.url) >= 1

    assert client.get("/my-training").status_code == 200
    assert client.get("/healthz").status_code == 200
    response = client.post(f"/sessions/{session_id}/book")
    assert response.status_code == 302 and "/bookings/" in response.headers["Location"]
    assert booking_state(session_id) == (1, 1)


def _hold_write_lock(path: str) -> sqlite3.Connection:
    """Another process's writer: an open BEGIN IMMEDIATE on the database file."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=30, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    return holder


def test_sqlite_booking_waits_for_a_brief_lock(app, login_as):
    """The lock is released while the booking waits on the busy timeout (30 s): it goes through."""
    only_on("sqlite", "test_postgresql_requests_succeed_after_connections_are_terminated")
    session_id = SessionFactory().id
    client = login_as(UserFactory())
    order: list[str] = []
    release = threading.Timer(0.3, lambda: (order.append("lock released"), holder.rollback()))

    def watch(_conn, _cursor, statement, *_args) -> None:
        if statement == "BEGIN IMMEDIATE" and not release.is_alive() and not order:
            # The booking is about to queue for the lock: let it go a moment later.
            order.append("booking asked for the lock")
            release.start()
        elif statement.lstrip().upper().startswith("INSERT INTO BOOKINGS"):
            order.append("booking inserted")

    holder = _hold_write_lock(db.engine.url.database)
    event.listen(db.engine, "before_cursor_execute", watch)
    try:
        response = client.post(f"/sessions/{session_id}/book")
    finally:
        event.remove(db.engine, "before_cursor_execute", watch)
        if release.is_alive():
            release.join()
        holder.close()

    assert response.status_code == 302 and "/bookings/" in response.headers["Location"]
    assert order == ["booking asked for the lock", "lock released", "booking inserted"]  # it waited
    assert booking_state(session_id) == (1, 1)


def test_sqlite_lock_held_too_long_gives_a_clean_error_and_no_booking(app):
    """A worker with a short busy timeout gives up: the error page, and nothing half-written."""
    only_on("sqlite", "test_postgresql_requests_succeed_after_connections_are_terminated")
    session_id = SessionFactory().id
    person = UserFactory()
    db.session.commit()
    impatient = create_app({
        "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
        "SQLITE_BUSY_TIMEOUT_MS": 200,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
    })  # not TESTING, so errors reach the error handlers as they would in production
    client = login(FlaskClient(impatient, use_cookies=True), person)
    holder = _hold_write_lock(db.engine.url.database)
    try:
        response = client.post(f"/sessions/{session_id}/book")
    finally:
        holder.rollback()
        holder.close()
        with impatient.app_context():
            db.engine.dispose()

    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Sorry, there is a problem with the service" in page
    assert "Nothing you entered has been saved" in page
    assert "Traceback" not in page and "database is locked" not in page
    assert booking_state(session_id) == (0, 0)
