"""Errors of the SpyAgency core that are not a source's (those are in ``sources.errors``).

    SpyAgencyError
    ├── LeaseHeld            another process is running this reconcile step
    └── SteeringRefused      Tier0's switch cannot take this action as planned
        ├── SwitchTakenOver      someone else changed the switch since SpyAgency's pause
        └── UnexpectedDuplicate  Tier0 calls a never-sent action a duplicate
"""

from __future__ import annotations


class SpyAgencyError(Exception):
    """Base of the core's own errors; the message says what happened and what to do."""


class LeaseHeld(SpyAgencyError):
    """Another process holds the lease of this step: this run of it is skipped."""


class SteeringRefused(SpyAgencyError):
    """An action toward Tier0's release switch must not (or could not) be applied."""


class SwitchTakenOver(SteeringRefused):
    """The switch was changed by someone else after SpyAgency's pause: SpyAgency does not undo it."""

    def __init__(self, message: str, *, enabled: bool) -> None:
        super().__init__(message)
        self.enabled = enabled  # where the other person left the switch


class UnexpectedDuplicate(SteeringRefused):
    """Tier0 says it has seen a key SpyAgency never sent: the key collides, the action was not applied."""
