"""Gunicorn's access log without the secrets that some paths carry (see training/logredact.py).

Named in gunicorn.conf.py as `logger_class`; only gunicorn imports it.
"""
from __future__ import annotations

from gunicorn.glogging import Logger

from .logredact import loggable_path


class AccessLogger(Logger):
    """Gunicorn's logger, writing each request's path without the secret it may carry."""

    def atoms(self, resp, req, environ, request_time) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        atoms["U"] = loggable_path(atoms["U"] or "")
        # The request line holds the path too (and the query string): it is not in our format,
        # but a format changed on one host must not bring the secret back.
        atoms["r"] = f"{environ['REQUEST_METHOD']} {loggable_path(environ.get('PATH_INFO') or '')} " \
                     f"{environ['SERVER_PROTOCOL']}"
        return atoms
