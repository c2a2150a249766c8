"""Shared fixtures: the app on SQLite (default) or PostgreSQL (TEST_DATABASE_URL), a clean
database for every test, a client whose requests each get their own app context, and
sign-in helpers."""
from __future__ import annotations

import contextvars
import os
from datetime import datetime, timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from tests.factories import TEST_PASSWORD  # noqa: F401  (re-exported for tests)
from training import create_app
from training.db import utcnow
from training.extensions import db


def database_url(tmp_dir) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_dir}/test.sqlite"


class IsolatedClient(FlaskClient):
    """Each request runs as a real one would: in its own app context and database session.

    Without this, a request reuses the test's app context, so its database session and
    Flask-Login's cached user (kept on `g`) would leak between requests. The test's own
    session is committed before and after, so it sees what the request wrote.
    """

    def open(self, *args, **kwargs):
        _end_test_transaction()
        try:
            return contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            _end_test_transaction()


def _end_test_transaction() -> None:
    from flask import has_app_context

    if has_app_context():
        db.session.commit()


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = database_url(tmp_path_factory.mktemp("db"))
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 10, "max_overflow": 60},
            "WTF_CSRF_ENABLED": False,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # fast for tests; production uses scrypt
            "RATELIMIT_ENABLED": False,  # tests sign in many times from one address; rate-limit tests turn it on
            "SERVER_NAME": None,
        }
    )
    app.test_client_class = IsolatedClient
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        else:
            db.drop_all()
        db.create_all()
        db.session.remove()
    yield app
    with app.app_context():
        db.engine.dispose()


SHARED_SETTINGS = ("TESTING", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "WTF_CSRF_ENABLED",
                   "PASSWORD_HASH_METHOD", "RATELIMIT_ENABLED", "SERVER_NAME")


@pytest.fixture
def make_app(app):
    """make_app(**overrides) -> another app (another worker, say) with the suite's settings and
    these changes, on the suite's database."""
    made = []

    def _make(**overrides):
        config = {key: app.config[key] for key in SHARED_SETTINGS}
        config.update(overrides)
        new_app = create_app(config)
        new_app.test_client_class = IsolatedClient
        made.append(new_app)
        return new_app

    yield _make
    for new_app in made:
        with new_app.app_context():
            db.engine.dispose()


def _empty_tables() -> None:
    tables = [t.name for t in db.metadata.sorted_tables]
    # DELETE, not TRUNCATE: on PostgreSQL a TRUNCATE of every table makes new files for each
    # and costs far more than deleting the few rows a test writes. Ids restart at 1, as after
    # a fresh schema, because tests name objects by id.
    with db.engine.begin() as conn:
        for name in reversed(tables):
            conn.execute(text(f'DELETE FROM "{name}"'))
        if db.engine.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(c.oid, 1, false) FROM pg_class c "
                              "WHERE c.relkind = 'S' AND c.relnamespace = 'public'::regnamespace"))


@pytest.fixture(autouse=True)
def app_ctx(app):
    """Every test runs inside an app context on an empty database."""
    with app.app_context():
        yield
        db.session.remove()
        _empty_tables()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def now() -> datetime:
    return utcnow()


def login(client: FlaskClient, user) -> FlaskClient:
    """Sign `user` in on `client` without the sign-in form (that form has its own tests)."""
    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
    return client


@pytest.fixture
def login_as(app):
    """login_as(user) -> a new client signed in as that user."""

    def _login_as(user):
        return login(app.test_client(), user)

    return _login_as


def days(n: float) -> timedelta:
    return timedelta(days=n)
