"""SpyAgency under a real Airflow 3 (`airflow standalone` on PostgreSQL), against the simulator on loopback.

What an operator would check after deploying: no DAG or plugin import errors, the polls run on their
schedule, their Asset events trigger decide and steer, verdicts land in the store, Tier0 is paused for a
run an expert must sign off, and an expert's answer in Airflow's human-in-the-loop task reaches the
release API under the expert's Airflow user name. Slow (Airflow's start-up), bounded, and run in CI.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from simulator.scenario import Outcome, SimRun, all_streams
from simulator.simulator import Simulator
from spyagency.clock import utcnow
from spyagency.settings import Settings
from spyagency.store import Store
from spyagency.store.tables import AckRow, TrackedRun, WorkflowStateRow

from ..support.airflow_standalone import AirflowStandalone, wait_for
from ..support.missing import missing
from ..support.watches import policy_believing_first_read

H = timedelta(hours=1)
POLL_S = 10
EXPERT = "alca_expert"

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
def airflow_installed():
    try:
        import airflow  # noqa: F401
    except ImportError:
        missing("airflow", "apache-airflow is not installed")


def _connection(url: str) -> str:
    return json.dumps({"conn_type": "generic", "extra": {"url": url}})


def _airflow_env(store_url: str, sim: Simulator, **extra: str) -> dict[str, str]:
    """The connections of a deployment watching ``sim`` and steering its switch table, and ``extra`` settings."""
    return {"AIRFLOW_CONN_SPYAGENCY_STORE": _connection(store_url),
            "AIRFLOW_CONN_SPYAGENCY_TIER0": _connection(sim.tier0_url),
            "AIRFLOW_CONN_SPYAGENCY_CONDDB": _connection(sim.conddb_url),
            "AIRFLOW_CONN_SPYAGENCY_DQM": _connection(sim.dqm_url),
            "AIRFLOW_CONN_SPYAGENCY_TIER0_CONTROL": _connection(sim.switch_url),
            "SPYAGENCY_POLL_INTERVAL_S": str(POLL_S), "SPYAGENCY_HTTP_RETRIES": "1", **extra}


def test_a_real_airflow_polls_decides_steers_and_takes_an_experts_signoff(airflow_installed, postgres, policy,
                                                                          tmp_path):
    now = utcnow()
    # 386925 locks in 30 min and its alignment was vetoed: pause, and ask an expert.
    # 386926 locks in 7.5 h and lacks its strip gains: an expert will upload them by hand.
    runs = [SimRun(386925, now - 50 * H, now - 47 * H, all_streams(policy), {"SiPixelAli": Outcome.VETOED}),
            SimRun(386926, now - 46 * H, now - 40 * H, all_streams(policy), {"SiStripGains": Outcome.MISSING})]
    store_url = postgres.create_database("spyagency_store")
    Store(store_url).migrate()
    store = Store(store_url)
    with Simulator(policy, runs, tmp_path / "sim", now) as sim:
        sim.advance(now)
        env = _airflow_env(store_url, sim, SPYAGENCY_POLICY=str(policy_believing_first_read(tmp_path)))
        metadata = postgres.create_database("airflow_metadata")
        with AirflowStandalone(tmp_path / "airflow", metadata, env, EXPERT, "expert-password") as airflow:
            try:
                _check_deployment(airflow, sim, store, policy)
            except BaseException:
                print(airflow.log()[-6000:])
                raise
    store.dispose()


def _check_deployment(airflow: AirflowStandalone, sim: Simulator, store: Store, policy) -> None:
    def tick() -> None:
        sim.advance(utcnow())

    def decided() -> bool:
        tick()
        with store.session() as session:
            rows = session.scalars(select(TrackedRun).where(TrackedRun.decided_at.is_not(None))).all()
            return len(rows) == 2 and not any(r.awaiting for r in rows)

    wait_for(decided, 240, "verdicts of both runs on a complete picture")
    assert airflow.get("/importErrors")["total_entries"] == 0
    assert airflow.get("/plugins/importErrors")["total_entries"] == 0
    assert [p["name"] for p in airflow.get("/plugins")["plugins"]] == ["spyagency"]

    def runs_of(dag_id: str) -> list[dict]:
        return airflow.get(f"/dags/{dag_id}/dagRuns", limit=100)["dag_runs"]

    for source in ("tier0", "conddb", "dqm"):
        assert any(r["run_type"] == "scheduled" and r["state"] == "success"
                   for r in runs_of(f"spyagency_poll_{source}")), f"poll of {source} did not run on its schedule"
    wait_for(lambda: any(r["run_type"] == "asset_triggered" and r["state"] == "success"
                         for r in runs_of("spyagency_steer")), 120, "steer to run on a verdicts Asset event")
    assert any(r["run_type"] == "asset_triggered" for r in runs_of("spyagency_decide"))

    pauses = wait_for(lambda: tick() or sim.world.control_actions, 120, "SpyAgency to pause Tier0")
    assert [a.enabled for a in pauses] == [False] and not pauses[0].by_hand

    # an expert answers the sign-off task in Airflow
    signoff = wait_for(lambda: [r for r in runs_of("spyagency_signoff_run") if r["dag_run_id"].startswith(
        "signoff__386925-")], 180, "a sign-off question about run 386925")
    assert len(signoff) == 1
    path = f"/dags/spyagency_signoff_run/dagRuns/{signoff[0]['dag_run_id']}/taskInstances/sign_off/-1/hitlDetails"

    def asked() -> dict | None:
        assert airflow.client is not None
        reply = airflow.client.get(path)
        return reply.json() if reply.status_code == 200 and not reply.json().get("response_received") else None

    def acknowledged() -> AckRow | None:
        with store.session() as session:
            return session.scalar(select(AckRow).where(AckRow.run == 386925))

    def answer_when_asked() -> AckRow | None:
        # Airflow 3.3.2 can lose an answer that comes within a second of the task parking (the executor's
        # late "success" event fails the try); the retry asks again, and the expert answers again
        question = asked()
        if question is not None:
            assert question["options"] == ["Accept", "Accept without payload", "Hold"]
            assert "SiPixelAli" in question["body"] and "386925" in question["subject"]
            assert airflow.client is not None
            answer = airflow.client.patch(path, json={"chosen_options": ["Accept without payload"],
                                                      "params_input": {"comment": "alignment vetoed on purpose"}})
            assert answer.status_code in (200, 409), answer.text
        return acknowledged()

    ack = wait_for(answer_when_asked, 180, "the expert's answer to be recorded as an acknowledgement", every_s=2)
    assert (ack.author, ack.workflow, ack.kind, ack.comment) == (
        EXPERT, "SiPixelAli", "accept_without_payload", "alignment vetoed on purpose")
    from api.main import create_app

    settings = Settings(db_url=store.url, tokens="tok-t0=tier0:tier0")
    with TestClient(create_app(settings)) as api:
        release = api.get("/api/v1/runs/386925/release", headers={"Authorization": "Bearer tok-t0"}).json()
    assert release["release"] is True, release
    wait_for(lambda: tick() or [a.enabled for a in sim.world.control_actions] == [False, True],
             120, "SpyAgency to resume Tier0 after the sign-off")

    # end-to-end latency: an expert's hand upload → the workflow's verdict in the store
    uploaded_at = utcnow()
    sim.world.upload(386926, "SiStripGains", uploaded_at)

    def gains_in() -> bool:
        tick()
        with store.session() as session:
            row = session.get(WorkflowStateRow, (386926, "SiStripGains"))
            return row is not None and row.state == "uploaded"

    started = time.monotonic()
    wait_for(gains_in, 120, "the hand upload to reach the verdict", every_s=0.5)
    print(f"upload → verdict under Airflow: {time.monotonic() - started:.1f} s (poll every {POLL_S} s)")


def _stale_fast_policy() -> str:
    """The built-in policy, but a verdict older than 1 minute cannot be acted on (production: 15), and on the
    wall clock the first configuration read after a stop is believed."""
    from importlib import resources

    text = resources.files("spyagency.policy").joinpath("default.toml").read_text()
    assert "stale_after_minutes = 15" in text
    text = text.replace("agreement_minutes = 5", "agreement_minutes = 0")
    return text.replace("stale_after_minutes = 15", "stale_after_minutes = 1")


@pytest.mark.timeout(900)  # Airflow's start-up, a verdict going stale, a pause and a resume on the real scheduler
def test_under_the_real_scheduler_a_decide_that_stops_near_a_lock_leads_to_a_pause_then_the_resume(
        airflow_installed, postgres, tmp_path):
    """Steering has a clock of its own: the polls and decide are stopped (as if every source were down or
    decide kept failing) 30 minutes before a ready run's lock; once its verdict is stale SpyAgency's pause
    row lands in Tier0's switch table within two steer intervals; decide comes back and the resume lands."""
    from spyagency.policy import parse_policy

    policy_path = tmp_path / "policy.toml"
    policy_path.write_text(_stale_fast_policy())
    policy = parse_policy(_stale_fast_policy())
    now = utcnow()
    runs = [SimRun(386925, now - 50 * H, now - 47 * H, all_streams(policy))]  # ready; locks in 30 min
    store_url = postgres.create_database("spyagency_clock_store")
    Store(store_url).migrate()
    store = Store(store_url)
    with Simulator(policy, runs, tmp_path / "sim", now) as sim:
        sim.advance(now)
        env = _airflow_env(store_url, sim, SPYAGENCY_POLICY=str(policy_path))
        metadata = postgres.create_database("airflow_clock_metadata")
        with AirflowStandalone(tmp_path / "airflow", metadata, env, EXPERT, "expert-password") as airflow:
            try:
                def decided_ready() -> bool:
                    sim.advance(utcnow())
                    with store.session() as session:
                        row = session.get(TrackedRun, 386925)
                        return row is not None and row.release
                wait_for(decided_ready, 240, "run 386925 decided ready")
                assert sim.world.control_actions == []  # ready: nothing to steer
                assert airflow.client is not None
                for dag_id in ("spyagency_poll_tier0", "spyagency_poll_conddb", "spyagency_poll_dqm",
                               "spyagency_decide"):  # no new verdict from now on
                    airflow.client.patch(f"/dags/{dag_id}", json={"is_paused": True}).raise_for_status()
                stopped = time.monotonic()
                pauses = wait_for(lambda: [a for a in sim.world.control_actions if not a.enabled], 360,
                                  "SpyAgency to pause Tier0 once the verdict went stale", every_s=2)
                took = time.monotonic() - stopped
                print(f"pause landed {took:.0f} s after decide stopped (stale after 60 s, steer every 60 s)")
                assert not pauses[0].by_hand and took <= 60 + 2 * 60 + 60  # stale + two steer intervals + slack
                for dag_id in ("spyagency_poll_tier0", "spyagency_poll_conddb", "spyagency_poll_dqm",
                               "spyagency_decide"):
                    airflow.client.patch(f"/dags/{dag_id}", json={"is_paused": False}).raise_for_status()
                wait_for(lambda: sim.advance(utcnow()) or [a.enabled for a in sim.world.control_actions]
                         == [False, True], 300, "the resume once decisions are fresh again", every_s=2)
            except BaseException:
                print(airflow.log()[-6000:])
                raise
    store.dispose()
