"""Signed, expiring, single-use links: resetting a password and confirming a new email address.

A token is an itsdangerous signature (keyed by SECRET_KEY, with a salt per purpose) over a small
payload and the time it was made. Nothing is stored for it:

- it expires because its signed time is checked against `now` and the configured lifetime;
- it is single-use because it carries a fingerprint of the account's email address and password
  hash: once either changes (which is what using the link does), the fingerprint no longer
  matches and the same link is refused. A password reset also kills any email-change link still
  waiting, and an email change kills any reset link sent to the old address.

Paths are written to the access log, so a payload never holds an email address: the new address
of an email change stays in the outbox row of the message that carried the link, found again by
the random `nonce` in its dedupe key.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer

from ..db import utcnow
from .errors import InvalidLink
from .models import User

PASSWORD_RESET_SALT = "password-reset"  # noqa: S105  (a salt's name, not a password)
EMAIL_CHANGE_SALT = "email-change"
# The session key holding password_fingerprint() of the password the session signed in with.
SESSION_PASSWORD_MARK = "_password_mark"  # noqa: S105  (a session key, not a password)
# A token whose time is this far ahead of `now` was not made by this service's clock.
CLOCK_SKEW = timedelta(minutes=5)


class _ClockSigner(TimestampSigner):
    """A TimestampSigner that signs with the caller's clock, so links can be made at any `now`."""

    def __init__(self, *args, now: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._now = now

    def get_timestamp(self) -> int:
        return int(self._now.timestamp())


def _serializer(salt: str, now: datetime | None = None) -> URLSafeTimedSerializer:
    key = current_app.config["SECRET_KEY"]
    if now is None:
        return URLSafeTimedSerializer(key, salt=salt)
    return URLSafeTimedSerializer(key, salt=salt, signer=_ClockSigner, signer_kwargs={"now": now})


def account_fingerprint(user: User) -> str:
    """16 hex characters that change whenever the person's email address or password changes.

    Keyed by SECRET_KEY, so the token (whose payload anyone can decode) says nothing about the hash.
    """
    key = current_app.config["SECRET_KEY"].encode()
    state = f"{user.id}\x00{user.email}\x00{user.password_hash}".encode()
    return hmac.new(key, state, hashlib.sha256).hexdigest()[-16:]


def password_fingerprint(user: User) -> str:
    """16 hex characters that change whenever the person's password changes (not their email).

    Kept in the session at sign-in as SESSION_PASSWORD_MARK, so that a session signed in before
    a password change can be refused afterwards (see the README: "Signing out other sessions").
    """
    return hash_fingerprint(user.password_hash)


def hash_fingerprint(password_hash: str) -> str:
    """password_fingerprint of a stored password hash, for code that has read the hash alone."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"password\x00{password_hash}".encode(), hashlib.sha256).hexdigest()[-16:]


def fingerprint_matches(user: User, fingerprint: str) -> bool:
    """True while the account is as it was when the link was made."""
    return hmac.compare_digest(account_fingerprint(user), fingerprint)


def _make(salt: str, payload: dict, now: datetime) -> str:
    return _serializer(salt, now).dumps(payload)


def _read(salt: str, token: str, max_age: timedelta, now: datetime | None) -> dict:
    """The payload of a genuine, unexpired token; anything else is InvalidLink."""
    now = now or utcnow()
    try:
        payload, signed_at = _serializer(salt).loads(token, return_timestamp=True)
    except (BadData, ValueError, TypeError) as exc:
        raise InvalidLink() from exc
    if not isinstance(payload, dict) or signed_at > now + CLOCK_SKEW or now - signed_at > max_age:
        raise InvalidLink()
    return payload


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidLink()
    return value


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidLink()
    return value


# ---------------------------------------------------------------------------
# Password reset
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class PasswordResetClaim:
    user_id: int
    fingerprint: str


def password_reset_lifetime() -> timedelta:
    return timedelta(minutes=current_app.config["PASSWORD_RESET_MINUTES"])


def password_reset_token(user: User, now: datetime) -> str:
    """A link token letting the holder set a new password for `user` once, for a while."""
    return _make(PASSWORD_RESET_SALT, {"user": user.id, "account": account_fingerprint(user)}, now)


def read_password_reset(token: str, now: datetime | None = None) -> PasswordResetClaim:
    """Who a genuine, unexpired reset token is for (still to be checked against the account)."""
    payload = _read(PASSWORD_RESET_SALT, token, password_reset_lifetime(), now)
    return PasswordResetClaim(_int(payload.get("user")), _str(payload.get("account")))


# ---------------------------------------------------------------------------
# Email change
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class EmailChangeClaim:
    user_id: int
    fingerprint: str
    nonce: str


def email_change_lifetime() -> timedelta:
    return timedelta(hours=current_app.config["EMAIL_CHANGE_HOURS"])


def email_change_dedupe_key(nonce: str) -> str:
    """The dedupe key of the outbox row that carried the link: it holds the new address."""
    return f"email-change:{nonce}"


def email_change_token(user: User, nonce: str, now: datetime) -> str:
    """A link token confirming the address the message with this `nonce` was sent to."""
    return _make(EMAIL_CHANGE_SALT, {"user": user.id, "account": account_fingerprint(user), "nonce": nonce}, now)


def read_email_change(token: str, now: datetime | None = None) -> EmailChangeClaim:
    """Who a genuine, unexpired email-change token is for, and its nonce."""
    payload = _read(EMAIL_CHANGE_SALT, token, email_change_lifetime(), now)
    return EmailChangeClaim(_int(payload.get("user")), _str(payload.get("account")), _str(payload.get("nonce")))
