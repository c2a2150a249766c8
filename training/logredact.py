"""Paths as they may be written to a log: the secrets some of them carry are left out.

The links in emails carry tokens that work as credentials (password reset, email change,
unsubscribe, a manager's approval, the calendar feed), and /verify/<code> names a person's
certificate. Anyone who can read the logs must not be able to use them, so the access log
(training/access_log.py) and the error log write these paths with the secret replaced.
"""
from __future__ import annotations

import re

REDACTED = "[redacted]"

#: The paths whose next part is a secret. tests/test_logredact.py checks every route with a
#: `token` or `code` in its URL is covered.
_SECRET_AFTER = re.compile(r"^(/(?:reset-password|account/email/confirm|unsubscribe|calendar|approval|verify))/[^/]+")


def loggable_path(path: str) -> str:
    """`path` fit for a log: a token or certificate code in it is replaced by [redacted]."""
    return _SECRET_AFTER.sub(rf"\1/{REDACTED}", path)
