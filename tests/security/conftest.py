"""Helpers of the security tests: row counts and URLs filled in for every route."""
from __future__ import annotations

import re

from sqlalchemy import func, select

from training.extensions import db


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
