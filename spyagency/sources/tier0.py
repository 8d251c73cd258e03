"""Client of the Tier0 Data Service (t0wmadatasvc), REST with the WMCore JSON envelope."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import Any

from spyagency.core.models import Tier0Global, Tier0Run
from spyagency.policy import is_pcl_producer
from spyagency.sources.errors import Tier0AccessDenied, Tier0ProtocolError, Tier0Unavailable
from spyagency.sources.http import JsonHttp

#: Tier0's run numbers (^[1-9][0-9]{1,6}$), matched whole: ``$`` alone would accept a trailing newline
RUN_NUMBER = re.compile(r"[1-9][0-9]{1,6}")


def check_run_number(run: int) -> int:
    """Return ``run`` if Tier0 would accept it (``^[1-9][0-9]{1,6}$``), else raise ValueError."""
    if isinstance(run, bool) or not isinstance(run, int) or not RUN_NUMBER.fullmatch(str(run)):
        raise ValueError(f"{run!r} is not a run number (1 to 7 digits, no leading zero)")
    return run


class Tier0Client:
    """Reads runs, express configuration and stream status from the Tier0 Data Service."""

    def __init__(self, base_url: str, **http_options: Any) -> None:
        self.http = JsonHttp(base_url, unavailable=Tier0Unavailable,
                             protocol_error=Tier0ProtocolError, denied=Tier0AccessDenied,
                             **http_options)

    def close(self) -> None:
        self.http.close()

    def _result(self, endpoint: str, **params: Any) -> list[Any]:
        document = self.http.get(endpoint, params=params or None)
        if not isinstance(document, dict) or not isinstance(document.get("result"), list):
            raise Tier0ProtocolError(f"{endpoint} did not return a {{\"result\": [...]}} envelope")
        result: list[Any] = document["result"]
        return result

    def _single_bool(self, endpoint: str, **params: Any) -> bool:
        result = self._result(endpoint, **params)
        if len(result) != 1 or not isinstance(result[0], bool):
            raise Tier0ProtocolError(f"{endpoint} should return [true] or [false], got {result!r:.80}")
        return result[0]

    def first_conditions_safe_run(self) -> int:
        """The lowest run Tier0 has not locked yet."""
        result = self._result("firstconditionsaferun")
        if len(result) != 1 or isinstance(result[0], bool) or not isinstance(result[0], int):
            raise Tier0ProtocolError(f"firstconditionsaferun should return [run], got {result!r:.80}")
        return result[0]

    def promptreco_enabled(self) -> bool:
        """The global prompt-reco release switch (False = paused)."""
        return self._single_bool("promptreco_status")

    def observe_global(self, now: datetime) -> Tier0Global:
        return Tier0Global(self.first_conditions_safe_run(), self.promptreco_enabled(), now)

    def run_stream_done(self, run: int, stream: str) -> bool:
        return self._single_bool("run_stream_done", run=check_run_number(run), stream=stream)

    def run_era(self, run: int) -> str | None:
        """The acquisition era of ``run``, or None if Tier0 does not know the run."""
        result = self._result("run_config", run=check_run_number(run))
        if not result:
            return None
        row = result[0]
        if not isinstance(row, dict) or row.get("run") != run or not isinstance(row.get("acq_era"), str):
            raise Tier0ProtocolError(f"run_config for run {run} has an unexpected shape: {row!r:.120}")
        era: str = row["acq_era"]
        return era

    def express_config(self, run: int) -> tuple[dict[str, frozenset[str]], dict[str, int]]:
        """Per express stream of ``run``: the alca_skim producers Tier0 runs, and the proc_version."""
        producers: dict[str, frozenset[str]] = {}
        versions: dict[str, int] = {}
        for row in self._result("express_config", run=check_run_number(run)):
            if not isinstance(row, dict) or not isinstance(row.get("stream"), str):
                raise Tier0ProtocolError(f"express_config for run {run} has a row without stream: {row!r:.120}")
            skims = row.get("alca_skim") or ""
            if not isinstance(skims, str):
                raise Tier0ProtocolError(f"express_config alca_skim for run {run} is not a string")
            producers[row["stream"]] = frozenset(s.strip() for s in skims.split(",") if s.strip())
            version = row.get("proc_version")
            if isinstance(version, int) and not isinstance(version, bool):
                versions[row["stream"]] = version
        return producers, versions

    def observe_run(self, run: int, now: datetime) -> Tier0Run:
        """Everything the decision needs from Tier0 about ``run``: its era, the express streams Tier0
        configured with their producers, and whether each stream that carries a PCL producer is done."""
        era = self.run_era(run)
        if era is None:
            return Tier0Run(run=run, known=False, observed_at=now)
        producers, versions = self.express_config(run)
        wanted = sorted(stream for stream, names in producers.items() if any(map(is_pcl_producer, names)))
        done = {stream: self.run_stream_done(run, stream) for stream in wanted}
        return Tier0Run(run=run, known=True, era=era, express_producers=producers,
                        streams_done=done, observed_at=now, express_versions=versions)

    def observe_streams(self, known: Tier0Run, now: datetime) -> Tier0Run:
        """``known`` again, asking only what can still change: ``run_stream_done`` of the streams carrying a
        PCL producer that were not done yet. For a run whose configuration was read after it stopped (it
        no longer changes), and whose era is known. A stream once done stays done: the data service's
        ``run_stream_done`` table is only ever inserted into (dmwm/T0, Tier0FeederPoller)."""
        assert known.known and known.era is not None
        done = dict(known.streams_done)
        for stream in sorted(s for s, names in known.express_producers.items() if any(map(is_pcl_producer, names))):
            if not done.get(stream):
                done[stream] = self.run_stream_done(known.run, stream)
        return replace(known, streams_done=done, observed_at=now, error=None)
