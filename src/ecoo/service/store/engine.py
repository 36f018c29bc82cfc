"""The database engine: SQLite by default, PostgreSQL when DATABASE_URL says so (SQLAlchemy Core).

:class:`Database` owns the engine and its connections; every repository call is one
:meth:`Database.transaction`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.dml import Insert

from ..permissions import PRIVATE_FILE, private_directory, private_file, tighten
from .errors import StoreError

SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and write-locking transactions."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1].split("?", 1)[0] if "///" in url else ""
        if path and path != ":memory:":
            private_sqlite_files(Path(path))
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below take over
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
            dbapi_connection.execute("PRAGMA foreign_keys=ON")
            dbapi_connection.execute("PRAGMA busy_timeout=30000")

        @event.listens_for(engine, "begin")
        def _begin(conn: Connection) -> None:
            # Take the write lock up front: no two transactions interleave read-then-write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # PostgreSQL: a pooled connection may have been closed by the server; test it before use.
    return create_engine(url, pool_pre_ping=True)


def private_sqlite_files(database: Path) -> None:
    """Make the SQLite database owner-only before SQLite opens it: SQLite gives its -wal and -shm
    files the database file's mode, so they are created owner-only too. A directory made for it
    is 0700; files an older version left readable by others are tightened."""
    if not database.parent.exists():
        private_directory(database.parent)
    private_file(database)
    for suffix in SQLITE_SIDE_FILES:
        tighten(database.with_name(database.name + suffix), PRIVATE_FILE)


class Database:
    """The engine for one database URL and the lifecycle of its connections."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.engine.begin() as conn:
            yield conn


def insert_id(conn: Connection, statement: Insert) -> int:
    """Run an INSERT of one row and return its new primary key."""
    key = conn.execute(statement).inserted_primary_key
    if key is None:
        raise StoreError("the database returned no id for an insert")
    return int(key[0])
