"""Access control helpers shared by every area's views."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user, login_required

from .accounts.models import Role


def role_required(*roles: Role) -> Callable:
    """Signed-in people holding any of `roles`; others get 403 (anonymous: the sign-in page)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not any(current_user.has_role(r) for r in roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


coordinator_required = role_required(Role.COORDINATOR)


def safe_next(target: str | None, default: str) -> str:
    """Only same-site relative paths are followed after sign-in, so `next=` cannot redirect away."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
