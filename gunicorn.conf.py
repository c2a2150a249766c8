"""Gunicorn settings for running the service in production.

    gunicorn -c gunicorn.conf.py wsgi:app

Settings that differ between hosts are read from the environment:

    BIND                 address(es) to listen on, comma separated; wins over PORT
    PORT                 listen on 0.0.0.0:PORT (the platform convention), when BIND is not set
    WEB_CONCURRENCY      number of worker processes (default: 2 x CPU cores + 1, at most 8)
    GUNICORN_TIMEOUT     seconds a worker may spend on one request before it is restarted (30)
    FORWARDED_ALLOW_IPS  addresses of the proxy allowed to say the request came over HTTPS
    LOG_LEVEL            gunicorn's error log level (info)
    GUNICORN_CONTROL_SOCKET  path for gunicorn's control socket; off unless set
"""
from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # the CPUs this process may use (containers too)
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# Where to listen. Default to loopback: a web server or load balancer in front forwards to it.
if os.environ.get("BIND"):
    bind = [address.strip() for address in os.environ["BIND"].split(",") if address.strip()]
elif os.environ.get("PORT"):
    bind = [f"0.0.0.0:{_int('PORT', 8000)}"]
else:
    bind = ["127.0.0.1:8000"]

# Sync workers handle one request at a time, so each worker uses at most one database
# connection at once. The cap keeps several hosts well inside PostgreSQL's default of
# 100 connections; raise WEB_CONCURRENCY deliberately if the database allows more.
workers = _int("WEB_CONCURRENCY", min(2 * _cores() + 1, 8))
worker_class = "sync"
threads = 1

# A request that takes longer than this is stuck: the worker is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 30)
# On restart or deploy, workers get this long to finish the requests they have.
graceful_timeout = 30
# Sync workers close the connection after each response; this only matters if
# worker_class is changed to one that keeps connections open (such as gthread).
keepalive = 5

# Replace each worker after about this many requests, so a slow memory leak cannot grow
# without limit. The jitter stops all workers restarting at the same moment.
max_requests = 1000
max_requests_jitter = 100

# Do not load the app in the master process before forking. Each worker then builds its own
# app, SQLAlchemy engine and connection pool after the fork. Database connections (and
# SQLite file handles) must never be shared across a fork: two processes writing to one
# socket corrupt each other's conversations with the database.
preload_app = False

# Behind a proxy that ends HTTPS: trust its X-Forwarded-Proto header only from these
# addresses, so the app knows the request was secure (and sends HSTS). Gunicorn's own
# default is loopback only.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Logs go to standard output and error, for the process manager to collect.
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info")
# The path only (%(U)s), never the query string, the referrer or the user agent: query strings
# and referrers can carry personal data, such as a search for a person's name or email address.
# No client address either: behind a proxy it is the proxy's.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(L)s'
# The paths of emailed links carry tokens that work as passwords: logged as [redacted].
logger_class = "training.access_log.AccessLogger"

# Refuse oversized requests early. No page needs a long URL or many headers.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Gunicorn's control socket (for the gunicornc tool) sits at one fixed path per user by
# default, so two instances on a host would fight over it. Off unless a path is given.
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
else:
    control_socket_disable = True

proc_name = "safeguarding-training"


def post_worker_init(worker) -> None:
    """Keep what the worker built at start (the app, its templates, SQLAlchemy's mappers) out of
    the garbage collector's sight: none of it becomes garbage, and every full collection would
    otherwise walk all of it again."""
    import gc

    gc.freeze()
