"""Session security: idle timeout, an absolute cap, server-side sign-out, and the 429 page."""
from __future__ import annotations

import hmac
import secrets
from datetime import datetime, timedelta
from functools import cache as memoised

from flask import Flask, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import logout_user, user_logged_in, user_logged_out
from sqlalchemy import Select, String, bindparam, delete, exists, select
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from . import cache
from .accounts.models import Agency, RoleGrant, User
from .accounts.tokens import SESSION_PASSWORD_MARK, hash_fingerprint
from .db import MAX_ID, UTCDateTime, attach, detached, json_value, mapped_columns, utcnow, write_transaction
from .extensions import db, limiter, login_manager

DEFAULT_SESSION_MAX_HOURS = 12

# Keys this module keeps in the signed session cookie.
SESSION_ID = "_sid"
STARTED = "_started"
LAST_ACTIVE = "_last_active"
# Activity is noted at most once a minute: noting it changes the cookie, which must then be
# signed again and sent back. So an idle session may end up to a minute early, never late.
ACTIVITY_MARK_SECONDS = 60


class SignedOutSession(db.Model):
    """A session that was signed out. Sessions live in a signed cookie, so without this list a
    copy of the cookie taken before sign-out would still work until it expired."""

    __tablename__ = "signed_out_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    signed_out_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


@limiter.request_filter
def _rate_limits_off_for_this_app() -> bool:
    """The limiter is one object shared by every app in the process (tests build several), so
    each app's own RATELIMIT_ENABLED decides, not whichever app was initialised last."""
    return not current_app.config.get("RATELIMIT_ENABLED", True)


def _max_age(app: Flask) -> timedelta:
    """The absolute cap on a session's life."""
    return app.config["PERMANENT_SESSION_LIFETIME"]


def _new_session_marks(now: float) -> None:
    """A fresh id, start time and last activity for a session that has just signed in."""
    session[SESSION_ID] = secrets.token_urlsafe(32)
    session[STARTED] = now
    session[LAST_ACTIVE] = now


def _may_sign_in() -> tuple:
    """The person the session names, active, and this session not signed out (a session with no
    id of its own matches no signed-out session: NULL). On the tables, so a Core select of them
    stays a Core select."""
    users, signed_out = User.__table__, SignedOutSession.__table__
    return (users.c.id == bindparam("user_id"), users.c.active.is_(True),
            ~exists().where(signed_out.c.session_id == bindparam("session_id", type_=String)))


@memoised
def _record_query() -> Select:
    """The person, their agency and a row per role, as plain columns: turned straight into the
    cached record, without the ORM loading objects only to read them back out."""
    columns = [column for cls in (User, Agency, RoleGrant) for _key, column in mapped_columns(cls)]
    return (
        select(*columns)
        .join_from(User.__table__, Agency.__table__)
        .outerjoin(RoleGrant.__table__, RoleGrant.__table__.c.user_id == User.__table__.c.id)
        .where(*_may_sign_in())
        .order_by(RoleGrant.__table__.c.id)
    )


def _person_record(user_id: int) -> dict | None:
    """What the shared cache keeps of a signed-in person (see load_user), or None."""
    # On the session's connection: plain columns need none of the ORM session's work.
    rows = db.session.connection().execute(_record_query(),
                                           {"user_id": user_id, "session_id": session.get(SESSION_ID)}).all()
    if not rows:
        return None
    # Each row is the person's columns, then their agency's, then one role's (NULL if none).
    user_keys, agency_keys, grant_keys = ([key for key, _column in mapped_columns(cls)]
                                          for cls in (User, Agency, RoleGrant))
    agency_end = len(user_keys) + len(agency_keys)

    def values(keys: list[str], row_part) -> dict[str, object]:
        return {key: json_value(value) for key, value in zip(keys, row_part, strict=True)}

    user = values(user_keys, rows[0][:len(user_keys)])
    password_mark = hash_fingerprint(user.pop("password_hash"))  # the hash itself is never cached
    return {"user": user,
            "agency": values(agency_keys, rows[0][len(user_keys):agency_end]),
            "grants": [values(grant_keys, row[agency_end:]) for row in rows if row[agency_end] is not None],
            "password_mark": password_mark}


def load_user(user_id: str) -> User | None:
    """The active person the session names, unless this session was signed out.

    One query with the person's agency and roles: the signed-out check rides on loading the
    person rather than adding a statement to every page. With the shared cache (cache.PEOPLE),
    not even that while nothing about people has changed: any write to people, agencies, roles
    or signed-out sessions makes every record stale. Without it, the record is built the same
    way, so both settings load a person by the one query.
    """
    if not user_id.isdigit() or int(user_id) > MAX_ID:
        return None
    person_id = int(user_id)
    record = cache.value(cache.PEOPLE, ("person", person_id, session.get(SESSION_ID)),
                         lambda: _person_record(person_id))
    if record is None or not _same_password(record["password_mark"]):
        return None
    # The record leaves out the password hash (only its fingerprint is kept), so reading
    # `password_hash` loads it from the database.
    agency = detached(Agency, record["agency"])
    grants = [detached(RoleGrant, grant) for grant in record["grants"]]
    return attach(detached(User, record["user"], agency=agency, grants=grants), agency, *grants)


def _same_password(current_mark: str) -> bool:
    """False when this session signed in with a password that has since changed (reset, or
    changed on another device): that ends every other session without a list of sessions.
    `current_mark` is the password's fingerprint now."""
    mark = session.get(SESSION_PASSWORD_MARK)
    if mark is None:
        # Signed in before sessions carried the mark: note the current password from now on.
        session[SESSION_PASSWORD_MARK] = current_mark
        return True
    return hmac.compare_digest(str(mark), current_mark)


def _record_sign_out(session_id: str, max_age: timedelta) -> None:
    """Remember the signed-out session until its cookie would have expired anyway."""
    now = utcnow()
    with write_transaction() as tx:
        tx.execute(delete(SignedOutSession).where(SignedOutSession.signed_out_at < now - max_age))
        if tx.get(SignedOutSession, session_id) is None:
            tx.add(SignedOutSession(session_id=session_id, signed_out_at=now))


def _end_session(message: str) -> Response:
    """Sign out, say why, and send the person to sign in again (back to this page afterwards)."""
    logout_user()
    session.clear()
    flash(message, "info")
    next_url = request.full_path.rstrip("?") if request.method == "GET" else None
    return redirect(url_for("accounts.sign_in", next=next_url))


def register_session_security(app: Flask) -> None:
    """Idle timeout, absolute session lifetime, sign-out that sticks, cookie flags, the 429 page."""
    max_hours = int(app.config.get("SESSION_MAX_HOURS", DEFAULT_SESSION_MAX_HOURS))
    # Flask also refuses a cookie signed longer ago than this; the cookie is re-signed on each
    # request, so the absolute cap itself is the STARTED mark checked below.
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=max_hours)
    app.config["REMEMBER_COOKIE_SECURE"] = app.config["SESSION_COOKIE_SECURE"]
    app.config["REMEMBER_COOKIE_HTTPONLY"] = True
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    proxies = int(app.config.get("TRUSTED_PROXIES", 0))
    if proxies:
        # Behind a proxy every request comes from the proxy's address, so without this the
        # sign-in limit would be shared by everyone. Off by default: when no proxy strips it, a
        # client could send X-Forwarded-For itself and choose its own address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)
    # Replaces the loader set in web.register_extensions (which runs first) with one that also
    # refuses signed-out sessions.
    login_manager.user_loader(load_user)

    def _nonce_first() -> None:
        """The CSP nonce, made before any other hook can end the request."""
        # CSRFProtect's hook runs before web.register_security's nonce hook, so without this
        # the CSRF error page would go out with an empty nonce and its GOV.UK script blocked.
        g.csp_nonce = secrets.token_urlsafe(16)

    app.before_request_funcs.setdefault(None, []).insert(0, _nonce_first)

    @app.before_request
    def _check_session() -> Response | None:
        """End an idle or over-long session; otherwise note this request as activity."""
        # The health check never reads or writes the session (no cookie for load balancers).
        if request.endpoint == "static" or request.blueprint == "health" or "_user_id" not in session:
            return None
        now = utcnow().timestamp()
        session_id = session.get(SESSION_ID)
        if session_id is None:
            # Signed in before these marks existed: start counting from now.
            _new_session_marks(now)
            return None
        idle_minutes = app.config["SESSION_IDLE_MINUTES"]
        if now - float(session.get(LAST_ACTIVE, now)) > idle_minutes * 60:
            return _end_session(f"You were signed out because you were inactive for {idle_minutes} minutes")
        if now - float(session.get(STARTED, now)) > max_hours * 3600:
            return _end_session(f"You were signed out because you have been signed in for {max_hours} hours")
        if now - float(session.get(LAST_ACTIVE, 0)) >= ACTIVITY_MARK_SECONDS:
            session[LAST_ACTIVE] = now
        return None

    def _on_sign_in(sender: Flask, user) -> None:
        """Mark the new session (the view has just emptied the old one)."""
        _new_session_marks(utcnow().timestamp())

    def _on_sign_out(sender: Flask, user) -> None:
        """Refuse this session's cookie from now on, wherever a copy of it is."""
        session_id = session.get(SESSION_ID)
        if session_id:
            _record_sign_out(session_id, _max_age(sender))

    # weak=False: the handlers are closures that would otherwise be garbage-collected.
    user_logged_in.connect(_on_sign_in, app, weak=False)
    user_logged_out.connect(_on_sign_out, app, weak=False)

    def _too_many_requests(_err) -> tuple[str, int]:
        """The same page whoever was being signed in, so it reveals no account."""
        return render_template("errors/429.html"), 429

    app.register_error_handler(429, _too_many_requests)
