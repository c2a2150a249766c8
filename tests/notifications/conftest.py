"""A real SMTP server (aiosmtpd) in the test process, and the app configured to use it."""
from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from jinja2 import ChoiceLoader, FileSystemLoader

TEST_TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture(autouse=True)
def test_email_templates(app):
    """`_smoke`, a minimal email for the sender tests, lives with the tests, not in the app."""
    # Not monkeypatch: an autouse fixture would create it first, so its undo would run last and
    # put back config values that tests set with monkeypatch after smtp_server changed them.
    app_loader = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([app_loader, FileSystemLoader(TEST_TEMPLATES)])
    yield
    app.jinja_env.loader = app_loader


class Inbox:
    """Collects every message the test SMTP server accepts; `refuse` makes it answer 451, and
    `refuse_with` (a whole reply, e.g. "550 5.7.1 Rejected") answers that instead."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse = False
        self.refuse_with: str | None = None
        self.controller: Controller | None = None
        self.port = 0
        self.running = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802  (aiosmtpd's hook name)
        if self.refuse_with:
            return self.refuse_with
        if self.refuse:
            return "451 4.3.0 Try again later"
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content, policy=policy.default))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    def clear(self) -> None:
        self.messages.clear()
        self.envelopes.clear()

    def stop(self) -> None:
        """Take the server down: connections to its port are refused until `start()`."""
        self.controller.stop()
        self.running = False

    def start(self) -> None:
        """Bring the server (back) up on its port: a stopped controller's loop is closed, so a new one."""
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        self.running = True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server(app):
    """A running SMTP server on a free port; the app sends to it for the test's duration."""
    inbox = Inbox()
    port = _free_port()
    inbox.port = port
    inbox.start()
    saved = {k: app.config[k] for k in ("SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_SSL", "SMTP_USERNAME")}
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_SSL=False, SMTP_USERNAME="")
    try:
        yield inbox
    finally:
        if inbox.running:
            inbox.stop()
        app.config.update(saved)


def body_text(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def body_html(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


def calendar_part(message: EmailMessage):
    """The text/calendar attachment's bytes, or None."""
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True)
    return None
