"""Benchmark 1b: the cycle as Airflow runs it, a fresh process per task, on the benchmark scene.

Each figure is the wall time of one whole process, median of ``repeats``, measured in turns with
its baselines so that a drift of the machine's speed touches both: the interpreter importing
``spyagency`` (the package alone), and importing the modules the cycle runs (``spyagency.agency``;
for the Airflow callables, ``spyagency_airflow.tasks``, which loads Airflow's task SDK). Every
process starts after the scene has been decided once, as a deployment's would: its quality scores
are in the store, nothing is in the process.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

from spyagency.settings import Settings

BARE_IMPORT = "import spyagency"
CYCLE_IMPORT = "import spyagency.agency, spyagency.cli"
POLL_ONCE = "from spyagency.cli import main; code = main(['poll', '--once']); assert code in (0, 3), code"
TASKS_IMPORT = "import spyagency_airflow.tasks"
#: The Airflow task callables, each as the DAG's task calls it (plugins/spyagency_airflow/tasks.py).
AIRFLOW_TASKS = {
    "poll_tier0": "from spyagency_airflow.tasks import poll; poll('tier0')",
    "poll_conddb": "from spyagency_airflow.tasks import poll; poll('conddb')",
    "poll_dqm": "from spyagency_airflow.tasks import poll; poll('dqm')",
    "decide": "from spyagency_airflow.tasks import decide; decide()",
    "steer": "from spyagency_airflow.tasks import steer; steer()",
}


@dataclass(frozen=True)
class ProcessFigures:
    label: str
    seconds: list[float]

    @property
    def median_s(self) -> float:
        return statistics.median(self.seconds)


def environment(settings: Settings, airflow_home: str | None = None) -> dict[str, str]:
    """The environment of a deployed process: SpyAgency's settings, or Airflow connections carrying them."""
    env = {**os.environ, "SPYAGENCY_DB_URL": settings.db_url, "SPYAGENCY_TIER0_URL": settings.tier0_url,
           "SPYAGENCY_DQM_URL": settings.dqm_url, "SPYAGENCY_CONDDB_URL": settings.conddb_url,
           "SPYAGENCY_LOOKBACK_HOURS": str(settings.lookback_hours), "SPYAGENCY_HTTP_RETRIES": "0"}
    if airflow_home is not None:
        store = json.dumps({"conn_type": "generic", "extra": {"url": settings.db_url}})
        env.update({"AIRFLOW_HOME": airflow_home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                    "AIRFLOW_CONN_SPYAGENCY_STORE": store,
                    "PYTHONPATH": os.pathsep.join(filter(None, ["plugins", env.get("PYTHONPATH")]))})
    return env


def _timed(program: str, env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", program], env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"measured process failed: {program}\n{done.stderr[-2000:]}")
    return elapsed


def measure(programs: dict[str, str], env: dict[str, str], repeats: int) -> dict[str, ProcessFigures]:
    """Each program ``repeats`` times, in turns (one warm-up round first, not counted)."""
    for program in programs.values():
        _timed(program, env)
    seconds: dict[str, list[float]] = {label: [] for label in programs}
    for _ in range(repeats):
        for label, program in programs.items():
            seconds[label].append(_timed(program, env))
    return {label: ProcessFigures(label, found) for label, found in seconds.items()}


def run(settings: Settings, repeats: int = 5) -> dict[str, ProcessFigures]:
    """Print the cold cycle's figures against the bare imports and return them."""
    print(f"== 1b. the cycle in a fresh process, as Airflow runs it (median of {repeats}, wall time)")
    figures = measure({"bare": BARE_IMPORT, "imports": CYCLE_IMPORT, "poll --once": POLL_ONCE},
                      environment(settings), repeats)
    bare, imports, cycle = figures["bare"].median_s, figures["imports"].median_s, figures["poll --once"].median_s
    print(f"  python -c 'import spyagency'           {bare * 1000:7.0f} ms")
    print(f"  import of the cycle's modules           {imports * 1000:7.0f} ms")
    print(f"  spyagency poll --once                   {cycle * 1000:7.0f} ms: {cycle / imports:.2f} x the import of "
          f"its modules (target <= 1.5), {cycle / bare:.1f} x the bare package import")
    if importlib.util.find_spec("airflow") is None:
        print("  Airflow task callables: skipped (Airflow not installed: pip install 'spyagency[airflow]')")
        return figures
    with tempfile.TemporaryDirectory(prefix="spyagency-bench-airflow-") as home:
        env = environment(settings, home)
        tasks = measure({"tasks import": TASKS_IMPORT, **AIRFLOW_TASKS}, env, repeats)
    base = tasks["tasks import"].median_s
    print(f"  import spyagency_airflow.tasks          {base * 1000:7.0f} ms (Airflow's task SDK and the hook)")
    for label in AIRFLOW_TASKS:
        took = tasks[label].median_s
        print(f"  task callable {label:<12}              {took * 1000:7.0f} ms: {took / base:.2f} x that import")
    return {**figures, **tasks}


def main() -> None:
    """``python -m benchmarks.cold_cycle``: build the 1x scene, decide it once, then time fresh processes."""
    import logging

    from spyagency.agency import Agency
    from spyagency.clock import utcnow
    from spyagency.policy import load_policy

    from . import poll_cycle
    from .scene import build

    logging.basicConfig(level=logging.ERROR)
    policy = load_policy()
    scene = build(poll_cycle.BASE_HISTORY_RUNS, utcnow().replace(microsecond=0), policy)
    try:
        agency = Agency(scene.settings, clock=scene.clock, policy=policy)
        agency.observe_and_decide()
        poll_cycle.read_quality_backlog(agency)
        agency.close()
        run(scene.settings)
    finally:
        scene.close()


if __name__ == "__main__":
    main()
