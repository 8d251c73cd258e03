"""Airflow 3: DAG integrity, and `airflow dags test` of poll → decide → steer against the simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from simulator.httpserver import Door
from simulator.pki import make_grid_pki
from simulator.scenario import Outcome, SimRun, all_streams
from simulator.simulator import Simulator
from spyagency.clock import utcnow
from spyagency.core.models import AckKind
from spyagency.people.acknowledge import acknowledge
from spyagency.store import Store

from ..support.missing import missing
from ..support.smtp_server import SmtpServer, text_of
from ..support.watches import policy_believing_first_read

ROOT = Path(__file__).resolve().parents[2]
H = timedelta(hours=1)

pytestmark = pytest.mark.airflow


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    try:
        import airflow  # noqa: F401
    except ImportError:
        missing("airflow", "apache-airflow is not installed")
    home = tmp_path_factory.mktemp("airflow")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
           "AIRFLOW__CORE__UNIT_TEST_MODE": "False", "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    return env


def test_dags_import_without_errors_and_do_no_work_at_import(airflow_env):
    probe = (
        "import sys, time; t = time.perf_counter();"
        "from airflow.dag_processing.dagbag import DagBag; import airflow.sdk;"
        "t_airflow = time.perf_counter() - t; t = time.perf_counter();"
        f"bag = DagBag(dag_folder={str(ROOT / 'dags')!r});"
        "print(f'Airflow imports {t_airflow:.2f} s, DAG files {time.perf_counter() - t:.2f} s', file=sys.stderr);"
        "import json; print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},"
        " 'dags': sorted(bag.dag_ids), 'core_loaded': 'spyagency.agency' in sys.modules}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], env=airflow_env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["errors"] == {}
    assert report["dags"] == ["spyagency_decide", "spyagency_poll_conddb", "spyagency_poll_dqm",
                              "spyagency_poll_tier0", "spyagency_signoff", "spyagency_signoff_run",
                              "spyagency_steer"]
    assert report["core_loaded"] is False  # the core is only imported when a task runs
    print(result.stderr.strip().splitlines()[-1])  # measured, not asserted: about 6.8 s and 0.13 s here


def _dags_test(env, dag_id):
    result = subprocess.run([str(Path(sys.executable).parent / "airflow"), "dags", "test", dag_id], env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and "failed" not in result.stdout.lower().split("state=")[-1][:20], \
        result.stdout[-3000:] + result.stderr[-3000:]
    return result


def test_full_chain_pauses_then_resumes_tier0(airflow_env, tmp_path, policy):
    now = utcnow()
    # 386925 stopped 47 h ago: it locks in 30 min and its alignment was vetoed
    runs = [SimRun(386925, now - 50 * H, now - 47 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, now - 46 * H, now - 40 * H, all_streams(policy))]
    # Tier0 and DQM behind the grid door: the connections carry the proxy and the CA directory
    pki = make_grid_pki(tmp_path / "grid")
    door = Door.from_files(pki.host_cert, pki.host_key, pki.ca_dir, pki.members)
    with Simulator(policy, runs, tmp_path / "sim", now, door=door) as sim, SmtpServer() as smtp:
        sim.advance(now)
        store_url = f"sqlite:///{tmp_path / 'store.db'}"
        Store(store_url).migrate()
        conn = lambda url, **extra: json.dumps({"conn_type": "generic", "extra": {"url": url, **extra}})  # noqa: E731
        grid = {"cert": str(pki.proxy), "ca_dir": str(pki.ca_dir)}
        env = {**{k: v for k, v in airflow_env.items() if not k.startswith("X509_")},
               "AIRFLOW_CONN_SPYAGENCY_STORE": conn(store_url),
               "AIRFLOW_CONN_SPYAGENCY_TIER0": conn(sim.tier0_url, **grid),
               "AIRFLOW_CONN_SPYAGENCY_CONDDB": conn(sim.conddb_url),
               "AIRFLOW_CONN_SPYAGENCY_DQM": conn(sim.dqm_url, **grid), "SPYAGENCY_HTTP_RETRIES": "1",
               # steering inserts rows into Tier0's own promptreco_status (the data service's database)
               "AIRFLOW_CONN_SPYAGENCY_TIER0_CONTROL": conn(sim.switch_url),
               # warnings by e-mail through Airflow's SMTP provider, to a real SMTP server on loopback
               "AIRFLOW_CONN_SPYAGENCY_SMTP": json.dumps({
                   "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port,
                   "extra": {"disable_ssl": True, "disable_tls": True}}),
               "SPYAGENCY_NOTIFY_EMAIL_TO": "alca-hn@cern.ch",
               # on the wall clock: the first configuration read after the stop is believed
               "SPYAGENCY_POLICY": str(policy_believing_first_read(tmp_path))}
        for dag_id in ("spyagency_poll_conddb", "spyagency_poll_tier0", "spyagency_poll_dqm",
                       "spyagency_decide", "spyagency_steer"):
            _dags_test(env, dag_id)
        assert sim.tier0.requests > 0 and sim.dqm.requests > 0  # read through the grid door
        actions = sim.world.control_actions
        assert [a.enabled for a in actions] == [False], "Tier0 releases were not paused"
        assert not actions[0].by_hand
        assert [m["To"] for m in smtp.messages] == ["alca-hn@cern.ch"], "AlCa experts were not e-mailed once"
        assert "SiPixelAli" in text_of(smtp.messages[0]) and "386925" in smtp.messages[0]["Subject"]

        store = Store(store_url)
        acknowledge(store, policy, run=386925, workflow="SiPixelAli", kind=AckKind.ACCEPT_WITHOUT_PAYLOAD,
                    author="alca-expert", comment="vetoed on purpose", now=utcnow())
        store.dispose()
        _dags_test(env, "spyagency_decide")
        _dags_test(env, "spyagency_steer")
        actions = sim.world.control_actions
        assert [a.enabled for a in actions] == [False, True], "Tier0 releases were not resumed"
        _dags_test(env, "spyagency_steer")  # idempotent: nothing more reaches Tier0
        assert len(sim.world.control_actions) == 2
        # the acknowledgement is reported once as a follow-up; the warning itself is not repeated
        assert [m["Subject"] for m in smtp.messages] == [
            "[SpyAgency] run 386925: conditions missing near its prompt-reco lock",
            "[SpyAgency] run 386925: update on the conditions missing near its prompt-reco lock"]
        assert "SiPixelAli no longer blocks (acknowledged" in text_of(smtp.messages[1])


def test_the_conditions_trigger_fires_once_the_runs_payload_is_in(airflow_env, tmp_path, policy):
    """The deferrable sensor's trigger, run as the triggerer runs it: serialized, rebuilt, awaited."""
    import asyncio
    import importlib

    sys.path.insert(0, str(ROOT / "plugins"))
    try:
        triggers = importlib.import_module("spyagency_airflow.triggers")
    finally:
        sys.path.remove(str(ROOT / "plugins"))
    now = utcnow()
    runs = [SimRun(386925, now - 12 * H, now - 8 * H, all_streams(policy)),
            SimRun(386926, now - 2 * H, now + 2 * H, all_streams(policy))]
    with Simulator(policy, runs, tmp_path / "sim", now) as sim, pytest.MonkeyPatch.context() as env:
        sim.advance(now)
        env.setenv("AIRFLOW_CONN_SPYAGENCY_CONDDB", json.dumps({"conn_type": "generic",
                                                                "extra": {"url": sim.conddb_url}}))
        tag = policy.workflow("SiStripGains").tag
        _path, kwargs = triggers.IovTrigger(tag, 386925, "run", poke_interval=0.05).serialize()
        # the serialized trigger (stored and shown by Airflow) holds the connection id, never the URL
        assert kwargs["conddb_conn_id"] == "spyagency_conddb" and sim.conddb_url not in json.dumps(kwargs)
        rebuilt = triggers.IovTrigger(**kwargs)

        async def first_event():  # type: ignore[no-untyped-def]
            return await asyncio.wait_for(rebuilt.run().__anext__(), timeout=10)

        event = asyncio.run(first_event())
        assert event.payload == {"tag": tag, "run": 386925}
        waiting = triggers.IovTrigger(tag, 386926, "run", poke_interval=0.05)

        async def still_waiting() -> bool:
            try:
                await asyncio.wait_for(waiting.run().__anext__(), timeout=0.5)
            except TimeoutError:
                return True
            return False

        assert asyncio.run(still_waiting())  # 386926 is still running: no payload, the trigger keeps waiting
