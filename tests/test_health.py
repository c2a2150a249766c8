"""The load balancers' health check, and the gunicorn settings for production."""
from __future__ import annotations

import gc
import logging
import runpy
from pathlib import Path

import pytest

from tests.factories import UserFactory
from training import create_app
from training.extensions import db

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"


def test_healthz_is_ok_when_the_database_answers(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.is_json
    assert response.get_json() == {"status": "ok", "database": "ok"}
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_healthz_needs_no_sign_in_and_never_touches_the_session(login_as):
    # Even a signed-in browser's request neither reads nor rewrites its session cookie.
    signed_in = login_as(UserFactory())

    response = signed_in.get("/healthz")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_answers_head_requests(client):
    response = client.head("/healthz")

    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers


UNREACHABLE = {
    # A closed port; the password must never reach the logs.
    "postgresql": (
        "postgresql+psycopg://postgres:not-a-real-password@127.0.0.1:1/none",
        {"connect_args": {"connect_timeout": 1}},
    ),
    "sqlite": ("sqlite:////nonexistent-directory-for-health-test/training.sqlite", {}),
}


@pytest.mark.parametrize("kind", sorted(UNREACHABLE))
def test_healthz_is_503_when_the_database_cannot_be_reached(kind, caplog):
    url, engine_options = UNREACHABLE[kind]
    broken = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                         "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
                         "SERVER_NAME": None})
    try:
        with caplog.at_level(logging.WARNING):
            response = broken.test_client().get("/healthz")
            # A browser with a session cookie must not turn a database outage into a 500.
            client = broken.test_client()
            client.set_cookie("session", broken.session_interface.get_signing_serializer(broken).dumps(
                {"_user_id": "1", "_fresh": True}))
            with_cookie = client.get("/healthz")
    finally:
        with broken.app_context():
            db.engine.dispose()

    for r in (response, with_cookie):
        assert r.status_code == 503
        assert r.get_json() == {"status": "unavailable", "database": "error"}
        assert r.headers["Cache-Control"] == "no-store"
        assert "Set-Cookie" not in r.headers
    assert "database unavailable" in caplog.text
    assert "not-a-real-password" not in caplog.text
    assert "nonexistent-directory" not in caplog.text
    assert "127.0.0.1" not in caplog.text


# --- gunicorn.conf.py ------------------------------------------------------------------

GUNICORN_ENV = ("BIND", "PORT", "WEB_CONCURRENCY", "GUNICORN_TIMEOUT", "FORWARDED_ALLOW_IPS", "LOG_LEVEL",
                "GUNICORN_CONTROL_SOCKET")


def _load_conf(monkeypatch, **env) -> dict:
    for name in GUNICORN_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(GUNICORN_CONF))
    return {k: v for k, v in namespace.items() if not k.startswith("_") and k not in {"os", "annotations"}}


def test_gunicorn_defaults_are_safe_for_production(monkeypatch):
    conf = _load_conf(monkeypatch)

    assert conf["bind"] == ["127.0.0.1:8000"]
    assert 1 <= conf["workers"] <= 8
    assert conf["worker_class"] == "sync"
    assert conf["preload_app"] is False
    assert conf["timeout"] == 30
    assert conf["graceful_timeout"] > 0
    assert conf["keepalive"] > 0
    assert conf["max_requests"] > 0 and conf["max_requests_jitter"] > 0
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1"
    assert conf["limit_request_line"] > 0
    assert conf["control_socket_disable"] is True
    # The access log never records query strings, referrers or user agents.
    log_format = conf["access_log_format"]
    assert "%(U)s" in log_format
    for field in ("%(r)s", "%(q)s", "%(f)s", "%(a)s", "%(h)s"):
        assert field not in log_format


def test_gunicorn_settings_honour_the_environment(monkeypatch):
    conf = _load_conf(monkeypatch, PORT="9123", WEB_CONCURRENCY="3", GUNICORN_TIMEOUT="45",
                      FORWARDED_ALLOW_IPS="10.0.0.5", LOG_LEVEL="warning")

    assert conf["bind"] == ["0.0.0.0:9123"]
    assert conf["workers"] == 3
    assert conf["timeout"] == 45
    assert conf["forwarded_allow_ips"] == "10.0.0.5"
    assert conf["loglevel"] == "warning"

    conf = _load_conf(monkeypatch, PORT="9123", BIND="127.0.0.1:9000, unix:/run/training.sock")
    assert conf["bind"] == ["127.0.0.1:9000", "unix:/run/training.sock"]


def test_gunicorn_accepts_every_setting(monkeypatch):
    # Gunicorn's own validators check each name and value, as when it reads the file.
    from gunicorn.config import Config

    conf = _load_conf(monkeypatch, WEB_CONCURRENCY="4", GUNICORN_CONTROL_SOCKET="/tmp/training-gunicorn.ctl")
    config = Config()
    for name, value in conf.items():
        config.set(name, value)

    assert config.workers == 4
    assert config.worker_class_str == "sync"
    assert config.preload_app is False
    assert config.control_socket == "/tmp/training-gunicorn.ctl"
    assert config.forwarded_allow_ips == ["127.0.0.1", "::1"]


def test_each_worker_hides_what_it_built_at_start_from_the_garbage_collector(monkeypatch):
    conf = _load_conf(monkeypatch)
    assert gc.get_freeze_count() == 0
    try:
        conf["post_worker_init"](None)  # gunicorn calls it once the worker has loaded the app
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
