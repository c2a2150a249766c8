"""Who counts as present: one rule (the outcome's `was_present`) for certificates, evaluation
forms, reminders and the summary, in Python and in SQL."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.factories import AttendanceFactory
from training.attendance.models import PRESENT_OUTCOMES, Attendance, AttendanceOutcome
from training.extensions import db


def test_attended_and_partially_attended_count_as_present():
    assert PRESENT_OUTCOMES == {AttendanceOutcome.ATTENDED, AttendanceOutcome.PARTIAL}


@pytest.mark.parametrize("outcome", list(AttendanceOutcome))
def test_was_present_is_the_same_rule_in_python_and_sql(outcome):
    attendance = AttendanceFactory(outcome=outcome)
    expected = outcome in PRESENT_OUTCOMES
    assert attendance.was_present is expected
    found = db.session.scalars(select(Attendance.id).where(Attendance.was_present)).all()
    assert (attendance.id in found) is expected
