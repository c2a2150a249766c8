"""Apps of the security tests' own (rate limits or CSRF on), on the suite's database."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.conftest import IsolatedClient
from training import create_app
from training.extensions import db

SHARED_SETTINGS = ("TESTING", "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "WTF_CSRF_ENABLED",
                   "PASSWORD_HASH_METHOD", "RATELIMIT_ENABLED", "SERVER_NAME")


@pytest.fixture
def make_app(app):
    """make_app(**overrides) -> an app with the suite's settings and these changes."""
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


def row_counts() -> dict[str, int]:
    """Rows in every table, read in the test's own session."""
    db.session.commit()
    return {table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


_ARG = re.compile(r"<(?:(\w+)(?:\(([^)]*)\))?:)?(\w+)>")
_VALUES = {"stage": "after", "code": "ABCD"}


def fill_url(rule) -> str:
    """The rule's URL with ints as 1, an any(a, b) as its first option, a stage as "after" and a code as "ABCD"."""

    def value(match: re.Match) -> str:
        converter, options, name = match.group(1), match.group(2), match.group(3)
        if converter == "int":
            return "1"
        if converter == "any":
            # A made-up value would be a 404, and the route behind it never reached.
            return options.split(",")[0].strip().strip("'\"")
        return _VALUES.get(name, "x")

    return _ARG.sub(value, rule.rule)


def without_nonces(html: str) -> str:
    """The page with its per-request values (CSP nonce) blanked, so two pages can be compared."""
    return re.sub(r'nonce="[^"]*"', 'nonce=""', html)
