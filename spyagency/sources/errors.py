"""Errors raised by source clients. Each says which source, what and why."""

from __future__ import annotations

from spyagency.errors import SpyAgencyError
from spyagency.redact import mask_credentials

__all__ = [
    "CondDBAccessDenied", "CondDBProtocolError", "CondDBUnavailable", "DqmAccessDenied", "DqmProtocolError",
    "DqmUnavailable", "SourceAccessDenied", "SourceDown", "SourceError", "SourceProtocolError", "SourceUnavailable",
    "Tier0AccessDenied", "Tier0ProtocolError", "Tier0Unavailable",
]


class SourceError(SpyAgencyError):
    """A source could not give a trustworthy answer."""

    source = "source"

    def __init__(self, message: str) -> None:
        # messages quote the URL asked: never its user and password (reasons are shown to anyone)
        super().__init__(mask_credentials(f"{self.source}: {message}"))


class SourceUnavailable(SourceError):
    """The source did not answer (connection refused, timeout, HTTP 5xx) after retries."""

    def __init__(self, message: str, *, connection_failed: bool = False, busy: bool = False) -> None:
        super().__init__(message)
        #: no connection could be made at all: the whole service is down, not one run's data
        self.connection_failed = connection_failed
        #: the source asked us to slow down (HTTP 429): backed off, not an outage
        self.busy = busy


class SourceAccessDenied(SourceUnavailable):
    """The source's door is shut to us: our certificate is refused, expired or not found, the server is not
    trusted, or we are asked to log in. Not transient: never retried, and the whole source fails."""

    def __init__(self, message: str) -> None:
        super().__init__(message, connection_failed=True)


class SourceProtocolError(SourceError):
    """The source answered, but not in the shape its protocol promises."""


class Tier0Unavailable(SourceUnavailable):
    source = "Tier0 Data Service"


class Tier0ProtocolError(SourceProtocolError):
    source = "Tier0 Data Service"


class Tier0AccessDenied(SourceAccessDenied):
    source = "Tier0 Data Service"


class CondDBUnavailable(SourceUnavailable):
    source = "CondDB"


class CondDBProtocolError(SourceProtocolError):
    source = "CondDB"


class CondDBAccessDenied(SourceAccessDenied):
    source = "CondDB"


class DqmUnavailable(SourceUnavailable):
    source = "DQM GUI"


class DqmProtocolError(SourceProtocolError):
    source = "DQM GUI"


class DqmAccessDenied(SourceAccessDenied):
    source = "DQM GUI"


class SourceDown(SourceError):
    """Most per-run calls to a source failed in one cycle: the source is down, not the runs' data."""

    def __init__(self, message: str) -> None:
        Exception.__init__(self, mask_credentials(message))
