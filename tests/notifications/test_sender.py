"""The outbox sender against a real SMTP server: building the message, retrying when the server
is down or refuses, never delivering twice (even with two senders at once), setting aside what
a stopped sender left, the development log backend, and `flask send-mail`."""
from __future__ import annotations

import email
import email.policy
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from tests.notifications.conftest import body_html, body_text, calendar_part
from training.db import utcnow, write_transaction
from training.extensions import db
from training.notifications import sender
from training.notifications.models import MessageKind, MessageStatus, Outbox
from training.notifications.outbox import Calendar, enqueue
from training.notifications.sender import NO_SMTP_HOST_NOTE, STOPPED_NOTE, build_email, claim, deliver

ROOT = Path(__file__).resolve().parents[2]
ICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\nUID:booking-1@example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


def _queue(count: int = 1, now=None, **kwargs) -> list[int]:
    """`count` messages to sam0@example.org, sam1@...; their ids."""
    now = now or utcnow()
    with write_transaction():
        messages = [enqueue(MessageKind.BOOKING_CONFIRMED, f"sam{i}@example.org", f"Message {i}", "_smoke",
                            {"name": f"Sam {i}"}, now=now, **kwargs) for i in range(count)]
    return [m.id for m in messages]


def _rows() -> list[Outbox]:
    db.session.commit()  # a fresh snapshot: other threads and processes have written since
    return list(db.session.scalars(select(Outbox).order_by(Outbox.id)))


def _subjects(inbox) -> list[str]:
    return sorted(str(m["Subject"]) for m in inbox.messages)


# ---------------------------------------------------------------------------
# build_email
# ---------------------------------------------------------------------------

def test_build_email_has_the_headers_both_bodies_and_the_calendar_attachment(app):
    with write_transaction():
        message = enqueue(MessageKind.BULLETIN, "sam@example.org", "Safeguarding update: May", "_smoke", {"name": "Sam"},
                          calendar=Calendar(ICS, "CANCEL"),
                          headers={"List-Unsubscribe": "<https://training.example/unsubscribe/abc>",
                                   "To": "someone-else@example.org"})
    email = build_email(message)
    assert email["From"] == app.config["MAIL_FROM"]
    assert email["To"] == "sam@example.org"  # headers_json cannot redirect the message
    assert email.get_all("To") == ["sam@example.org"]
    assert email["Subject"] == "Safeguarding update: May"
    assert email["List-Unsubscribe"] == "<https://training.example/unsubscribe/abc>"
    assert email["Message-ID"].endswith("@partnership.example>")
    assert email["Date"]
    assert "Hello Sam" in body_text(email)
    assert "<p>Hello Sam</p>" in body_html(email)
    assert email.get_body(preferencelist=("plain",)).get_content_type() == "text/plain"
    [attachment] = list(email.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "CANCEL"
    assert attachment.get_filename() == "invite.ics"
    assert calendar_part(email).decode() == ICS


def test_build_email_without_a_calendar_has_no_attachment_and_a_request_is_the_default_method(app):
    with write_transaction():
        plain = enqueue(MessageKind.REMINDER, "sam@example.org", "Reminder", "_smoke", {"name": "Sam"})
        invite = enqueue(MessageKind.BOOKING_CONFIRMED, "sam@example.org", "Booked", "_smoke", {"name": "Sam"},
                         calendar=Calendar(ICS.replace("CANCEL", "REQUEST"), "REQUEST"))
        invite.ics_method = None
    assert list(build_email(plain).iter_attachments()) == []
    assert calendar_part(build_email(plain)) is None
    [attachment] = list(build_email(invite).iter_attachments())
    assert attachment.get_param("method") == "REQUEST"


def test_a_long_subject_is_folded_to_rfc_5322_line_lengths_and_reads_back_whole(app):
    subject = "Booking confirmed: " + "Working together to safeguard children at risk of exploitation, " * 3
    with write_transaction():
        message = enqueue(MessageKind.BOOKING_CONFIRMED, "sam@example.org", subject.strip(), "_smoke", {"name": "Sam"})
    wire = build_email(message).as_bytes()
    header = wire.split(b"\r\n\r\n" if b"\r\n\r\n" in wire else b"\n\n", 1)[0]
    assert max(len(line) for line in header.splitlines()) <= 78
    assert email.message_from_bytes(wire, policy=email.policy.default)["Subject"] == subject.strip()


def test_the_delivered_message_keeps_its_headers_alternatives_and_invitation(smtp_server):
    with write_transaction():
        enqueue(MessageKind.BOOKING_CONFIRMED, "sam@example.org", "Booking confirmed", "_smoke", {"name": "Sam"},
                calendar=Calendar(ICS, "REQUEST"), headers={"X-Training-Kind": "booking-confirmed"})
    assert deliver().sent == 1
    [received] = smtp_server.to("sam@example.org")
    assert smtp_server.envelopes == [("training-team@partnership.example", ["sam@example.org"])]
    assert received["X-Training-Kind"] == "booking-confirmed"
    assert "Hello Sam" in body_text(received) and "<p>Hello Sam</p>" in body_html(received)
    assert calendar_part(received).decode() == ICS
    [attachment] = list(received.iter_attachments())
    assert attachment.get_param("method") == "REQUEST"
    [row] = _rows()
    assert row.status == MessageStatus.SENT and row.sent_at is not None and row.attempts == 1


# ---------------------------------------------------------------------------
# The server is down or refuses: nothing is lost
# ---------------------------------------------------------------------------

def test_messages_wait_while_the_server_is_down_then_each_arrives_once(smtp_server, now):
    _queue(3, now)
    smtp_server.stop()
    report = deliver(now)
    assert (report.sent, report.failed) == (0, 3)
    for row in _rows():
        assert row.status == MessageStatus.QUEUED
        assert row.attempts == 1
        assert row.last_error.startswith("Could not reach the mail server")
        assert row.next_attempt_at == now + timedelta(minutes=1)
        assert row.claim_token is None
    # Not due yet: a pass a moment later leaves them alone.
    assert deliver(now + timedelta(seconds=59)).failed == 0
    assert {r.attempts for r in _rows()} == {1}

    smtp_server.start()
    assert deliver(now + timedelta(seconds=59)).sent == 0
    assert deliver(now + timedelta(minutes=1)).sent == 3
    assert deliver(now + timedelta(hours=2)).sent == 0
    assert _subjects(smtp_server) == ["Message 0", "Message 1", "Message 2"]
    assert [(r.status, r.last_error, r.attempts) for r in _rows()] == [(MessageStatus.SENT, None, 2)] * 3


def test_a_closed_port_leaves_messages_queued(app, smtp_server, now, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    monkeypatch.setitem(app.config, "SMTP_PORT", closed_port)
    _queue(2, now)
    assert deliver(now).failed == 2
    assert [(r.status, r.attempts) for r in _rows()] == [(MessageStatus.QUEUED, 1)] * 2
    assert all("refused" in r.last_error.lower() for r in _rows())
    assert smtp_server.messages == []


def test_a_server_that_never_answers_times_out_and_the_messages_wait(app, smtp_server, now, monkeypatch):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)  # accepts connections (the kernel does) but never says hello
        monkeypatch.setitem(app.config, "SMTP_PORT", silent.getsockname()[1])
        monkeypatch.setitem(app.config, "SMTP_TIMEOUT_SECONDS", 1)
        _queue(2, now)
        started = time.monotonic()
        assert deliver(now).failed == 2
        assert time.monotonic() - started < 10  # one timeout, not one per message
    assert [(r.status, r.last_error) for r in _rows()] == [
        (MessageStatus.QUEUED, "The mail server did not answer in time")] * 2


def test_a_451_refusal_is_retried_later_and_then_accepted(smtp_server, now):
    _queue(2, now)
    smtp_server.refuse = True
    report = deliver(now)
    assert (report.sent, report.failed) == (0, 2)
    assert all("451" in r.last_error and "Try again later" in r.last_error for r in _rows())
    assert {r.status for r in _rows()} == {MessageStatus.QUEUED}
    smtp_server.refuse = False
    assert deliver(now + timedelta(minutes=1)).sent == 2
    assert _subjects(smtp_server) == ["Message 0", "Message 1"]
    assert {r.status for r in _rows()} == {MessageStatus.SENT}


def test_a_550_refusal_follows_the_retry_schedule_until_the_message_fails(app, smtp_server, now, monkeypatch):
    monkeypatch.setitem(app.config, "MAIL_MAX_ATTEMPTS", 5)
    [message_id] = _queue(1, now)
    smtp_server.refuse_with = "550 5.7.1 Message rejected as spam"
    at = now
    delays = []
    for attempt in range(1, 5):
        assert deliver(at).failed == 1
        row = db.session.get(Outbox, message_id, populate_existing=True)
        assert row.status == MessageStatus.QUEUED and row.attempts == attempt
        assert row.last_error == "The mail server refused the message (550 5.7.1 Message rejected as spam)"
        delays.append(row.next_attempt_at - at)
        assert deliver(row.next_attempt_at - timedelta(seconds=1)).failed == 0  # not due a second early
        at = row.next_attempt_at
    assert delays == [timedelta(minutes=m) for m in (1, 5, 15, 60)]
    assert deliver(at).failed == 1
    row = db.session.get(Outbox, message_id, populate_existing=True)
    assert (row.status, row.attempts) == (MessageStatus.FAILED, 5)
    assert "550" in row.last_error
    smtp_server.refuse_with = None
    assert deliver(at + timedelta(days=1)).sent == 0  # failed stays failed until a coordinator retries
    assert smtp_server.messages == []


def test_one_refused_message_does_not_hold_up_the_others(smtp_server, now):
    _queue(3, now)
    original = smtp_server.handle_DATA

    async def refuse_sam1(server, session, envelope):
        if envelope.rcpt_tos == ["sam1@example.org"]:
            return "550 5.1.1 No such mailbox"
        return await original(server, session, envelope)

    smtp_server.handle_DATA = refuse_sam1
    report = deliver(now)
    assert (report.sent, report.failed) == (2, 1)
    assert [r.status for r in _rows()] == [MessageStatus.SENT, MessageStatus.QUEUED, MessageStatus.SENT]
    assert _subjects(smtp_server) == ["Message 0", "Message 2"]


def test_a_server_that_hangs_up_part_way_leaves_the_rest_of_the_batch_queued(smtp_server, now):
    _queue(3, now)
    smtp_server.refuse_with = "421 4.3.2 Service shutting down"  # smtplib closes the connection on 421
    report = deliver(now)
    assert (report.sent, report.failed) == (0, 3)
    first, *rest = _rows()
    assert first.last_error == "The mail server refused the message (421 4.3.2 Service shutting down)"
    assert [r.last_error.startswith("The mail server closed the connection") for r in rest] == [True, True]
    assert {(r.status, r.attempts) for r in _rows()} == {(MessageStatus.QUEUED, 1)}
    smtp_server.refuse_with = None
    assert deliver(now + timedelta(minutes=1)).sent == 3
    assert _subjects(smtp_server) == ["Message 0", "Message 1", "Message 2"]


# ---------------------------------------------------------------------------
# At most once, even with two senders
# ---------------------------------------------------------------------------

def test_two_senders_at_once_deliver_every_message_exactly_once(app, smtp_server, now, monkeypatch):
    _queue(60, now)
    monkeypatch.setitem(app.config, "MAIL_BATCH_SIZE", 7)  # many small claims, so the senders interleave
    start = threading.Barrier(2)
    reports: list[list] = [[], []]
    errors: list[BaseException] = []

    def run(slot: int) -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                while True:
                    report = deliver(now)
                    reports[slot].append(report)
                    if not (report.sent or report.failed):
                        break
                db.session.remove()
        except BaseException as exc:  # surfaced below: a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(slot,)) for slot in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.sent for rs in reports for r in rs) == 60
    assert sum(r.failed for rs in reports for r in rs) == 0
    assert _subjects(smtp_server) == sorted(f"Message {i}" for i in range(60))
    assert sorted(rcpt for _sender, [rcpt] in smtp_server.envelopes) == sorted(f"sam{i}@example.org" for i in range(60))
    rows = _rows()
    assert {(r.status, r.attempts) for r in rows} == {(MessageStatus.SENT, 1)}


def test_a_claim_never_takes_rows_another_sender_is_claiming(app, now):
    ids = _queue(20, now)
    held = threading.Event()
    release = threading.Event()
    first_five: list[int] = []
    claimed: list[int] = []
    done_while_held: list[bool] = []

    def other_sender() -> None:
        # Another sender, part way through its claim: rows locked and marked, not yet committed.
        with app.app_context(), db.engine.connect() as conn, conn.begin():
            first_five.extend(conn.scalars(
                select(Outbox.id).order_by(Outbox.id).limit(5).with_for_update(skip_locked=True)).all())
            conn.execute(update(Outbox).where(Outbox.id.in_(first_five)).values(status=MessageStatus.SENDING))
            held.set()
            release.wait(20)

    def this_sender() -> None:
        with app.app_context():
            claimed.extend(claim(now, 100))
            done_while_held.append(not release.is_set())
            db.session.remove()

    other = threading.Thread(target=other_sender)
    other.start()
    assert held.wait(10)
    mine = threading.Thread(target=this_sender)
    mine.start()
    mine.join(timeout=3)
    if db.engine.dialect.name == "postgresql":
        # SKIP LOCKED: the claim went ahead without waiting, and left the locked rows alone.
        assert not mine.is_alive()
    else:
        # SQLite: one writer at a time, so the claim waits for the other sender to commit.
        assert mine.is_alive()
    release.set()
    mine.join(timeout=30)
    other.join(timeout=30)
    assert done_while_held == [db.engine.dialect.name == "postgresql"]
    assert sorted(first_five) == ids[:5]
    assert sorted(claimed) == ids[5:]
    assert not set(claimed) & set(first_five)


# ---------------------------------------------------------------------------
# A sender that stopped part way
# ---------------------------------------------------------------------------

def test_messages_a_stopped_sender_left_sending_are_set_aside_not_resent(app, smtp_server, now):
    stale, recent = _queue(2, now)
    with write_transaction():
        claimed_minutes_ago = {stale: app.config["MAIL_CLAIM_MINUTES"] + 1, recent: 5}
        for message_id, minutes in claimed_minutes_ago.items():
            row = db.session.get(Outbox, message_id)
            row.status, row.attempts, row.claim_token = MessageStatus.SENDING, 1, "dead-sender"
            row.claimed_at = now - timedelta(minutes=minutes)
    report = deliver(now)
    assert (report.sent, report.set_aside) == (0, 1)
    stale_row, recent_row = _rows()
    assert (stale_row.status, stale_row.last_error) == (MessageStatus.FAILED, STOPPED_NOTE)
    assert recent_row.status == MessageStatus.SENDING and recent_row.last_error is None
    assert smtp_server.messages == []
    # Hours later the set-aside message is still failed: only a coordinator sends it again.
    assert deliver(now + timedelta(hours=3)).sent == 0
    assert _rows()[0].status == MessageStatus.FAILED
    assert smtp_server.messages == []


def test_a_slow_sender_finishing_after_its_message_was_set_aside_records_it_as_sent(now):
    [message_id] = _queue(1, now)
    token = "slow-sender"
    assert claim(now, 10, token) == [message_id]
    assert sender.set_aside_stopped(now + timedelta(hours=1)) == 1
    sender._mark_sent(message_id, token, now + timedelta(hours=1))
    [row] = _rows()
    assert (row.status, row.last_error) == (MessageStatus.SENT, None)


def test_a_failed_attempt_after_the_message_was_set_aside_leaves_it_failed(now):
    [message_id] = _queue(1, now)
    claim(now, 10, "slow-sender")
    sender.set_aside_stopped(now + timedelta(hours=1))
    sender._mark_failed_attempt(message_id, "slow-sender", "The mail server did not answer in time", now)
    [row] = _rows()
    assert (row.status, row.last_error) == (MessageStatus.FAILED, STOPPED_NOTE)


def test_a_pass_stops_inside_the_claim_window_and_gives_the_rest_back(app, smtp_server, now, monkeypatch):
    # With no time at all to spare, the pass sends its first message and releases the others.
    monkeypatch.setitem(app.config, "MAIL_CLAIM_MINUTES", 0)
    _queue(3, now)
    assert deliver(now).sent == 1
    assert [(r.status, r.attempts, r.claim_token) for r in _rows()] == [
        (MessageStatus.SENT, 1, None), (MessageStatus.QUEUED, 0, None), (MessageStatus.QUEUED, 0, None)]
    assert _subjects(smtp_server) == ["Message 0"]


# ---------------------------------------------------------------------------
# No SMTP server configured
# ---------------------------------------------------------------------------

def test_in_development_the_whole_message_goes_to_the_log(app, now, caplog):
    assert app.config["SMTP_HOST"] == ""
    with write_transaction():
        enqueue(MessageKind.BOOKING_CONFIRMED, "sam@example.org", "Booking confirmed", "_smoke", {"name": "Sam"},
                calendar=Calendar(ICS, "REQUEST"), now=now)
    with caplog.at_level(logging.INFO, logger="training.notifications.sender"):
        assert deliver(now).sent == 1
    [record] = [r for r in caplog.records if r.name == "training.notifications.sender"]
    assert record.levelno == logging.INFO
    logged = record.getMessage()
    for expected in ("To: sam@example.org", "Subject: Booking confirmed", "Hello Sam", "<p>Hello Sam</p>",
                     "--- text/calendar ---", "UID:booking-1@example"):
        assert expected in logged
    [row] = _rows()
    assert row.status == MessageStatus.SENT


def test_in_production_without_smtp_host_nothing_is_logged_and_messages_wait(app, smtp_server, now, monkeypatch,
                                                                            caplog):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    _queue(2, now)
    with caplog.at_level(logging.DEBUG):
        report = deliver(now)
        again = deliver(now + timedelta(hours=1))
    assert (report.sent, report.failed, report.held) == (0, 0, 2)
    assert again.held == 2
    assert [(r.status, r.attempts, r.last_error) for r in _rows()] == [(MessageStatus.QUEUED, 0, NO_SMTP_HOST_NOTE)] * 2
    assert "sam0@example.org" not in caplog.text and "Hello Sam" not in caplog.text and "Message 0" not in caplog.text
    # Once the mail server is configured, they go.
    monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
    assert deliver(now + timedelta(hours=1)).sent == 2
    assert _subjects(smtp_server) == ["Message 0", "Message 1"]


# ---------------------------------------------------------------------------
# flask send-mail
# ---------------------------------------------------------------------------

def test_send_mail_delivers_once(runner, smtp_server):
    _queue(2)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0, result.output
    assert "Sent 2 message(s); 0 failed attempt(s)" in result.output
    assert _subjects(smtp_server) == ["Message 0", "Message 1"]
    assert runner.invoke(args=["send-mail"]).output.startswith("Sent 0 message(s)")
    assert len(smtp_server.messages) == 2


def test_send_mail_reports_a_refusal_without_personal_data(runner, smtp_server):
    _queue(1)
    smtp_server.refuse = True
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 0
    assert "Sent 0 message(s); 1 failed attempt(s)" in result.output
    assert "sam0@example.org" not in result.output
    assert _rows()[0].status == MessageStatus.QUEUED


def test_send_mail_in_production_without_smtp_host_fails_loudly(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    _queue(1)
    result = runner.invoke(args=["send-mail"])
    assert result.exit_code == 1
    assert "1 waiting: SMTP_HOST is not set" in result.output
    assert "sam0@example.org" not in result.output
    assert _rows()[0].status == MessageStatus.QUEUED


def test_send_mail_loop_runs_pass_after_pass(runner, smtp_server):
    _queue(3)
    result = runner.invoke(args=["send-mail", "--loop", "--interval", "0", "--max-passes", "2"])
    assert result.exit_code == 0, result.output
    assert "Sent 3 message(s)" in result.output
    assert result.output.rstrip().endswith("Stopped after 2 pass(es)")
    assert len(smtp_server.messages) == 3
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the loop put the handlers back


def test_send_mail_rejects_a_negative_interval(runner):
    result = runner.invoke(args=["send-mail", "--loop", "--interval", "-1"])
    assert result.exit_code == 2
    assert "--interval" in result.output


def test_send_mail_loop_stops_cleanly_on_sigterm(app, smtp_server):
    _queue(1)
    env = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SMTP_HOST": "127.0.0.1",
           "SMTP_PORT": str(app.config["SMTP_PORT"]), "SMTP_STARTTLS": "false", "FLASK_ENV": "development"}
    process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "send-mail", "--loop", "--interval", "0.2"],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while not smtp_server.messages and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        assert len(smtp_server.messages) == 1
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert "Sent 1 message(s)" in output
    assert "Stopped after" in output
    assert "Traceback" not in output
    assert _rows()[0].status == MessageStatus.SENT
    assert len(smtp_server.messages) == 1

