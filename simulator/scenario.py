"""Timelines of runs for the simulator: when each run starts, stops and what its PCL does."""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from spyagency.policy import Policy

ERA = "Run2026D"
#: Tier0's production ``alca_skim`` per express stream (Tier0 stores ",".join(producers), None when empty)
PRODUCTION_ALCA_SKIMS: dict[str, str | None] = {
    "Express": ("SiStripPCLHistos,SiStripCalZeroBias,SiStripCalMinBias,SiStripCalMinBiasAAG,TkAlMinBias,"
                "SiPixelCalZeroBias,SiPixelCalSingleMuon,SiPixelCalSingleMuonTight,TkAlZMuMu,PromptCalibProd,"
                "PromptCalibProdSiStrip,PromptCalibProdSiPixelAli,PromptCalibProdSiStripGains,"
                "PromptCalibProdSiStripGainsAAG,PromptCalibProdSiPixel,PromptCalibProdSiPixelLA,"
                "PromptCalibProdSiStripHitEff,PromptCalibProdSiPixelAliHG,PromptCalibProdSiPixelAliHGComb"),
    "ExpressAlignment": "TkAlMinBias,PromptCalibProdBeamSpotHP",
    "ALCALumiPixelsCountsExpress": "AlCaPCCRandom,PromptCalibProdLumiPCC",
    "ALCAPPSExpress": "PPSCalMaxTracks,PromptCalibProdPPSTimingCalib,PromptCalibProdPPSAlignment",
    "Calibration": "EcalTestPulsesRaw,PromptCalibProdEcalPedestals",
    # an HLT calibration: uploads to an _hlt tag, not to the prompt global tag
    "HLTMonitor": "TkAlHLTTracks,TkAlHLTTracksZMuMu,PromptCalibProdSiPixelAliHLTHGC",
    # cosmics runs (dmwm/T0 etc/ProdOfflineConfiguration.py): three PCL producers
    "ExpressCosmics": ("SiStripPCLHistos,SiStripCalZeroBias,TkAlCosmics0T,SiPixelCalZeroBias,SiPixelCalCosmics,"
                       "SiStripCalCosmics,PromptCalibProdSiStrip,PromptCalibProdSiPixelLAMCS,"
                       "PromptCalibProdSiStripLA"),
    # heavy-ion runs: the HI express list with the additions of the HI configuration
    "HIExpress": ("SiStripPCLHistos,SiStripCalZeroBias,SiStripCalMinBias,SiStripCalMinBiasAAG,TkAlMinBias,"
                  "LumiPixelsMinBias,SiPixelCalZeroBias,PromptCalibProd,PromptCalibProdSiStrip,PromptCalibProdSiPixelAli,PromptCalibProdSiStripGains,"
                  "PromptCalibProdSiStripGainsAAG,PromptCalibProdSiPixel,PromptCalibProdSiPixelLA,"
                  "PromptCalibProdSiStripHitEff,PromptCalibProdSiPixelAliHG,PromptCalibProdSiPixelAliHGComb"),
    "HIExpressAlignment": "TkAlMinBias",
    "CosmicHLTMonitor": None,  # Tier0 stores None for an empty list
}
#: The express streams of a collision run, of a cosmics run and of a heavy-ion run.
COLLISION_STREAMS = ("ALCALumiPixelsCountsExpress", "ALCAPPSExpress", "Calibration", "Express",
                     "ExpressAlignment", "HLTMonitor")
COSMICS_STREAMS = ("CosmicHLTMonitor", "ExpressCosmics")
HEAVY_ION_STREAMS = ("HIExpress", "HIExpressAlignment", "HLTMonitor")
#: A PCL producer that appears in the middle of an era, before any policy lists it.
NEW_PRODUCER = "PromptCalibProdSiPixelAliHGDiMu"


class Outcome(str, enum.Enum):
    """What a workflow's PCL does for a simulated run."""

    ON_TIME = "on_time"
    LATE = "late"  # uploaded after the run was locked: lands on the first conditions-safe run
    MISSING = "missing"  # nothing ever arrives
    VETOED = "vetoed"  # DQM says vetoed, no payload (DQM-checked workflows only)
    NO_PAYLOAD = "no_payload"  # DQM says no update needed, no payload (DQM-checked workflows only)
    REUPLOADED = "reuploaded"  # on time, then an expert re-uploads it by hand after the lock


@dataclass
class SimRun:
    """One run of the timeline."""

    run: int
    start: datetime
    stop: datetime
    streams: tuple[str, ...]  # express streams Tier0 configures for the run (alca_skim: PRODUCTION_ALCA_SKIMS)
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # workflow name → outcome
    express_lag: timedelta = timedelta(hours=3)  # stop → express streams done
    harvest_lag: timedelta = timedelta(hours=1)  # express done → upload
    era: str = ERA
    lumis: int = 500
    iovs_per_lumi_upload: int = 10
    tier0_known: bool = True
    express_version: int = 1  # the Express ProcessingVersion (proc_version) of the run
    #: a bad output the quality watch should flag: (workflow, group, magnitude in σ)
    quality_anomaly: tuple[str, str, float] | None = None
    #: producers added to a stream's production list for this run (a new calibration in the middle of an era)
    added_producers: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def alca_skim(self, stream: str) -> str | None:
        """The ``alca_skim`` Tier0 stores for ``stream`` of this run (",".join(producers), None when empty)."""
        base = PRODUCTION_ALCA_SKIMS.get(stream)
        names = [*(base.split(",") if base else []), *self.added_producers.get(stream, ())]
        return ",".join(names) or None

    def runs_producer(self, producer: str) -> tuple[str, ...]:
        """The express streams of this run that carry ``producer``."""
        return tuple(s for s in sorted(self.streams) if producer in (self.alca_skim(s) or "").split(","))

    @property
    def express_done(self) -> datetime:
        return self.stop + self.express_lag

    @property
    def upload_time(self) -> datetime:
        return self.express_done + self.harvest_lag

    def outcome(self, workflow: str) -> Outcome:
        return self.outcomes.get(workflow, Outcome.ON_TIME)


def all_streams(policy: Policy) -> tuple[str, ...]:
    """The express streams of a collision run (the production configuration; the policy does not choose them)."""
    return COLLISION_STREAMS


def demo_runs(policy: Policy, now: datetime, extra_runs: int = 12, seed: int = 7) -> list[SimRun]:
    """A timeline that shows every state: on time, late, missing, vetoed, no payload, new runs."""
    streams = all_streams(policy)
    no_pps = tuple(s for s in streams if s != "ALCAPPSExpress")
    hour = timedelta(hours=1)
    runs = [
        SimRun(386925, now - 56 * hour, now - 47 * hour, streams),
        SimRun(386926, now - 38 * hour, now - 30 * hour, streams, {"SiPixelAli": Outcome.VETOED}),
        SimRun(386927, now - 30 * hour, now - 26 * hour, no_pps,
               {"SiPixelAli": Outcome.NO_PAYLOAD, "SiStripGains": Outcome.LATE,
                "SiStripBadChannel": Outcome.REUPLOADED}),
        SimRun(386928, now - 26 * hour, now - 20 * hour, streams, {"EcalPedestals": Outcome.MISSING}),
        SimRun(386929, now - 20 * hour, now - 10 * hour, streams),
        SimRun(386930, now - 10 * hour, now - 2 * hour, streams),
        SimRun(386931, now - 2 * hour, now + 1 * hour, streams),
    ]
    runs += generate_runs(policy, 386932, now + 2 * hour, extra_runs, seed=seed)
    # the other kinds of run Tier0 configures: a cosmics run, a run whose Express carries a PCL producer
    # new in the middle of the era (no policy lists it yet), and a heavy-ion run
    if len(runs) > 8:
        runs[7] = replace(runs[7], streams=COSMICS_STREAMS, outcomes={})
        runs[8] = replace(runs[8], added_producers={"Express": (NEW_PRODUCER,)})
    if len(runs) > 10:
        runs[10] = replace(runs[10], streams=HEAVY_ION_STREAMS, era="HIRun2026A", outcomes={})
    return runs


def generate_runs(policy: Policy, first_run: int, start: datetime, count: int, seed: int = 0,
                  problem_rate: float = 0.1, gap: timedelta = timedelta(minutes=30)) -> list[SimRun]:
    """``count`` consecutive runs from ``start``; a fraction of workflows misbehave."""
    rng = random.Random(seed)
    streams = all_streams(policy)
    dqm_workflows = [wf.name for wf in policy.workflows if wf.dqm]
    other = [wf.name for wf in policy.workflows if not wf.dqm]
    runs: list[SimRun] = []
    t = start
    for i in range(count):
        length = timedelta(minutes=rng.randint(40, 600))
        outcomes: dict[str, Outcome] = {}
        if rng.random() < problem_rate:
            outcomes[rng.choice(other)] = rng.choice([Outcome.LATE, Outcome.MISSING])
        if dqm_workflows and rng.random() < problem_rate:
            outcomes[rng.choice(dqm_workflows)] = rng.choice([Outcome.VETOED, Outcome.NO_PAYLOAD])
        runs.append(SimRun(first_run + i, t, t + length, streams, outcomes))
        t += length + gap
    return runs
