"""`spyagency check`, the first hour of a deployment: one line per door, open or shut and why, exit 1 if any is shut."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from simulator.httpserver import Door
from simulator.pki import GridPki, make_grid_pki, name, write_proxy
from simulator.scenario import demo_runs
from simulator.simulator import Simulator
from spyagency.doors import DoorReport, check_doors
from spyagency.settings import Settings
from spyagency.store import Store
from spyagency.tier0_instance import instance_note

from ..conftest import START
from ..sources.test_grid_doors import GRID_VARIABLES


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> GridPki:
    return make_grid_pki(tmp_path_factory.mktemp("grid"))


@pytest.fixture
def sim(tmp_path, policy, pki):
    door = Door.from_files(pki.host_cert, pki.host_key, pki.ca_dir, pki.members)
    with Simulator(policy, demo_runs(policy, START), tmp_path / "sim", START, door=door) as simulator:
        simulator.advance(START)
        yield simulator


@pytest.fixture
def settings(sim, tmp_path, pki, monkeypatch) -> Settings:
    for variable in GRID_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("X509_CERT_DIR", str(pki.ca_dir))
    monkeypatch.setenv("X509_USER_PROXY", str(pki.proxy))
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    store.migrate()
    store.dispose()
    return Settings(db_url=f"sqlite:///{tmp_path / 'store.db'}", tier0_url=sim.tier0_url, dqm_url=sim.dqm_url,
                    conddb_url=sim.conddb_url, tier0_control_db_url=sim.switch_url, steer_mode="sql")


def _by_door(reports: list[DoorReport]) -> dict[str, DoorReport]:
    return {report.door: report for report in reports}


def test_every_door_open_says_who_we_are_and_what_each_answered(settings, policy, pki):
    reports = _by_door(check_doors(settings, policy))
    assert all(r.open for r in reports.values()), reports
    assert "first conditions-safe run 386925" in reports["Tier0 Data Service"].line
    assert pki.member.dn in reports["Tier0 Data Service"].line and "proxy valid until" in reports["DQM GUI"].line
    assert "17 of 17 tags" in reports["CondDB"].line
    assert "INSERT granted" in reports["Tier0 switch"].line and "releasing" in reports["Tier0 switch"].line
    assert "schema 0014" in reports["store"].line


def test_a_stranger_certificate_shuts_tier0_and_dqm_and_names_the_dn(settings, policy, pki, tmp_path, monkeypatch):
    stranger = pki.authority.user(name(("DC", "ch"), ("DC", "cern"), ("CN", "Someone Else")))
    monkeypatch.setenv("X509_USER_PROXY", str(write_proxy(tmp_path / "x509up", stranger, datetime.now(UTC))))
    reports = _by_door(check_doors(settings, policy))
    for door in ("Tier0 Data Service", "DQM GUI"):
        assert not reports[door].open
        assert "HTTP 401" in reports[door].line and "/DC=ch/DC=cern/CN=Someone Else" in reports[door].line
    assert reports["CondDB"].open and reports["store"].open


def test_an_unreachable_conddb_and_a_store_behind_its_schema_are_shut_with_what_to_do(settings, policy, tmp_path):
    behind = tmp_path / "old-store.db"
    engine = create_engine(f"sqlite:///{behind}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        conn.execute(text("INSERT INTO alembic_version VALUES ('0009')"))
    engine.dispose()
    missing = tmp_path / "no-such-dir" / "conddb.sqlite"
    reports = _by_door(check_doors(settings.model_copy(update={
        "conddb_url": f"sqlite:///{missing}", "db_url": f"sqlite:///{behind}"}), policy))
    assert not reports["CondDB"].open and "unable to open database file" in reports["CondDB"].line
    assert not reports["store"].open and "run `spyagency migrate`" in reports["store"].line
    assert "0009" in reports["store"].line


@pytest.mark.postgres
def test_a_switch_account_without_the_insert_grant_is_shut_without_inserting(settings, policy, postgres):
    url = postgres.create_database()
    owner = create_engine(url)
    with owner.begin() as conn:
        conn.execute(text("CREATE TABLE promptreco_status (status INTEGER NOT NULL, change_time TIMESTAMP NOT NULL)"))
        conn.execute(text("INSERT INTO promptreco_status VALUES (1, now())"))
        conn.execute(text("DROP ROLE IF EXISTS t0reader"))
        conn.execute(text("CREATE ROLE t0reader LOGIN"))
        conn.execute(text("GRANT SELECT ON promptreco_status TO t0reader"))
    reader_url = url.replace("postgres@", "t0reader@")
    shut = _by_door(check_doors(settings.model_copy(update={"tier0_control_db_url": reader_url}), policy))
    assert not shut["Tier0 switch"].open
    assert "may not INSERT" in shut["Tier0 switch"].line and "CMS_TIER0DATASVC_ORM" in shut["Tier0 switch"].line
    with owner.begin() as conn:
        conn.execute(text("GRANT INSERT ON promptreco_status TO t0reader"))
    opened = _by_door(check_doors(settings.model_copy(update={"tier0_control_db_url": reader_url}), policy))
    assert opened["Tier0 switch"].open and "INSERT granted" in opened["Tier0 switch"].line
    with owner.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM promptreco_status")).scalar() == 1  # nothing inserted
    owner.dispose()


def test_a_replay_instance_is_flagged_as_one_whose_locks_cannot_be_timed():
    assert instance_note("https://cmsweb.cern.ch/t0wmadatasvc/prod/") is None
    assert "RUN_INFO" in (instance_note("https://cmsweb.cern.ch/t0wmadatasvc/replayone/") or "")
    assert "not one SpyAgency knows" in (instance_note("https://cmsweb.cern.ch/t0wmadatasvc/prd/") or "")


def test_the_command_prints_a_line_per_door_and_exits_1_when_one_is_shut(settings, tmp_path, pki):
    env = {**{k: v for k, v in os.environ.items() if k not in GRID_VARIABLES},
           "SPYAGENCY_DB_URL": settings.db_url, "SPYAGENCY_TIER0_URL": settings.tier0_url,
           "SPYAGENCY_DQM_URL": settings.dqm_url, "SPYAGENCY_CONDDB_URL": settings.conddb_url,
           "SPYAGENCY_TIER0_CONTROL_DB_URL": str(settings.tier0_control_db_url),
           "X509_CERT_DIR": str(pki.ca_dir), "HOME": str(tmp_path)}

    def check(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "spyagency.cli", "check"], env={**env, **extra},
                              capture_output=True, text=True, timeout=120)

    opened = check(X509_USER_PROXY=str(pki.proxy))
    assert opened.returncode == 0, opened.stdout + opened.stderr
    assert "5 of 5 doors open" in opened.stdout and "Traceback" not in opened.stderr
    shut = check(X509_USER_PROXY=str(Path(tmp_path) / "no-such-proxy"))
    assert shut.returncode == 1 and "Traceback" not in shut.stdout + shut.stderr
    assert "SHUT  Tier0 Data Service" in shut.stdout and "no-such-proxy" in shut.stdout
    assert "shut: Tier0 Data Service, DQM GUI" in shut.stdout
