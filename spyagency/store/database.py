"""Connection to the state store and its Alembic migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, event, func, inspect, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from spyagency.database_urls import create_database_engine, safe_url
from spyagency.errors import StoreUnavailable

if TYPE_CHECKING:
    from alembic.config import Config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers (the API) never block the poller
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def database_now(dialect: str) -> Any:
    """The database server's own clock, in UTC, as a SQL expression (one clock for every writer and reader)."""
    if dialect == "postgresql":
        return func.timezone("UTC", func.now())
    return func.current_timestamp()  # SQLite: UTC


#: The age in seconds of a UTC timestamp column, on the database's clock, as SQL text per dialect.
AGE_SECONDS_SQL = {
    "sqlite": "(julianday('now') - julianday({column})) * 86400.0",
    "postgresql": "EXTRACT(EPOCH FROM (timezone('UTC', now()) - {column}))",
}


def make_store_engine(url: str, **options: Any) -> Engine:
    """An engine for the store; SQLite gets WAL and a busy timeout. ``options`` go to create_engine."""
    if url.startswith("sqlite"):
        engine = create_database_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_database_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **options)


#: The newest migration's revision: a store already there is used without loading Alembic
#: (tests/store/test_store.py checks it against the migrations folder).
SCHEMA_HEAD = "0014"


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and ``url``."""
    from alembic.config import Config  # only migrations need Alembic

    config = Config()
    config.set_main_option("script_location", str(resources.files("spyagency").joinpath("migrations")))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class StoreFile:
    """The identity of a SQLite store's file: a store deleted or replaced under running services is noticed.

    SQLite keeps using an unlinked file through open connections, so without this a deleted store
    would go on answering (and taking writes) from a file no one else can see.
    """

    def __init__(self, url: str) -> None:
        parsed = make_url(url) if url.startswith("sqlite") else None
        database = parsed.database if parsed is not None else None
        self.path = database if database and database != ":memory:" else None
        self._seen: tuple[int, int] | None = None
        self.remember()

    def remember(self) -> None:
        """Take the file as it is now for the store's own (at start, and once a migration created it)."""
        if self.path is not None and self._seen is None and os.path.exists(self.path):
            stat = os.stat(self.path)
            self._seen = (stat.st_dev, stat.st_ino)

    def check(self) -> None:
        """Raise ``StoreUnavailable`` if the file is gone or is not the one first seen."""
        if self.path is None:
            return
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if self._seen is None:
                return  # not created yet (the first migration creates it)
            raise StoreUnavailable(f"the store file {self.path} was removed while SpyAgency ran") from None
        identity = (stat.st_dev, stat.st_ino)
        if self._seen is None:
            self._seen = identity
        elif identity != self._seen:
            raise StoreUnavailable(f"the store file {self.path} was replaced while SpyAgency ran")


class Store:
    """The state store: an engine and a session factory."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_store_engine(url)
        self.file = StoreFile(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision (idempotent).

        Raises ``StoreUnavailable`` when the database cannot be reached or written.
        """
        try:
            if self.schema_revision() == SCHEMA_HEAD:
                self.file.remember()
                return
            from alembic import command

            config = alembic_config(self.url)
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
            self.file.remember()
        except OperationalError as exc:
            raise StoreUnavailable(f"cannot reach the store at {safe_url(self.url)}: "
                                   f"{str(exc.orig).strip().splitlines()[0]}") from exc

    def schema_revision(self) -> str | None:
        """The store's Alembic revision, None before the first migration (one cheap query, no Alembic)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return None
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        self.file.check()
        with self._sessions() as session, session.begin():
            yield session
        self.file.check()  # the file vanished during the transaction: what was written is not where it counts

    def dispose(self) -> None:
        self.engine.dispose()
