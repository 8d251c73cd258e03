"""The readiness policy: which PCL workflows a run needs, and the deadlines.

The policy is data, kept in one versioned TOML file and validated at load. A
mistake in it is reported with the key that is wrong, before anything runs.
"""

from __future__ import annotations

import importlib.util
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from spyagency.core.models import PCL_PREFIX
from spyagency.errors import SpyAgencyError

DEFAULT_POLICY_NAME = "default.toml"


class PolicyError(SpyAgencyError, ValueError):
    """The policy file is missing, unreadable or invalid."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _dataset_shape(value: str) -> str:
    if value.count("/") != 3 or not value.startswith("/"):
        raise ValueError(f"dataset must look like /Primary/Processed/TIER, got {value!r}")
    try:
        _format_dataset(value, "Express", "Run2026D", 1)
    except (KeyError, IndexError, ValueError):
        raise ValueError(f"dataset {value!r} may only use the placeholders {{stream}}, {{era}} and "
                         "{version}") from None
    return value


def _format_dataset(template: str, stream: str, era: str, version: int) -> str:
    return template.format(stream=stream, era=era, version=version)


class DqmRule(_Strict):
    """How to read a PCL status histogram from the DQM GUI (jsonfairy)."""

    dataset: str = Field(description="Dataset, with {stream}, {era} and {version} placeholders")
    version: int = Field(1, description="Express processing version when Tier0 has not said (proc_version)")
    histogram: str = Field(description="folder/name of the status histogram")
    updated_bin: str = "DB updated"
    vetoed_bin: str = "DB update vetoed"
    failed_bin: str | None = None

    @field_validator("dataset")
    @classmethod
    def _dataset_shape(cls, value: str) -> str:
        return _dataset_shape(value)

    def dataset_for(self, era: str, version: int | None = None, stream: str = "Express") -> str:
        """The dataset of a run of era ``era`` harvested from express stream ``stream``, whose express
        processing version is ``version``."""
        return _format_dataset(self.dataset, stream, era, self.version if version is None else version)


class QualityFeature(_Strict):
    """Numbers read from one DQM monitor element of a workflow's harvest.

    ``take = "bins"`` reads bins 1..n, one number each, named by ``bins`` (e.g. the six pixel
    structures of MillePede's Xpos); ``take = "mean"`` or ``"rms"`` reads the histogram's mean or RMS;
    ``"contents_mean"`` or ``"contents_rms"`` the mean or spread of its bin contents (e.g. the movements of
    every ladder of a layer, one bin each). Features of one ``group`` (for bins: the bin's name) are judged
    together: a structure that moved shows in several.
    """

    histogram: str = Field(description="folder/name of the monitor element")
    label: str = Field(description="what the number is, in the experts' words (e.g. ΔX)")
    unit: str = ""
    take: Literal["bins", "mean", "rms", "contents_mean", "contents_rms"] = "bins"
    bins: tuple[str, ...] = ()
    group: str | None = Field(None, description="all but take=bins: the group judged together; default the label")

    @model_validator(mode="after")
    def _bins_named(self) -> QualityFeature:
        if self.take == "bins" and not self.bins:
            raise ValueError("take = \"bins\" needs the names of the bins it reads")
        if self.take != "bins" and self.bins:
            raise ValueError(f"take = \"{self.take}\" reads no bins")
        return self

    def names(self) -> list[tuple[str, str]]:
        """(feature name, group) of each number this element gives."""
        if self.take == "bins":
            return [(f"{self.label} of {name}", name) for name in self.bins]
        return [(self.label, self.group or self.label)]


class UploadFeature(_Strict):
    """A number read from the CondDB rows of the run's own upload, for outputs no DQM summary describes.

    ``take = "payload_bytes"``: the mean size of the payloads its IOVs point to. Where a payload is a
    list of what was found (bad strips, bad pixel modules, calibrated channels), its size follows that
    count; a payload of fixed layout (a beam-spot fit) says nothing this way, and is not watched so.
    """

    take: Literal["payload_bytes"] = "payload_bytes"
    label: str = Field(description="what the number is, in the experts' words")
    unit: str = "bytes"
    group: str | None = Field(None, description="the group judged together; default the label")

    def names(self) -> list[tuple[str, str]]:
        """(feature name, group) of the number this feature gives."""
        return [(self.label, self.group or self.label)]


class QualityWatch(_Strict):
    """Whether a workflow's harvest output looks like its recent history: DQM monitor elements
    (``features``), or, where no DQM summary describes the output, its upload's CondDB rows (``uploads``)."""

    mode: Literal["advisory", "gate"] = Field(
        "advisory", description="advisory: flag only; gate: unusual output needs an expert before release")
    dataset: str | None = Field(None, description="Dataset of the harvest's DQM output, with {era} and {version}")
    version: int = 1
    features: tuple[QualityFeature, ...] = ()
    uploads: tuple[UploadFeature, ...] = ()
    history_runs: int = Field(50, ge=5, description="how many earlier runs the score compares with")
    min_history: int = Field(10, ge=3, description="fewer earlier runs than this: not judged")
    threshold_sigma: float = Field(4.0, gt=0, description="a group this many σ from its history is unusual")
    model: Literal["independent", "covariance"] = Field(
        "independent", description="independent: a group's scores add up as independent numbers; covariance: "
                                   "judged with the group's covariance (Ledoit-Wolf; needs the ml extra)")

    @model_validator(mode="after")
    def _model_installed(self) -> QualityWatch:
        if self.model == "covariance" and importlib.util.find_spec("sklearn") is None:
            raise ValueError("model = \"covariance\" needs scikit-learn: pip install 'spyagency[ml]'")
        return self

    @model_validator(mode="after")
    def _one_source(self) -> QualityWatch:
        if bool(self.features) == bool(self.uploads):
            raise ValueError("a quality watch reads either DQM monitor elements (features) or its upload's "
                             "CondDB rows (uploads): give exactly one of the two")
        if self.features and self.dataset is None:
            raise ValueError("features are read from a DQM dataset: give dataset")
        if self.dataset is not None:
            _dataset_shape(self.dataset)
        return self

    @property
    def reads_uploads(self) -> bool:
        """Whether the numbers come from the CondDB (else from the DQM GUI)."""
        return bool(self.uploads)

    def dataset_for(self, era: str, version: int | None = None, stream: str = "Express") -> str:
        if self.dataset is None:
            raise ValueError("this quality watch reads no DQM dataset")
        return _format_dataset(self.dataset, stream, era, self.version if version is None else version)

    def watched(self) -> tuple[QualityFeature | UploadFeature, ...]:
        """Every feature, whichever source it is read from."""
        return (*self.features, *self.uploads)

    def feature_names(self) -> list[tuple[str, str]]:
        """(feature name, group) of every number watched, in policy order."""
        return [name for feature in self.watched() for name in feature.names()]

    def units(self) -> dict[str, str]:
        """Feature name → unit."""
        return {name: feature.unit for feature in self.watched() for name, _group in feature.names()}


def is_pcl_producer(name: str) -> bool:
    """Whether an ``alca_skim`` entry is a PCL producer (Tier0 books PCL for every ``PromptCalibProd*``)."""
    return name.startswith(PCL_PREFIX)


class Workflow(_Strict):
    """One PCL calibration: a producer uploading to one destination tag of the prompt global tag.

    It runs in whichever express streams Tier0 configures it in for a run; a producer that
    uploads to several tags is one workflow per tag.
    """

    name: str
    producer: str
    record: str
    tag: str
    time_type: Literal["run", "lumi"]
    required: bool = True
    on_give_up: Literal["block", "proceed"] = "block"
    dqm: DqmRule | None = None
    quality: QualityWatch | None = None

    @field_validator("producer")
    @classmethod
    def _producer_shape(cls, value: str) -> str:
        return _pcl_producer(value)

    @model_validator(mode="before")
    @classmethod
    def _no_stream(cls, data: object) -> object:
        if isinstance(data, dict) and "stream" in data:
            raise ValueError("a workflow names its producer, not a stream: the streams that carry it come "
                             "from Tier0's express_config of each run (remove `stream`)")
        return data


def _pcl_producer(value: str) -> str:
    if not is_pcl_producer(value):
        raise ValueError(f"PCL producers are named {PCL_PREFIX}*, got {value!r}")
    return value


class NotForPrompt(_Strict):
    """A PCL producer Tier0 runs whose payload does not feed prompt reco (e.g. an HLT calibration)."""

    producer: str
    why: str = Field(min_length=1, description="where its payload goes instead, e.g. an _hlt tag")

    @field_validator("producer")
    @classmethod
    def _producer_shape(cls, value: str) -> str:
        return _pcl_producer(value)


class Deadlines(_Strict):
    """Times after a run's stop that drive every decision."""

    reco_delay_hours: float = Field(48, gt=0)
    lock_offset_minutes: float = Field(30, ge=0)
    harvest_fallback_hours: float = Field(12, gt=0)
    pcl_give_up_hours: float = Field(18, gt=0)
    notify_before_lock_hours: float = Field(6, ge=0)
    pause_before_lock_minutes: float = Field(60, ge=0)
    #: a locked run that missed a calibration is decided this long after its lock, to see late payloads
    late_watch_hours: float = Field(24, ge=0)

    @property
    def late_watch(self) -> timedelta:
        return timedelta(hours=self.late_watch_hours)

    @property
    def reco_delay(self) -> timedelta:
        return timedelta(hours=self.reco_delay_hours)

    @property
    def lock_offset(self) -> timedelta:
        return timedelta(minutes=self.lock_offset_minutes)

    @property
    def harvest_fallback(self) -> timedelta:
        return timedelta(hours=self.harvest_fallback_hours)

    @property
    def pcl_give_up(self) -> timedelta:
        return timedelta(hours=self.pcl_give_up_hours)

    @property
    def lock_delay(self) -> timedelta:
        """Stop to lock: Tier0 never locks a run earlier than this after it stopped."""
        return self.reco_delay - self.lock_offset

    @property
    def pause_before_lock(self) -> timedelta:
        return timedelta(minutes=self.pause_before_lock_minutes)

    @property
    def notify_before_lock(self) -> timedelta:
        return timedelta(hours=self.notify_before_lock_hours)

    @model_validator(mode="after")
    def _ordered(self) -> Deadlines:
        lock = self.reco_delay - self.lock_offset
        if lock <= timedelta(0):
            raise ValueError("lock_offset_minutes must be shorter than reco_delay_hours")
        if self.pcl_give_up > lock:
            raise ValueError("pcl_give_up_hours must come before the lock time (reco delay - lock offset)")
        return self


class SourceLimits(_Strict):
    """How old an observation may get before it no longer counts."""

    stale_after_minutes: float = Field(15, gt=0)
    #: how far the CondDB's, Tier0's and SpyAgency's clocks may disagree
    clock_tolerance_minutes: float = Field(5, ge=0)
    #: a reading that lets a run go without something (a stopped run's express configuration, a DQM "no
    #: payload by design") is believed once two reads this far apart agree (cmsweb caches a reply for
    #: 300 s); 0 believes the first read
    agreement_minutes: float = Field(5, ge=0)

    @property
    def stale_after(self) -> timedelta:
        return timedelta(minutes=self.stale_after_minutes)

    @property
    def clock_tolerance(self) -> timedelta:
        return timedelta(minutes=self.clock_tolerance_minutes)

    @property
    def agreement(self) -> timedelta:
        return timedelta(minutes=self.agreement_minutes)


class Policy(_Strict):
    """A validated readiness policy."""

    version: int = Field(ge=1)
    name: str
    deadlines: Deadlines = Deadlines()
    sources: SourceLimits = SourceLimits()
    workflows: tuple[Workflow, ...] = Field(alias="workflow", min_length=1)
    not_for_prompt: tuple[NotForPrompt, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Policy:
        for attr in ("name", "tag"):
            seen: set[str] = set()
            for wf in self.workflows:
                value = getattr(wf, attr)
                if value in seen:
                    raise ValueError(f"two workflows share {attr} {value!r}")
                seen.add(value)
        both = {wf.producer for wf in self.workflows} & {item.producer for item in self.not_for_prompt}
        if both:
            raise ValueError(f"{', '.join(sorted(both))} is both a workflow and not for prompt reco: choose one")
        producers = {wf.producer for wf in self.workflows}
        for wf in self.workflows:
            if wf.name != wf.producer and wf.name in producers:
                raise ValueError(f"workflow {wf.name!r} is named like another workflow's producer")
        return self

    def workflows_of(self, producer: str) -> tuple[Workflow, ...]:
        """The workflows (one per destination tag) of ``producer``; empty if the policy does not list it."""
        return tuple(wf for wf in self.workflows if wf.producer == producer)

    def not_for_prompt_reason(self, producer: str) -> str | None:
        """Why ``producer`` is not waited for, if the policy lists it as not feeding prompt reco."""
        return next((item.why for item in self.not_for_prompt if item.producer == producer), None)

    @property
    def known_producers(self) -> frozenset[str]:
        """Every producer the policy says something about: a workflow's, or one not for prompt reco."""
        return frozenset({wf.producer for wf in self.workflows} | {i.producer for i in self.not_for_prompt})

    def workflow(self, name: str) -> Workflow:
        """Return the workflow called ``name`` or raise ``KeyError``."""
        for wf in self.workflows:
            if wf.name == name:
                return wf
        raise KeyError(name)

    @property
    def tags(self) -> dict[str, Workflow]:
        """Destination tag → workflow."""
        return {wf.tag: wf for wf in self.workflows}


def _describe(error: ValidationError, origin: str) -> str:
    lines = [f"invalid policy {origin}:"]
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        lines.append(f"  {where}: {item['msg']}")
    return "\n".join(lines)


def parse_policy(text: str, origin: str = "<string>") -> Policy:
    """Parse and validate a policy from TOML text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy {origin} is not valid TOML: {exc}") from exc
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_describe(exc, origin)) from exc


def load_policy(path: str | Path | None = None) -> Policy:
    """Load a policy file, or the shipped default when ``path`` is None."""
    if path is None:
        text = resources.files(__name__).joinpath(DEFAULT_POLICY_NAME).read_text()
        return parse_policy(text, f"(built-in {DEFAULT_POLICY_NAME})")
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from exc
    return parse_policy(text, str(path))
