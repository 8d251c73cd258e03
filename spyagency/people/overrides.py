"""Operators' steering overrides: let Tier0 release a run that SpyAgency would hold back.

An override names one run and is recorded forever; the latest word for a run wins
(``resume`` or ``withdraw``). It only changes what SpyAgency asks of Tier0's release
switch: the run's own verdict (and the release API) still say why it is not ready.
"""

from __future__ import annotations

import enum
from datetime import datetime

from spyagency.core.free_text import words_problem
from spyagency.core.models import OverrideRecord
from spyagency.errors import Conflict, InputRefused, UnknownRun
from spyagency.store import Store
from spyagency.store.people import RESUME_KIND, add_override, run_as_decided


class OverrideKind(str, enum.Enum):
    """What an operator says about steering for a run."""

    RESUME = RESUME_KIND  # release this run even though it is not ready
    WITHDRAW = "withdraw"  # take back an earlier resume: SpyAgency steers by readiness again


class OverrideError(InputRefused):
    """An override that cannot be recorded, with the reason."""


__all__ = ["OverrideError", "OverrideKind", "UnknownRun", "record_override"]


def record_override(store: Store, *, run: int, kind: OverrideKind, author: str, comment: str,
                    now: datetime) -> OverrideRecord:
    """Record an operator's override for ``run``; the steering loop acts on it at its next pass."""
    problem = words_problem(author, comment, comment_required=True, what="an override")
    if problem:
        raise OverrideError(problem)
    with store.session() as session:
        fcsr = run_as_decided(session, run).first_conditions_safe_run
        if kind is OverrideKind.RESUME and fcsr is not None and run < fcsr:
            raise Conflict(f"refused, nothing recorded: Tier0 has locked run {run} (first conditions-safe run "
                           f"{fcsr}), so an override can no longer let it through")
        return add_override(session, run=run, kind=kind.value, author=author, comment=comment, now=now)
