"""`flask tick`: every rule in one idempotent command that cron runs every few minutes."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import date, timedelta

from sqlalchemy import func, select

from tests.evaluation.conftest import attended_booking
from tests.factories import BookingFactory, SessionFactory, UserFactory
from tests.needs.helpers import MembershipFactory, RequirementFactory, completed, level_course
from training.attendance.models import AttendanceOutcome, Register
from training.booking.models import Booking, BookingStatus
from training.catalogue.models import Level
from training.extensions import db
from training.notifications import scheduled
from training.notifications.models import MessageKind, MessageStatus, Outbox
from training.notifications.sender import deliver


def _days(n: float) -> timedelta:
    return timedelta(days=n)


world: dict[str, int] = {}


def a_world(now) -> dict[MessageKind, str]:
    """One person for each scheduled rule; returns the address each rule should email."""
    soon = SessionFactory(starts_at=now + _days(3), ends_at=now + _days(3) + timedelta(hours=3),
                          booking_closes_at=now + _days(2), online_link="https://meet.example.org/j/1")
    reminded = BookingFactory(session=soon, confirmed_at=now - _days(3))
    asked = attended_booking()
    follow_up = attended_booking(ended_days_ago=6 * 7 + 1)
    missed = attended_booking(AttendanceOutcome.DID_NOT_ATTEND)
    db.session.add(Register(session_id=missed.session_id, completed_at=missed.session.ends_at))
    requirement = RequirementFactory(level=Level.LEVEL_1, refresher_months=36)
    refresher = UserFactory()
    MembershipFactory(user=refresher, group=requirement.group, started_on=date(2020, 1, 1))
    due_on = (now - _days(3 * 365 - 20)).date()  # three years ago, less 20 days: due in about 20 days
    completed(refresher, level_course(Level.LEVEL_1), due_on)
    # An offer that has lapsed: tick expires it.
    lapsed = BookingFactory(session=SessionFactory(), status=BookingStatus.OFFERED, offered_at=now - _days(3),
                             offer_expires_at=now - _days(1))
    # Manager approval: a hold that ran out, and a request the manager never answered.
    held = BookingFactory(status=BookingStatus.AWAITING_APPROVAL, approval_holds_place=True,
                          approval_hold_until=now - _days(1), approval_expires_at=now + _days(10))
    unanswered = BookingFactory(status=BookingStatus.AWAITING_APPROVAL, approval_expires_at=now - _days(1))
    db.session.commit()
    world.update(lapsed_offer_id=lapsed.id, held_id=held.id, unanswered_id=unanswered.id)
    return {
        MessageKind.REMINDER: reminded.user.email,
        MessageKind.EVALUATION_REQUEST: asked.user.email,
        MessageKind.FOLLOW_UP_DUE: follow_up.user.email,
        MessageKind.FOLLOW_UP_MANAGER: follow_up.user.manager_email,
        MessageKind.NO_SHOW: missed.user.manager_email,
        MessageKind.REFRESHER_DUE: refresher.email,
    }


def _outbox_count() -> int:
    return db.session.scalar(select(func.count(Outbox.id)))


def test_tick_twice_in_a_row_queues_nothing_the_second_time(app, now):
    expected = a_world(now)
    first = {r.label: r.count for r in scheduled.run(now)}
    assert first["Reminders"] == 1
    assert first["Evaluation requests"] == 1  # the follow-up's session ended before the look-back
    assert first["Follow-up emails"] == 2
    assert first["No-show notices"] == 1
    assert first["Refresher notices"] == 1
    assert first["Offers expired"] == 1
    assert first["Approval holds released"] == 1
    assert first["Approval requests expired"] == 1
    assert db.session.get(Booking, world["lapsed_offer_id"], populate_existing=True).status == BookingStatus.EXPIRED
    assert db.session.get(Booking, world["held_id"], populate_existing=True).approval_holds_place is False
    assert db.session.get(Booking, world["unanswered_id"], populate_existing=True).status == BookingStatus.APPROVAL_EXPIRED
    count = _outbox_count()
    for kind, address in expected.items():
        assert address in db.session.scalars(select(Outbox.recipient).where(Outbox.kind == kind)).all(), kind

    second = scheduled.run(now)
    assert all(r.count == 0 for r in second), [r.line for r in second]
    assert _outbox_count() == count


def test_nothing_is_received_twice(app, now, smtp_server):
    expected = a_world(now)
    scheduled.run(now)
    sent = deliver(now).sent
    assert sent == _outbox_count() and sent >= len(expected)
    scheduled.run(now)
    scheduled.run(now + timedelta(minutes=5))
    assert deliver(now + timedelta(minutes=5)).sent == 0
    delivered = Counter((m["To"], m["Subject"]) for m in smtp_server.messages)
    assert delivered and max(delivered.values()) == 1
    for address in expected.values():
        assert smtp_server.to(address), address
    assert all(status == MessageStatus.SENT for status in db.session.scalars(select(Outbox.status)))


def test_the_cli_prints_a_line_per_rule_and_exits_0(app, now):
    a_world(now)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tick"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "Reminders: 1 queued" in lines
    assert "No-show notices: 1 queued" in lines
    assert "Offers expired: 1" in lines
    assert [line.split(":")[0] for line in lines] == [label for label, _unit, _rule in scheduled.RULES]
    again = runner.invoke(args=["tick"])
    assert again.exit_code == 0, again.output
    assert "Reminders: 0 queued" in again.output.splitlines()
    assert "Offers expired: 0" in again.output.splitlines()


def test_a_failing_rule_does_not_stop_the_others_and_the_command_fails(app, now, monkeypatch):
    a_world(now)

    def broken(_now):
        raise RuntimeError("boom")

    rules = [(label, unit, broken if label == "Reminders" else rule) for label, unit, rule in scheduled.RULES]
    monkeypatch.setattr(scheduled, "RULES", rules)
    result = app.test_cli_runner().invoke(args=["tick"])
    assert result.exit_code == 1
    assert "Reminders: failed" in result.output
    assert "No-show notices: 1 queued" in result.output
    assert "Reminders" in result.output.splitlines()[-1]


RUNS = 4


def test_ticks_running_at_the_same_time_raise_each_message_once(app, now):
    a_world(now)
    db.session.commit()
    barrier = threading.Barrier(RUNS)
    results: list[list[scheduled.RuleResult]] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def tick():
        try:
            with app.app_context():
                barrier.wait(timeout=60)
                outcome = scheduled.run(now)
                db.session.remove()
            with lock:
                results.append(outcome)
        except BaseException as exc:  # noqa: BLE001  (reported below, not swallowed)
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=tick) for _ in range(RUNS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)

    assert errors == []
    assert len(results) == RUNS
    assert all(r.count is not None for outcome in results for r in outcome)
    # Between them the runs queued each message once: as many as one run alone would.
    assert sum(r.count for outcome in results for r in outcome if r.label == "Reminders") == 1
    db.session.expire_all()
    keys = db.session.scalars(select(Outbox.dedupe_key).where(Outbox.dedupe_key.is_not(None))).all()
    assert len(keys) == len(set(keys)) >= 6
