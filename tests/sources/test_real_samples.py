"""The clients parse replies shaped as the real services send them (tests/samples, origins in ORIGIN.md),
and the simulator's replies have the same shape: the simulator cannot drift from the real protocols."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import httpx
import pytest

from simulator.scenario import Outcome, SimRun, all_streams
from simulator.simulator import Simulator
from spyagency.core.models import DqmOutcome
from spyagency.sources.dqm import DqmClient
from spyagency.sources.errors import DqmProtocolError
from spyagency.sources.tier0 import Tier0Client

from ..conftest import START

SAMPLES = Path(__file__).parents[1] / "samples"
T0 = "/t0wmadatasvc/prod/"
PLOT = ("/dqm/offline/jsonfairy/archive/386925/StreamExpress/Run2026D-PromptCalibProdSiPixelAli-Express-v3/"
        "ALCAPROMPT/AlCaReco/SiPixelAli/statusResults")
UNSUPPORTED = PLOT.replace("v3", "v4")


def _sample_for(path: str, query: dict[str, list[str]]) -> str | None:
    run = query.get("run", [""])[0]
    if path == T0 + "run_config":
        return "t0_run_config.json" if run == "386925" else "t0_run_config_unknown.json"
    names = {"express_config": "t0_express_config.json", "run_stream_done": "t0_run_stream_done.json",
             "firstconditionsaferun": "t0_firstconditionsaferun.json",
             "promptreco_status": "t0_promptreco_status.json"}
    if path.startswith(T0) and path[len(T0):] in names:
        return names[path[len(T0):]]
    return {PLOT: "dqm_statusResults_vetoed.json", UNSUPPORTED: "dqm_unsupported.json"}.get(path)


class _Samples(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urlsplit(self.path)
        name = _sample_for(unquote(url.path), parse_qs(url.query))
        body = (SAMPLES / name).read_bytes() if name else b'{"error": "not found"}'
        self.send_response(200 if name else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def samples_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Samples)  # bound before anyone is told the port
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_tier0_client_reads_real_replies(samples_url, policy):
    tier0 = Tier0Client(samples_url + T0, retries=0)
    try:
        run = tier0.observe_run(386925, START)
        assert run.known and run.era == "Run2026D"
        assert "PromptCalibProdSiPixelAli" in run.express_producers["Express"]
        assert run.express_producers.get("HLTMonitor", frozenset()) == frozenset()  # alca_skim null
        assert run.express_versions["Express"] == 3
        assert run.streams_done["Express"] is True
        assert not tier0.observe_run(386999, START).known  # an empty result
        state = tier0.observe_global(START)
        assert state.first_conditions_safe_run == 386926 and state.promptreco_enabled is True
    finally:
        tier0.close()


def test_dqm_client_reads_a_real_status_histogram(samples_url, policy):
    rule = policy.workflow("SiPixelAli").dqm
    assert rule is not None
    dqm = DqmClient(samples_url + "/", retries=0)
    try:
        check = dqm.check(386925, "Run2026D", "SiPixelAli", rule, START, version=3)
        assert check.outcome is DqmOutcome.VETOED and "DB update vetoed" in check.detail
        with pytest.raises(DqmProtocolError, match="unsupported type"):
            dqm.check(386925, "Run2026D", "SiPixelAli", rule, START, version=4)
    finally:
        dqm.close()


def _shape(value: Any) -> Any:
    """Keys and value types, recursively: what two replies of one protocol must share."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__


def _sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def test_the_simulator_speaks_the_same_shapes(tmp_path, policy):
    runs = [SimRun(386925, START - 12 * timedelta(hours=1), START - 8 * timedelta(hours=1), all_streams(policy),
                   {"SiPixelAli": Outcome.VETOED})]
    with Simulator(policy, runs, tmp_path / "sim", START) as sim:
        sim.advance(START)
        base = sim.tier0_url

        def tier0(call: str, **params: Any) -> Any:
            return httpx.get(base + call, params=params, timeout=5).json()

        assert _shape(tier0("run_config", run=386925)) == _shape(_sample("t0_run_config.json"))
        assert tier0("run_config", run=386999) == _sample("t0_run_config_unknown.json")
        express = tier0("express_config", run=386925)["result"]
        real_row = _sample("t0_express_config.json")["result"][0]
        for row in express:
            assert list(row) == list(real_row), "express_config columns differ from t0wmadatasvc's"
            assert _shape({k: v for k, v in row.items() if v is not None}) == \
                _shape({k: v for k, v in real_row.items() if k in row and row[k] is not None})
        for call, sample in (("firstconditionsaferun", "t0_firstconditionsaferun.json"),
                             ("promptreco_status", "t0_promptreco_status.json")):
            assert _shape(tier0(call)) == _shape(_sample(sample))
        assert _shape(tier0("run_stream_done", run=386925, stream="Express")) == \
            _shape(_sample("t0_run_stream_done.json"))

        rule = policy.workflow("SiPixelAli").dqm
        assert rule is not None
        path = DqmClient.plot_path(386925, "Run2026D", rule, 1)
        simulated = httpx.get(sim.dqm_url + path, timeout=5).json()
        real = _sample("dqm_statusResults_vetoed.json")
        simulated_shape, real_shape = _shape(simulated), _shape(real)
        # axis labels: objects in the simulator, strings in the sample (ORIGIN.md); all else must match
        simulated_shape["hist"]["xaxis"].pop("labels"), real_shape["hist"]["xaxis"].pop("labels")
        assert simulated_shape == real_shape

