"""Oracle as CERN runs it: thick mode through Oracle Instant Client, TNS aliases, and passwords kept out of URLs.

No CERN Oracle is reachable here: these tests follow the configuration to python-oracledb's door (what it is
asked to load, which password reaches the driver) and the SQL behind it on SQLite and PostgreSQL."""

from __future__ import annotations

import oracledb
import pytest

from spyagency.agency import Agency
from spyagency.database_urls import OracleClient, safe_url, with_password
from spyagency.errors import ConfigurationError
from spyagency.settings import Settings

CONDDB = "oracle+oracledb://cms_cond_general_r@cms_orcon_adg"  # a TNS alias, as CMSSW names the service


def test_thick_mode_loads_instant_client_from_the_configured_directory(monkeypatch, tmp_path):
    loaded: list[dict[str, str]] = []
    monkeypatch.setattr(oracledb, "init_oracle_client", lambda **options: loaded.append(options))
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'store.db'}", conddb_url=CONDDB,
                        conddb_schema="CMS_CONDITIONS", oracle_thick=True,
                        oracle_client_lib_dir="/opt/oracle/instantclient_23_6", oracle_config_dir="/etc/tns",
                        tier0_control_db_url="oracle+oracledb://cms_t0datasvc_prod_w@cmsr", steer_mode="sql")
    with Agency(settings) as agency:
        assert loaded == [{"lib_dir": "/opt/oracle/instantclient_23_6", "config_dir": "/etc/tns"}]
        agency.control()  # the switch writer goes through the same client
        assert len(loaded) == 2 and loaded[1] == loaded[0]


def test_thin_mode_is_the_default_and_other_databases_never_ask_for_the_client(monkeypatch):
    monkeypatch.setattr(oracledb, "init_oracle_client", lambda **_: pytest.fail("thick mode was not asked for"))
    assert OracleClient().engine_options(CONDDB) == {}
    assert OracleClient(thick=True).engine_options("postgresql://x@y/z") == {}
    assert OracleClient(thick=True).engine_options(CONDDB) == {"thick_mode": {}}


def test_a_missing_instant_client_is_one_clear_line(tmp_path):
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'store.db'}", conddb_url=CONDDB,
                        oracle_thick=True, oracle_client_lib_dir=str(tmp_path / "no-instant-client"))
    with pytest.raises(ConfigurationError, match=r"Oracle thick mode cannot start: DPI-1047.*"
                                                 r"SPYAGENCY_ORACLE_CLIENT_LIB_DIR"):
        Agency(settings)


def test_the_password_comes_from_its_file_and_is_never_printed(tmp_path):
    secret = tmp_path / "conddb.password"
    secret.write_text("s3cr3t-pa55\n")
    url = with_password(CONDDB, str(secret))
    assert url == "oracle+oracledb://cms_cond_general_r:s3cr3t-pa55@cms_orcon_adg"
    assert "s3cr3t" not in safe_url(url)
    with pytest.raises(ConfigurationError, match="cannot read SPYAGENCY_CONDDB_PASSWORD_FILE .*missing"):
        with_password(CONDDB, str(tmp_path / "missing"), setting="SPYAGENCY_CONDDB_PASSWORD_FILE")
    assert with_password("oracle+oracledb://u:inline@alias", str(secret)) == "oracle+oracledb://u:inline@alias"


def test_the_password_comes_from_a_netrc_entry_keyed_as_cmssw_keys_it(tmp_path, monkeypatch):
    auth = tmp_path / "auth"
    auth.mkdir()
    netrc = auth / ".netrc"
    netrc.write_text("machine cms_orcon_adg/cms_cond_general_r login cms_cond_general_r password fr0m-netrc\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("COND_AUTH_PATH", str(auth))  # CMSSW's conddblib looks there
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert with_password(CONDDB) == "oracle+oracledb://cms_cond_general_r:fr0m-netrc@cms_orcon_adg"
    assert with_password("oracle+oracledb://someone_else@cms_orcon_adg") == \
        "oracle+oracledb://someone_else@cms_orcon_adg"  # no entry: the URL as it was
    monkeypatch.delenv("COND_AUTH_PATH")
    assert with_password(CONDDB, netrc_file=str(netrc)).endswith(":fr0m-netrc@cms_orcon_adg")


@pytest.mark.postgres
def test_a_switch_password_file_reaches_a_real_database_server(postgres, tmp_path):
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    url = postgres.create_database()
    hba = postgres.data / "pg_hba.conf"  # this role, and only it, must give its password (the rest trust)
    if "t0writer" not in hba.read_text():
        hba.write_text("host all t0writer 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    admin = create_engine(url)
    with admin.begin() as conn:
        conn.execute(text("DROP ROLE IF EXISTS t0writer"))
        conn.execute(text("CREATE ROLE t0writer LOGIN PASSWORD 'wr1ter-secret'"))
        conn.execute(text("SELECT pg_reload_conf()"))
    admin.dispose()
    without = create_engine(url.replace("postgres@", "t0writer:wrong@"))
    with pytest.raises(OperationalError, match="password authentication failed"):
        without.connect()
    without.dispose()
    secret = tmp_path / "switch.password"
    secret.write_text("wr1ter-secret\n")
    settings = Settings(db_url=f"sqlite:///{tmp_path / 'store.db'}",
                        tier0_control_db_url=url.replace("postgres@", "t0writer@"),
                        tier0_control_password_file=str(secret))
    resolved = settings.tier0_control_database_url()
    assert resolved is not None and ":wr1ter-secret@" in resolved
    engine = create_engine(resolved)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == "t0writer"
    engine.dispose()
