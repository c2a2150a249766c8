"""Configuration read from the environment."""
from __future__ import annotations

import os
from pathlib import Path

DEV_SECRET_KEY = "dev-only-secret-key-do-not-use-in-production"


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete."""


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def build_config(instance_path: str, overrides: dict | None = None) -> dict:
    """Return the settings for the app, from the environment then explicit overrides."""
    env = os.environ
    default_db = "sqlite:///" + str(Path(instance_path) / "training.sqlite")
    cfg: dict = {
        "ENV_NAME": env.get("FLASK_ENV", env.get("APP_ENV", "development")),
        "SECRET_KEY": env.get("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": env.get("DATABASE_URL", default_db),
        # No pool_pre_ping: a PostgreSQL connection the server has ended is found without a
        # round trip when it leaves the pool (training/db.py); SQLite has no connection to lose.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        "SQLITE_BUSY_TIMEOUT_MS": int(env.get("SQLITE_BUSY_TIMEOUT_MS", "30000")),
        "WTF_CSRF_ENABLED": True,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("SESSION_COOKIE_SECURE"), False),
        "PARTNERSHIP_NAME": env.get("PARTNERSHIP_NAME", "Thameside Safeguarding Children Partnership"),
        "SERVICE_NAME": env.get("SERVICE_NAME", "Safeguarding training"),
        # Booking rules the business team can tune without a release.
        "CANCELLATION_WORKING_DAYS": int(env.get("CANCELLATION_WORKING_DAYS", "3")),
        "OFFER_HOURS": int(env.get("OFFER_HOURS", "48")),
        "CATALOGUE_PAGE_SIZE": int(env.get("CATALOGUE_PAGE_SIZE", "10")),
        "PEOPLE_PAGE_SIZE": int(env.get("PEOPLE_PAGE_SIZE", "25")),
        "PAST_COURSES_PAGE_SIZE": int(env.get("PAST_COURSES_PAGE_SIZE", "25")),
        # Evaluation and certificates (London model).
        "FOLLOW_UP_WEEKS": int(env.get("FOLLOW_UP_WEEKS", "6")),
        "EVALUATION_FORMS_PAGE_SIZE": int(env.get("EVALUATION_FORMS_PAGE_SIZE", "25")),
        "CERTIFICATE_REQUIRES_EVALUATION": _bool(env.get("CERTIFICATE_REQUIRES_EVALUATION"), True),
        # A session or course is flagged for review when this share of its overall ratings
        # is Satisfactory or Poor, once it has at least REVIEW_MIN_RESPONSES ratings.
        "REVIEW_THRESHOLD_PERCENT": int(env.get("REVIEW_THRESHOLD_PERCENT", "25")),
        "REVIEW_MIN_RESPONSES": int(env.get("REVIEW_MIN_RESPONSES", "3")),
        # Reports: what an agency is charged for a place booked and not used (did not attend, or
        # cancelled late), in pence. Sessions up to HALF_DAY_MAX_MINUTES long are half days.
        "NON_ATTENDANCE_CHARGE_HALF_DAY_PENCE": int(env.get("NON_ATTENDANCE_CHARGE_HALF_DAY_PENCE", "5000")),
        "NON_ATTENDANCE_CHARGE_FULL_DAY_PENCE": int(env.get("NON_ATTENDANCE_CHARGE_FULL_DAY_PENCE", "9000")),
        "HALF_DAY_MAX_MINUTES": int(env.get("HALF_DAY_MAX_MINUTES", "240")),
        # Training needs analysis: "due soon" means due within this many months.
        "TNA_DUE_SOON_MONTHS": int(env.get("TNA_DUE_SOON_MONTHS", "3")),
        # Compliance returns: red/amber/green against this target; amber within AMBER_MARGIN points below.
        "COMPLIANCE_TARGET_PERCENT": int(env.get("COMPLIANCE_TARGET_PERCENT", "90")),
        "COMPLIANCE_AMBER_MARGIN": int(env.get("COMPLIANCE_AMBER_MARGIN", "10")),
        # Browser cache time for static files whose names carry no content hash (fingerprinted
        # ones are cached for a year): see "Serve static files from the web server" in the README.
        "STATIC_MAX_AGE_SECONDS": int(env.get("STATIC_MAX_AGE_SECONDS", "3600")),
        # Uploads (history import files); larger requests get a clear 413 page.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_UPLOAD_MB", "20")) * 1024 * 1024,
        # Security and privacy.
        # Rendered fragments of the busiest pages, shared by every worker and host (see
        # training/cache.py). Empty: nothing is cached.
        "CACHE_REDIS_URL": env.get("CACHE_REDIS_URL", ""),
        "CACHE_KEY_PREFIX": env.get("CACHE_KEY_PREFIX", ""),
        "CACHE_TIMEOUT_SECONDS": float(env.get("CACHE_TIMEOUT_SECONDS", "0.5")),
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "SIGN_IN_RATE_LIMIT": env.get("SIGN_IN_RATE_LIMIT", "10 per minute; 50 per hour"),
        "SESSION_IDLE_MINUTES": int(env.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": int(env.get("SESSION_MAX_HOURS", "12")),
        # How many proxies in front of the app set X-Forwarded-For (0: trust no one's header).
        "TRUSTED_PROXIES": int(env.get("TRUSTED_PROXIES", "0")),
        "RETENTION_YEARS": int(env.get("RETENTION_YEARS", "6")),
        "TRAINING_TEAM_EMAIL": env.get("TRAINING_TEAM_EMAIL", "training-team@partnership.example"),
        "MIN_PASSWORD_LENGTH": int(env.get("MIN_PASSWORD_LENGTH", "12")),
        "PASSWORD_HASH_METHOD": env.get("PASSWORD_HASH_METHOD", "scrypt"),
        # Email. With no SMTP_HOST, messages are written to the log instead (development).
        "BASE_URL": env.get("BASE_URL", "http://127.0.0.1:5000"),  # links in emails never trust the Host header
        "MAIL_FROM": env.get("MAIL_FROM", "Safeguarding training <training-team@partnership.example>"),
        "SMTP_HOST": env.get("SMTP_HOST", ""),
        "SMTP_PORT": int(env.get("SMTP_PORT", "587")),
        "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
        "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": _bool(env.get("SMTP_STARTTLS"), True),
        "SMTP_SSL": _bool(env.get("SMTP_SSL"), False),
        "SMTP_TIMEOUT_SECONDS": int(env.get("SMTP_TIMEOUT_SECONDS", "30")),
        "MAIL_BATCH_SIZE": int(env.get("MAIL_BATCH_SIZE", "50")),
        "MAIL_MAX_ATTEMPTS": int(env.get("MAIL_MAX_ATTEMPTS", "10")),
        "OUTBOX_PAGE_SIZE": int(env.get("OUTBOX_PAGE_SIZE", "50")),
        # A claimed message not finished in this time is set aside as failed, never resent blindly.
        "MAIL_CLAIM_MINUTES": int(env.get("MAIL_CLAIM_MINUTES", "15")),
        # Sent emails are deleted after this many days (by `flask tick`): they hold personal data.
        "OUTBOX_RETENTION_DAYS": int(env.get("OUTBOX_RETENTION_DAYS", "90")),
        # Notifications raised by `flask tick`.
        "REMINDER_DAYS": int(env.get("REMINDER_DAYS", "5")),
        "EVALUATION_REMINDER_DAYS": int(env.get("EVALUATION_REMINDER_DAYS", "5")),
        "REFRESHER_NOTICE_DAYS": int(env.get("REFRESHER_NOTICE_DAYS", "60")),
        "COPY_MANAGER_ON_CONFIRMATION": _bool(env.get("COPY_MANAGER_ON_CONFIRMATION"), True),
        "NO_SHOW_NOTICE_TO_MANAGER": _bool(env.get("NO_SHOW_NOTICE_TO_MANAGER"), True),
        # Manager approval: on for every course, or per course when this is off.
        "MANAGER_APPROVAL": _bool(env.get("MANAGER_APPROVAL"), False),
        "APPROVAL_HOLD_HOURS": int(env.get("APPROVAL_HOLD_HOURS", "72")),
        "APPROVAL_LINK_DAYS": int(env.get("APPROVAL_LINK_DAYS", "14")),
        # Signed, expiring, single-use account links.
        "PASSWORD_RESET_MINUTES": int(env.get("PASSWORD_RESET_MINUTES", "60")),
        "EMAIL_CHANGE_HOURS": int(env.get("EMAIL_CHANGE_HOURS", "24")),
    }
    if overrides:
        cfg.update(overrides)
    if cfg["SQLALCHEMY_DATABASE_URI"].startswith("postgres://"):
        cfg["SQLALCHEMY_DATABASE_URI"] = cfg["SQLALCHEMY_DATABASE_URI"].replace(
            "postgres://", "postgresql+psycopg://", 1
        )
    if cfg["ENV_NAME"] == "production":
        if cfg["SECRET_KEY"] == DEV_SECRET_KEY or len(cfg["SECRET_KEY"]) < 32:
            raise ConfigError(
                "SECRET_KEY must be set to a random value of at least 32 characters in production"
            )
        cfg["SESSION_COOKIE_SECURE"] = True
    return cfg
