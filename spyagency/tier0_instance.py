"""The Tier0 instance SpyAgency watches: its lock timing belongs to it, not to the readiness policy, and a
replay's locks cannot be timed from RUN_INFO at all (its stop time is its own last streamer insert).

Tier0 locks a run at ``stop + RecoDelay - RecoDelayOffset`` (dmwm/T0 ``reco_release_config``):
48 h and 30 min in production, 10 min and 5 min in the replays. The policy carries the
production values; ``SPYAGENCY_TIER0_RECO_DELAY_MINUTES`` and
``SPYAGENCY_TIER0_LOCK_OFFSET_MINUTES`` set them for the instance watched.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import ValidationError

from spyagency.policy import Deadlines, Policy, PolicyError, load_policy
from spyagency.settings import Settings

#: Data-service instances (the URL's last path element): prod, and the replays whose locks RUN_INFO cannot time.
PRODUCTION_INSTANCE = "prod"
REPLAY_INSTANCES = frozenset({"replayone", "replaytwo"})


def tier0_instance(url: str) -> str:
    """The data-service instance a Tier0 URL names (``.../t0wmadatasvc/<instance>/``)."""
    parts = [part for part in urlsplit(url).path.split("/") if part]
    return parts[-1] if parts else ""


def instance_note(url: str) -> str | None:
    """What SpyAgency cannot do for the instance ``url`` names, or None for production."""
    instance = tier0_instance(url)
    if instance == PRODUCTION_INSTANCE:
        return None
    if instance in REPLAY_INSTANCES:
        return (f"instance {instance} is a replay: its stop times are its own last streamer inserts, which "
                f"RUN_INFO does not hold, so lock times are not known; runs overlap production's numbers")
    return f"instance {instance!r} is not one SpyAgency knows (prod, replayone, replaytwo)"


def instance_policy(settings: Settings) -> Policy:
    """The configured policy, with the watched Tier0 instance's reco delay and lock offset."""
    policy = load_policy(settings.policy)
    if settings.tier0_reco_delay_minutes is None and settings.tier0_lock_offset_minutes is None:
        return policy
    timing = policy.deadlines.model_dump()
    if settings.tier0_reco_delay_minutes is not None:
        timing["reco_delay_hours"] = settings.tier0_reco_delay_minutes / 60
    if settings.tier0_lock_offset_minutes is not None:
        timing["lock_offset_minutes"] = settings.tier0_lock_offset_minutes
    try:
        deadlines = Deadlines.model_validate(timing)
    except ValidationError as exc:
        problems = "; ".join(item["msg"] for item in exc.errors())
        raise PolicyError(f"SPYAGENCY_TIER0_RECO_DELAY_MINUTES / SPYAGENCY_TIER0_LOCK_OFFSET_MINUTES do not fit "
                          f"policy {policy.name}: {problems} (a replay instance needs a policy with shorter "
                          f"harvest and give-up deadlines too)") from None
    return policy.model_copy(update={"deadlines": deadlines})
