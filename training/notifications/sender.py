"""Delivering the outbox over SMTP (or to the log in development).

A sender claims due messages in a short transaction (FOR UPDATE SKIP LOCKED on PostgreSQL; on
SQLite the BEGIN IMMEDIATE write transaction already serialises claimers), marks them
`sending`, commits, and only then talks to the SMTP server. Each message is marked `sent` in
its own small transaction straight after the server accepts it. So two senders never claim the
same row, and a message is delivered at most once.
"""
from __future__ import annotations

import logging
import smtplib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import click
from flask import current_app
from sqlalchemy import select

from ..db import utcnow, write_transaction
from ..extensions import db
from .models import MessageStatus, Outbox
from .outbox import headers_of

log = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0  # attempts that failed this pass (the message may still be queued for retry)
    errors: list[str] = field(default_factory=list)


def build_email(message: Outbox) -> EmailMessage:
    """The MIME message: text and HTML alternatives, and the calendar invitation if any."""
    email = EmailMessage()
    email["From"] = current_app.config["MAIL_FROM"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(idstring=f"outbox-{message.id}")
    for name, value in headers_of(message).items():
        email[name] = value
    email.set_content(message.text_body)
    email.add_alternative(message.html_body, subtype="html")
    if message.ics:
        email.add_attachment(message.ics.encode("utf-8"), maintype="text", subtype="calendar",
                             filename="invite.ics", params={"method": message.ics_method or "REQUEST"})
    return email


def claim(now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due messages as ours (sending) and return their ids."""
    token = str(uuid.uuid4())
    with write_transaction():
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


def _connect() -> smtplib.SMTP:
    cfg = current_app.config
    cls = smtplib.SMTP_SSL if cfg["SMTP_SSL"] else smtplib.SMTP
    smtp = cls(cfg["SMTP_HOST"], cfg["SMTP_PORT"], timeout=cfg["SMTP_TIMEOUT_SECONDS"])
    if cfg["SMTP_STARTTLS"] and not cfg["SMTP_SSL"]:
        smtp.starttls()
    if cfg["SMTP_USERNAME"]:
        smtp.login(cfg["SMTP_USERNAME"], cfg["SMTP_PASSWORD"])
    return smtp


def _retry_delay(attempts: int) -> timedelta:
    """1, 5, 15 minutes, then hourly: long enough to ride out a restart of the mail server."""
    return timedelta(minutes=(1, 5, 15)[attempts - 1] if attempts <= 3 else 60)


def _mark_sent(message_id: int, now: datetime) -> None:
    with write_transaction():
        message = db.session.get(Outbox, message_id, populate_existing=True)
        message.status = MessageStatus.SENT
        message.sent_at = now
        message.last_error = None
        message.claim_token = None


def _mark_failed_attempt(message_id: int, error: str, now: datetime) -> None:
    with write_transaction():
        message = db.session.get(Outbox, message_id, populate_existing=True)
        message.last_error = error[:500]
        message.claim_token = None
        if message.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            message.status = MessageStatus.FAILED
        else:
            message.status = MessageStatus.QUEUED
            message.next_attempt_at = now + _retry_delay(message.attempts)


def deliver(now: datetime | None = None) -> DeliveryReport:
    """One pass: claim the due messages and hand them to the mail server (or the log)."""
    now = now or utcnow()
    report = DeliveryReport()
    ids = claim(now, current_app.config["MAIL_BATCH_SIZE"])
    if not ids:
        return report
    smtp = None
    use_smtp = bool(current_app.config["SMTP_HOST"])
    try:
        if use_smtp:
            try:
                smtp = _connect()
            except (OSError, smtplib.SMTPException) as exc:
                for message_id in ids:
                    _mark_failed_attempt(message_id, f"Could not connect to the mail server: {exc}", now)
                report.failed += len(ids)
                report.errors.append(str(exc))
                return report
        for message_id in ids:
            message = db.session.get(Outbox, message_id, populate_existing=True)
            try:
                email = build_email(message)
                if smtp is None:
                    log.info("Email (development: not sent)\n%s", email.as_string())
                else:
                    smtp.send_message(email)
            except (OSError, smtplib.SMTPException) as exc:
                _mark_failed_attempt(message_id, f"{type(exc).__name__}: {exc}", now)
                report.failed += 1
                report.errors.append(str(exc))
                continue
            _mark_sent(message_id, now)
            report.sent += 1
    finally:
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                pass
    return report


@click.command("send-mail")
@click.option("--loop", is_flag=True, help="Keep running, delivering as messages become due")
def send_mail_command(loop: bool) -> None:
    """Deliver queued emails: one pass, or --loop."""
    report = deliver()
    click.echo(f"Sent {report.sent} message(s); {report.failed} failed attempt(s)")
