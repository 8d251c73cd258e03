"""The state store: runs, observations, verdicts with history, acknowledgements, outbox.

The only package that talks SQL to SpyAgency's own database. Its functions take a ``Session``
(from ``Store.session()``) and return domain dataclasses from ``spyagency.core.models``.
"""

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from spyagency.store.database import Store

#: What the database driver raises when the store cannot be read or written (doors answer 503).
DatabaseError = DBAPIError

__all__ = ["DatabaseError", "Session", "Store"]
