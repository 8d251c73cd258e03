"""The simulator as one object: a world, its CondDB file and its two HTTP services."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from simulator import dqm_service, tier0_service
from simulator.httpserver import Door, SimService
from simulator.scenario import SimRun
from simulator.world import World
from spyagency.policy import Policy


class Simulator:
    """Serves a timeline of runs as Tier0 Data Service, DQM GUI (HTTP, or HTTPS behind a grid ``door``) and
    CondDB (SQLite)."""

    def __init__(self, policy: Policy, runs: list[SimRun], workdir: Path, start: datetime,
                 tier0_port: int = 0, dqm_port: int = 0, dqm_api: str = "jsonfairy", door: Door | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.conddb_path = workdir / "conddb.sqlite"
        self.conddb_path.unlink(missing_ok=True)
        self.switch_path = workdir / "t0datasvc.sqlite"  # the data service's database: promptreco_status
        self.switch_path.unlink(missing_ok=True)
        self.world = World(policy, runs, f"sqlite:///{self.conddb_path}", start, f"sqlite:///{self.switch_path}")
        self.tier0: SimService = tier0_service.start_tier0(self.world, tier0_port, door)
        self.dqm: SimService = dqm_service.start_dqm(self.world, dqm_port, dqm_api, door)

    @property
    def tier0_url(self) -> str:
        return self.tier0.url + tier0_service.PREFIX

    @property
    def dqm_url(self) -> str:
        return self.dqm.url + "/"

    @property
    def conddb_url(self) -> str:
        return self.world.conddb_url

    @property
    def switch_url(self) -> str:
        """Tier0's promptreco_status table, where steering inserts its rows (SPYAGENCY_TIER0_CONTROL_DB_URL)."""
        return self.world.switch_url

    def advance(self, now: datetime) -> None:
        """Apply the timeline up to ``now``."""
        self.world.advance(now)

    def stop(self) -> None:
        self.tier0.stop()
        self.dqm.stop()
        self.world.engine.dispose()
        self.world.switch_engine.dispose()

    def __enter__(self) -> Simulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
