"""Every error SpyAgency raises, in one tree; the doors map each branch once (the API to HTTP statuses).

    SpyAgencyError
    ├── InputRefused          a person's or caller's input cannot be recorded (HTTP 422)
    │   ├── NotFound              it names a run or workflow SpyAgency does not have (HTTP 404)
    │   │   ├── UnknownRun
    │   │   └── UnknownWorkflow
    │   ├── Conflict              it contradicts the run as decided: nothing to answer, or too late (HTTP 409)
    │   ├── AcknowledgementError  (spyagency.people.acknowledge)
    │   └── OverrideError         (spyagency.people.overrides)
    ├── PolicyError           the policy file is invalid (spyagency.policy)
    ├── ConfigurationError    a setting cannot work (the CLI prints one line and exits 2)
    │   └── BadDatabaseUrl       a database URL that cannot be parsed or has no installed driver
    ├── StoreUnavailable      the store cannot be read: never answer "release" (HTTP 503)
    ├── SourceError           a source failed or answered junk (spyagency.sources.errors)
    ├── LeaseHeld             another process is running this reconcile step
    ├── SwitchRowAhead        the switch's newest row is stamped ahead of SpyAgency's clock: no row written now
    └── SteeringRefused       Tier0's switch cannot take this action as planned
        └── SwitchTakenOver      someone else holds the switch: SpyAgency does not write over them
"""

from __future__ import annotations

__all__ = [
    "BadDatabaseUrl", "ConfigurationError", "Conflict", "InputRefused", "LeaseHeld", "NotFound", "SpyAgencyError",
    "SteeringRefused", "StoreUnavailable", "SwitchRowAhead", "SwitchTakenOver", "UnknownRun", "UnknownWorkflow",
]


class SpyAgencyError(Exception):
    """Base of SpyAgency's errors; the message says what happened and what to do."""


class InputRefused(SpyAgencyError, ValueError):
    """An input (an acknowledgement, an override, ...) that cannot be recorded, with the reason."""


class NotFound(InputRefused):
    """The input names something SpyAgency does not have."""


class UnknownRun(NotFound):
    """A run SpyAgency does not track."""


class UnknownWorkflow(NotFound):
    """A workflow the policy does not name."""


class Conflict(InputRefused):
    """The input contradicts the run as decided (a calibration still on its way, a run Tier0 has locked)."""


class ConfigurationError(SpyAgencyError):
    """A setting that cannot work; the message says what would be valid."""


class BadDatabaseUrl(ConfigurationError):
    """A database URL that cannot be parsed, or whose driver is not installed."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class StoreUnavailable(SpyAgencyError):
    """The store could not be read; the caller should answer 503, never a release."""


class LeaseHeld(SpyAgencyError):
    """Another process holds the lease of this step: this run of it is skipped."""


class SwitchRowAhead(SpyAgencyError):
    """The switch's newest row is stamped ahead of SpyAgency's clock beyond the tolerance: a skewed writer.
    SpyAgency writes no row after it (it never stamps a row ahead to outrank another); the action stays
    pending, is tried again, and is reported as a failure until the clocks agree."""


class SteeringRefused(SpyAgencyError):
    """An action toward Tier0's release switch must not (or could not) be applied."""


class SwitchTakenOver(SteeringRefused):
    """The switch was changed by someone else after SpyAgency's pause: SpyAgency does not undo it."""

    def __init__(self, message: str, *, enabled: bool) -> None:
        super().__init__(message)
        self.enabled = enabled  # where the other person left the switch
