"""Refusing passwords that are easy to guess: common ones, the service's name, your email address."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from flask import current_app, has_app_context

from ..errors import DomainError

HARDER_TO_GUESS = "Choose a password that is harder to guess"
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")
# A local part this short ("jo") turns up inside too many good passwords to be worth refusing.
MIN_LOCAL_PART_LENGTH = 3


class PasswordTooEasy(DomainError):
    message = HARDER_TO_GUESS


def _squash(text: str) -> str:
    """Lower case without spaces or punctuation, so "Pass word!" is compared as "password"."""
    return re.sub(r"[\W_]+", "", text.lower())


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list, squashed, read once."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_squash(line) for line in lines if line.strip() and not line.startswith("#"))


def _local_part(email: str | None) -> str:
    return (email or "").strip().lower().rpartition("@")[0] if "@" in (email or "") else ""


def is_easy_to_guess(password: str, *, email: str | None = None) -> bool:
    """True for a common password, the service's or partnership's name, one repeated character,
    or a password containing the person's email local part (all ignoring case)."""
    squashed = _squash(password)
    if not squashed or squashed in common_passwords() or len(set(password.lower())) == 1:
        return True
    if has_app_context():
        names = (current_app.config.get("SERVICE_NAME", ""), current_app.config.get("PARTNERSHIP_NAME", ""))
        if squashed in {_squash(name) for name in names if name}:
            return True
    local = _local_part(email)
    return len(local) >= MIN_LOCAL_PART_LENGTH and local in password.lower()


def check_password_strength(password: str, *, email: str | None = None) -> None:
    """Refuse a password that is easy to guess with the GOV.UK message."""
    if is_easy_to_guess(password, email=email):
        raise PasswordTooEasy()
