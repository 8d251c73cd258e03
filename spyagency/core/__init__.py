"""The core: SpyAgency's vocabulary and every rule, as pure functions.

``models`` are the types (observations, verdicts, enums end to end); ``readiness`` decides a run,
``attribution`` says whose harvest each upload is, ``steering`` where Tier0's release switch
should be, ``release`` what Tier0 is answered, ``finalize`` when a run leaves the watch,
``quality`` and ``forecast`` judge outputs and latencies. Nothing here touches a store, a
source, a clock or a network: ``now`` is always an argument (the architecture test checks it).
"""

__all__ = [
    "attribution", "codec", "finalize", "forecast", "free_text", "models", "quality", "quality_covariance",
    "readiness", "release", "replay", "since", "steering", "steering_replay", "upload_quality", "words",
]
