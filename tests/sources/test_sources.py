"""Source clients against the simulator's real protocols, and what each failure looks like."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

import pytest
from sqlalchemy import insert
from sqlalchemy.dialects.oracle import dialect as oracle_dialect

from simulator.httpserver import Fault
from simulator.scenario import Outcome, SimRun, all_streams
from spyagency.core.models import DqmOutcome
from spyagency.sources import conddb_schema
from spyagency.sources.conddb import CondDBClient, payload_size_query
from spyagency.sources.dqm import DqmClient
from spyagency.sources.errors import (
    CondDBProtocolError,
    CondDBUnavailable,
    DqmProtocolError,
    Tier0ProtocolError,
    Tier0Unavailable,
)
from spyagency.sources.tier0 import Tier0Client

from ..conftest import START
from ..support.net import refused_port

H = timedelta(hours=1)


@pytest.fixture
def sim(world_factory, policy):
    runs = [SimRun(386925, START - 12 * H, START - 8 * H, all_streams(policy)),
            SimRun(386926, START - 8 * H, START - 2 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386927, START - 6 * H, START + 2 * H, all_streams(policy))]
    world = world_factory(runs)
    world.sim.advance(START)
    return world.sim


@pytest.fixture
def tier0(sim):
    client = Tier0Client(sim.tier0_url, retries=1, backoff=0.0, timeout=0.5)
    yield client
    client.close()


def test_tier0_reads_runs_express_config_and_stream_status(tier0, policy):
    assert tier0.run_era(386925) == "Run2026D"
    assert tier0.run_era(999999) is None
    producers, _versions = tier0.express_config(386925)
    assert "PromptCalibProdSiPixelAli" in producers["Express"]
    assert "SiStripCalZeroBias" in producers["Express"]  # non-PCL skims are listed too
    assert tier0.run_stream_done(386925, "Express") is True
    assert tier0.run_stream_done(386927, "Express") is False
    assert tier0.first_conditions_safe_run() == 386925
    assert tier0.promptreco_enabled() is True
    run = tier0.observe_run(386925, START)
    assert run.known and run.streams_done["ExpressAlignment"] is True


@pytest.mark.parametrize("fault,error,text", [
    (Fault.HTTP_500, Tier0Unavailable, "HTTP 500 after 2 attempts"),
    (Fault.TIMEOUT, Tier0Unavailable, "timed out"),
    (Fault.TRUNCATED, Tier0ProtocolError, "malformed JSON"),
    (Fault.NOT_JSON, Tier0ProtocolError, "malformed JSON"),
    (Fault.WRONG_TYPES, Tier0ProtocolError, "envelope"),
])
def test_tier0_failures_raise_a_specific_error(sim, tier0, fault, error, text):
    sim.tier0.fault = fault
    sim.tier0.timeout_delay = 1.0
    with pytest.raises(error, match=text):
        tier0.first_conditions_safe_run()


def test_tier0_down_is_unavailable_not_a_crash(sim):
    with refused_port() as port:
        client = Tier0Client(f"http://127.0.0.1:{port}/t0wmadatasvc/prod/", retries=1, backoff=0.0, timeout=0.5)
        with pytest.raises(Tier0Unavailable, match="cannot connect"):
            client.promptreco_enabled()


def test_tier0_retries_with_backoff_before_giving_up(sim):
    waits: list[float] = []
    client = Tier0Client(sim.tier0_url, retries=3, backoff=0.5, sleep=waits.append)
    sim.tier0.fault = Fault.HTTP_500
    with pytest.raises(Tier0Unavailable):
        client.promptreco_enabled()
    assert waits == [0.5, 1.0, 2.0]


def test_malformed_run_numbers_are_refused_before_asking(tier0):
    for bad in (0, 12345678, -5, True):
        with pytest.raises(ValueError, match="not a run number"):
            tier0.run_era(bad)


def test_conddb_reads_runs_and_uploads_incrementally(sim, policy):
    client = CondDBClient(sim.conddb_url)
    runs = client.runs(after_run=0)
    assert [r.run for r in runs] == [386925, 386926, 386927]
    assert runs[2].stop_time is None  # still running
    tags = client.tag_info(wf.tag for wf in policy.workflows)
    beam_spot = tags["BeamSpotObjects_PCL_byLumi_v0_prompt"]
    assert beam_spot.time_type == "lumi" and beam_spot.synchronization in ("pcl", "prompt")
    assert client.first_run() == 386925
    first = client.uploads_since(tags, None, from_run=386925)
    lumi = [u for u in first.uploads if u.tag == "BeamSpotObjects_PCL_byLumi_v0_prompt"]
    assert lumi and all(u.since_run == 386925 for u in lumi)
    assert {u.since >> 32 for u in lumi} == {386925}
    # nothing new: the next read from the cursor only re-reads the overlap window
    again = client.uploads_since(tags, first.cursor + timedelta(hours=1), from_run=386925)
    assert again.uploads == ()
    sim.advance(START + 8 * H)  # 386926 and 386927 upload
    later = client.uploads_since(tags, first.cursor, from_run=386925)
    new = set(later.uploads) - set(first.uploads)  # the overlap window re-reads; the store dedupes
    assert {u.since_run for u in new} == {386926, 386927}
    assert later.cursor > first.cursor
    # the read starts at a since: runs below it are not read at all
    assert {u.since_run for u in client.uploads_since(tags, None, from_run=386926).uploads} == {386926, 386927}
    client.close()


def test_conddb_payload_sizes_are_the_bytes_of_data_on_every_database(store_url):
    """The quality watch reads a payload's size from PAYLOAD.DATA: the same number on SQLite, PostgreSQL
    (and Oracle, where LENGTH takes no BLOB and DBMS_LOB.GETLENGTH is asked instead)."""
    client = CondDBClient(store_url)
    conddb_schema.metadata.create_all(client.engine)
    stamp = datetime(2026, 11, 1, 12, 0)
    with client.engine.begin() as conn:
        conn.execute(insert(conddb_schema.PAYLOAD), [
            dict(HASH=name * 40, OBJECT_TYPE="SiStripBadStrip", DATA=(bytes(range(256)) * (size // 256 + 1))[:size],
                 STREAMER_INFO=b"{}", VERSION="CMSSW_16_0_7", INSERTION_TIME=stamp)
            for name, size in (("a", 12345), ("b", 7))])
    assert client.payload_sizes(["a" * 40, "b" * 40, "c" * 40, "a" * 40]) == {"a" * 40: 12345, "b" * 40: 7}
    assert client.payload_sizes([]) == {}
    client.close()
    oracle = str(payload_size_query("oracle", ["a" * 40]).compile(dialect=oracle_dialect()))
    assert "dbms_lob.getlength" in oracle.lower() and "length(" not in oracle.lower().replace("getlength(", "")


def test_conddb_that_is_not_a_conddb_is_a_protocol_error(tmp_path):
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    with pytest.raises(CondDBProtocolError, match="CondDB schema"):
        CondDBClient(f"sqlite:///{path}").runs(0)


def test_conddb_unreachable_is_unavailable(tmp_path):
    with pytest.raises(CondDBUnavailable):
        CondDBClient(f"sqlite:///{tmp_path}/no/such/dir/conddb.sqlite").runs(0)


def test_dqm_reads_the_sipixelali_status_histogram(sim, policy):
    client = DqmClient(sim.dqm_url, retries=0, timeout=1.0)
    rule = policy.workflow("SiPixelAli").dqm
    sim.advance(START + 3 * H)  # 386926 harvested at stop + 4 h
    assert client.check(386925, "Run2026D", "SiPixelAli", rule, START).outcome is DqmOutcome.UPDATED
    vetoed = client.check(386926, "Run2026D", "SiPixelAli", rule, START)
    assert vetoed.outcome is DqmOutcome.VETOED and "DB update vetoed" in vetoed.detail
    assert client.check(386927, "Run2026D", "SiPixelAli", rule, START).outcome is DqmOutcome.NOT_AVAILABLE
    path = client.plot_path(386925, "Run2026D", rule)
    assert path.startswith("dqm/offline/jsonfairy/archive/386925/StreamExpress/Run2026D-PromptCalibProdSiPixelAli")


@pytest.mark.parametrize("fault", [Fault.WRONG_TYPES, Fault.TRUNCATED])
def test_dqm_junk_is_a_protocol_error(sim, policy, fault):
    client = DqmClient(sim.dqm_url, retries=0, timeout=1.0)
    sim.dqm.fault = fault
    with pytest.raises(DqmProtocolError):
        client.check(386925, "Run2026D", "SiPixelAli", policy.workflow("SiPixelAli").dqm, START)
