"""Database URLs, for every database SpyAgency talks to (its store, the CondDB, Tier0's switch table):
an engine from a URL with a plain error when the URL cannot work, and the URL fit for messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from spyagency.errors import BadDatabaseUrl


def safe_url(url: str) -> str:
    """``url`` with its password hidden, fit for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparsable URL>"


def create_database_engine(url: str, **options: Any) -> Engine:
    """``create_engine`` that says plainly what is wrong with a URL (any database SpyAgency talks to)."""
    try:
        return create_engine(url, **options)
    except (NoSuchModuleError, ImportError) as exc:
        raise BadDatabaseUrl(f"no installed driver for {safe_url(url)} ({exc}); SQLite, PostgreSQL "
                             f"(pip install 'spyagency[postgres]') and Oracle (oracle+oracledb://) are supported",
                             url=url) from None
    except ArgumentError:
        raise BadDatabaseUrl(f"{url[:40]!r} is not a database URL; expected e.g. sqlite:///path/file.db or "
                             f"postgresql://user:password@host:5432/name", url=url) from None
