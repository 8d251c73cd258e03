"""The simulated DQM GUI: PCL status histograms and quality monitor elements, served as the legacy GUI
(``jsonfairy``) or as the new GUI (``/api/v1/json``, TBufferJSON) does; one API per server, as in reality."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from simulator.httpserver import Door, Request, SimService
from simulator.quality import SimElement
from simulator.world import STATUS_BINS, World
from spyagency.core.models import DqmOutcome

PREFIXES = {"jsonfairy": "/dqm/offline/jsonfairy/archive/", "v1": "/api/v1/json/"}

_BINS = {
    DqmOutcome.UPDATED: {"DB updated", "significant movement", "within max movement", "within max error",
                         "above significance"},
    DqmOutcome.VETOED: {"DB update vetoed", "significant movement", "above significance"},
    DqmOutcome.NO_UPDATE: {"within max movement", "within max error"},
}


@dataclass(frozen=True)
class Drawn:
    """A histogram as the GUI holds it, before either API serialises it."""

    name: str
    kind: str  # TH1F, TH2F
    title: str
    rows: list[list[float]]  # bins 1..n of each y bin (one row for a TH1)
    labels: list[str] | None
    mean: float
    rms: float
    entries: float


def status_drawn(title: str, outcome: DqmOutcome) -> Drawn:
    """MillePede's statusResults TH2F (6 labelled x bins, 1 y bin) for ``outcome``."""
    row = [1.0 if label in _BINS[outcome] else 0.0 for label in STATUS_BINS]
    return Drawn("statusResults", "TH2F", title, [row], list(STATUS_BINS), 2.5, 1.7, float(len(STATUS_BINS)))


def quality_drawn(path: str, element: SimElement) -> Drawn:
    """A harvest's monitor element: MillePede-style movements in bins 1..6 of 36, one movement per ladder or
    panel (the high-granularity alignment), or a distribution whose mean and RMS are the watched numbers
    (e.g. the MPVs of a subdetector, the pedestal shifts)."""
    name = path.rsplit("/", 1)[-1]
    if element.contents:
        return Drawn(name, "TH1F", element.title, [list(element.contents)], None, len(element.contents) / 2, 0.0,
                     float(len(element.contents)))
    if element.bins:
        content = [*element.bins, *[0.0] * (36 - len(element.bins))]
        return Drawn(name, "TH1F", element.title, [content], None, sum(element.bins) / len(element.bins), 0.0,
                     float(len(content)))
    mean = element.mean if element.mean is not None else 0.0
    rms = element.rms if element.rms is not None else 0.0
    content = [0.0] * 100
    content[50] = 1000.0
    return Drawn(name, "TH1F", element.title, [content], None, mean, rms, 1000.0)


def as_jsonfairy(drawn: Drawn) -> dict[str, Any]:
    """The legacy GUI's jsonfairy reply."""
    two_d = drawn.kind.startswith("TH2")
    width = len(drawn.rows[0])
    xaxis: dict[str, Any] = {"title": "", "first": {"id": 1, "value": 0.0},
                             "last": {"id": width, "value": float(width)}}
    if drawn.labels is not None:
        xaxis["labels"] = [{"index": i + 1, "value": label} for i, label in enumerate(drawn.labels)]
    flat = [value for row in drawn.rows for value in row]
    hist: dict[str, Any] = {
        "type": drawn.kind, "title": drawn.title,
        "stats": {"name": drawn.name, "entries": drawn.entries, "mean": {"X": {"value": drawn.mean, "error": 0.0}},
                  "rms": {"X": {"value": drawn.rms, "error": 0.0}}, "underflow": 0.0, "overflow": 0.0},
        "xaxis": xaxis, "values": {"min": min(flat), "max": max(flat)},
        "bins": {"integral": sum(flat), "content": drawn.rows if two_d else drawn.rows[0],
                 "error": [[0.0] * width for _ in drawn.rows] if two_d else [0.0] * width},
    }
    if two_d:
        hist["stats"]["mean"]["Y"] = {"value": 0.5, "error": 0.0}
        hist["stats"]["rms"]["Y"] = {"value": 0.0, "error": 0.0}
        hist["yaxis"] = {"title": "", "first": {"id": 1, "value": 0.0},
                         "last": {"id": len(drawn.rows), "value": float(len(drawn.rows))}}
    return {"hist": hist}


def as_jsroot(drawn: Drawn) -> dict[str, Any]:
    """The new GUI's /api/v1/json reply: the ROOT object as TBufferJSON writes it."""
    two_d = drawn.kind.startswith("TH2")
    nx, ny = len(drawn.rows[0]), len(drawn.rows)

    def axis(name: str, bins: int, labels: list[str] | None) -> dict[str, Any]:
        named = None if labels is None else {
            "_typename": "THashList", "name": "THashList",
            "arr": [{"_typename": "TObjString", "fUniqueID": i + 1, "fBits": 0, "fString": label}
                    for i, label in enumerate(labels)], "opt": [""] * len(labels)}
        return {"_typename": "TAxis", "fName": name, "fTitle": "", "fNbins": bins, "fXmin": 0.0,
                "fXmax": float(bins), "fXbins": [], "fFirst": 0, "fLast": 0, "fLabels": named}

    if two_d:
        cells = [0.0] * ((nx + 2) * (ny + 2))
        for y, row in enumerate(drawn.rows, start=1):
            cells[(nx + 2) * y + 1:(nx + 2) * y + 1 + nx] = row
    else:
        cells = [0.0, *drawn.rows[0], 0.0]
    weight = drawn.entries
    obj: dict[str, Any] = {
        "_typename": drawn.kind, "fUniqueID": 0, "fBits": 8, "fName": drawn.name, "fTitle": drawn.title,
        "fNcells": len(cells), "fXaxis": axis("xaxis", nx, drawn.labels), "fEntries": drawn.entries,
        "fTsumw": weight, "fTsumw2": weight, "fTsumwx": weight * drawn.mean,
        "fTsumwx2": weight * (drawn.rms ** 2 + drawn.mean ** 2), "fArray": cells,
    }
    if two_d:
        obj["fYaxis"] = axis("yaxis", ny, None)
    return obj


def dqm_route(world: World, api: str = "jsonfairy"):  # type: ignore[no-untyped-def]
    """The request handler of the simulated DQM GUI over ``world``, speaking ``api``."""
    prefix = PREFIXES[api]
    render = as_jsroot if api == "v1" else as_jsonfairy

    def route(request: Request) -> tuple[int, Any]:
        if request.method != "GET" or not request.path.startswith(prefix):
            return 404, {"error": "not found"}
        parts = unquote(request.path[len(prefix):]).split("/")
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
                return 200, render(quality_drawn(histogram, element))
            workflow = world.find_dqm_workflow(run, dataset, histogram)
            if workflow is None:
                return 404, {"error": "no such histogram"}
            outcome = world.dqm_outcome(run, workflow.name)
        if outcome is DqmOutcome.NOT_AVAILABLE:
            return 404, {"error": "no such histogram"}
        return 200, render(status_drawn(f"Status of {workflow.name} PCL workflow", outcome))

    return route


def start_dqm(world: World, port: int = 0, api: str = "jsonfairy", door: Door | None = None) -> SimService:
    """Start the simulated DQM GUI on 127.0.0.1 (HTTPS behind ``door``), speaking ``api`` (jsonfairy or v1)."""
    wrong = {"hist": {"xaxis": 3, "bins": "none"}} if api == "jsonfairy" else {"fXaxis": 3, "fArray": "none"}
    return SimService(dqm_route(world, api), wrong_types=wrong, port=port, door=door).start()
