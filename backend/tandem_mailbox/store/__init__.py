"""The team's record of every conversation (SQLAlchemy 2, Alembic migrations).

SQLite by default (a file under TANDEM_DATA_DIR): the demo and `tandem serve` create and
upgrade it themselves. PostgreSQL (psycopg 3) when several hosts serve one deployment: `tandem
db upgrade` applies the migrations, and `tandem serve` refuses a schema that is behind. The
store is opened on first use, so a request that never touches the record never waits for it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger("tandem.store")

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreUnavailable(Exception):
    """The database can't be reached, or its schema is not the one this code knows."""


class Store:
    """One database: its engine, its schema's revision, and transactions on it."""

    def __init__(self, url: str, *, pool_size: int = 10):
        self.url = url
        self.embedded = url.startswith("sqlite")
        options: dict[str, Any] = {"pool_pre_ping": True}
        if self.embedded:
            database = url.split("///", 1)[1] if "///" in url else ""
            if database:
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        else:
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_timeout=10)
            options["connect_args"] = {"connect_timeout": 5}
        self.engine: Engine = create_engine(url, **options)
        if self.embedded:
            _serialise_sqlite_writes(self.engine)
        self._upgraded = False
        self._lock = threading.Lock()

    # -- the schema ---------------------------------------------------------------------------
    def _config(self, connection: Connection | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        if connection is not None:
            config.attributes["connection"] = connection
        return config

    def head(self) -> str:
        """The newest revision this code knows."""
        head = ScriptDirectory.from_config(self._config()).get_current_head()
        assert head is not None
        return head

    def revision(self) -> str | None:
        """The revision the database is at (None: an empty database)."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def upgrade(self, revision: str = "head") -> None:
        """Apply the migrations up to `revision` (`tandem db upgrade`)."""
        with self.engine.begin() as connection:
            command.upgrade(self._config(connection), revision)

    def behind(self) -> str | None:
        """None when the schema is current, else what is wrong, with the fix."""
        try:
            at = self.revision()
        except SQLAlchemyError as error:
            return f"the database can't be reached ({type(error).__name__})"
        head = self.head()
        if at == head:
            return None
        if at is None:
            return "the database has no schema yet: run `tandem db upgrade`"
        scripts = ScriptDirectory.from_config(self._config())
        if scripts.get_revision(at) is None:
            return f"the database is at {at}, which this version of Tandem doesn't know (newer?)"
        return f"the database schema is at {at}, behind {head}: run `tandem db upgrade`"

    def ready(self) -> None:
        """Make sure the schema is current before first use: the embedded SQLite file is
        upgraded in place; a PostgreSQL schema that is behind is an error (`tandem db upgrade`)."""
        if self._upgraded:
            return
        with self._lock:
            self._make_ready()

    def _make_ready(self) -> None:
        """ready()'s work, under its lock (another thread may have done it meanwhile)."""
        if not self._upgraded:
            if self.embedded:
                self.upgrade()
            else:
                problem = self.behind()
                if problem:
                    raise StoreUnavailable(problem)
            self._upgraded = True

    # -- use ----------------------------------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One transaction (committed at the end, rolled back on an error)."""
        self.ready()
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as error:
            log.warning("the team's record couldn't be written or read: %s", type(error).__name__)
            raise StoreUnavailable(type(error).__name__) from error

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """One transaction that only reads: on SQLite a deferred BEGIN, which takes no write
        lock (a reader in WAL mode waits for no writer and makes none wait)."""
        self.ready()
        try:
            with self.engine.connect() as connection:
                connection = connection.execution_options(tandem_reading=True)
                with connection.begin():
                    yield connection
        except SQLAlchemyError as error:
            log.warning("the team's record couldn't be read: %s", type(error).__name__)
            raise StoreUnavailable(type(error).__name__) from error

    def ping(self) -> bool:
        """Whether the database answers now."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("select 1"))
        except SQLAlchemyError:
            return False
        return True

    def dispose(self) -> None:
        """Close every pooled connection (a forked worker starts its own)."""
        self.engine.dispose()


def _serialise_sqlite_writes(engine: Engine) -> None:
    """SQLite: WAL, foreign keys, and every transaction taking the write lock at BEGIN.

    pysqlite's own BEGIN is deferred: two transactions that read and then write deadlock on
    the upgrade from a read lock. `BEGIN IMMEDIATE` (SQLAlchemy's documented recipe for
    pysqlite) makes the second wait for the first instead (busy timeout: 30 s).
    """

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy's "begin" below does it
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        if connection.get_execution_options().get("tandem_reading"):
            connection.exec_driver_sql("BEGIN")  # Store.reading(): a snapshot to read, no lock
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
