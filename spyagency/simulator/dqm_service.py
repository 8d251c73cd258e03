"""The simulated DQM GUI: legacy jsonfairy archive replies for PCL status histograms."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from spyagency.models import DqmOutcome
from spyagency.policy import QualityFeature
from spyagency.simulator.httpserver import Request, SimService
from spyagency.simulator.world import STATUS_BINS, World

PREFIX = "/dqm/offline/jsonfairy/archive/"

_BINS = {
    DqmOutcome.UPDATED: {"DB updated", "significant movement", "within max movement", "within max error",
                         "above significance"},
    DqmOutcome.VETOED: {"DB update vetoed", "significant movement", "above significance"},
    DqmOutcome.NO_UPDATE: {"within max movement", "within max error"},
}


def status_histogram(title: str, outcome: DqmOutcome) -> dict[str, Any]:
    """A jsonfairy TH2F of the MillePede status bins, as the DQM GUI renders it."""
    row = [1.0 if label in _BINS[outcome] else 0.0 for label in STATUS_BINS]
    return {"hist": {
        "type": "TH2F", "title": title,
        "stats": {"name": "statusResults", "entries": float(len(STATUS_BINS)),
                  "mean": {"X": {"value": 2.5, "error": 0.0}, "Y": {"value": 0.5, "error": 0.0}},
                  "rms": {"X": {"value": 1.7, "error": 0.0}, "Y": {"value": 0.0, "error": 0.0}},
                  "underflow": 0.0, "overflow": 0.0},
        "xaxis": {"title": "", "first": {"id": 1, "value": 0.0}, "last": {"id": 6, "value": 6.0},
                  "labels": [{"index": i + 1, "value": label} for i, label in enumerate(STATUS_BINS)]},
        "yaxis": {"title": "", "first": {"id": 1, "value": 0.0}, "last": {"id": 1, "value": 1.0}},
        "values": {"min": 0.0, "max": 1.0},
        "bins": {"integral": sum(row), "content": [row], "error": [[0.0] * len(row)]},
    }}


def quality_histogram(path: str, feature: QualityFeature, numbers: list[float]) -> dict[str, Any]:
    """A jsonfairy TH1 of a harvest's monitor element: MillePede-style bins (movements in bins 1..6 of 36),
    or a distribution whose mean is the watched number (e.g. the MPVs of a subdetector)."""
    name = path.rsplit("/", 1)[-1]
    if feature.take == "bins":
        content = [*numbers, *[0.0] * (36 - len(numbers))]
        mean, entries, first, last = sum(numbers) / len(numbers), float(len(content)), 0.0, 36.0
    else:
        centre = numbers[0]
        content = [0.0] * 300
        mean, entries, first, last = centre, 1000.0, 0.0, 600.0 if feature.unit else 2.0
        width = (last - first) / len(content)
        content[min(len(content) - 1, max(0, int((centre - first) / width)))] = entries
    return {"hist": {
        "type": "TH1F", "title": f"{feature.label} ({name})",
        "stats": {"name": name, "entries": entries, "mean": {"X": {"value": mean, "error": 0.0}},
                  "rms": {"X": {"value": 0.0, "error": 0.0}}, "underflow": 0.0, "overflow": 0.0},
        "xaxis": {"title": "", "first": {"id": 1, "value": first}, "last": {"id": len(content), "value": last}},
        "values": {"min": min(content), "max": max(content)},
        "bins": {"integral": sum(content), "content": content, "error": [0.0] * len(content)},
    }}


def dqm_route(world: World):  # type: ignore[no-untyped-def]
    """The request handler of the simulated DQM GUI over ``world``."""

    def route(request: Request) -> tuple[int, Any]:
        if request.method != "GET" or not request.path.startswith(PREFIX):
            return 404, {"error": "not found"}
        parts = unquote(request.path[len(PREFIX):]).split("/")
        if len(parts) < 6 or not parts[0].isdigit():
            return 404, {"error": "expected <run>/<Primary>/<Processed>/<Tier>/<folder>/<histo>"}
        run = int(parts[0])
        dataset = "/" + "/".join(parts[1:4])
        histogram = "/".join(parts[4:])
        with world.lock:
            if run in world.dqm_run_faults:
                return 500, {"error": f"simulated failure reading run {run}"}
            element = world.quality_element(run, dataset, histogram)
            if element is not None:
                return 200, quality_histogram(histogram, *element)
            workflow = world.find_dqm_workflow(run, dataset, histogram)
            if workflow is None:
                return 404, {"error": "no such histogram"}
            outcome = world.dqm_outcome(run, workflow.name)
        if outcome is DqmOutcome.NOT_AVAILABLE:
            return 404, {"error": "no such histogram"}
        return 200, status_histogram(f"Status of {workflow.name} PCL workflow", outcome)

    return route


def start_dqm(world: World, port: int = 0) -> SimService:
    """Start the simulated DQM GUI on 127.0.0.1."""
    return SimService(dqm_route(world), wrong_types={"hist": {"xaxis": 3, "bins": "none"}}, port=port).start()
