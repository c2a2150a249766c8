"""Wiring for the web layer: extensions, templates, security headers, blueprints, errors."""
from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from itertools import chain
from typing import Any

from flask import Flask, abort, g, make_response, render_template, request, url_for
from flask.templating import Environment
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from govuk_frontend_wtf.main import WTFormsHelpers
from jinja2 import ChoiceLoader, FileSystemLoader, PackageLoader, PrefixLoader
from werkzeug.routing import IntegerConverter

from . import (
    cache,
    models,  # noqa: F401  (all tables registered before migrations run)
    timeutil,
)
from .accounts.models import Role
from .db import MAX_ID, register_database
from .extensions import csrf, db, limiter, login_manager, migrate
from .logredact import loggable_path


class TemplateEnvironment(Environment):
    """Flask's Jinja environment, with each template's globals a plain dict.

    Jinja gives each template a ChainMap over the environment's globals, and every
    `{% from ... import ... %}` (over a dozen a page, in the GOV.UK layout and its macros)
    compares those keys with the page's, in Python, one by one: a fifth of a simple page's
    time. With a dict the comparison runs in C. Globals added after a template is loaded are
    then not seen by it, which Jinja already says not to do.
    """

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        return {**self.globals, **(d or {})}


class TrainingApp(Flask):
    """Flask with the template environment above."""

    jinja_environment = TemplateEnvironment

    def log_exception(self, exc_info) -> None:
        """As Flask's, but the path is logged without the token or code it may carry."""
        self.logger.error(f"Exception on {loggable_path(request.path)} [{request.method}]", exc_info=exc_info)


class DatabaseIntConverter(IntegerConverter):
    """`<int:id>` limited to what an INTEGER column holds, so a huge id is a 404, not a 500."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def register_url_converters(app: Flask) -> None:
    """URL converters, set before any route is added."""
    app.url_map.converters["int"] = DatabaseIntConverter


def register_extensions(app: Flask) -> None:
    """Database, migrations, sign-in and CSRF protection."""
    register_database(app)
    # Batch mode lets SQLite alter tables; it is a no-op on PostgreSQL.
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = "Sign in to continue"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    csrf.init_app(app)
    limiter.init_app(app)


def _navigation() -> list[dict]:
    """Service navigation items for the signed-in person's roles."""
    items = [{"text": "Find a course", "href": url_for("catalogue.index")}]
    if current_user.is_authenticated:
        items.append({"text": "My training", "href": url_for("booking.my_training")})
        if current_user.has_role(Role.TRAINER) or current_user.has_role(Role.COORDINATOR):
            items.append({"text": "My sessions", "href": url_for("attendance.my_sessions")})
            items.append({"text": "Results", "href": url_for("evaluation_results.index")})
        if current_user.has_role(Role.COORDINATOR):
            items.append({"text": "Reports", "href": url_for("reports.summary")})
            items.append({"text": "Manage", "href": url_for("catalogue.manage_index")})
        if any(current_user.has_role(r) for r in (Role.AGENCY_LEAD, Role.SCRUTINEER, Role.COORDINATOR)):
            items.append({"text": "Returns", "href": url_for("compliance.index")})
        items.append({"text": "Your account", "href": url_for("accounts.account")})
    path = request.path
    for item in items:
        if item["href"] == path or (item["href"] != "/" and path.startswith(item["href"])):
            item["active"] = True
    return items


def register_templates(app: Flask) -> None:
    """GOV.UK Frontend templates behind the project's own, plus date filters."""
    app.jinja_loader = ChoiceLoader(
        [
            FileSystemLoader(app.template_folder and str(app.root_path + "/" + app.template_folder)),
            PrefixLoader(
                {
                    "govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja"),
                    "govuk_frontend_wtf": PackageLoader("govuk_frontend_wtf"),
                }
            ),
        ]
    )
    WTFormsHelpers(app)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters["london_datetime"] = timeutil.format_datetime
    app.jinja_env.filters["london_date"] = timeutil.format_date
    app.jinja_env.filters["london_time"] = timeutil.format_time
    app.jinja_env.globals["csrf_input"] = cache.csrf_input

    def page_shell() -> tuple[str, ...]:
        """What the layout of a page shared by cache.page shows besides the page's own content:
        the names, the navigation, and the fingerprinted assets (a release's workers must not
        serve a page that links to the last release's files)."""
        from .assets import load_manifest

        return (app.config["SERVICE_NAME"], app.config["PARTNERSHIP_NAME"], repr(_navigation()),
                repr(sorted(load_manifest(app).items())))

    app.extensions["page_shell"] = page_shell

    @app.context_processor
    def _globals() -> dict:
        return {
            "service_name": app.config["SERVICE_NAME"],
            "partnership_name": app.config["PARTNERSHIP_NAME"],
            "navigation": _navigation(),
            "cspNonce": g.get("csp_nonce", ""),
        }


def register_static(app: Flask) -> None:
    """asset_url() for templates, and the static route that serves what it points to."""
    # Imported here so `python -m training.assets` (make assets) does not import itself twice.
    from .assets import register_assets

    register_assets(app)


def register_security(app: Flask) -> None:
    """A per-request CSP nonce and the security headers on every response."""
    from .security import register_session_security

    register_session_security(app)

    @app.before_request
    def _refuse_nul() -> None:
        # PostgreSQL text cannot hold NUL (0x00), and no honest form sends it: refuse it here
        # rather than fail in the database.
        for key, values in chain(request.args.lists(), request.form.lists()):
            if "\x00" in key or any("\x00" in value for value in values):
                abort(400)

    @app.before_request
    def _nonce() -> None:
        g.setdefault("csp_nonce", secrets.token_urlsafe(16))

    @app.after_request
    def _headers(response):
        nonce = g.get("csp_nonce", "")
        response.headers["Content-Security-Policy"] = (
            "default-src 'self'; "
            f"script-src 'self' 'nonce-{nonce}'; "
            "style-src 'self'; img-src 'self' data:; font-src 'self'; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        if request.is_secure:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        # Static files hold no personal data and carry their own cache headers (training/assets.py);
        # skipping them here also spares a user lookup for every stylesheet and script. A missing
        # file's 404 is a page like any other.
        static_file = request.endpoint == "static" and response.status_code < 400
        if not static_file and current_user.is_authenticated:
            # Pages for signed-in people may show personal data: never cache them.
            response.headers["Cache-Control"] = "no-store"
        return response


def register_blueprints(app: Flask) -> None:
    """Each area's views."""
    from .accounts.views import bp as accounts_bp
    from .attendance.views import bp as attendance_bp
    from .audit.views import bp as audit_bp
    from .booking.approval_views import bp as approvals_bp
    from .booking.views import bp as booking_bp
    from .catalogue.views import bp as catalogue_bp
    from .certificates.views import bp as certificates_bp
    from .compliance.views import bp as compliance_bp
    from .evaluation.results_views import bp as results_bp
    from .evaluation.views import bp as evaluation_bp
    from .health import bp as health_bp
    from .history.views import bp as history_bp
    from .needs.views import bp as needs_bp
    from .notifications.bulletin_views import bp as bulletins_bp
    from .notifications.calendar_views import bp as calendar_bp
    from .notifications.views import bp as notifications_bp
    from .privacy.views import bp as privacy_bp
    from .reports.export_views import bp as report_exports_bp
    from .reports.views import bp as reports_bp
    from .suggestions.views import bp as suggestions_bp

    for bp in (catalogue_bp, accounts_bp, booking_bp, attendance_bp, evaluation_bp, results_bp, certificates_bp,
               health_bp, audit_bp, privacy_bp, reports_bp, report_exports_bp, history_bp, needs_bp, suggestions_bp,
               compliance_bp, notifications_bp, bulletins_bp, calendar_bp, approvals_bp):
        app.register_blueprint(bp)
    _check_rate_limits_only_on_limited_views(app)


def _check_rate_limits_only_on_limited_views(app: Flask) -> None:
    """Drop Flask-Limiter's check before every request while only views carry limits.

    The limits here are on a few views (signing in, registering, password reset), and each
    view's decorator checks its own. The per-request hook could then only ever find that no
    limit applies, at about 7% of the cost of a bare request. It stays if limits are ever set
    for the whole app or for a blueprint, which only that hook enforces.
    """
    manager = limiter.limit_manager
    if (manager.default_limits or manager.application_limits
            or any(manager.blueprint_limits(app, name) for name in app.blueprints)):
        return
    # The limiter's only before-request hook is that check: a method of the limiter itself.
    hooks = app.before_request_funcs.get(None, [])
    hooks[:] = [hook for hook in hooks if getattr(hook, "__self__", None) is not limiter]


def register_notifications(app: Flask) -> None:
    """Connect the email receivers to the events they turn into outbox messages."""
    from .notifications import approval_receivers, receivers, scheduled  # noqa: F401  (connecting is the import)


def register_error_handlers(app: Flask) -> None:
    """Friendly pages for errors, never a stack trace."""

    def _page(template: str, status: int):
        return render_template(template), status

    @app.errorhandler(CSRFError)
    def _csrf(_err):
        return _page("errors/csrf.html", 400)

    @app.errorhandler(400)
    def _bad_request(_err):
        return _page("errors/400.html", 400)

    @app.errorhandler(403)
    def _forbidden(_err):
        return _page("errors/403.html", 403)

    @app.errorhandler(404)
    def _not_found(_err):
        return _page("errors/404.html", 404)

    @app.errorhandler(413)
    def _too_large(_err):
        return _page("errors/413.html", 413)

    @app.errorhandler(405)
    def _method(err):
        response = make_response(_page("errors/404.html", 405))
        if getattr(err, "valid_methods", None):  # HTTP requires a 405 to say what is allowed
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(500)
    def _server_error(_err):
        db.session.rollback()
        return _page("errors/500.html", 500)
