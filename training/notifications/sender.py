"""Delivering the outbox over SMTP (or to the log in development).

A sender claims due messages in a short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; on
SQLite the BEGIN IMMEDIATE write transaction already serialises claimers), marks them
`sending`, commits, and only then talks to the SMTP server. Each message is marked `sent` in
its own small transaction straight after the server accepts it. So two senders never claim the
same row, and a message is delivered at most once.

A refusal or an unreachable server puts the message back in the queue with an error note and
its next attempt moved along the retry schedule; after MAIL_MAX_ATTEMPTS it is `failed`, for a
coordinator to look at. A message left `sending` by a sender that stopped part way is never
resent blindly (the server may already have it): it is set aside as `failed` with a note.
"""
from __future__ import annotations

import logging
import signal
import smtplib
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import click
from flask import current_app
from sqlalchemy import select, update

from ..db import utcnow, write_transaction
from ..extensions import db
from .models import MessageStatus, Outbox
from .outbox import headers_of

log = logging.getLogger(__name__)

#: The note on a message whose sender stopped after claiming it: it may or may not have gone.
STOPPED_NOTE = "The sender stopped while delivering this message: check it was not received before retrying"
#: The note on messages held back because no mail server is configured in production.
NO_SMTP_HOST_NOTE = "SMTP_HOST is not set"
#: Headers that come from the message's own columns; `headers_json` cannot override them.
_OWN_HEADERS = frozenset({"from", "to", "subject", "message-id", "date"})
#: Minutes to wait after the 1st, 2nd and 3rd failed attempts; hourly after that.
RETRY_MINUTES = (1, 5, 15)
LATER_RETRY_MINUTES = 60


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # attempts that failed this pass (the message may still be queued for retry)
    errors: list[str] = field(default_factory=list)  # notes without addresses: fit for a log
    set_aside: int = 0  # messages a stopped sender left `sending`, now `failed`
    held: int = 0  # due messages kept queued because SMTP_HOST is not set in production


# ---------------------------------------------------------------------------
# Building the message
# ---------------------------------------------------------------------------

def _domain() -> str:
    return parseaddr(current_app.config["MAIL_FROM"])[1].rpartition("@")[2] or "localhost"


def build_email(message: Outbox) -> EmailMessage:
    """The MIME message: text and HTML alternatives, and the calendar invitation if any."""
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Date"] = format_datetime(utcnow())
    # The domain of MAIL_FROM rather than this machine's name, which would leak into every email.
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}", domain=_domain())
    for name, value in headers_of(message).items():
        if name.lower() not in _OWN_HEADERS:
            email[name] = value
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    if message.ics:
        email.add_attachment(message.ics.encode("utf-8"), maintype="text", subtype="calendar",
                             filename="invite.ics", params={"method": message.ics_method or "REQUEST"})
    return email


def _readable(email: EmailMessage) -> str:
    """The whole message for the development log: headers, then each part decoded."""
    lines = [f"{name}: {value}" for name, value in email.items() if name.lower() != "content-type"]
    for part in email.walk():
        if part.is_multipart():
            continue
        lines += ["", f"--- {part.get_content_type()} ---", part.get_content().rstrip()]
    return "\n".join(lines)


# ---------------------------------------------------------------------------
# The rows' states
# ---------------------------------------------------------------------------

def claim(now: datetime, limit: int, token: str | None = None) -> list[int]:
    """Mark up to `limit` due messages as ours (sending) and return their ids."""
    token = token or str(uuid.uuid4())
    with write_transaction():
        # SKIP LOCKED: a row another sender is claiming right now is left to it, not waited for.
        # Its status is re-checked once that sender commits, so a row is never claimed twice.
        ids = list(db.session.scalars(
            select(Outbox.id)
            .where(Outbox.status == MessageStatus.QUEUED, Outbox.next_attempt_at <= now)
            .order_by(Outbox.next_attempt_at, Outbox.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ))
        for message in db.session.scalars(select(Outbox).where(Outbox.id.in_(ids))):
            message.status = MessageStatus.SENDING
            message.claim_token = token
            message.claimed_at = now
            message.attempts += 1
    return ids


def set_aside_stopped(now: datetime) -> int:
    """Messages claimed longer ago than MAIL_CLAIM_MINUTES become failed, with a note to check."""
    cutoff = now - timedelta(minutes=current_app.config["MAIL_CLAIM_MINUTES"])
    with write_transaction():
        # The claim token is kept: if that sender was only slow, it can still record the delivery.
        result = db.session.execute(
            update(Outbox)
            .where(Outbox.status == MessageStatus.SENDING, Outbox.claimed_at < cutoff)
            .values(status=MessageStatus.FAILED, last_error=STOPPED_NOTE)
            .execution_options(synchronize_session=False)
        )
    return result.rowcount or 0


def _hold_without_server(now: datetime) -> int:
    """Note on each due message that it waits for SMTP_HOST; returns how many are waiting."""
    due = (Outbox.status == MessageStatus.QUEUED, Outbox.next_attempt_at <= now)
    with write_transaction():
        db.session.execute(
            update(Outbox)
            .where(*due, (Outbox.last_error.is_(None)) | (Outbox.last_error != NO_SMTP_HOST_NOTE))
            .values(last_error=NO_SMTP_HOST_NOTE)
            .execution_options(synchronize_session=False)
        )
        return db.session.scalar(select(db.func.count()).select_from(Outbox).where(*due)) or 0


def retry_delay(attempts: int) -> timedelta:
    """1, 5, 15 minutes, then hourly: long enough to ride out a restart of the mail server."""
    if 1 <= attempts <= len(RETRY_MINUTES):
        return timedelta(minutes=RETRY_MINUTES[attempts - 1])
    return timedelta(minutes=LATER_RETRY_MINUTES)


def _ours(message_id: int, token: str) -> Outbox | None:
    """The row, locked, if it is still claimed by this pass."""
    message = db.session.scalar(
        select(Outbox).where(Outbox.id == message_id).with_for_update().execution_options(populate_existing=True))
    return message if message is not None and message.claim_token == token else None


def _mark_sent(message_id: int, token: str, now: datetime) -> None:
    with write_transaction():
        message = _ours(message_id, token)
        if message is None:
            # A coordinator retried it after it was set aside: that copy will go too.
            log.warning("Outbox message %s was delivered after it was set aside", message_id)
            return
        message.status = MessageStatus.SENT
        message.sent_at = now
        message.last_error = None
        message.claim_token = None


def _mark_failed_attempt(message_id: int, token: str, error: str, now: datetime) -> None:
    with write_transaction():
        message = _ours(message_id, token)
        if message is None or message.status != MessageStatus.SENDING:
            return  # set aside meanwhile: leave it failed with its note
        message.last_error = error[:500]
        message.claim_token = None
        if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            message.status = MessageStatus.FAILED
        else:
            message.status = MessageStatus.QUEUED
            message.next_attempt_at = now + retry_delay(message.attempts)


def _release(message_ids: list[int], token: str) -> None:
    """Give claimed messages back, untried: they keep their place and their attempts."""
    with write_transaction():
        db.session.execute(
            update(Outbox)
            .where(Outbox.id.in_(message_ids), Outbox.claim_token == token, Outbox.status == MessageStatus.SENDING)
            .values(status=MessageStatus.QUEUED, claim_token=None, claimed_at=None, attempts=Outbox.attempts - 1)
            .execution_options(synchronize_session=False)
        )


# ---------------------------------------------------------------------------
# Talking to the server
# ---------------------------------------------------------------------------

def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    cls = smtplib.SMTP_SSL if cfg["SMTP_SSL"] else smtplib.SMTP
    smtp = cls(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT_SECONDS"])
    try:
        if cfg["SMTP_STARTTLS"] and not cfg["SMTP_SSL"]:
            smtp.starttls()
        if cfg["SMTP_USERNAME"]:
            smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
    except BaseException:
        smtp.close()
        raise
    return smtp


def _reply(text: bytes | str) -> str:
    return (text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)).strip()


def _describe(exc: BaseException) -> str:
    """A note for the coordinator (it may quote the server, which may name the recipient)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (0, b""))
        return f"The mail server refused the recipient ({code} {_reply(reply)})"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"The mail server refused the message ({exc.smtp_code} {_reply(exc.smtp_error)})"
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        # smtplib reports a timeout while waiting for a reply as a disconnection.
        return "The mail server did not answer in time"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return f"The mail server closed the connection: {exc}"
    if isinstance(exc, OSError):
        return f"Could not reach the mail server: {exc}"
    return f"Could not send the message: {type(exc).__name__}: {exc}"


def _for_log(exc: BaseException) -> str:
    """The kind of failure, without the server's words (they can hold an email address)."""
    code = getattr(exc, "smtp_code", None)
    return f"{type(exc).__name__} {code}" if code else type(exc).__name__


def _connection_lost(exc: BaseException) -> bool:
    """The connection is unusable: the rest of the batch would fail (or time out) the same way."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


def deliver(now: datetime | None = None) -> DeliveryReport:
    """One pass: claim the due messages and hand them to the mail server (or the log)."""
    now = now or utcnow()
    cfg = current_app.config
    report = DeliveryReport()
    report.set_aside = set_aside_stopped(now)
    if report.set_aside:
        report.errors.append(f"{report.set_aside} message(s) set aside: a sender stopped while delivering them")
    use_smtp = bool(cfg["SMTP_HOST"])
    if not use_smtp and cfg["ENV_NAME"] == "production":
        # The log backend would write people's messages (and their private links) to the log.
        report.held = _hold_without_server(now)
        if report.held:
            report.errors.append(f"{NO_SMTP_HOST_NOTE}: {report.held} message(s) waiting")
        return report
    token = str(uuid.uuid4())
    ids = claim(now, cfg["MAIL_BATCH_SIZE"], token)
    if not ids:
        return report
    # Stop well inside the claim window, so no other sender sets our messages aside.
    budget = cfg["MAIL_CLAIM_MINUTES"] * 60 / 2
    started = time.monotonic()
    smtp = None
    try:
        if use_smtp:
            try:
                smtp = _connect()
            except (OSError, smtplib.SMTPException) as exc:
                for message_id in ids:
                    _mark_failed_attempt(message_id, token, _describe(exc), now)
                report.failed += len(ids)
                report.errors.append(_for_log(exc))
                return report
        for position, message_id in enumerate(ids):
            if position and time.monotonic() - started > budget:
                _release(ids[position:], token)
                break
            message = db.session.get(Outbox, message_id, populate_existing=True)
            try:
                email = build_email(message)
                if smtp is None:
                    log.info("Email %s (development: not sent)\n%s", message_id, _readable(email))
                else:
                    smtp.send_message(email)
            except Exception as exc:  # one bad message must not strand the rest of the batch
                _mark_failed_attempt(message_id, token, _describe(exc), now)
                report.failed += 1
                report.errors.append(_for_log(exc))
                log.warning("Outbox message %s not delivered: %s", message_id, _for_log(exc))
                if _connection_lost(exc):
                    for rest in ids[position + 1:]:
                        _mark_failed_attempt(rest, token, _describe(exc), now)
                    report.failed += len(ids) - position - 1
                    break
                continue
            _mark_sent(message_id, token, now)
            report.sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
    return report


# ---------------------------------------------------------------------------
# flask send-mail
# ---------------------------------------------------------------------------

def _show_development_log() -> None:
    """Make the log backend visible on the terminal when nothing else has set logging up."""
    if current_app.config["SMTP_HOST"] or current_app.config["ENV_NAME"] == "production":
        return
    if log.getEffectiveLevel() > logging.INFO:
        log.setLevel(logging.INFO)
    if not log.hasHandlers():
        log.addHandler(logging.StreamHandler())


def _summary(report: DeliveryReport) -> str:
    text = f"Sent {report.sent} message(s); {report.failed} failed attempt(s)"
    if report.set_aside:
        text += f"; {report.set_aside} set aside (a sender stopped while delivering them)"
    if report.held:
        text += f"; {report.held} waiting: {NO_SMTP_HOST_NOTE}"
    return text


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, delivering messages as they become due.")
@click.option("--interval", type=click.FloatRange(min=0), default=30, show_default=True,
              help="Seconds between passes with --loop.")
@click.option("--max-passes", type=click.IntRange(min=1), default=None, hidden=True)
@click.pass_context
def send_mail_command(ctx: click.Context, loop: bool, interval: float, max_passes: int | None) -> None:
    """Deliver queued emails: one pass, or --loop until stopped (SIGTERM or Ctrl-C)."""
    _show_development_log()
    if not loop:
        report = deliver()
        click.echo(_summary(report))
        if report.held:
            ctx.exit(1)  # so cron reports the misconfiguration
        return
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        # Finish the pass in hand, then stop: a pass cut short would leave messages `sending`.
        for signum in (signal.SIGTERM, signal.SIGINT):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    passes = 0
    try:
        click.echo(f"Delivering every {interval:g} seconds; stop with Ctrl-C or SIGTERM")
        while not stop.is_set():
            report = deliver()
            # Between passes hold no connection or snapshot (a long SQLite read blocks checkpoints).
            db.session.remove()
            passes += 1
            if report.sent or report.failed or report.set_aside or report.held:
                click.echo(_summary(report))
            if max_passes is not None and passes >= max_passes:
                break
            stop.wait(interval)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    click.echo(f"Stopped after {passes} pass(es)")
