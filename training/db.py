"""Database plumbing: UTC timestamps, SQLite transaction control and the unit of work."""
from __future__ import annotations

import contextvars
import select
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from typing import TypeVar

from flask import Flask
from sqlalchemy import Column, Date, DateTime, Insert, Table, Update, and_, bindparam, event, insert, inspect, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_state, set_committed_value
from sqlalchemy.types import TypeDecorator

from .extensions import db

#: Ids are 32-bit integers: a larger one would make the database raise rather than miss, so
#: input naming one is refused before any query.
MAX_ID = 2**31 - 1

T = TypeVar("T")

# Set while a service runs a write transaction: SQLite then begins with BEGIN IMMEDIATE.
_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar("write_intent", default=False)


def utcnow() -> datetime:
    """The current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as UTC; SQLite has no time zones, so values are normalised here."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; store aware UTC datetimes only")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    """Take transaction control away from pysqlite so writers can BEGIN IMMEDIATE.

    See SQLAlchemy's pysqlite "Serializable isolation / Savepoints / Transactional DDL" recipe:
    a deferred transaction that later writes cannot wait for another writer and fails at once
    with "database is locked"; an immediate one queues on the busy timeout instead.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if _write_intent.get() else "BEGIN")


def _has_input(fd: int) -> bool:
    """Whether the socket has something to read (or has been closed) right now, without waiting."""
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)  # errors and hang-ups are always reported
    return bool(poller.poll(0))


def connection_was_dropped(dbapi_connection) -> bool:
    """Whether the server has ended this idle PostgreSQL connection, found without a round trip.

    An idle connection in the pool has nothing to read: the server only writes to one when it
    ends it (a restart, pg_terminate_backend, an idle timeout), with an error and then end of
    file. So input waiting on the socket, or a connection psycopg already knows is closed or
    broken, means it must not be used.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    try:
        return _has_input(dbapi_connection.pgconn.socket)
    except Exception:  # noqa: BLE001  # psycopg raises if it has no socket: a dead connection
        return True


def _discard_dropped_connections(engine: Engine) -> None:
    """Replace a PostgreSQL connection the server has ended before a request uses it.

    This does what pool_pre_ping does for a restarted database, without its round trip on every
    checkout, which cost a signed-in page more than any of its own queries.
    """

    @event.listens_for(engine, "checkout")
    def _check(dbapi_connection, _record, _proxy) -> None:
        if connection_was_dropped(dbapi_connection):
            # The pool discards it and connects again; with the whole database restarted, its
            # other connections are found the same way as each is checked out.
            raise DisconnectionError("the database server ended this connection")


def register_database(app: Flask) -> None:
    """Bind the database; on SQLite install the transaction recipe, on PostgreSQL the check
    for connections the server has ended."""
    db.init_app(app)
    with app.app_context():
        engine = db.engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])
        elif engine.dialect.name == "postgresql":
            _discard_dropped_connections(engine)


@contextmanager
def write_transaction() -> Iterator:
    """One user action as one write transaction, committed once on success.

    On SQLite any read transaction the request already holds is ended first, since one that
    began as a reader cannot safely become a writer. On PostgreSQL a read-only one goes on.
    """
    session = db.session()  # the scoped session's current Session
    if session.in_transaction():
        if session.new or session.dirty or session.deleted:
            session.commit()
        # On PostgreSQL (READ COMMITTED) each statement reads afresh and a reader holds no
        # locks, so a read-only transaction simply goes on to write: no COMMIT and BEGIN.
        elif session.get_bind().dialect.name != "postgresql":
            # A read-only transaction: end it but keep what it loaded (the signed-in person,
            # say), rather than reloading it while holding the write lock.
            expire, session.expire_on_commit = session.expire_on_commit, False
            try:
                session.commit()
            finally:
                session.expire_on_commit = expire
    token = _write_intent.set(True)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        _write_intent.reset(token)


@contextmanager
def kept_after_commit() -> Iterator[None]:
    """What a service loads stays loaded after it commits, for the rest of the block.

    For a view that only reads back what the service has just written, for its flash message
    and redirect: after a normal commit each object would be read again, a query each, on the
    busiest write of all (booking). Not for code that must then see other transactions' changes.
    """
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, False
    try:
        yield
    finally:
        session.expire_on_commit = expire


def enum_type(enum_cls, length: int = 32):
    """A portable VARCHAR enum column storing the members' values."""
    from sqlalchemy import Enum

    return Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def json_value(value: object) -> object:
    """A column value as JSON keeps it: dates and datetimes in ISO form, enums by value."""
    if isinstance(value, date):
        return value.isoformat()
    return value.value if isinstance(value, Enum) else value


def column_values(obj: object, leave_out: frozenset[str] = frozenset()) -> dict[str, object]:
    """A loaded object's column values as JSON (see json_value)."""
    return {attr.key: json_value(getattr(obj, attr.key))
            for attr in inspect(type(obj)).column_attrs if attr.key not in leave_out}


@cache
def mapped_columns(cls: type) -> tuple[tuple[str, Column], ...]:
    """Each column attribute of `cls` with its table column, in mapper order: for a Core select
    whose rows become `column_values` records without loading objects."""
    return tuple((attr.key, attr.columns[0]) for attr in inspect(cls).column_attrs)


@cache
def _column_readers(cls: type) -> tuple[tuple[str, Callable[[object], object] | None], ...]:
    """Each column attribute of `cls` and how to read its `column_values` form back, worked
    out once per class: a signed-in request turns its cached person back into objects."""
    readers: list[tuple[str, Callable[[object], object] | None]] = []
    for attr in inspect(cls).column_attrs:
        column_type = attr.columns[0].type
        read: Callable[[object], object] | None = None
        if isinstance(column_type, UTCDateTime):
            read = datetime.fromisoformat
        elif isinstance(column_type, Date):
            read = date.fromisoformat
        elif getattr(column_type, "enum_class", None) is not None:
            read = column_type.enum_class
        readers.append((attr.key, read))
    return tuple(readers)


def detached(cls: type[T], values: dict[str, object], **related: object) -> T:
    """An object of `cls` as a session would have loaded it, from `column_values`, not yet in a session.

    Columns missing from `values` are left unloaded: reading one loads it. `related` sets
    relationships to objects (or lists of them) made the same way. Give the result to
    `attach` (or `Session.merge(obj, load=False)`) to use it without a query.
    """
    obj = inspect(cls).class_manager.new_instance()
    loaded = instance_state(obj).dict
    # Written straight into the state's dict, as the ORM's loader does: a new instance has no
    # history for set_committed_value to clear.
    for key, read in _column_readers(cls):
        if key in values:
            value = values[key]
            loaded[key] = read(value) if read is not None and value is not None else value
    for key, value in related.items():
        set_committed_value(obj, key, value)
    make_transient_to_detached(obj)
    return obj


@cache
def _insert_returning_rest(table: Table, given: frozenset[str]) -> tuple[Insert, tuple[str, ...]]:
    """The INSERT for rows giving the columns `given`, returning the others (the id and the
    defaults) by key: what is given is known already, and the text of an email need not come back.
    Rows come back in the order they were given, so several rows can go in one statement.
    Built once for each table and set of columns."""
    rest = tuple(column for column in table.c if column.key not in given) or tuple(table.primary_key)
    return insert(table).returning(*rest, sort_by_parameter_order=True), tuple(column.key for column in rest)


@cache
def _attribute_of_column(cls: type) -> dict[str, str]:
    return {column.key: key for key, column in mapped_columns(cls)}


@cache
def _column_of_attribute(cls: type) -> dict[str, str]:
    return {key: column.key for key, column in mapped_columns(cls)}


def _can_insert_directly(cls: type) -> bool:
    """Whether `insert_loaded` may write a `cls` without the unit of work: the database must
    return the inserted row (SQLite 3.35+, PostgreSQL), the class must be one table's, and no
    mapper event may expect to run."""
    mapper = inspect(cls)
    return (db.session.get_bind().dialect.insert_returning and mapper.inherits is None
            and not mapper.dispatch.before_insert and not mapper.dispatch.after_insert)


def insert_loaded(obj: T) -> T:
    """Write a new object's row with one INSERT ... RETURNING and put the object in the session
    as loaded from that row, instead of a unit-of-work flush.

    For the busiest writes (a booking and its email): the flush of one object costs several
    times the INSERT itself. Changes already pending are flushed first, so statements keep the
    order in which the caller made them. Where the database cannot return the row, or a mapper
    event is listening, the object is flushed as usual.
    """
    insert_all_loaded([obj])
    return obj


def insert_all_loaded(objs: list) -> None:
    """`insert_loaded` for new objects of one class, given alike: one INSERT for them all where
    the database can return the rows in the order given (PostgreSQL), else one each, in order."""
    if not objs:
        return
    cls = type(objs[0])
    attribute_of = _attribute_of_column(cls)
    states = [instance_state(obj).dict for obj in objs]
    rows = [{column_key: loaded[key] for column_key, key in attribute_of.items() if key in loaded} for loaded in states]
    given = frozenset(rows[0])
    # Checked on both paths, so a caller's mistake does not depend on whether an event listens.
    if any(type(obj) is not cls for obj in objs) or any(row.keys() != given for row in rows):
        raise ValueError("insert_all_loaded takes objects of one class that give the same columns")
    db.session.flush()
    if not _can_insert_directly(cls):
        db.session.add_all(objs)
        db.session.flush()
        return
    statement, returned = _insert_returning_rest(inspect(cls).local_table, given)
    result = db.session.connection().execute(statement, rows[0] if len(rows) == 1 else rows)
    # The columns given keep their values, as a flush leaves them; the rest (the id and the
    # defaults) are as the database stored them, so nothing is left to load.
    for obj, loaded, row in zip(objs, states, result.all(), strict=True):
        for column_key, value in zip(returned, row, strict=True):
            loaded[attribute_of[column_key]] = value
        make_transient_to_detached(obj)
    db.session.add_all(objs)


@cache
def _update_by_primary_key(table: Table) -> Update:
    """The UPDATE of one row named by its primary key (bound as `pk_<column>`, so no name is
    also a column's); the SET clause is the columns given when it runs. Built once per table."""
    return update(table).where(and_(*(column == bindparam(f"pk_{column.key}") for column in table.primary_key)))


def _can_update_directly(cls: type) -> bool:
    """Whether `update_loaded` may write a `cls` without the unit of work: one table's class,
    no version counter, no column the ORM fills in on update, and no mapper event listening."""
    mapper = inspect(cls)
    return (mapper.inherits is None and mapper.version_id_col is None
            and not any(column.onupdate is not None for column in mapper.local_table.c)
            and not mapper.dispatch.before_update and not mapper.dispatch.after_update)


def update_loaded(obj: object, **values: object) -> None:
    """Write new `values` to a loaded object's columns with one UPDATE of its row, and record
    them in the object as loaded, instead of leaving it dirty for a unit-of-work flush.

    For the busiest write (a booking takes a place): a dirty object costs the commit a flush
    that is several times the UPDATE itself. Changes already pending are flushed first, so
    statements keep the order in which the caller made them. Where a mapper event is listening
    (or the ORM would add to the row), the values are set and flushed as usual.
    """
    cls = type(obj)
    db.session.flush()
    if not _can_update_directly(cls):
        for key, value in values.items():
            setattr(obj, key, value)
        db.session.flush()
        return
    mapper = inspect(cls)
    column_of = _column_of_attribute(cls)
    identity = mapper.primary_key_from_instance(obj)
    params = {column_of[key]: value for key, value in values.items()}
    params.update({f"pk_{column.key}": value for column, value in zip(mapper.primary_key, identity, strict=True)})
    result = db.session.connection().execute(_update_by_primary_key(mapper.local_table), params)
    if result.rowcount != 1:
        raise LookupError(identity)
    for key, value in values.items():
        set_committed_value(obj, key, value)


def attach(obj: T, *related: object) -> T:
    """`obj`, made by `detached` with its `related` objects, in this request's session.

    Added as it is when the session holds none of them, which saves merge's copy of every
    attribute; merged (without a query) when the session already has one of them loaded.
    """
    identity_map = db.session.identity_map
    if any(instance_state(o).key in identity_map for o in (obj, *related)):
        return db.session.merge(obj, load=False)
    db.session.add(obj)
    return obj
