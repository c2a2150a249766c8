"""The outbox end to end: a queued message reaches a real SMTP server once."""
from __future__ import annotations

from tests.notifications.conftest import body_text
from training.db import write_transaction
from training.extensions import db
from training.notifications.models import MessageKind, MessageStatus, Outbox
from training.notifications.outbox import enqueue
from training.notifications.sender import deliver


def test_a_queued_message_is_delivered_once(app, smtp_server):
    with write_transaction():
        enqueue(MessageKind.PASSWORD_RESET, "sam@example.org", "Reset your password", "_smoke",
                {"name": "Sam"})
    assert deliver().sent == 1
    assert deliver().sent == 0
    [message] = smtp_server.to("sam@example.org")
    assert message["Subject"] == "Reset your password"
    assert "Hello Sam" in body_text(message)
    assert db.session.scalar(db.select(Outbox.status)) == MessageStatus.SENT
