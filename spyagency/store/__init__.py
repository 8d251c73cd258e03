"""The state store: runs, observations, verdicts with history, acknowledgements, outbox."""

from .database import Store

__all__ = ["Store"]
