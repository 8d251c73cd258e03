"""Shared fixtures: policy, a simulator on loopback with a manual clock, stores on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from simulator.httpserver import Door
from simulator.scenario import SimRun, demo_runs
from simulator.simulator import Simulator
from spyagency.agency import Agency, CycleResult
from spyagency.clock import ManualClock
from spyagency.core.models import RunVerdict
from spyagency.policy import Policy, load_policy
from spyagency.settings import Settings
from spyagency.store import Store

from .support.missing import missing
from .support.pgserver import PostgresServer

START = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
# the TestClient's requests name host "testserver": allowed beside the defaults (a test of the check sets its own)
os.environ.setdefault("SPYAGENCY_ALLOWED_HOSTS", "testserver,127.0.0.1,localhost,::1,[::1]")


@pytest.fixture(scope="session")
def shipped_policy() -> Policy:
    """The policy as shipped: a stopped run's express configuration needs two agreeing reads 5 min apart."""
    return load_policy()


@pytest.fixture(scope="session")
def policy(shipped_policy: Policy) -> Policy:
    """The shipped policy believing the first configuration read after a stop: most worlds here poll once per
    moment. The agreement rule is tested at its shipped gap (test_doubt, the reference and lying worlds)."""
    sources = shipped_policy.sources.model_copy(update={"agreement_minutes": 0})
    return shipped_policy.model_copy(update={"sources": sources})


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    if not PostgresServer.available():
        missing("postgres", "PostgreSQL server binaries (Debian postgresql) are not installed")
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return request.getfixturevalue("postgres").create_database()


@dataclass
class World:
    """A simulator, a manual clock and an agency wired to both."""

    sim: Simulator
    clock: ManualClock
    agency: Agency
    store: Store

    def cycle(self) -> CycleResult:
        self.sim.advance(self.clock.now())
        return self.agency.observe_and_decide()

    def verdicts(self) -> dict[int, RunVerdict]:
        return {v.run: v for v in self.cycle().decision.verdicts}

    def at(self, delta: timedelta) -> dict[int, RunVerdict]:
        """Move the clock to START + delta and run one cycle."""
        self.clock.current = START + delta
        return self.verdicts()


def make_world(tmp_path: Path, policy: Policy, runs: list[SimRun], store_url: str | None = None,
               door: Door | None = None, **settings: object) -> World:
    clock = ManualClock(START)
    sim = Simulator(policy, runs, tmp_path / "sim", START, dqm_api=str(settings.get("dqm_api", "jsonfairy")),
                    door=door)
    steering: dict[str, object] = {"steer_mode": "sql", "tier0_control_db_url": sim.switch_url}
    defaults: dict[str, object] = {"http_retries": 0, "http_timeout_s": 1.0}
    config = Settings(db_url=store_url or f"sqlite:///{tmp_path / 'store.db'}", tier0_url=sim.tier0_url,
                      dqm_url=sim.dqm_url, conddb_url=sim.conddb_url, **{**defaults, **steering, **settings})
    store = Store(config.db_url)
    store.migrate()
    return World(sim, clock, Agency(config, clock=clock, policy=policy), store)


@pytest.fixture
def quality_reads_unbounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """One poll reads every quality monitor element (a live poll reads at most 600; tests that judge a
    season's newest run in one cycle would otherwise wait for the backlog of older runs)."""
    from spyagency.passes import observe as polling

    monkeypatch.setattr(polling, "QUALITY_ELEMENTS_PER_POLL", 1_000_000)


@pytest.fixture
def world_factory(tmp_path: Path, policy: Policy) -> Iterator:
    made: list[World] = []

    def factory(runs: list[SimRun] | None = None, store_url: str | None = None, door: Door | None = None,
                **settings: object) -> World:
        where = tmp_path if not made else tmp_path / f"world{len(made)}"  # a second world of one test beside it
        where.mkdir(exist_ok=True)
        world = make_world(where, policy,
                           runs if runs is not None else demo_runs(policy, START), store_url, door, **settings)
        made.append(world)
        return world

    yield factory
    for world in made:
        world.agency.close()
        world.sim.stop()
        world.store.dispose()
