"""Writing emails to the outbox. Every caller is already inside a write transaction.

`enqueue` renders a message from `templates/notifications/email/<template>.txt` and `.html`
and adds one Outbox row to the caller's transaction; it never commits. So an email exists
exactly when the change that caused it commits.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import timeutil
from ..db import insert_all_loaded, utcnow
from ..extensions import db
from .models import MessageKind, Outbox

# The emails of one event, while `written_together` collects them.
_together: ContextVar[list[Outbox] | None] = ContextVar("outbox_together", default=None)


@dataclass(frozen=True)
class Calendar:
    """An iCalendar attachment: the text and its METHOD (REQUEST or CANCEL)."""

    text: str
    method: str


def external_url(endpoint: str, **values) -> str:
    """An absolute URL on BASE_URL for `endpoint`, usable with or without a request.

    Links in emails are built from configuration, never from the request's Host header, which
    an attacker could set to send someone a password-reset link to their own site.
    """
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https")
    return adapter.build(endpoint, values, force_external=True)


def render_message(template: str, context: dict) -> tuple[str, str]:
    """The text and HTML bodies of `template` rendered with `context` and the common values."""
    env = current_app.jinja_env
    ctx = {
        "service_name": current_app.config["SERVICE_NAME"],
        "partnership_name": current_app.config["PARTNERSHIP_NAME"],
        "team_email": current_app.config["TRAINING_TEAM_EMAIL"],
        "base_url": current_app.config["BASE_URL"],
        "london_datetime": timeutil.format_datetime,
        "london_date": timeutil.format_date,
        "london_time": timeutil.format_time,
        **context,
    }
    text = env.get_template(f"notifications/email/{template}.txt").render(ctx)
    html = env.get_template(f"notifications/email/{template}.html").render(ctx)
    return text, html


def enqueue(kind: MessageKind, to: str, subject: str, template: str, context: dict | None = None, *,
            user_id: int | None = None, calendar: Calendar | None = None, headers: dict[str, str] | None = None,
            dedupe_key: str | None = None, now: datetime | None = None) -> Outbox | None:
    """Queue one email to `to`. Returns None when `dedupe_key` was already used (nothing added).

    The text and HTML bodies come from the same context; `subject` is plain text. Run inside the
    caller's write transaction: the message is committed, or discarded, with the caller's change.
    """
    now = now or utcnow()
    context = dict(context or {}, subject=subject)
    text, html = render_message(template, context)
    message = Outbox(
        kind=kind, recipient=to, user_id=user_id, subject=subject, text_body=text, html_body=html,
        headers_json=json.dumps(headers, sort_keys=True) if headers else None,
        ics=calendar.text if calendar else None, ics_method=calendar.method if calendar else None,
        dedupe_key=dedupe_key, next_attempt_at=now, created_at=now,
    )
    if dedupe_key is None:
        together = _together.get()
        if together is not None:
            together.append(message)
        else:
            _write([message])
        return message
    if db.session.scalar(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)) is not None:
        return None
    # Two `tick`s racing on PostgreSQL both pass the check above; the unique index stops the
    # second, and the savepoint keeps the rest of its transaction.
    try:
        with db.session.begin_nested():
            db.session.add(message)
    except IntegrityError:
        return None
    return message


def _write(messages: list[Outbox]) -> None:
    if db.session.new or db.session.dirty or db.session.deleted:
        # Other changes are waiting to be written (a session cancelled, its bookings
        # released): the emails go with them in the next flush, so a change that emails many
        # people still writes its emails in one INSERT.
        db.session.add_all(messages)
    else:
        # Nothing else to write (a booking's emails, say): written now, without a flush.
        insert_all_loaded(messages)


@contextmanager
def written_together() -> Iterator[None]:
    """Emails queued inside (without a dedupe key) are written when it ends, in one INSERT
    where the database allows: a booking's confirmation and its copy to the line manager."""
    messages: list[Outbox] = []
    token = _together.set(messages)
    try:
        yield
    finally:
        _together.reset(token)
    _write(messages)


def headers_of(message: Outbox) -> dict[str, str]:
    """The message's extra headers."""
    return json.loads(message.headers_json) if message.headers_json else {}
