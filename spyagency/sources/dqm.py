"""Client of the DQM GUI's JSON APIs for PCL status histograms and quality monitor elements.

Two APIs, one per generation of the GUI: the legacy ``jsonfairy`` archive and the new GUI's
``/api/v1/json`` (ROOT objects as ``TBufferJSON``, translated by :mod:`spyagency.sources.jsroot`).
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

from spyagency.core.models import DqmCheck, DqmOutcome, streams_running
from spyagency.core.plausibility import count_problem
from spyagency.policy import DqmRule, Policy, QualityFeature, QualityWatch
from spyagency.sources.errors import DqmAccessDenied, DqmProtocolError, DqmUnavailable
from spyagency.sources.http import JsonHttp
from spyagency.sources.jsroot import hist_from_jsroot
from spyagency.sources.tier0 import check_run_number


def _label_text(label: Any) -> str:
    if isinstance(label, str):
        return label
    if isinstance(label, dict) and isinstance(label.get("value"), str):
        text: str = label["value"]
        return text
    raise DqmProtocolError(f"axis label has an unexpected shape: {label!r:.80}")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise DqmProtocolError(f"{what} is not a number: {value!r:.80}")
    return float(value)


def bin_values(hist: dict[str, Any]) -> dict[str, float]:
    """Label → content of a labelled jsonfairy histogram (2D: summed over y)."""
    try:
        labels = [_label_text(label) for label in hist["xaxis"]["labels"]]
        content = hist["bins"]["content"]
    except (KeyError, TypeError) as exc:
        raise DqmProtocolError(f"histogram lacks xaxis.labels or bins.content ({exc!r})") from exc
    if not isinstance(content, list):
        raise DqmProtocolError("bins.content is not a list")
    rows = content if content and all(isinstance(r, list) for r in content) else [content]
    values = {label: 0.0 for label in labels}
    for row in rows:
        if len(row) != len(labels):
            raise DqmProtocolError(f"{len(labels)} labels but a row of {len(row)} bins")
        for label, value in zip(labels, row, strict=True):
            number = _number(value, f"bin {label!r}")
            problem = count_problem(number)
            if problem is not None:
                raise DqmProtocolError(f"status histogram bin {label!r}: {problem}: an unreadable histogram, "
                                       f"not a verdict")
            values[label] += number
    return values


def classify(values: dict[str, float], rule: DqmRule) -> tuple[DqmOutcome, str]:
    """Turn a status histogram's bins into a harvest outcome, with a readable detail."""
    needed = [rule.updated_bin, rule.vetoed_bin] + ([rule.failed_bin] if rule.failed_bin else [])
    absent = [name for name in needed if name not in values]
    if absent:
        raise DqmProtocolError(f"status histogram has no bin(s) {absent}; bins are {sorted(values)}")
    raised = ", ".join(name for name, value in values.items() if value > 0) or "no bin set"
    if not any(value > 0 for value in values.values()):
        return DqmOutcome.NOT_AVAILABLE, "status histogram is empty"
    if rule.failed_bin and values[rule.failed_bin] > 0:
        return DqmOutcome.FAILED, f"'{rule.failed_bin}' set ({raised})"
    if values[rule.vetoed_bin] > 0:
        return DqmOutcome.VETOED, f"'{rule.vetoed_bin}' set ({raised})"
    if values[rule.updated_bin] > 0:
        return DqmOutcome.UPDATED, f"'{rule.updated_bin}' set ({raised})"
    return DqmOutcome.NO_UPDATE, f"neither update nor veto ({raised})"


DqmApi = Literal["jsonfairy", "v1"]

#: Where each API serves one monitor element: ``<prefix>/<run>/<Primary>/<Processed>/<Tier>/<folder>/<name>``.
API_PREFIX: dict[str, str] = {"jsonfairy": "dqm/offline/jsonfairy/archive", "v1": "api/v1/json"}


#: What ``knock`` asks for: a run number Tier0 would accept but no collision run has.
KNOCK_RUN, KNOCK_DATASET, KNOCK_ELEMENT = 10, "StreamExpress/Run2026A-PromptCalibProd-Express-v1/ALCAPROMPT", \
    "AlCaReco/SiPixelAli/statusResults"


def element_path(api: str, run: int, dataset: str, histogram: str) -> str:
    """Path of one monitor element of ``run`` in ``dataset`` under the GUI root."""
    return f"{API_PREFIX[api]}/{int(run)}/{quote(dataset.strip('/'))}/{quote(histogram)}"


class DqmClient:
    """Reads PCL status histograms and quality monitor elements from a DQM GUI (``api``: which GUI)."""

    def __init__(self, base_url: str, api: DqmApi = "jsonfairy", **http_options: Any) -> None:
        if api not in API_PREFIX:
            raise ValueError(f"unknown DQM GUI API {api!r}: jsonfairy (legacy GUI) or v1 (new GUI)")
        self.api = api
        self.http = JsonHttp(base_url, unavailable=DqmUnavailable,
                             protocol_error=DqmProtocolError, denied=DqmAccessDenied,
                             **http_options)

    def close(self) -> None:
        self.http.close()

    def knock(self) -> int:
        """One request for a monitor element that cannot exist; the HTTP status once past the door (a 404, or
        the new GUI's 500 "ME not found"). Raises DqmAccessDenied when the door is shut to us."""
        return self.http.knock(element_path(self.api, KNOCK_RUN, KNOCK_DATASET, KNOCK_ELEMENT))

    @staticmethod
    def plot_path(run: int, era: str, rule: DqmRule, version: int | None = None) -> str:
        """Path of the status histogram under the GUI root (also used for dashboard links)."""
        return element_path("jsonfairy", check_run_number(run), rule.dataset_for(era, version), rule.histogram)

    def histogram(self, run: int, era: str, rule: DqmRule, version: int | None = None,
                  stream: str = "Express") -> dict[str, Any] | None:
        """The status histogram as a jsonfairy ``hist`` object, or None when the GUI has no such histogram."""
        return self.monitor_element(check_run_number(run), rule.dataset_for(era, version, stream), rule.histogram)

    def monitor_element(self, run: int, dataset: str, name: str) -> dict[str, Any] | None:
        """Monitor element ``name`` of ``run`` in ``dataset`` as a jsonfairy ``hist`` object (whichever API
        the GUI speaks), or None when the GUI lacks it."""
        document = self.http.get(element_path(self.api, run, dataset, name), allow_404=True)
        if document is None:
            return None
        if self.api == "v1":
            return hist_from_jsroot(document, name)
        if not isinstance(document, dict) or "hist" not in document:
            raise DqmProtocolError(f"reply for run {run} is not a {{\"hist\": ...}} document")
        hist = document["hist"]
        if isinstance(hist, str):
            if hist == "unsupported type":
                raise DqmProtocolError(f"{name} for run {run} is of an unsupported type")
            raise DqmProtocolError(f"unexpected hist string for run {run}: {hist!r:.80}")
        if not isinstance(hist, dict):
            raise DqmProtocolError(f"hist for run {run} is not an object")
        return hist

    def check(self, run: int, era: str, workflow: str, rule: DqmRule, now: datetime,
              version: int | None = None, stream: str = "Express") -> DqmCheck:
        """Read and classify one workflow's status histogram for one run (``version``: the proc_version of
        ``stream``, the express stream whose harvest it is)."""
        hist = self.histogram(run, era, rule, version, stream)
        if hist is None:
            return DqmCheck(run, workflow, DqmOutcome.NOT_AVAILABLE, "no histogram in the DQM GUI yet", now)
        outcome, detail = classify(bin_values(hist), rule)
        return DqmCheck(run, workflow, outcome, detail, now)


def _contents(hist: dict[str, Any], name: str) -> list[float]:
    """Bins 1..n of a one-dimensional jsonfairy histogram."""
    try:
        content = hist["bins"]["content"]
    except (KeyError, TypeError) as exc:
        raise DqmProtocolError(f"{name} lacks bins.content ({exc!r})") from exc
    if not isinstance(content, list) or not content:
        raise DqmProtocolError(f"{name}: bins.content is not a list of bins")
    return [_number(value, f"{name} bin {i + 1}") for i, value in enumerate(content)]


def feature_values(hist: dict[str, Any], feature: QualityFeature) -> list[float]:
    """The numbers ``feature`` reads from a jsonfairy histogram: bins 1..n, the mean or RMS, or the
    mean or spread of the bin contents."""
    if feature.take in ("mean", "rms"):
        try:
            return [_number(hist["stats"][feature.take]["X"]["value"], f"{feature.histogram} {feature.take}")]
        except (KeyError, TypeError) as exc:
            raise DqmProtocolError(f"{feature.histogram} has no stats.{feature.take}.X.value ({exc!r})") from exc
    content = _contents(hist, feature.histogram)
    if feature.take == "contents_mean":
        return [statistics.fmean(content)]
    if feature.take == "contents_rms":
        return [statistics.pstdev(content)]
    if len(content) < len(feature.bins):
        raise DqmProtocolError(f"{feature.histogram} has fewer than {len(feature.bins)} bins")
    return content[:len(feature.bins)]


def read_quality(client: DqmClient, run: int, era: str, watch: QualityWatch,
                 version: int | None = None, stream: str = "Express") -> dict[str, float] | None:
    """Every number ``watch`` reads for ``run``'s harvest of ``stream``; None while any monitor element is
    not in the GUI yet."""
    run, dataset = check_run_number(run), watch.dataset_for(era, version, stream)
    values: dict[str, float] = {}
    read: dict[str, dict[str, Any]] = {}  # several numbers of one monitor element: one request
    for feature in watch.features:
        if feature.histogram not in read:
            hist = client.monitor_element(run, dataset, feature.histogram)
            if hist is None:
                return None
            read[feature.histogram] = hist
        numbers = feature_values(read[feature.histogram], feature)
        for (name, _group), number in zip(feature.names(), numbers, strict=True):
            values[name] = number
    return values


def gui_links(gui_url: str, policy: Policy, run: int, era: str | None,
              express_versions: Mapping[str, int],
              express_producers: Mapping[str, frozenset[str]]) -> dict[str, str]:
    """Links into the DQM GUI for each DQM-checked workflow of ``run``: its plot folder (``name``) and
    the JSON of its status histogram (``name:json``). None without an era (no dataset yet)."""
    links: dict[str, str] = {}
    gui = gui_url.rstrip("/")
    for wf in policy.workflows:
        streams = streams_running(express_producers, wf.producer)
        if wf.dqm and era and streams:
            version = express_versions.get(streams[0])
            dataset = wf.dqm.dataset_for(era, version, streams[0])
            folder = wf.dqm.histogram.rsplit("/", 1)[0]
            links[wf.name] = (f"{gui}/dqm/offline/start?runnr={run};dataset={quote(dataset)};"
                              f"workspace=Everything;root={quote(folder)}")
            links[wf.name + ":json"] = f"{gui}/{element_path('jsonfairy', run, dataset, wf.dqm.histogram)}"
    return links
