"""Logs never hold the secrets that some paths carry: the tokens of emailed links and the
codes that name certificates."""
from __future__ import annotations

import logging
import runpy
import sys
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from training.access_log import AccessLogger
from training.logredact import REDACTED, loggable_path

ROOT = Path(__file__).resolve().parent.parent
SECRET = "IjQyIg.Zz9Qkw.s3cr3t-T0ken_value"


def _secret_paths(app) -> list[str]:
    """Every route with a token or code in its URL, built with SECRET in it."""
    adapter = app.url_map.bind("training.example")
    paths = []
    for rule in app.url_map.iter_rules():
        if {"token", "code"} & rule.arguments:
            values = {name: SECRET if name in ("token", "code") else 1 for name in rule.arguments}
            paths.append(adapter.build(rule.endpoint, values))
    return paths


def test_every_route_with_a_token_or_code_is_logged_without_it(app):
    paths = _secret_paths(app)
    assert len(paths) >= 7  # reset, email confirmation, unsubscribe, calendar, approval x3, verify
    for path in paths:
        logged = loggable_path(path)
        assert SECRET not in logged, path
        assert REDACTED in logged
    assert loggable_path(f"/approval/{SECRET}/approve") == f"/approval/{REDACTED}/approve"


@pytest.mark.parametrize("path", ["/", "/courses/12", "/my-training/calendar", "/my-training/calendar/reset",
                                  "/bookings/5/evaluation/after", "/static/govuk-frontend.min.css", "/healthz"])
def test_other_paths_are_logged_as_they_are(path):
    assert loggable_path(path) == path


def test_the_access_log_writes_the_path_without_the_token(tmp_path, monkeypatch):
    for name in ("BIND", "PORT", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    config = Config()
    config.set("accesslog", str(tmp_path / "access.log"))
    config.set("access_log_format", settings["access_log_format"])
    config.set("logger_class", settings["logger_class"])
    assert config.logger_class is AccessLogger
    logger = config.logger_class(config)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/reset-password/{SECRET}?next=%2F",
               "PATH_INFO": f"/reset-password/{SECRET}", "QUERY_STRING": "next=%2F", "SERVER_PROTOCOL": "HTTP/1.1"}
    response = SimpleNamespace(status="200 OK", headers=[], sent=1234)
    logger.access(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=12))
    # The request line is not in our format, but must not carry the token if a host adds it.
    assert SECRET not in logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(0))["r"]
    for handler in logger.access_log.handlers:
        handler.flush()
    written = (tmp_path / "access.log").read_text()
    assert f'"GET /reset-password/{REDACTED}" 200 1234' in written
    assert SECRET not in written


def test_the_error_log_names_the_path_without_the_token(app, caplog):
    try:
        raise RuntimeError("a view failed")
    except RuntimeError:
        exc_info = sys.exc_info()
    with app.test_request_context(f"/unsubscribe/{SECRET}", method="POST"), caplog.at_level(logging.ERROR):
        app.log_exception(exc_info)
    assert f"Exception on /unsubscribe/{REDACTED} [POST]" in caplog.text
    assert "a view failed" in caplog.text  # the traceback is still there
    assert SECRET not in caplog.text
