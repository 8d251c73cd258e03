"""The simulated Tier0 Data Service: the t0wmadatasvc REST calls SpyAgency uses.

Read-only, like the real one (every entity defines only GET): the release switch is served from
Tier0's own ``promptreco_status`` table with the data service's query; it is moved by inserting rows.
"""

from __future__ import annotations

import re
from typing import Any

from simulator.httpserver import Door, Request, SimService
from simulator.world import World

PREFIX = "/t0wmadatasvc/prod/"
RUN = re.compile(r"^[1-9][0-9]{1,6}$")


def _bad(message: str) -> tuple[int, Any]:
    return 400, {"error": message}


def tier0_route(world: World):  # type: ignore[no-untyped-def]
    """The request handler of the simulated Tier0 Data Service over ``world``."""

    def route(request: Request) -> tuple[int, Any]:
        if not request.path.startswith(PREFIX):
            return 404, {"error": f"no such path {request.path}"}
        call = request.path[len(PREFIX):].strip("/")
        if request.method != "GET":
            return 405, {"error": "the Tier0 Data Service only answers GET"}
        with world.lock:
            if call == "firstconditionsaferun":
                return 200, {"result": [world.first_conditions_safe_run()]}
            if call == "promptreco_status":
                return 200, {"result": [status == 1 for status in world.promptreco_statuses()]}  # Tier0: 1 releases
            run_text = request.query.get("run", "")
            if not RUN.match(run_text):
                return _bad("run must match ^[1-9][0-9]{1,6}$")
            run = int(run_text)
            if world.run_fault(run, call):
                return 500, {"error": f"simulated failure answering for run {run}"}
            if call == "run_config":
                return 200, {"result": world.run_config(run)}
            if call == "express_config":
                rows = world.express_config(run)
                stream = request.query.get("stream")
                return 200, {"result": [r for r in rows if stream in (None, r["stream"])]}
            if call == "run_stream_done":
                stream = request.query.get("stream")
                if not stream:
                    return _bad("stream is required")
                return 200, {"result": [world.run_stream_done(run, stream)]}
        return 404, {"error": f"unknown call {call}"}

    return route


def start_tier0(world: World, port: int = 0, door: Door | None = None) -> SimService:
    """Start the simulated Tier0 Data Service on 127.0.0.1 (HTTPS behind ``door``); its base URL is
    ``url + PREFIX``. It answers as WMCore REST does (406 without Accept, text/plain to */*)."""
    return SimService(tier0_route(world), port=port, door=door, wmcore=True).start()
