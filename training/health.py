"""Health check for load balancers: `GET /healthz`.

It runs `SELECT 1` on the database and answers 200 with `{"status": "ok", "database": "ok"}`,
or 503 with `{"status": "unavailable", "database": "error"}` when the database cannot be
reached, so a load balancer takes the instance out of service instead of sending people to it.

No sign-in is needed and no session is read or written, so the response never sets a cookie.
"""
from __future__ import annotations

from flask import Blueprint, Response, current_app, g, jsonify
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from .extensions import db

bp = Blueprint("health", __name__)


@bp.before_request
def _skip_sign_in() -> None:
    """Treat every health check as anonymous without reading the session.

    Flask-Login loads the person lazily from the session cookie (the app's after-request hook
    asks who is signed in). Setting the user here means the cookie is never read, the session
    is never changed (so no Set-Cookie), and a broken database cannot fail the user lookup.
    """
    g._login_user = current_app.login_manager.anonymous_user()


def _reply(payload: dict, status: int) -> Response:
    response = jsonify(payload)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz() -> Response:
    """200 when the database answers a trivial query, 503 when it does not."""
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except (OperationalError, DBAPIError) as exc:
        # Only the error classes: driver messages can name hosts, users and databases.
        cause = type(getattr(exc, "orig", None) or exc).__name__
        current_app.logger.warning("Health check failed: database unavailable (%s)", cause)
        return _reply({"status": "unavailable", "database": "error"}, 503)
    return _reply({"status": "ok", "database": "ok"}, 200)
