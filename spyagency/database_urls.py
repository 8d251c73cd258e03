"""Database URLs, for every database SpyAgency talks to (its store, the CondDB, Tier0's switch table):
an engine from a URL with a plain error when the URL cannot work, the URL fit for messages, passwords
kept out of URLs, and Oracle as CERN runs it.

CERN's Oracle enforces native network encryption, which python-oracledb's thin mode cannot speak
(``DPY-3001``): WMCore calls ``oracledb.init_oracle_client()`` (thick mode, Oracle Instant Client). Passwords
come, as CMSSW's ``conddblib`` finds them, from a ``.netrc`` entry ``machine <service>/<user>``, or from a
password file; a password written in the URL still works.
"""

from __future__ import annotations

import netrc
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from spyagency.errors import BadDatabaseUrl, ConfigurationError


@dataclass(frozen=True)
class OracleClient:
    """How python-oracledb reaches Oracle: thin (pure Python), or thick through Oracle Instant Client."""

    thick: bool = False
    lib_dir: str | None = None  # Instant Client's directory; None: the system's library path
    config_dir: str | None = None  # where tnsnames.ora is; None: TNS_ADMIN

    def engine_options(self, url: str) -> dict[str, Any]:
        """``create_engine`` options for ``url``: SQLAlchemy's ``thick_mode`` for an Oracle URL in thick mode."""
        if not self.thick or not url.startswith("oracle"):
            return {}
        mode = {key: value for key, value in (("lib_dir", self.lib_dir), ("config_dir", self.config_dir)) if value}
        return {"thick_mode": mode}


def netrc_files(explicit: str | None = None) -> list[Path]:
    """Where a ``.netrc`` with database passwords may be: the setting, else ``$COND_AUTH_PATH/.netrc`` (CMSSW's
    place), then ``~/.netrc``."""
    if explicit:
        return [Path(explicit)]
    found = [Path(os.environ["COND_AUTH_PATH"]) / ".netrc"] if os.environ.get("COND_AUTH_PATH") else []
    return [*found, Path.home() / ".netrc"]


def with_password(url: str, password_file: str | None = None, netrc_file: str | None = None,
                  setting: str = "the password file") -> str:
    """``url`` with its password filled in: from ``password_file`` (first line), else from a ``.netrc`` entry
    ``machine <host>/<user>`` (CMSSW's key: ``cms_orcon_adg/cms_cond_general_r``). A URL that has a password,
    or no user, is returned as it is."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return url  # create_database_engine says what is wrong with it
    if parsed.password is not None or not parsed.username:
        return url
    if password_file:
        try:
            lines = Path(password_file).read_text().splitlines()
        except OSError as exc:
            raise ConfigurationError(f"cannot read {setting} {password_file}: {exc.strerror}") from None
        if not lines or not lines[0].strip():
            raise ConfigurationError(f"{setting} {password_file} is empty")
        return parsed.set(password=lines[0].strip()).render_as_string(hide_password=False)
    key = f"{(parsed.host or '').lower()}/{parsed.username.lower()}"
    for path in netrc_files(netrc_file):
        if not path.is_file():
            continue
        try:
            entry = netrc.netrc(str(path)).authenticators(key)
        except (netrc.NetrcParseError, OSError) as exc:
            raise ConfigurationError(f"cannot read {path}: {exc}") from None
        if entry is not None and entry[2]:
            return parsed.set(password=entry[2]).render_as_string(hide_password=False)
    return url


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
    except Exception as exc:
        if "thick_mode" not in options or type(exc).__module__.split(".")[0] != "oracledb":
            raise
        first = str(exc).strip().splitlines()[0]
        raise ConfigurationError(f"Oracle thick mode cannot start: {first} (set SPYAGENCY_ORACLE_CLIENT_LIB_DIR to "
                                 f"Oracle Instant Client's directory, or SPYAGENCY_ORACLE_THICK=false for thin "
                                 f"mode, which CERN's Oracle refuses)") from None
