"""Rendered fragments shared by every worker and host, kept in Redis.

Pages that many people read and few change (the catalogue, a course page, the subgroup
summary), and each person's My training, keep their costly part, the queries and the HTML
they become, here; the busiest keep the whole page (`page`), layout and all. Who each
session signs in is kept here too (`value`, used by security.load_user). Each fragment belongs
to an *area* with a generation number in Redis. Every committed write to a table the area
reads moves its generation on, so a fragment is never older than the last change to its data.
Time alone can change some of them too (a session starting leaves the catalogue), so each area
also has a time to live.

Why generations move after the commit, never before: a reader who saw the new generation
before the commit could store the old data under it. Moving it after the commit means a
fragment built from old data is stored with an old generation, so nobody uses it again.

Without `CACHE_REDIS_URL` nothing is cached (one process has nothing to share). When Redis
fails, pages are rendered as if there were no cache, and the failure is logged once.
"""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

import redis
from flask import Flask, current_app, g, request, session
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from .extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")

# Tables whose writes never change what a cached page shows: moving the generations of areas
# built from every table on them would only empty the cache (the sender marks emails sent every
# few seconds). An area that names its tables is moved by those alone.
IGNORED_TABLES = frozenset({"audit_events", "outbox_messages", "signed_out_sessions"})


@dataclass(frozen=True)
class Area:
    """Fragments that go stale together: `tables` they are built from (None: all of them)."""

    name: str
    tables: frozenset[str] | None
    seconds: int  # time to live, for what time alone changes


CATALOGUE = Area("catalogue", frozenset({"courses", "course_sessions", "course_themes", "bookings"}), 60)
REPORTS = Area("reports", None, 3600)
# One person's own page: their bookings, waiting-list places (others' bookings move them),
# forms, certificates and calendar feed. Any write moves it on, so it is never stale for data;
# time alone (a session starting, a form opening) changes it within the time to live.
MY_TRAINING = Area("my-training", None, 60)
# Who a session's cookie signs in: the person, their agency and roles, and whether the session
# was signed out. Time alone changes none of it (the cookie's own marks time the session out).
PEOPLE = Area("people", frozenset({"users", "agencies", "role_grants", "signed_out_sessions"}), 600)
AREAS = (CATALOGUE, REPORTS, MY_TRAINING, PEOPLE)

# A fragment is shared by every request that asks for it, so it must not hold a request's own
# CSRF token. Templates write this mark where the field goes and `with_csrf_fields` fills it
# in. Jinja escapes "<" in anything a person typed, so the mark cannot come from data.
CSRF_FIELD = Markup("<!--csrf-field-->")

_TOUCHED = "cache_touched_tables"  # tables written in the connection's open transaction
_COMMITTED = "cache_committed_tables"  # written and committed, generations not yet moved


def areas_touched(tables: Iterable[str]) -> list[Area]:
    """The areas whose fragments a write to `tables` makes stale."""
    written = set(tables)
    return [a for a in AREAS if (written & a.tables if a.tables is not None else written - IGNORED_TABLES)]


class FragmentCache:
    """Fragments in Redis under `prefix`, one generation counter per area.

    When Redis fails, this worker leaves it alone for RETRY_SECONDS (a Redis that does not
    answer would otherwise add its timeout to every page) and logs the outage once. Writes
    in that time could not move generations on, so the first thing done when Redis answers
    again is to move every area on.
    """

    RETRY_SECONDS = 30

    def __init__(self, client: redis.Redis, prefix: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.prefix = prefix
        self.clock = clock
        self._retry_at = 0.0  # the clock's time before which Redis is left alone
        self._moves_missed = False

    def _generation_key(self, area: Area) -> str:
        return f"{self.prefix}:generation:{area.name}"

    def _up(self) -> bool:
        return self.clock() >= self._retry_at

    def _failed(self, error: redis.RedisError) -> None:
        if self._up():  # the outage's first failure here: say so once, not on every page
            log.warning("fragment cache unavailable (%s): pages are built without it; trying again in %d s",
                        type(error).__name__, self.RETRY_SECONDS)
        self._retry_at = self.clock() + self.RETRY_SECONDS

    def fetch(self, area: Area, key: Iterable[object], build: Callable[[], dict[str, str]]) -> dict[str, Markup]:
        """The fragments stored for `key` in the area's current generation, or `build()`'s, stored.

        `build` returns rendered HTML by name; Jinja has escaped it already, so it comes back as
        Markup. Whatever `build` raises is raised, and nothing is stored.
        """
        return _markup(self.fetch_value(area, key, build))

    def fetch_value(self, area: Area, key: Iterable[object], build: Callable[[], T]) -> T:
        """The JSON value stored for `key` in the area's current generation, or `build()`'s, stored.

        One round trip on a hit: the stored value carries the generation it was built in (read
        before building), and is used only while that is still the area's generation.
        """
        if not self._up():
            return build()
        if self._moves_missed:
            self.move_on(())
            if self._moves_missed:
                return build()
        digest = hashlib.sha256(repr(tuple(key)).encode()).hexdigest()[:32]
        fragment_key = f"{self.prefix}:fragment:{area.name}:{digest}"
        try:
            generation, stored = self.client.mget(self._generation_key(area), fragment_key)
        except redis.RedisError as error:
            self._failed(error)
            return build()
        generation = int(generation or 0)
        if stored is not None:
            value = json.loads(stored)
            if value["generation"] == generation:
                return value["fragments"]
        built = build()
        try:
            self.client.set(fragment_key, json.dumps({"generation": generation, "fragments": built}), ex=area.seconds)
        except redis.RedisError as error:
            self._failed(error)
        return built

    def move_on(self, areas: Iterable[Area]) -> None:
        """Start new generations: every fragment stored so far in `areas` is stale.

        After a move that could not be made, every area moves on at the next chance.
        """
        areas = list(AREAS if self._moves_missed else areas)
        if not areas:
            return
        if self._up():
            try:
                pipe = self.client.pipeline(transaction=False)
                for area in areas:
                    pipe.incr(self._generation_key(area))
                pipe.execute()
                self._moves_missed = False
                return
            except redis.RedisError as error:
                self._failed(error)
        self._moves_missed = True


def _markup(fragments: dict[str, str]) -> dict[str, Markup]:
    # Every fragment is the output of render_template, so Jinja has escaped what it holds.
    return {name: Markup(html) for name, html in fragments.items()}  # noqa: S704  # nosec B704


def _csrf_field() -> Markup:
    return Markup('<input type="hidden" name="csrf_token" value="{}">').format(generate_csrf())


def csrf_input() -> Markup:
    """This request's hidden CSRF field; the mark for it while a shared page is being built."""
    return CSRF_FIELD if g.get("building_page") else _csrf_field()


def with_csrf_fields(html: Markup) -> Markup:
    """`html` with every CSRF_FIELD mark replaced by this request's hidden CSRF field."""
    if CSRF_FIELD not in html:
        return html
    return Markup(html.replace(CSRF_FIELD, _csrf_field()))  # noqa: S704  # nosec B704  # both are Markup


def fragments(area: Area, key: Iterable[object], build: Callable[[], dict[str, str]]) -> dict[str, Markup]:
    """`build()`'s fragments, from the shared cache when the app has one."""
    cache = _shared()
    if cache is None:
        return _markup(build())
    return cache.fetch(area, key, build)


def page(area: Area, key: Iterable[object], render: Callable[[], str]) -> str:
    """The whole page `render()` makes, layout and all, shared by every request with this key.

    The layout depends on who is signed in (the navigation) and on the app's names, so those
    are part of the key. What belongs to one request is never stored: the page is built with
    marks for the CSP nonce and the CSRF fields, filled in for each request, and a request with
    a message flashed for it renders its page afresh and stores nothing.
    """
    cache = _shared()
    if cache is None or session.get("_flashes"):
        return render()

    def build() -> dict[str, str]:
        # A new mark for each build, so no text stored anywhere can know it in advance.
        nonce, mark = g.get("csp_nonce", ""), "nonce" + secrets.token_hex(12)
        g.csp_nonce, g.building_page = mark, True
        try:
            return {"page": render(), "nonce_mark": mark}
        finally:
            g.csp_nonce, g.building_page = nonce, False

    shell = current_app.extensions["page_shell"]()
    parts = cache.fetch(area, ("page", request.script_root, *key, *shell), build)
    html = str(parts["page"]).replace(str(parts["nonce_mark"]), g.get("csp_nonce", ""))
    return with_csrf_fields(Markup(html))  # noqa: S704  # nosec B704  # rendered by Jinja, nonce is URL-safe


def value(area: Area, key: Iterable[object], build: Callable[[], T]) -> T:
    """`build()`'s JSON value, from the shared cache when the app has one."""
    cache = _shared()
    if cache is None:
        return build()
    return cache.fetch_value(area, key, build)


def _shared() -> FragmentCache | None:
    """This app's cache shared between workers, or None when it has none."""
    return current_app.extensions.get("fragment_cache")


def enabled() -> bool:
    """Whether this app shares a cache between its workers."""
    return _shared() is not None


def _watch_writes(engine: Engine, cache: FragmentCache) -> None:
    """Move generations on after each commit that wrote to a table an area reads.

    Watching the engine, not the ORM session, sees every write: flushes, bulk statements and
    Core inserts alike. The tables are noted on the pooled connection; a commit marks them
    committed, and the generations move when the connection goes back to the pool, after
    the database has committed.
    """

    @event.listens_for(engine, "after_execute")
    def _note(conn: Connection, clauseelement, *_args) -> None:
        if getattr(clauseelement, "is_dml", False):
            conn.info.setdefault(_TOUCHED, set()).add(clauseelement.table.name)

    @event.listens_for(engine, "commit")
    def _committing(conn: Connection) -> None:
        touched = conn.info.pop(_TOUCHED, None)
        if touched:
            conn.info.setdefault(_COMMITTED, set()).update(touched)

    @event.listens_for(engine, "rollback")
    def _rolled_back(conn: Connection) -> None:
        conn.info.pop(_TOUCHED, None)

    @event.listens_for(engine.pool, "checkin")
    def _returned(_dbapi_connection, record) -> None:
        committed = record.info.pop(_COMMITTED, None) if record is not None else None
        if committed:
            cache.move_on(areas_touched(committed))


def _prefix(app: Flask) -> str:
    """Keys of one database only: two databases may share a Redis (a test and a demo, say)."""
    configured = app.config.get("CACHE_KEY_PREFIX")
    if configured:
        return configured
    with app.app_context():
        url = db.engine.url.render_as_string(hide_password=True)
    return "fragments:" + hashlib.sha256(url.encode()).hexdigest()[:12]


def register_cache(app: Flask) -> None:
    """The shared fragment cache, when `CACHE_REDIS_URL` names a Redis."""
    url = app.config.get("CACHE_REDIS_URL")
    if not url:
        return
    timeout = app.config["CACHE_TIMEOUT_SECONDS"]
    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
    cache = FragmentCache(client, _prefix(app))
    app.extensions["fragment_cache"] = cache
    with app.app_context():
        _watch_writes(db.engine, cache)
    # The database may have changed while no worker watched (a restore, a release's data
    # migration, another process on a new Redis): start afresh.
    cache.move_on(AREAS)
